import { describe, expect, it } from 'vitest';
import { proportionTest, stratifiedEffect, StatsInputError } from '../../../src/stats/index.js';
import { seededUniform } from '../../../src/ports.js';
import fixtures from '../../fixtures/stats.json' with { type: 'json' };
import { statsInputMessage } from '../../helpers/stats.js';

/** Relative to the expected value, with an absolute floor (as in reference.test.ts). */
function close(actual: number, expected: number, rel = 1e-9, abs = 1e-15): void {
  if (!(Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected))))
    expect.fail(`expected ${actual} to be within ${rel} (relative) of ${expected}`);
}

/**
 * Ten allocation versions: the baseline conversion rate climbs from 5% to 14% (a trend),
 * the treatment adds 1 point throughout, and the bandit moves the treatment's share from
 * 10% to 90%, so the treatment's units come mostly from the later, better periods.
 */
function trendRun(seed: number) {
  const uniform = seededUniform(seed);
  const strata = [];
  const pooled = { control: { n: 0, conversions: 0 }, treatment: { n: 0, conversions: 0 } };
  for (let v = 0; v < 10; v++) {
    const base = 0.05 + 0.01 * v;
    const share = 0.1 + (0.8 * v) / 9;
    const c = { n: 0, conversions: 0 };
    const t = { n: 0, conversions: 0 };
    for (let u = 0; u < 20_000; u++) {
      const arm = uniform() < share ? t : c;
      arm.n++;
      if (uniform() < base + (arm === t ? 0.01 : 0)) arm.conversions++;
    }
    strata.push({ label: v, control: c, treatment: t });
    pooled.control.n += c.n;
    pooled.control.conversions += c.conversions;
    pooled.treatment.n += t.n;
    pooled.treatment.conversions += t.conversions;
  }
  return { strata, pooled };
}

describe('stratifiedEffect: unbiased across allocation versions', () => {
  it('recovers the true effect under a time trend where the pooled estimate is biased', () => {
    let covered = 0;
    let pooledCovered = 0;
    let errorSum = 0;
    const runs = 20;
    for (let seed = 1; seed <= runs; seed++) {
      const { strata, pooled } = trendRun(seed);
      const s = stratifiedEffect(strata);
      const p = proportionTest(pooled.control, pooled.treatment);
      if (s.interval.lower <= 0.01 && 0.01 <= s.interval.upper) covered++;
      if (p.differenceCI.lower <= 0.01 && 0.01 <= p.differenceCI.upper) pooledCovered++;
      errorSum += s.difference - 0.01;
      // The pooled difference credits the trend to the treatment: several times the true effect.
      expect(p.difference).toBeGreaterThan(0.03);
    }
    expect(covered).toBeGreaterThanOrEqual(16);
    expect(pooledCovered).toBe(0);
    expect(Math.abs(errorSum / runs)).toBeLessThan(0.002);
  });

  it('equals the plain difference for one stratum and weighs strata by their units', () => {
    const one = stratifiedEffect([
      { control: { n: 1000, conversions: 100 }, treatment: { n: 1000, conversions: 130 } },
    ]);
    const plain = proportionTest({ n: 1000, conversions: 100 }, { n: 1000, conversions: 130 });
    expect(one.difference).toBeCloseTo(0.03, 12);
    expect(one.standardError).toBeCloseTo(plain.standardError, 3);
    const two = stratifiedEffect([
      { label: 'a', control: { n: 100, sum: 100, sumSq: 200 }, treatment: { n: 100, sum: 200, sumSq: 500 } },
      { label: 'b', control: { n: 300, sum: 300, sumSq: 600 }, treatment: { n: 100, sum: 100, sumSq: 200 } },
    ]);
    expect(two.strata.map((s) => s.weight)).toEqual([200 / 600, 400 / 600]);
    expect(two.difference).toBeCloseTo(1 / 3, 12);
  });

  it('skips strata with an empty arm and rejects input with no usable stratum', () => {
    const r = stratifiedEffect([
      { control: { n: 0, conversions: 0 }, treatment: { n: 50, conversions: 5 } },
      { control: { n: 50, conversions: 5 }, treatment: { n: 50, conversions: 9 } },
    ]);
    expect(r.skipped).toEqual([0]);
    expect(() => stratifiedEffect([])).toThrow(StatsInputError);
    expect(() =>
      stratifiedEffect([{ control: { n: 1, conversions: 0 }, treatment: { n: 5, conversions: 1 } }]),
    ).toThrow(/no stratum/);
    expect(() =>
      stratifiedEffect([{ control: { n: 10, conversions: 11 }, treatment: { n: 5, conversions: 1 } }]),
    ).toThrow(/strata\[0\]\.control\.conversions/);
  });
});

