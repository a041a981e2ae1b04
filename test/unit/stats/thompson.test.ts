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
});
