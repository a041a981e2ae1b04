import { describe, expect, it } from 'vitest';
import {
  PosteriorSampler,
  StatsInputError,
  armPosteriors,
  bayesMean,
  bayesProportion,
  proportionPosterior,
  thompsonShares,
} from '../../../src/stats/index.js';
import { seededUniform } from '../../../src/ports.js';
import { statsInputMessage } from '../../helpers/stats.js';

describe("posterior sampling (@stdlib samplers on the caller's uniform source)", () => {
  // One case per branch of @stdlib's beta sampler: both shapes below 1 (Jöhnk), equal
  // shapes above 1.5, both above 1 (Cheng), and the two-gamma general case.
  it.each([
    [0.4, 0.7],
    [30, 30],
    [121, 881],
    [0.5, 3],
  ])('Beta(%s, %s) draws have its mean and variance', (alpha, beta) => {
    const s = new PosteriorSampler(seededUniform(1));
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const x = s.draw({ kind: 'beta', alpha, beta });
      sum += x;
      sumSq += x * x;
    }
    const mean = sum / n;
    const expectedMean = alpha / (alpha + beta);
    const expectedVar = (alpha * beta) / ((alpha + beta) ** 2 * (alpha + beta + 1));
    expect(Math.abs(mean - expectedMean)).toBeLessThan(5 * Math.sqrt(expectedVar / n));
    expect(sumSq / n - mean * mean).toBeGreaterThan(expectedVar * 0.97);
    expect(sumSq / n - mean * mean).toBeLessThan(expectedVar * 1.03);
  });

  it('Normal draws have the posterior mean and sd; sd 0 is the mean', () => {
    const s = new PosteriorSampler(seededUniform(4));
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const x = s.draw({ kind: 'normal', mean: 3, sd: 2 });
      sum += x;
      sumSq += x * x;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 3)).toBeLessThan(5 * (2 / Math.sqrt(n)));
    expect(Math.sqrt(sumSq / n - mean * mean)).toBeCloseTo(2, 1);
    expect(s.draw({ kind: 'normal', mean: 7, sd: 0 })).toBe(7);
  });

  it('the same seed gives the same draws, another seed other draws', () => {
    const draws = (seed: number) => {
      const s = new PosteriorSampler(seededUniform(seed));
      return Array.from({ length: 20 }, (_, i) =>
        s.draw(i % 2 ? { kind: 'beta', alpha: 3 + i, beta: 40 } : { kind: 'normal', mean: 1, sd: 0.5 }),
      );
    };
    expect(draws(9)).toEqual(draws(9));
    expect(draws(10)).not.toEqual(draws(9));
  });

  it('Beta draws have the posterior mean', () => {
    const s = new PosteriorSampler(seededUniform(2));
    const p = proportionPosterior({ n: 1000, conversions: 120 });
    let sum = 0;
    for (let i = 0; i < 50_000; i++) sum += s.draw(p);
    expect(sum / 50_000).toBeCloseTo(121 / 1002, 3);
  });
});

