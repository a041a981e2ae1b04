/**
 * msprt's defaults, its decision and its edges (no variance yet, a carried p-value, bad
 * input), which the SciPy-referenced values in reference.test.ts do not reach.
 */
import { describe, expect, it } from 'vitest';
import { mixtureSequence, msprt } from '../../../src/stats/sequential.js';

describe('msprt', () => {
  it('mixes over tau = 0.1 x the pooled standard deviation by default', () => {
    const c = { n: 4000, conversions: 400 };
    const t = { n: 1000, conversions: 150 };
    const pooled = Math.sqrt((0.1 * 0.9 * 4000 + 0.15 * 0.85 * 1000) / 5000);
    const r = msprt(c, t);
    expect(r.tau).toBeCloseTo(0.1 * pooled, 15);
    expect(r.variance).toBeCloseTo((0.1 * 0.9) / 4000 + (0.15 * 0.85) / 1000, 15);
    expect(msprt(c, t, { tau: 0.05 }).tau).toBe(0.05);
  });

  it('rejects exactly when its p-value is below alpha', () => {
    const strong = msprt({ n: 10000, conversions: 1000 }, { n: 10000, conversions: 1200 }, { tau: 0.02 });
    expect(strong.pValue).toBeLessThan(0.05);
    expect(strong.reject).toBe(true);
    const weak = msprt({ n: 10000, conversions: 1000 }, { n: 10000, conversions: 1010 }, { tau: 0.02 });
    expect(weak.pValue).toBeGreaterThan(0.05);
    expect(weak.reject).toBe(false);
    // The same data at an alpha above its p-value rejects.
    expect(
      msprt({ n: 10000, conversions: 1000 }, { n: 10000, conversions: 1010 }, { tau: 0.02, alpha: 0.99 }).reject,
    ).toBe(weak.pValue < 0.99);
  });

  it('with no variance yet gives no evidence and keeps the carried p-value', () => {
    const none = msprt({ n: 100, conversions: 0 }, { n: 100, conversions: 0 });
    expect(none.likelihoodRatio).toBe(1);
    expect(none.pValue).toBe(1);
    expect(none.confidenceSequence).toEqual({ lower: -Infinity, upper: Infinity });
    expect(none.reject).toBe(false);
    expect(msprt({ n: 100, conversions: 0 }, { n: 100, conversions: 0 }, { previousPValue: 0.01 }).reject).toBe(true);
    // At exactly alpha it does not reject: below, not at.
    expect(msprt({ n: 100, conversions: 0 }, { n: 100, conversions: 0 }, { previousPValue: 0.05 }).reject).toBe(false);
  });

  it('says what is wrong with a carried p-value, and takes 0 and 1', () => {
    const arm = { n: 100, conversions: 10 };
    expect(() => msprt(arm, arm, { previousPValue: -0.1 })).toThrow('previousPValue: must be in [0, 1], found -0.1');
    expect(() => msprt(arm, arm, { previousPValue: 1.1 })).toThrow('previousPValue: must be in [0, 1], found 1.1');
    expect(msprt(arm, arm, { previousPValue: 0 }).pValue).toBe(0);
    expect(msprt(arm, arm, { previousPValue: 1 }).pValue).toBeLessThanOrEqual(1);
    expect(() => msprt(arm, { n: 10, sum: 5, sumSq: 10 })).toThrow(
      'treatment: must be the same kind of metric as control',
    );
  });
});

describe('mixtureSequence', () => {
  it('gives no evidence with no variance or no mixing width, and refuses a negative variance', () => {
    for (const [variance, tau] of [
      [0, 0.1],
      [0.01, 0],
    ] as const) {
      const r = mixtureSequence(0.5, variance, tau, 0.05, 0.3);
      expect(r.likelihoodRatio).toBe(1);
      expect(r.pValue).toBe(0.3);
      expect(r.confidenceSequence).toEqual({ lower: -Infinity, upper: Infinity });
    }
    expect(() => mixtureSequence(0.5, -1, 0.1)).toThrow(/variance/);
    expect(() => mixtureSequence(NaN, 1, 0.1)).toThrow(/estimate/);
    const some = mixtureSequence(0.5, 0.01, 0.1);
    expect(some.likelihoodRatio).toBeGreaterThan(1);
    expect(some.confidenceSequence.lower).toBeLessThan(0.5);
    expect(some.confidenceSequence.upper).toBeGreaterThan(0.5);
  });

  it('refuses a tau, alpha or previous p that is none, rather than answering NaN or an endless interval (audit)', () => {
    const message = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(message(() => mixtureSequence(0.5, 0.01, Infinity))).toMatch(/^tau: /);
    expect(message(() => mixtureSequence(0.5, 0.01, NaN))).toMatch(/^tau: /);
    expect(message(() => mixtureSequence(0.5, 0.01, -0.1))).toMatch(/^tau: /);
    expect(message(() => mixtureSequence(0.5, 0.01, 0.1, 0))).toMatch(/^alpha: /);
    expect(message(() => mixtureSequence(0.5, 0.01, 0.1, 1))).toMatch(/^alpha: /);
    expect(message(() => mixtureSequence(0.5, 0.01, 0.1, 0.05, NaN))).toMatch(/^previousPValue: /);
    expect(message(() => mixtureSequence(0.5, 0.01, 0.1, 0.05, 1.5))).toBe(
      'previousPValue: must be in [0, 1], found 1.5',
    );
  });
});
