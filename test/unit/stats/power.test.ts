/**
 * sampleSize's runtime and its input checks, which the SciPy fixtures (the sample sizes
 * and powers themselves) do not reach.
 */
import { describe, expect, it } from 'vitest';
import { sampleSize } from '../../../src/stats/power.js';

const base = { metric: 'proportion', baseline: 0.1, mde: 0.02 } as const;

describe('sampleSize runtime', () => {
  it('is the days the traffic needs, whole days, exact when the division is', () => {
    const { total } = sampleSize(base);
    expect(sampleSize({ ...base, dailyUnits: total }).runtimeDays).toBe(1);
    expect(sampleSize({ ...base, dailyUnits: total / 4 }).runtimeDays).toBe(4);
    expect(sampleSize({ ...base, dailyUnits: total - 1 }).runtimeDays).toBe(2);
    // Half the traffic to the experiment: twice the days. The default share is all of it.
    expect(sampleSize({ ...base, dailyUnits: total, trafficShare: 0.5 }).runtimeDays).toBe(2);
    expect(sampleSize({ ...base, dailyUnits: total, trafficShare: 1 }).runtimeDays).toBe(1);
    expect(sampleSize(base).runtimeDays).toBeNull();
  });

  it('counts every arm', () => {
    const two = sampleSize(base);
    const three = sampleSize({ ...base, arms: 3, dailyUnits: two.total });
    expect(three.perArm).toBe(two.perArm);
    expect(three.total).toBe(3 * two.perArm);
    expect(three.runtimeDays).toBe(2);
  });

  it('asks for at least 2 units per arm however large the effect (audit: an MDE of 1e10 sd gave 0)', () => {
    const huge = sampleSize({ metric: 'mean', baseline: 1, sd: 1, mde: 1e10, dailyUnits: 100 });
    expect(huge).toMatchObject({ perArm: 2, total: 4, runtimeDays: 1 });
  });

  it('says what is wrong with its input', () => {
    expect(() => sampleSize({ ...base, dailyUnits: 100, trafficShare: 0 })).toThrow(
      'trafficShare: must be in (0, 1], found 0',
    );
    expect(() => sampleSize({ ...base, dailyUnits: 100, trafficShare: 1.01 })).toThrow(
      'trafficShare: must be in (0, 1], found 1.01',
    );
    expect(() => sampleSize({ ...base, metric: 'ratio' as never })).toThrow(
      'metric: must be "proportion" or "mean", found "ratio"',
    );
    expect(() => sampleSize({ metric: 'mean', baseline: 0, mde: 0.1, relative: true, sd: 1 })).toThrow(
      /mde: a relative MDE of a zero baseline is zero/,
    );
    // audit: these answered perArm Infinity (and total, runtimeDays Infinity).
    expect(() => sampleSize({ metric: 'proportion', baseline: 0.5, mde: 1e-160 })).toThrow(
      'mde: is too small to detect at alpha 0.05 and power 0.8: no finite number of units per arm does',
    );
    expect(() => sampleSize({ ...base, alpha: 1e-300, dailyUnits: 1000 })).toThrow(
      'mde: is too small to detect at alpha 1e-300 and power 0.8: no finite number of units per arm does',
    );
    // An effect that takes the rate to exactly 1 is outside (0, 1).
    expect(() => sampleSize({ metric: 'proportion', baseline: 0.5, mde: 0.5 })).toThrow(
      'mde: moves the rate to 1, outside (0, 1)',
    );
  });
});
