/**
 * bayes.ts beyond the SciPy reference values (reference.test.ts): its defaults, the posterior
 * parameters it reports, the normal model without spread, and its input messages word for word.
 * Written from the mutation testing of issue 19 (each test fails with the mutant it targets).
 */
import { describe, expect, it } from 'vitest';
import {
  bayesMean,
  bayesProportion,
  meanPosterior,
  posteriorSummary,
  proportionPosterior,
} from '../../../src/stats/index.js';
import { statsInputMessage } from '../../helpers/stats.js';

const message = statsInputMessage;

const control = { n: 1000, conversions: 100 };
const treatment = { n: 1000, conversions: 120 };
const arm = { n: 10, sum: 50, sumSq: 300 };
/** An arm of ten 3s: no spread. */
const flat = (value: number) => ({ n: 10, sum: 10 * value, sumSq: 10 * value * value });

describe('bayesProportion', () => {
  it('defaults to the uniform prior Beta(1, 1) and a 95% interval, and reports each posterior', () => {
    const r = bayesProportion(control, treatment);
    const explicit = bayesProportion(control, treatment, { prior: { alpha: 1, beta: 1 }, credibleLevel: 0.95 });
    expect(r.probabilityTreatmentBeats).toBe(explicit.probabilityTreatmentBeats);
    expect(r.expectedLoss).toEqual(explicit.expectedLoss);
    expect(r.credibleLevel).toBe(0.95);
    expect(r.control.params).toEqual({ alpha: 101, beta: 901 });
    expect(r.treatment.params).toEqual({ alpha: 121, beta: 881 });
    expect(r.control.mean).toBe(101 / 1002);
    expect(r.treatment.credibleInterval).toEqual(explicit.treatment.credibleInterval);
  });

  it('names each bad argument', () => {
    expect(message(() => bayesProportion({ n: 5, conversions: 6 }, treatment))).toBe(
      'control.conversions: cannot exceed control.n (5), found 6',
    );
    expect(message(() => bayesProportion(control, { n: -1, conversions: 0 }))).toBe(
      'treatment.n: must be a whole number >= 0, found -1',
    );
    expect(message(() => bayesProportion(control, treatment, { prior: 3 as never }))).toBe(
      'prior: must be an object, found 3',
    );
    expect(message(() => bayesProportion(control, treatment, { prior: { alpha: 1, beta: 0 } }))).toBe(
      'prior.beta: must be > 0, found 0',
    );
    expect(message(() => bayesProportion(control, treatment, { credibleLevel: 0 }))).toBe(
      'credibleLevel: must be strictly between 0 and 1, found 0',
    );
  });
});

describe('bayesMean', () => {
  it('compares two arms without spread (a prior gives them a posterior) as points', () => {
    const prior = { mean: 0, sd: 10 };
    const up = bayesMean(flat(3), flat(5), { prior });
    expect(up.probabilityTreatmentBeats).toBe(1);
    expect(up.expectedLoss).toEqual({ treatment: 0, control: 2 });
    expect(up.treatment).toMatchObject({
      params: { mean: 5, sd: 0 },
      mean: 5,
      credibleInterval: { lower: 5, upper: 5 },
    });
    const down = bayesMean(flat(5), flat(3), { prior });
    expect(down.probabilityTreatmentBeats).toBe(0);
    expect(down.expectedLoss).toEqual({ treatment: 2, control: 0 });
    const tie = bayesMean(flat(4), flat(4), { prior });
    expect(tie.probabilityTreatmentBeats).toBe(0.5);
    expect(tie.expectedLoss).toEqual({ treatment: 0, control: 0 });
  });

  it('takes sd Infinity as the flat prior, the default', () => {
    const other = { n: 12, sum: 70, sumSq: 460 };
    expect(bayesMean(arm, other, { prior: { mean: 100, sd: Infinity } })).toEqual(bayesMean(arm, other));
  });

  it('names each bad argument', () => {
    expect(message(() => bayesMean(flat(3), arm))).toBe(
      'control.sumSq: gives zero variance; the flat-prior normal model needs some variation (or give a prior)',
    );
    expect(message(() => bayesMean(arm, { n: 1, sum: 1, sumSq: 1 }))).toBe(
      'treatment.n: must be a whole number >= 2, found 1',
    );
    expect(message(() => bayesMean(arm, arm, { prior: null as never }))).toBe('prior: must be an object, found null');
    expect(message(() => bayesMean(arm, arm, { prior: { mean: NaN, sd: 1 } }))).toBe(
      'prior.mean: must be a finite number, found NaN',
    );
    expect(message(() => bayesMean(arm, arm, { prior: { mean: 0, sd: 0 } }))).toBe('prior.sd: must be > 0, found 0');
    expect(message(() => bayesMean(arm, arm, { prior: { mean: 0, sd: -Infinity } }))).toBe(
      'prior.sd: must be a finite number, found -Infinity',
    );
  });
});

describe('one arm: proportionPosterior, meanPosterior, posteriorSummary', () => {
  it('gives the posterior of one arm under the prior', () => {
    expect(proportionPosterior({ n: 50, conversions: 5 }, { prior: { alpha: 2, beta: 8 } })).toEqual({
      kind: 'beta',
      alpha: 7,
      beta: 53,
    });
    expect(meanPosterior(flat(3), { prior: { mean: 0, sd: 1 } })).toEqual({ kind: 'normal', mean: 3, sd: 0 });
  });

  it('takes a Normal with sd 0 as a point', () => {
    expect(posteriorSummary({ kind: 'normal', mean: 2.5, sd: 0 }, 0.9)).toEqual({ mean: 2.5, lower: 2.5, upper: 2.5 });
  });

  it('names each bad argument "arm" or "level"', () => {
    expect(message(() => proportionPosterior({ n: 3, conversions: 4 }))).toBe(
      'arm.conversions: cannot exceed arm.n (3), found 4',
    );
    expect(message(() => meanPosterior({ n: 10, sum: 10, sumSq: 10 }))).toBe(
      'arm.sumSq: gives zero variance; the flat-prior normal model needs some variation (or give a prior)',
    );
    expect(message(() => posteriorSummary({ kind: 'beta', alpha: 1, beta: 1 }, 1))).toBe(
      'level: must be strictly between 0 and 1, found 1',
    );
  });
});
