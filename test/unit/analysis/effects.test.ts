/** The glue to switchyard/stats on sums that are not finite numbers (audit: one NaN p-value crashed the analysis). */
import { describe, expect, it } from 'vitest';
import { emptyStats, testStatistic, tryStatistic, type EventStats } from '../../../src/analysis/effects.js';

const arm = (val: number, valUnit2: number): EventStats => ({
  ...emptyStats(1000),
  converted: 100,
  cnt: 100,
  cnt2: 100,
  val,
  valUnit2,
  valEvent2: valUnit2,
});

describe('a test whose sums are not finite', () => {
  const cases: [string, EventStats][] = [
    ['a sum of squares that overflowed', arm(1e154, Infinity)],
    ['a NaN sum', arm(NaN, NaN)],
  ];
  it.each(cases)('%s: tryStatistic says not_finite, testStatistic gives null, nothing throws', (_, bad) => {
    const good = arm(5000, 400_000);
    expect(tryStatistic('mean_value', good, bad, 0.05, true)).toBe('not_finite');
    expect(testStatistic('mean_value', good, bad, 0.05, true)).toBeNull();
    expect(testStatistic('mean_value', bad, good, 0.05, false)).toBeNull();
    // The other statistics of the same arms do not depend on the values.
    expect(testStatistic('conversion', good, bad, 0.05, true)).not.toBeNull();
  });

  it('squares near the largest double are finite and tested (the Welch df was NaN there)', () => {
    // Treatment: mean 1e147, variance 1e297, so t = 1e147 / sqrt(1e294 + 0.38) = 1 with df 999
    // (its variance dwarfs the control's); 2 * scipy.stats.t.sf(1, 999) = 0.31755266017641226.
    const raw = tryStatistic('mean_value', arm(5000, 400_000), arm(1e150, 1e300), 0.05, false);
    expect(raw).not.toBe('not_finite');
    expect(raw).not.toBeNull();
    expect((raw as Exclude<typeof raw, 'not_finite' | null>).pValue).toBeCloseTo(0.31755266017641226, 12);
  });
});
