/**
 * Follow-up config snippets carry names from the data; the config loader reads `${NAME}` in
 * them as an environment variable (audit: an experiment named exp${SY_SECRET_TOKEN} put the
 * token into the pasted config). The snippets escape it, and read back as the literal names.
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
