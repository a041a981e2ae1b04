/**
 * Follow-up config snippets carry names from the data; the config loader reads `${NAME}` in
 * them as an environment variable (audit: an experiment named exp${SY_SECRET_TOKEN} put the
 * token into the pasted config). The snippets escape it, and read back as the literal names.
 * Also: a metric no unit triggered (a misspelt name) is named in the insights.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, openDuckDbStore } from '../../../src/analysis/index.js';
import { parseConfig } from '../../../src/config/index.js';
import { generate } from '../../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-follow-ups-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('follow-up snippets escape ${ for the config loader', () => {
  it.each([['exp${SY_SECRET_TOKEN}'], ['exp$${SY_SECRET_TOKEN}'], ['exp${not a name} ${SY_SECRET_TOKEN']])(
    '%s reads back as itself, the variable never interpolated',
    async (experiment) => {
      const dir = join(root, String(experiment.length));
      generate(dir, {
        experiment,
        units: 600,
        days: 2,
        start: '2026-10-01T00:00:00Z',
        weights: { control: 1, treatment: 1 },
        rates: { control: 0.1, treatment: 0.11 },
      });
      const store = await openDuckDbStore(dir);
      let a;
      try {
        a = await analyze(store, { metric: 'purchase', now: Date.parse('2026-10-05T00:00:00Z') });
      } finally {
        await store.close();
      }
      const e = a.experiments[0]!;
      expect(e.experiment).toBe(experiment);
      const rerun = e.followUps.find((f) => f.title.startsWith('Give'));
      expect(rerun).toBeDefined();
      const config = parseConfig(rerun!.config, '<follow-up>', { env: { SY_SECRET_TOKEN: 'tok_SUPERSECRET123' } });
      const [only] = [...config.experiments.values()];
      expect(only!.hypothesis).toBe(`A rerun of ${experiment} with enough sample.`);
      expect(JSON.stringify(only)).not.toContain('tok_SUPERSECRET123');
    },
    60_000,
  );
});

describe('a metric no unit triggered', () => {
  it('is named in the insights with the events seen (audit: a misspelt --metric gave a verdict without a warning)', async () => {
    const dir = join(root, 'misspelt');
    generate(dir, {
      experiment: 'exp',
      units: 600,
      days: 2,
      start: '2026-10-01T00:00:00Z',
      weights: { control: 1, treatment: 1 },
      rates: { control: 0.1, treatment: 0.11 },
    });
    const store = await openDuckDbStore(dir);
    try {
      const [typo, right] = [
        await analyze(store, { metric: 'purchse', now: Date.parse('2026-10-05T00:00:00Z') }),
        await analyze(store, { metric: 'purchase', now: Date.parse('2026-10-05T00:00:00Z') }),
      ];
      expect(typo.experiments[0]!.insights).toContain(
        "No exposed unit has a purchse event in its attribution window: check the metric's name (events seen: purchase).",
      );
      expect(right.experiments[0]!.insights.join('\n')).not.toMatch(/No exposed unit has/);
    } finally {
      await store.close();
    }
  }, 60_000);
});