describe('stratifiedEffect against numpy on raw data and scipy.stats.norm (test/fixtures/stats.json)', () => {
  it.each(fixtures.stratifiedEffect.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const r = stratifiedEffect(c.input.strata, { confidenceLevel: c.input.confidenceLevel });
    const e = c.expected;
    close(r.difference, e.difference);
    close(r.standardError, e.standardError);
    close(r.interval.lower, e.interval[0]!);
    close(r.interval.upper, e.interval[1]!);
    close(r.z, e.z);
    close(r.pValue, e.pValue);
    expect(r.skipped).toEqual(e.skipped);
    expect(r.strata.map((s) => s.label)).toEqual(e.strata.map((s) => s.label));
    r.strata.forEach((s, i) => {
      close(s.difference, e.strata[i]!.difference);
      close(s.standardError, e.strata[i]!.standardError);
      close(s.weight, e.strata[i]!.weight);
    });
  });

  it('gives z 0 and p 1 for no difference without variance, and an infinite z for a difference without it', () => {
    const none = stratifiedEffect([
      { control: { n: 10, conversions: 0 }, treatment: { n: 10, conversions: 0 } },
      { control: { n: 4, sum: 8, sumSq: 16 }, treatment: { n: 3, sum: 6, sumSq: 12 } },
    ]);
    expect(none).toMatchObject({ difference: 0, standardError: 0, z: 0, pValue: 1, interval: { lower: 0, upper: 0 } });
    const up = stratifiedEffect([{ control: { n: 10, conversions: 0 }, treatment: { n: 20, conversions: 20 } }]);
    expect(up).toMatchObject({
      difference: 1,
      standardError: 0,
      z: Infinity,
      pValue: 0,
      interval: { lower: 1, upper: 1 },
    });
    const down = stratifiedEffect([{ control: { n: 5, sum: 15, sumSq: 45 }, treatment: { n: 5, sum: 5, sumSq: 5 } }]);
    expect(down).toMatchObject({ difference: -2, standardError: 0, z: -Infinity, pValue: 0 });
  });

  it('gives z 0 and p 1 for means apart only by the rounding of their sums, without variance (audit: p was 0)', () => {
    const r = stratifiedEffect([
      { control: { n: 2, sum: 0.1 + 0.1, sumSq: 0.02 }, treatment: { n: 3, sum: 0.1 + 0.1 + 0.1, sumSq: 0.03 } },
    ]);
    expect(r.standardError).toBe(0);
    expect(r.difference).not.toBe(0);
    expect(r).toMatchObject({ z: 0, pValue: 1 });
  });

  it('uses a stratum whose arms have exactly 2 units', () => {
    const r = stratifiedEffect([
      { control: { n: 2, conversions: 1 }, treatment: { n: 2, conversions: 2 } },
      { control: { n: 2, sum: 3, sumSq: 5 }, treatment: { n: 2, sum: 7, sumSq: 25 } },
    ]);
    expect(r.skipped).toEqual([]);
    // Rates 0.5 and 1 (variances 0.5 and 0); values {1, 2} and {3, 4} (variances 0.5 and 0.5).
    expect(r.strata.map((s) => [s.difference, s.weight])).toEqual([
      [0.5, 0.5],
      [2, 0.5],
    ]);
    expect(r.strata[0]!.standardError).toBeCloseTo(0.5, 12);
    expect(r.strata[1]!.standardError).toBeCloseTo(Math.sqrt(0.5), 12);
  });

  it('names each bad argument word for word', () => {
    const message = statsInputMessage;
    const ok = { control: { n: 10, conversions: 1 }, treatment: { n: 10, conversions: 2 } };
    expect(message(() => stratifiedEffect([]))).toBe('strata: must be a non-empty list');
    expect(message(() => stratifiedEffect({ length: 1, 0: ok } as never))).toBe('strata: must be a non-empty list');
    expect(message(() => stratifiedEffect([ok], { confidenceLevel: 1.5 }))).toBe(
      'confidenceLevel: must be strictly between 0 and 1, found 1.5',
    );
    expect(message(() => stratifiedEffect([ok, 7 as never]))).toBe('strata[1]: must be an object, found 7');
    expect(message(() => stratifiedEffect([ok, { ...ok, treatment: { n: 3, conversions: 4 } }]))).toBe(
      'strata[1].treatment.conversions: cannot exceed strata[1].treatment.n (3), found 4',
    );
    expect(message(() => stratifiedEffect([{ ...ok, control: { n: null as never, sum: 1, sumSq: 1 } }]))).toBe(
      'strata[0].control.n: must be a finite number, found null',
    );
    expect(message(() => stratifiedEffect([{ ...ok, control: { n: 1, conversions: 1 } }]))).toBe(
      'strata: no stratum has at least 2 units in both arms',
    );
    // A mean arm whose n is no count is refused, not skipped as a small stratum (audit).
    const mean = { n: 10, sum: 5, sumSq: 4 };
    expect(
      message(() =>
        stratifiedEffect([
          { control: mean, treatment: mean },
          { control: { ...mean, n: -5 }, treatment: mean },
        ]),
      ),
    ).toBe('strata[1].control.n: must be a whole number >= 0, found -5');
    expect(message(() => stratifiedEffect([{ control: mean, treatment: { ...mean, n: 1.5 } }]))).toBe(
      'strata[0].treatment.n: must be a whole number >= 0, found 1.5',
    );
    expect(
      stratifiedEffect([
        { control: mean, treatment: mean },
        { control: { ...mean, n: 1 }, treatment: mean },
      ]).skipped,
    ).toEqual([1]);
  });
});
