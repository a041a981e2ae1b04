/** Markdown escaping: one backslash before each special character (audit: `a|b` came out as `a\\|b`, a broken cell). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, openDuckDbStore } from '../../../src/analysis/index.js';
import { md, renderMarkdown } from '../../../src/report/markdown.js';
import { generate } from '../../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-markdown-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('md()', () => {
  const cases: [string, string][] = [
    ['a|b', 'a\\|b'],
    ['a\\b', 'a\\\\b'],
    ['a\\|b', 'a\\\\\\|b'],
    ['*x* _y_ `z` [l] #h', '\\*x\\* \\_y\\_ \\`z\\` \\[l\\] \\#h'],
    ['<b>&</b>', '&lt;b&gt;&amp;&lt;/b&gt;'],
    ['one\r\ntwo', 'one two'],
  ];
  it.each(cases)('%j -> %j', (text, escaped) => expect(md(text)).toBe(escaped));
});

describe('renderMarkdown', () => {
  it('a variant named a|b and one named a\\b each fill one table cell', async () => {
    const dir = join(root, 'data');
    generate(dir, {
      experiment: 'exp',
      units: 600,
      days: 2,
      start: '2026-10-01T00:00:00Z',
      weights: { control: 1, treatment: 1, other: 1 },
      rates: { control: 0.1, treatment: 0.11, other: 0.1 },
      variantNames: { treatment: 'a|b', other: 'a\\b' },
    });
    const store = await openDuckDbStore(dir);
    try {
      const text = renderMarkdown(
        await analyze(store, { metric: 'purchase', now: Date.parse('2026-10-05T00:00:00Z') }),
      );
      const rows = text.split('\n').filter((l) => /^\| a/.test(l));
      expect(rows).toEqual([
        expect.stringMatching(/^\| a\\\\b \| [\d,]+ \|$/),
        expect.stringMatching(/^\| a\\\|b \| [\d,]+ \|$/),
      ]);
    } finally {
      await store.close();
    }
  }, 60_000);
});
