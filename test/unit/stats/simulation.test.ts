/**
 * Seeded simulations: the tests do what they promise on data, not just on formulas.
 */
import binomial from '@stdlib/random-base-binomial';
import normal from '@stdlib/random-base-normal';
import { describe, expect, it } from 'vitest';
import { meanTest, msprt, power, proportionTest, sampleSize, srmTest } from 'switchyard/stats';

const ALPHA = 0.05;

describe('A/A false-positive rate at alpha = 0.05, fixed horizon', () => {
  it('two-proportion z-test: within 4-6% over 4,000 experiments', () => {
    const draw = binomial.factory({ seed: 11 });
    let positives = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) {
      const n = 10_000;
      if (proportionTest({ n, conversions: draw(n, 0.1) }, { n, conversions: draw(n, 0.1) }).pValue < ALPHA)
        positives++;
    }
    const rate = positives / runs;
    expect(rate).toBeGreaterThanOrEqual(0.04);
    expect(rate).toBeLessThanOrEqual(0.06);
  });

  it("Welch's t-test on skewed small samples: within 4-6% over 4,000 experiments", () => {
    const draw = normal.factory({ seed: 12 });
    let positives = 0;
    const runs = 4000;
    const arm = (n: number) => {
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < n; i++) {
        const x = Math.exp(draw(0, 0.5)); // log-normal revenue-like values
        sum += x;
        sumSq += x * x;
      }
      return { n, sum, sumSq };
    };
    for (let i = 0; i < runs; i++) if (meanTest(arm(200), arm(150)).pValue < ALPHA) positives++;
    const rate = positives / runs;
    expect(rate).toBeGreaterThanOrEqual(0.04);
    expect(rate).toBeLessThanOrEqual(0.06);
  });
});

describe('continuous monitoring: daily peeks over 14 days, 2,000 A/A experiments', () => {
  it('inflates the naive z-test well past 5%, while msprt stays at or below 5%', () => {
    const draw = binomial.factory({ seed: 13 });
    const runs = 2000;
    const daily = 1000;
    let naive = 0;
    let sequential = 0;
    for (let r = 0; r < runs; r++) {
      const c = { n: 0, conversions: 0 };
      const t = { n: 0, conversions: 0 };
      let naiveHit = false;
      let p = 1;
      for (let day = 0; day < 14; day++) {
        c.n += daily;
        t.n += daily;
        c.conversions += draw(daily, 0.1);
        t.conversions += draw(daily, 0.1);
        if (!naiveHit && proportionTest(c, t).pValue < ALPHA) naiveHit = true;
        p = msprt(c, t, { alpha: ALPHA, previousPValue: p }).pValue;
      }
      if (naiveHit) naive++;
      if (p < ALPHA) sequential++;
    }
    expect(naive / runs).toBeGreaterThan(0.12);
    expect(sequential / runs).toBeLessThanOrEqual(0.05);
  });

  it('msprt still detects a real effect under the same monitoring', () => {
    const draw = binomial.factory({ seed: 14 });
    let detected = 0;
    const runs = 500;
    for (let r = 0; r < runs; r++) {
      const c = { n: 0, conversions: 0 };
      const t = { n: 0, conversions: 0 };
      let p = 1;
      for (let day = 0; day < 14; day++) {
        c.n += 2000;
        t.n += 2000;
        c.conversions += draw(2000, 0.1);
        t.conversions += draw(2000, 0.115);
        p = msprt(c, t, { previousPValue: p }).pValue;
      }
      if (p < ALPHA) detected++;
    }
    expect(detected / runs).toBeGreaterThan(0.8);
  });
});

describe('power', () => {
  it("the z-test's empirical power at the planned n is within 2 points of the formula (4,000 experiments)", () => {
    const design = { metric: 'proportion' as const, baseline: 0.1, mde: 0.015, alpha: 0.05, power: 0.8 };
    const { perArm } = sampleSize(design);
    const expected = power({ ...design, n: perArm });
    const draw = binomial.factory({ seed: 15 });
    let significant = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) {
      if (
        proportionTest({ n: perArm, conversions: draw(perArm, 0.1) }, { n: perArm, conversions: draw(perArm, 0.115) })
          .pValue < 0.05
      )
        significant++;
    }
    expect(Math.abs(significant / runs - expected)).toBeLessThanOrEqual(0.02);
  });

  it('gives a runtime in days from daily traffic and allocation', () => {
    const r = sampleSize({
      metric: 'proportion',
      baseline: 0.1,
      mde: 0.02,
      dailyUnits: 1000,
      trafficShare: 0.5,
      arms: 3,
    });
    expect(r.runtimeDays).toBe(Math.ceil((r.perArm * 3) / 500));
    expect(r.total).toBe(r.perArm * 3);
  });
});

describe('srmTest', () => {
  it('flags a 50.5/49.5 split at n = 1,000,000', () => {
    const r = srmTest([505_000, 495_000], [50, 50]);
    expect(r.mismatch).toBe(true);
    expect(r.pValue).toBeLessThan(1e-20);
  });

  it('does not flag a fair random split (1,000 seeded splits, at most a few alarms at p < 0.001)', () => {
    const draw = binomial.factory({ seed: 16 });
    let alarms = 0;
    for (let i = 0; i < 1000; i++) {
      const a = draw(100_000, 0.5);
      if (srmTest([a, 100_000 - a], [1, 1]).mismatch) alarms++;
    }
    expect(alarms).toBeLessThanOrEqual(5);
  });
});
