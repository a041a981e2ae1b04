import { describe, expect, it } from 'vitest';
import {
  adjustPValues,
  bayesMean,
  bayesProportion,
  cuped,
  meanTest,
  msprt,
  power,
  proportionTest,
  relativeLift,
  sampleSize,
  srmTest,
  StatsInputError,
} from 'switchyard/stats';

const ok = { n: 100, conversions: 10 };
const okMean = { n: 10, sum: 50, sumSq: 300 };

describe('bad input throws StatsInputError naming the argument, never NaN', () => {
  it.each([
    ['negative n', () => proportionTest({ n: -5, conversions: 0 }, ok), 'control.n'],
    ['conversions above n', () => proportionTest(ok, { n: 10, conversions: 11 }), 'treatment.conversions'],
    ['fractional conversions', () => proportionTest({ n: 10, conversions: 2.5 }, ok), 'control.conversions'],
    ['NaN conversions', () => proportionTest(ok, { n: 10, conversions: NaN }), 'treatment.conversions'],
    ['alpha of 0', () => proportionTest(ok, ok, { alpha: 0 }), 'alpha'],
    ['alpha of 1.5', () => meanTest(okMean, okMean, { alpha: 1.5 }), 'alpha'],
    ['n = 1 for a variance', () => meanTest({ n: 1, sum: 1, sumSq: 1 }, okMean), 'control.n'],
    ['sumSq below sum^2/n', () => meanTest(okMean, { n: 10, sum: 50, sumSq: 100 }), 'treatment.sumSq'],
    ['Infinity sum', () => meanTest({ n: 10, sum: Infinity, sumSq: 1 }, okMean), 'control.sum'],
    ['a missing arm', () => proportionTest(undefined as never, ok), 'control'],
    ['fewer than 2 arms', () => srmTest([100], [1]), 'counts'],
    ['weights of another length', () => srmTest([100, 100], [1, 1, 1]), 'weights'],
    ['negative counts', () => srmTest([100, -1], [1, 1]), 'counts[1]'],
    ['a p-value above 1', () => adjustPValues([0.5, 1.2], 'bh'), 'pValues[1]'],
    ['an unknown correction', () => adjustPValues([0.5], 'fdr' as never), 'method'],
    ['a proportion baseline of 1', () => sampleSize({ metric: 'proportion', baseline: 1, mde: 0.1 }), 'baseline'],
    ['power of 1', () => sampleSize({ metric: 'proportion', baseline: 0.1, mde: 0.01, power: 1 }), 'power'],
    ['a mean design with no sd', () => sampleSize({ metric: 'mean', baseline: 1, mde: 0.1 }), 'sd'],
    ['a negative mde', () => power({ metric: 'mean', baseline: 1, mde: -0.1, sd: 1, n: 100 }), 'mde'],
    ['an effect past 100%', () => sampleSize({ metric: 'proportion', baseline: 0.95, mde: 0.1 }), 'mde'],
    ['a zero prior', () => bayesProportion(ok, ok, { prior: { alpha: 0, beta: 1 } }), 'prior.alpha'],
    ['credible level of 1', () => bayesMean(okMean, okMean, { credibleLevel: 1 }), 'credibleLevel'],
    ['negative variance', () => relativeLift({ mean: 1, variance: -1 }, { mean: 1, variance: 1 }), 'control.variance'],
    ['mixed metric kinds', () => msprt(ok, okMean), 'treatment'],
    ['a negative tau', () => msprt(ok, ok, { tau: -1 }), 'tau'],
    [
      'cuped with n = 1',
      () =>
        cuped(
          { n: 1, sumY: 1, sumYSq: 1, sumX: 1, sumXSq: 1, sumXY: 1 },
          { n: 5, sumY: 1, sumYSq: 1, sumX: 1, sumXSq: 1, sumXY: 1 },
        ),
      'control.n',
    ],
  ])('%s', (_name, call, argument) => {
    let error: unknown;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StatsInputError);
    expect((error as StatsInputError).argument).toBe(argument);
    expect((error as StatsInputError).code).toBe('SY_INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(new RegExp(`^${argument.replace(/[[\].]/g, '\\$&')}: `));
  });
});

describe('edge cases answer with numbers', () => {
  it('zero variance in both arms: p = 1 when equal, 0 when different', () => {
    expect(proportionTest({ n: 10, conversions: 0 }, { n: 10, conversions: 0 }).pValue).toBe(1);
    expect(meanTest({ n: 5, sum: 10, sumSq: 20 }, { n: 5, sum: 10, sumSq: 20 }).pValue).toBe(1);
    expect(meanTest({ n: 5, sum: 10, sumSq: 20 }, { n: 5, sum: 15, sumSq: 45 }).pValue).toBe(0);
  });

  it('msprt with no variance yet carries the previous p-value and claims nothing', () => {
    const r = msprt({ n: 100, conversions: 0 }, { n: 100, conversions: 0 }, { tau: 0.01, previousPValue: 0.7 });
    expect(r).toMatchObject({ likelihoodRatio: 1, pValue: 0.7, reject: false });
  });

  it('adjusted p-values keep the input order and never exceed 1', () => {
    const p = [0.04, 0.001, 0.9, 0.03];
    for (const method of ['bonferroni', 'holm', 'bh', 'by'] as const) {
      const adjusted = adjustPValues(p, method);
      adjusted.forEach((a, i) => {
        expect(a).toBeGreaterThanOrEqual(p[i]!);
        expect(a).toBeLessThanOrEqual(1);
      });
      expect(adjusted[1]).toBe(Math.min(...adjusted));
    }
    expect(adjustPValues([], 'holm')).toEqual([]);
  });

  it('bayesProportion with all conversions and none is still a probability', () => {
    const r = bayesProportion({ n: 1000, conversions: 1000 }, { n: 1000, conversions: 0 });
    expect(r.probabilityTreatmentBeats).toBeGreaterThanOrEqual(0);
    expect(r.probabilityTreatmentBeats).toBeLessThan(1e-12);
    expect(r.expectedLoss.control).toBe(0);
    expect(r.expectedLoss.treatment).toBeCloseTo(r.control.mean - r.treatment.mean, 9);
  });
});
