/**
 * CUPED p-values are corrected with the decision family: an experiment with two treatment
 * arms and pre-exposure data decides on CUPED's tests, so those are corrected as the raw
 * ones are (Holm here, across both arms); the decision cites the corrected one. (Audit: the
 * CUPED p was used as it came, which skipped the correction for every arm but one.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, openDuckDbStore } from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { adjustPValues } from '../../src/stats/index.js';
import { generate } from '../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-cuped-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('CUPED with two treatment arms', () => {
  it('corrects the CUPED p-values across the arms, and the raw ones as before', async () => {
    const dir = join(root, 'data');
    generate(dir, {
      experiment: 'exp',
      units: 9000,
      days: 10,
      weights: { control: 1, a: 1, b: 1 },
      rates: { control: 0.3, a: 0.33, b: 0.31 },
      primary: 'purchase',
      prePeriod: 0.3,
    });
    const config = validateConfigObject({
      analysis: { corrections: 'holm' },
      experiments: {
        exp: {
          variants: { control: { weight: 34 }, a: { weight: 33 }, b: { weight: 33 } },
          primary_metric: 'purchase',
        },
      },
    });
    const store = await openDuckDbStore(dir);
    let analysis;
    try {
      analysis = await analyze(store, { config, now: Date.parse('2026-12-20T00:00:00Z') });
    } finally {
      await store.close();
    }
    const decisionFamily = analysis.experiments[0]!.metrics.filter((m) => m.statistic === 'conversion');
    expect(decisionFamily.map((m) => m.variant).sort()).toEqual(['a', 'b']);
    for (const m of decisionFamily) expect(m.cuped).toBeDefined();
    const cupedP = decisionFamily.map((m) => m.cuped!.pValue);
    expect(decisionFamily.map((m) => m.cuped!.adjustedPValue)).toEqual(adjustPValues(cupedP, 'holm'));
    expect(decisionFamily.map((m) => m.adjustedPValue)).toEqual(
      adjustPValues(
        decisionFamily.map((m) => m.pValue),
        'holm',
      ),
    );
    // Holm over two tests doubles the smaller p: the correction did something.
    expect(Math.max(...decisionFamily.map((m) => m.cuped!.adjustedPValue / m.cuped!.pValue))).toBeGreaterThan(1.5);
    expect(analysis.experiments[0]!.decision.evidence.join('\n')).toMatch(/CUPED corrected p = /);
  }, 60_000);
});
