/**
 * cuped's input checks (each field named) and its degenerate covariates, which the SciPy
 * fixtures (real, correlated data) do not reach.
 */
import { describe, expect, it } from 'vitest';
import { cuped } from '../../../src/stats/cuped.js';

// Y = 1..6, X = 2, 1, 4, 3, 6, 5 in one arm; Y = 2..7, X the same in the other.
const arm = { n: 6, sumY: 21, sumYSq: 91, sumX: 21, sumXSq: 91, sumXY: 88 };
const other = { n: 6, sumY: 27, sumYSq: 139, sumX: 21, sumXSq: 91, sumXY: 109 };

describe('cuped input', () => {
  it.each(['sumY', 'sumX', 'sumXY'] as const)('names a non-finite %s, in either arm', (field) => {
    expect(() => cuped({ ...arm, [field]: NaN }, other)).toThrow(`control.${field}`);
    expect(() => cuped(arm, { ...other, [field]: Infinity })).toThrow(`treatment.${field}`);
  });

  it.each(['sumYSq', 'sumXSq'] as const)('names a negative %s', (field) => {
    expect(() => cuped(arm, { ...other, [field]: -1 })).toThrow(`treatment.${field}`);
  });

  it('refuses sums of squares that no data can give, and lets rounding below zero pass', () => {
    // Pooled sumXSq below (sum X)^2 / N: impossible.
    expect(() =>
      cuped({ n: 10, sumY: 10, sumYSq: 20, sumX: 100, sumXSq: 100, sumXY: 100 }, { ...arm, sumXSq: 80 }),
    ).toThrow('sumXSq: is smaller than sumX^2 / n, which no data can give');
    // A constant covariate whose pooled sxx rounds to a hair below zero: no adjustment, no error.
    const x = 0.1;
    const c = { n: 3, sumY: 6, sumYSq: 14, sumX: 3 * x, sumXSq: 3 * x * x, sumXY: 6 * x };
    const t = { n: 3, sumY: 9, sumYSq: 29, sumX: 3 * x, sumXSq: 3 * x * x, sumXY: 9 * x };
    const sx = 6 * x;
    expect(6 * x * x - (sx * sx) / 6).toBeLessThanOrEqual(0);
    const r = cuped(c, t);
    expect(r.theta).toBe(0);
    expect(r.varianceReduction).toBe(0);
  });

  it('with a constant covariate (no variance in X) does not adjust', () => {
    const c = { n: 4, sumY: 10, sumYSq: 30, sumX: 8, sumXSq: 16, sumXY: 20 };
    const t = { n: 4, sumY: 14, sumYSq: 54, sumX: 8, sumXSq: 16, sumXY: 28 };
    const r = cuped(c, t);
    expect(r.theta).toBe(0);
    expect(r.control.mean).toBe(2.5);
    expect(r.treatment.mean).toBe(3.5);
    expect(r.varianceReduction).toBe(0);
  });

  it('finds no effect where X predicts Y exactly and the arms follow the same line (audit: p was 0)', () => {
    // Y = 0.3 X + 0.1 in both arms: every adjusted value is the same number, up to rounding.
    const sums = (xs: number[]) => {
      const ys = xs.map((x) => 0.3 * x + 0.1);
      const add = (v: number[]) => v.reduce((a, b) => a + b, 0);
      return {
        n: xs.length,
        sumY: add(ys),
        sumYSq: add(ys.map((y) => y * y)),
        sumX: add(xs),
        sumXSq: add(xs.map((x) => x * x)),
        sumXY: add(xs.map((x, i) => x * ys[i]!)),
      };
    };
    const r = cuped(sums([1, 2, 3, 4.2]), sums([2, 3, 5, 6.2]));
    expect(r.test.standardError).toBe(0);
    expect(r.test).toMatchObject({ pValue: 1, significant: false });
  });

  it('reports no reduction when neither arm varies', () => {
    const flat = { n: 3, sumY: 6, sumYSq: 12, sumX: 3, sumXSq: 5, sumXY: 6 };
    const r = cuped(flat, { ...flat });
    expect(r.varianceReduction).toBe(0);
    expect(Number.isNaN(r.varianceReduction)).toBe(false);
  });
});
