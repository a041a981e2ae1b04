import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { burnInWeights, nextWeights, type AdaptivePolicy } from '../../../src/allocation/index.js';
import { simulateBandit } from '../../helpers/bandit-sim.js';

const policy = (over: Partial<AdaptivePolicy> = {}): AdaptivePolicy => ({
  floor: 0.05,
  holdout: 0,
  maxStep: 0.1,
  minSample: 500,
  controlIndex: 0,
  initial: [1 / 3, 1 / 3, 1 / 3],
  ...over,
});

/** The documented budget: 30 re-weightings of 2,000 units (60,000 units) with 2,000 draws each. */
const RUN = { periods: 30, perPeriod: 2000, draws: 2000 };
const RATES = [0.05, 0.06, 0.08];

describe('adaptive policy (Thompson sampling with burn-in, floor, holdout, cap)', () => {
  it.each([1, 2, 3, 4, 5])('puts at least 80%% of traffic on the best arm after 60,000 units (seed %i)', (seed) => {
    const sim = simulateBandit(policy(), RATES, { ...RUN, seed });
    expect(sim.history.at(-1)![2]).toBeGreaterThanOrEqual(0.8);
  });

  it.each([1, 2, 3])('has cumulative regret below uniform allocation (seed %i)', (seed) => {
    const bandit = simulateBandit(policy(), RATES, { ...RUN, seed });
    const uniform = simulateBandit(policy(), RATES, { ...RUN, seed, weights: () => [1 / 3, 1 / 3, 1 / 3] });
    expect(bandit.regret).toBeLessThan(0.6 * uniform.regret);
  });

  it('keeps the floor, the holdout and the step cap at every re-weighting', () => {
    const p = policy({ holdout: 0.2, floor: 0.08, maxStep: 0.05 });
    // The control is the worst arm, so the bandit would starve it but for the holdout.
    const sim = simulateBandit(p, RATES, { ...RUN, seed: 11 });
    for (const [i, w] of sim.history.entries()) {
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(w[0]).toBeGreaterThanOrEqual(0.2 + 0.08 - 1e-9);
      for (const x of w) expect(x).toBeGreaterThanOrEqual(0.08 - 1e-9);
      if (i > 0)
        for (const [j, x] of w.entries())
          expect(Math.abs(x - sim.history[i - 1]![j]!)).toBeLessThanOrEqual(0.05 + 1e-9);
    }
    expect(sim.history.at(-1)![0]).toBeCloseTo(0.28, 6);
    expect(sim.history.at(-1)![2]).toBeGreaterThan(0.6);
  });

  it('holds the configured split until every arm has min_sample units', () => {
    const p = policy({ initial: [0.5, 0.3, 0.2], minSample: 1000 });
    const r = nextWeights(p, [0.5, 0.3, 0.2], [5000, 5000, 999], [0, 0, 1]);
    expect(r.phase).toBe('burn-in');
    expect(r.weights).toEqual(burnInWeights(p));
    expect(r.weights.map((x) => Math.round(x * 1e9) / 1e9)).toEqual([0.5, 0.3, 0.2]);
    expect(nextWeights(p, [0.5, 0.3, 0.2], [5000, 5000, 1000], [0, 0, 1]).phase).toBe('thompson');
  });

  it('is deterministic for the same data and seed', () => {
    const a = simulateBandit(policy(), RATES, { ...RUN, periods: 8, seed: 42 });
    const b = simulateBandit(policy(), RATES, { ...RUN, periods: 8, seed: 42 });
    expect(a.history).toEqual(b.history);
  });

  it('any shares and previous split give weights within floor, holdout and cap (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.double({ min: 0.01, max: 0.2, noNaN: true }),
        (rawShares, rawPrev, holdout, maxStep) => {
          const p = policy({ holdout, floor: 0.04, maxStep, minSample: 1, initial: [0.25, 0.25, 0.25, 0.25] });
          const prevSum = rawPrev.reduce((a, b) => a + b, 0);
          // A feasible previous split: within the floors and holdout.
          const spare = 1 - holdout - 4 * 0.04;
          const prev = rawPrev.map((x, i) => 0.04 + (i === 0 ? holdout : 0) + (spare * x) / prevSum);
          const total = rawShares.reduce((a, b) => a + b, 0) || 1;
          const shares = rawShares.map((s) => s / total);
          const w = nextWeights(p, prev, [10, 10, 10, 10], shares).weights;
          expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
          w.forEach((x, i) => {
            expect(x).toBeGreaterThanOrEqual(0.04 + (i === 0 ? holdout : 0) - 1e-9);
            expect(Math.abs(x - prev[i]!)).toBeLessThanOrEqual(maxStep + 1e-9);
          });
        },
      ),
      { numRuns: 300, seed: 16 },
    );
  });
});