describe('thompsonShares', () => {
  it('matches bayesProportion P(treatment beats control) within Monte Carlo error', () => {
    const control = { n: 2000, conversions: 200 };
    const treatment = { n: 2000, conversions: 225 };
    const shares = thompsonShares(armPosteriors('conversion', [control, treatment]), {
      draws: 40_000,
      uniform: seededUniform(3),
    });
    const exact = bayesProportion(control, treatment).probabilityTreatmentBeats;
    expect(Math.abs(shares[1]! - exact)).toBeLessThan(4 * Math.sqrt((exact * (1 - exact)) / 40_000));
    expect(shares[0]! + shares[1]!).toBeCloseTo(1, 12);
  });

  it('matches bayesMean for a continuous metric', () => {
    const control = { n: 500, sum: 500 * 10, sumSq: 500 * (100 + 4) };
    const treatment = { n: 500, sum: 500 * 10.2, sumSq: 500 * (10.2 ** 2 + 4) };
    const shares = thompsonShares(armPosteriors('continuous', [control, treatment]), {
      draws: 40_000,
      uniform: seededUniform(4),
    });
    const exact = bayesMean(control, treatment).probabilityTreatmentBeats;
    expect(Math.abs(shares[1]! - exact)).toBeLessThan(4 * Math.sqrt((exact * (1 - exact)) / 40_000));
  });

  it('is deterministic for the same posteriors, draws and seed', () => {
    const posts = armPosteriors('conversion', [
      { n: 300, conversions: 30 },
      { n: 300, conversions: 33 },
      { n: 300, conversions: 28 },
    ]);
    const a = thompsonShares(posts, { draws: 5000, uniform: seededUniform(9, 1) });
    const b = thompsonShares(posts, { draws: 5000, uniform: seededUniform(9, 1) });
    const c = thompsonShares(posts, { draws: 5000, uniform: seededUniform(9, 2) });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('takes an arm with no spread at its mean, and rejects bad input by name', () => {
    const posts = armPosteriors('continuous', [
      { n: 10, sum: 0, sumSq: 0 },
      { n: 10, sum: 10, sumSq: 12 },
    ]);
    expect(posts[0]).toEqual({ kind: 'normal', mean: 0, sd: 0 });
    expect(() => thompsonShares([], { draws: 10, uniform: seededUniform(1) })).toThrow(StatsInputError);
    expect(() => thompsonShares(posts, { draws: 0, uniform: seededUniform(1) })).toThrow(/draws/);
  });

  it('splits a tie equally between the tied arms, and gives the point posterior with the higher mean every draw', () => {
    const point = (mean: number) => ({ kind: 'normal' as const, mean, sd: 0 });
    const u = () => ({ draws: 50, uniform: seededUniform(5) });
    // Arms alike (a continuous metric whose values are all 1, say) are equally likely best:
    // the tie went to the lower index, so the control took P(best) 1 and the bandit's share.
    expect(thompsonShares([point(3), point(3), point(1)], u())).toEqual([0.5, 0.5, 0]);
    expect(thompsonShares([point(1), point(3), point(3)], u())).toEqual([0, 0.5, 0.5]);
    expect(thompsonShares([point(1), point(1), point(1), point(1)], u())).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(thompsonShares([point(-2), point(-5)], u())).toEqual([1, 0]);
    // A wide posterior against a point: its share is P(draw > point), within Monte Carlo error.
    const shares = thompsonShares([point(0), { kind: 'normal', mean: 0, sd: 1 }], {
      draws: 4000,
      uniform: seededUniform(6),
    });
    expect(Math.abs(shares[1]! - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / 4000));
    expect(shares[0]! + shares[1]!).toBe(1);
  });

  it('names each bad input word for word', () => {
    const posts = armPosteriors('conversion', [{ n: 10, conversions: 1 }]);
    const ok = { draws: 10, uniform: seededUniform(1) };
    const message = statsInputMessage;
    expect(message(() => thompsonShares([], ok))).toBe('posteriors: must be a non-empty list');
    expect(message(() => thompsonShares({ length: 1 } as never, ok))).toBe('posteriors: must be a non-empty list');
    expect(message(() => thompsonShares(posts, { ...ok, draws: 0 }))).toBe(
      'draws: must be a whole number >= 1, found 0',
    );
    expect(message(() => thompsonShares(posts, { ...ok, uniform: 0.5 as never }))).toBe('uniform: must be a function');
    expect(
      message(() =>
        armPosteriors('continuous', [
          { n: 5, sum: 5, sumSq: 6 },
          { n: 1, sum: 1, sumSq: 1 },
        ]),
      ),
    ).toBe('arms[1].n: must be at least 2 for a continuous metric, found 1');
  });
});

describe('armPosteriors', () => {
  it('takes a conversion arm as Beta(1 + conversions, 1 + non-conversions), conversions capped at n', () => {
    expect(
      armPosteriors('conversion', [
        { n: 100, conversions: 30 },
        { n: 100, conversions: 120 },
      ]),
    ).toEqual([
      { kind: 'beta', alpha: 31, beta: 71 },
      { kind: 'beta', alpha: 101, beta: 1 },
    ]);
  });

  it('takes a continuous arm as Normal(mean, s / sqrt(n)), and one with n = 2 too', () => {
    // Values 1, 2, 3, 6: mean 3, sample variance 14 / 3.
    expect(
      armPosteriors('continuous', [
        { n: 4, sum: 12, sumSq: 50 },
        { n: 2, sum: 2, sumSq: 4 },
      ]),
    ).toEqual([
      { kind: 'normal', mean: 3, sd: Math.sqrt(14 / 3 / 4) },
      { kind: 'normal', mean: 1, sd: 1 },
    ]);
  });

  it('takes an arm whose spread is rounding error at its magnitude as a point', () => {
    // Three values 1e6, 1e6 + 1e-4 and 1e6 + 1e-4: a sum of squares about the mean of 7e-9, which
    // sumSq - sum * mean at 3e12 computes as 0.00098 (its rounding error), a threshold of 3.
    const x = [1e6, 1e6 + 1e-4, 1e6 + 1e-4];
    const arm = { n: 3, sum: x[0]! + x[1]! + x[2]!, sumSq: x[0]! ** 2 + x[1]! ** 2 + x[2]! ** 2 };
    expect(armPosteriors('continuous', [arm])).toEqual([{ kind: 'normal', mean: arm.sum / 3, sd: 0 }]);
    // Spread well above it is kept: values 1e6, 1e6 and 1e6 + 10, sample variance 100 / 3 (to 1e-6:
    // the same cancellation).
    const y = [1e6, 1e6, 1e6 + 10];
    const wide = { n: 3, sum: y[0]! + y[1]! + y[2]!, sumSq: y[0]! ** 2 + y[1]! ** 2 + y[2]! ** 2 };
    expect(armPosteriors('continuous', [wide])).toEqual([
      { kind: 'normal', mean: wide.sum / 3, sd: expect.closeTo(Math.sqrt(100 / 3 / 3), 4) },
    ]);
  });
});
