/**
 * switchyard/stats against SciPy (test/fixtures/stats.json, written by
 * scripts/generate-stats-fixtures.py, which says how each value is computed).
 * Tolerances: 1e-9 relative for closed forms, 1e-6 for integrals (the Bayesian
 * beta-binomial quantities), each with a small absolute floor for values near zero.
 */
import { describe, expect, it } from 'vitest';
import {
  adjustPValues,
  bayesMean,
  bayesProportion,
  cuped,
  meanTest,
  msprt,
  posteriorSummary,
  power,
  proportionTest,
  sampleSize,
  sequentialSrm,
  srmTest,
  type CorrectionMethod,
} from 'switchyard/stats';
import fixtures from '../../fixtures/stats.json' with { type: 'json' };

const CLOSED = 1e-9;
const INTEGRAL = 1e-6;

function close(actual: number, expected: number, rel: number, abs = 1e-300): void {
  const ok = actual === expected || Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected));
  if (!ok)
    expect.fail(
      `expected ${actual} to be within ${rel} (relative) of ${expected}; off by ${Math.abs(actual - expected)}`,
    );
}

const label = (c: { input: unknown }) => JSON.stringify(c.input).slice(0, 110);

describe(`fixtures generated with ${JSON.stringify(fixtures.versions)}`, () => {
  describe('proportionTest (p-value from scipy.stats.chi2_contingency)', () => {
    it.each(fixtures.proportionTest.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = proportionTest(c.input.control, c.input.treatment, { alpha: c.input.alpha });
      close(r.difference, c.expected.difference, CLOSED, 1e-15);
      close(r.z, c.expected.z, 1e-7, 1e-12);
      close(r.pValue, c.expected.pValue, 1e-7, 1e-15);
      close(r.differenceCI.lower, c.expected.differenceCI[0]!, CLOSED, 1e-15);
      close(r.differenceCI.upper, c.expected.differenceCI[1]!, CLOSED, 1e-15);
      if (c.expected.relativeLift === null) {
        expect(r.relativeLift).toEqual({ lift: null, ci: null, standardError: null });
      } else {
        close(r.relativeLift.lift!, c.expected.relativeLift[0]!, CLOSED, 1e-15);
        close(r.relativeLift.ci!.lower, c.expected.relativeLift[1]!, CLOSED, 1e-15);
        close(r.relativeLift.ci!.upper, c.expected.relativeLift[2]!, CLOSED, 1e-15);
      }
      for (const v of [r.z, r.pValue, r.differenceCI.lower, r.differenceCI.upper]) expect(Number.isNaN(v)).toBe(false);
      expect(r.significant).toBe(c.expected.pValue < c.input.alpha);
    });
  });

  describe('meanTest (scipy.stats.ttest_ind_from_stats, equal_var=False)', () => {
    it.each(fixtures.meanTest.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = meanTest(c.input.control, c.input.treatment, { alpha: c.input.alpha });
      close(r.t, c.expected.t, CLOSED);
      close(r.df, c.expected.df, CLOSED);
      close(r.pValue, c.expected.pValue, CLOSED, 1e-15);
      close(r.differenceCI.lower, c.expected.differenceCI[0]!, CLOSED);
      close(r.differenceCI.upper, c.expected.differenceCI[1]!, CLOSED);
      close(r.relativeLift.lift!, c.expected.relativeLift[0]!, CLOSED, 1e-15);
      close(r.relativeLift.ci!.lower, c.expected.relativeLift[1]!, CLOSED, 1e-15);
      close(r.relativeLift.ci!.upper, c.expected.relativeLift[2]!, CLOSED, 1e-15);
      expect(r.significant).toBe(c.expected.pValue < c.input.alpha);
    });
  });

  describe('srmTest (scipy.stats.chisquare)', () => {
    it.each(fixtures.srmTest.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = srmTest(c.input.counts, c.input.weights);
      close(r.chiSquare, c.expected.chiSquare, CLOSED, 1e-12);
      close(r.pValue, c.expected.pValue, CLOSED, 1e-300);
      expect(r.mismatch).toBe(c.expected.pValue < 0.001);
    });
  });

  describe('sequentialSrm (the Dirichlet-multinomial Bayes factor with scipy.special.gammaln)', () => {
    it.each(fixtures.sequentialSrm.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = sequentialSrm(c.input.counts, c.input.weights, c.input.options);
      const logBf = c.expected.logBayesFactor === 'Infinity' ? Infinity : Number(c.expected.logBayesFactor);
      if (logBf === Infinity) expect(r.bayesFactor).toBe(Infinity);
      else close(Math.log(r.bayesFactor), logBf, CLOSED, 1e-9);
      close(r.pValue, c.expected.pValue, CLOSED, 1e-300);
      expect(r.mismatch).toBe(c.expected.mismatch);
      // Expected counts and deviations are the fixed-horizon test's.
      const fixed = srmTest(c.input.counts, c.input.weights);
      expect(r.expected).toEqual(fixed.expected);
      expect(r.deviations).toEqual(fixed.deviations);
    });

    it('carries the smallest p-value over looks and never exceeds 1', () => {
      const first = sequentialSrm([5250, 4750], [50, 50]);
      const later = sequentialSrm([10000, 10000], [50, 50], { previousPValue: first.pValue });
      expect(sequentialSrm([10000, 10000], [50, 50]).pValue).toBe(1);
      expect(later.pValue).toBe(first.pValue);
      expect(later.mismatch).toBe(true);
      expect(() => sequentialSrm([1, 2], [50, 50], { concentration: 0 })).toThrow(/concentration/);
      expect(() => sequentialSrm([1, 2], [50, 50], { previousPValue: -1 })).toThrow(/previousPValue/);
    });
  });

  describe('adjustPValues (bh, by: scipy.stats.false_discovery_control)', () => {
    const methods: CorrectionMethod[] = ['bonferroni', 'holm', 'bh', 'by'];
    it.each(fixtures.adjustPValues.flatMap((c) => methods.map((m) => [m, JSON.stringify(c.input), c] as const)))(
      '%s of %s',
      (method, _l, c) => {
        const r = adjustPValues(c.input, method);
        expect(r).toHaveLength(c.input.length);
        r.forEach((v, i) => close(v, c.expected[method][i]!, CLOSED, 1e-15));
        expect(Math.max(...r)).toBeLessThanOrEqual(1);
      },
    );
  });

  describe('sampleSize and power', () => {
    it.each(fixtures.sampleSize.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const input = c.input as Parameters<typeof sampleSize>[0];
      expect(sampleSize(input).perArm).toBe(c.expected.perArm);
      close(power({ ...input, n: c.expected.perArm }), c.expected.powerAtPerArm, CLOSED);
      expect(power({ ...input, n: c.expected.perArm })).toBeGreaterThanOrEqual(input.power!);
      expect(power({ ...input, n: c.expected.perArm - 1 })).toBeLessThan(input.power!);
    });
  });

  describe('bayesProportion (scipy.integrate.quad, scipy.stats.beta)', () => {
    it.each(fixtures.bayesProportion.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = bayesProportion(c.input.control, c.input.treatment, {
        prior: c.input.prior,
        credibleLevel: c.input.credibleLevel,
      });
      close(r.probabilityTreatmentBeats, c.expected.probabilityTreatmentBeats, INTEGRAL, 1e-9);
      close(r.expectedLoss.treatment, c.expected.expectedLoss.treatment, INTEGRAL, 1e-12);
      close(r.expectedLoss.control, c.expected.expectedLoss.control, INTEGRAL, 1e-12);
      close(r.control.credibleInterval.lower, c.expected.controlCI[0]!, CLOSED, 1e-15);
      close(r.control.credibleInterval.upper, c.expected.controlCI[1]!, CLOSED, 1e-15);
      close(r.treatment.credibleInterval.lower, c.expected.treatmentCI[0]!, CLOSED, 1e-15);
      close(r.treatment.credibleInterval.upper, c.expected.treatmentCI[1]!, CLOSED, 1e-15);
    });
  });

  describe('bayesMean (closed forms, scipy.stats.norm)', () => {
    it.each(fixtures.bayesMean.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = bayesMean(c.input.control, c.input.treatment, { credibleLevel: c.input.credibleLevel });
      close(r.probabilityTreatmentBeats, c.expected.probabilityTreatmentBeats, CLOSED);
      close(r.expectedLoss.treatment, c.expected.expectedLoss.treatment, CLOSED);
      close(r.expectedLoss.control, c.expected.expectedLoss.control, CLOSED);
    });
  });

  describe('bayesMean: posteriors, credible intervals and the normal prior (conjugate update, scipy.stats.norm.interval)', () => {
    it.each(fixtures.bayesMeanPosterior.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = bayesMean(c.input.control, c.input.treatment, {
        credibleLevel: c.input.credibleLevel,
        ...(c.input.prior === undefined ? {} : { prior: c.input.prior }),
      });
      for (const arm of ['control', 'treatment'] as const) {
        const got = r[arm];
        const want = c.expected[arm];
        close(got.mean, want.mean, CLOSED);
        close(got.params['mean']!, want.mean, CLOSED);
        close(got.params['sd']!, want.sd, CLOSED);
        close(got.credibleInterval.lower, want.credibleInterval[0]!, CLOSED);
        close(got.credibleInterval.upper, want.credibleInterval[1]!, CLOSED);
      }
      close(r.probabilityTreatmentBeats, c.expected.probabilityTreatmentBeats, CLOSED);
      close(r.expectedLoss.treatment, c.expected.expectedLoss.treatment, CLOSED);
      close(r.expectedLoss.control, c.expected.expectedLoss.control, CLOSED);
      expect(r.credibleLevel).toBe(c.input.credibleLevel);
    });
  });

  describe('posteriorSummary (scipy.stats beta and norm: mean, interval)', () => {
    it.each(fixtures.posteriorSummary.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const p = c.input.posterior;
      const posterior =
        p.kind === 'beta'
          ? { kind: 'beta' as const, alpha: p.alpha!, beta: p.beta! }
          : { kind: 'normal' as const, mean: p.mean!, sd: p.sd! };
      const r = c.input.level === undefined ? posteriorSummary(posterior) : posteriorSummary(posterior, c.input.level);
      close(r.mean, c.expected.mean, CLOSED);
      close(r.lower, c.expected.lower, CLOSED);
      close(r.upper, c.expected.upper, CLOSED);
    });
  });

  describe('cuped (numpy on raw data, scipy.stats.ttest_ind)', () => {
    it.each(fixtures.cuped.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = cuped(c.input.control, c.input.treatment);
      close(r.theta, c.expected.theta, CLOSED);
      close(r.control.mean, c.expected.controlMean, CLOSED);
      close(r.treatment.mean, c.expected.treatmentMean, CLOSED);
      close(r.test.t, c.expected.t, 1e-8);
      close(r.test.pValue, c.expected.pValue, 1e-8, 1e-15);
      close(r.varianceReduction, c.expected.varianceReduction, 1e-8);
    });
  });

  describe('msprt (Johari et al. 2017, closed form)', () => {
    it.each(fixtures.msprt.map((c) => [label(c), c] as const))('%s', (_l, c) => {
      const r = msprt(c.input.control, c.input.treatment, { tau: c.input.tau, alpha: c.input.alpha });
      close(r.likelihoodRatio, c.expected.likelihoodRatio, CLOSED);
      close(r.pValue, c.expected.pValue, CLOSED);
      close(r.confidenceSequence.lower, c.expected.confidenceSequence[0]!, CLOSED);
      close(r.confidenceSequence.upper, c.expected.confidenceSequence[1]!, CLOSED);
    });
  });
});
