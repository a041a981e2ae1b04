/**
 * The data-quality phrase every rendering shows: where the first lines are that cannot be
 * JSON objects (a write cut short), the file paths escaped for each rendering.
 */
import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../../src/analysis/index.js';
import { dataQualityText } from '../../../src/report/format.js';
import { renderHtml } from '../../../src/report/html.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderTerminal } from '../../../src/report/terminal.js';

const FILE = '/data/<b>day\u001b[2J|1.jsonl';

function analysis(incomplete: Analysis['dataQuality']['incomplete']): Analysis {
  return {
    schema: 'switchyard.analysis/1',
    generatedAt: '2026-12-01T00:00:00.000Z',
    engine: 'duckdb',
    settings: { corrections: 'holm', attributionWindowSeconds: 14 * 86400, confidenceLevel: 0.95, methods: [] },
    dataQuality: { lines: 1200, empty: 1, malformed: 7, incomplete, outOfRange: 2, outOfRangeEvents: 3, files: 2 },
    experiments: [],
    notAnalysed: [],
  } as Analysis;
}

const five = [1, 2, 3, 4, 5].map((line) => ({ file: FILE, line }));

describe('dataQualityText', () => {
  it('names the first three lines and how many more, after the counts', () => {
    expect(dataQualityText(analysis(five).dataQuality, (s) => s)).toBe(
      `2 file(s), 1,200 lines, 1 empty, 7 malformed (not a JSON object: ${FILE}:1, ${FILE}:2, ${FILE}:3, 2 more), 2 exposures out of time range (left out), 3 events out of time range (left out)`,
    );
    expect(dataQualityText(analysis([]).dataQuality, (s) => s)).toBe(
      '2 file(s), 1,200 lines, 1 empty, 7 malformed, 2 exposures out of time range (left out), 3 events out of time range (left out)',
    );
  });

  it('escapes the paths in each rendering: no escape sequence on a terminal, no tag in HTML, no table break in Markdown', () => {
    const a = analysis(five.slice(0, 1));
    const terminal = renderTerminal(a);
    expect(terminal).toContain('(not a JSON object: /data/<b>day\\u001b[2J|1.jsonl:1)');
    expect(terminal).not.toContain('\u001b');
    expect(renderHtml(a)).toContain('(not a JSON object: /data/&lt;b&gt;day');
    expect(renderHtml(a)).not.toContain('<b>day');
    expect(renderMarkdown(a)).toContain('(not a JSON object: /data/&lt;b&gt;day');
    expect(renderMarkdown(a)).toContain('\\|1.jsonl:1)');
  });
});

describe('names with Unicode bidirectional controls', () => {
  it('show the controls escaped in every rendering, so a name cannot display reversed as another', () => {
    // "exp\u202Egnp.exe" shows as "expexe.png" where the override is obeyed.
    const name = 'exp\u202egnp.exe \u2066x\u2069 \u200f';
    const a = { ...analysis([]), notAnalysed: [{ experiment: name, reason: 'has exposures of one variant only' }] };
    for (const out of [renderTerminal(a), renderMarkdown(a), renderHtml(a)]) {
      expect(out).toContain('exp\\u202egnp.exe \\u2066x\\u2069 \\u200f');
      expect(out).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200e\u200f]/);
    }
  });
});
