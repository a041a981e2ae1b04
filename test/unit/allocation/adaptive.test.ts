import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adaptivePolicy,
  burnInWeights,
  compilePlan,
  isBurningIn,
  nextWeights,
  versionPlan,
  withinFloors,
  type AdaptivePolicy,
} from '../../../src/allocation/index.js';
import { validateConfigObject } from '../../../src/config/index.js';
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
  it("keeps a version within today's floors and holdout: an arm without weight gets its floor, weights inside stay", () => {
    const p = policy({ floor: 0.1, holdout: 0.1, initial: [0.25, 0.25, 0.25, 0.25] });
    const w = withinFloors(p, [0.1, 0.3, 0.6, 0]);
    // Control up to floor + holdout (0.2), d to its floor (0.1): one shift λ = -0.1 of the others pays for both.
    expect(w[0]).toBeCloseTo(0.2, 12);
    expect(w[1]).toBeCloseTo(0.2, 12);
    expect(w[2]).toBeCloseTo(0.5, 12);
    expect(w[3]).toBeCloseTo(0.1, 12);
    expect(w.reduce((a, b) => a + b, 0)).toBe(1);
    expect(withinFloors(p, [0.3, 0.1, 0.5, 0.1])).toEqual([0.3, 0.1, 0.5, 0.1]);
  });

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

describe('adaptive policy: its parts one at a time', () => {
  /** An adaptive experiment with a control in the middle: variants a, control, b. */
  function adaptiveExperiment() {
    const config = validateConfigObject({
      experiments: {
        exp: {
          control: 'control',
          primary_metric: 'purchase',
          variants: { a: { weight: 20 }, control: { weight: 50 }, b: { weight: 30 } },
          allocation: { mode: 'adaptive', salt: 's', floor: 10, holdout: 15, max_step: 4, min_sample: 300 },
        },
      },
    });
    const exp = config.experiments.get('exp')!;
    return { plan: compilePlan(exp), adaptive: exp.allocation.adaptive! };
  }

  it('takes floor, holdout, step and burn-in from the config, the control and split from the plan', () => {
    const { plan, adaptive } = adaptiveExperiment();
    const p = adaptivePolicy(plan, adaptive);
    expect(p).toEqual({
      floor: 0.1,
      holdout: 0.15,
      maxStep: 0.04,
      minSample: 300,
      controlIndex: 1,
      initial: [0.2, 0.5, 0.3],
    });
    expect(Array.isArray(p.initial)).toBe(true);
  });

  it('burns in while any arm is below min_sample, counting an arm at min_sample as done', () => {
    const p = policy({ minSample: 100 });
    expect(isBurningIn(p, [100, 100, 100])).toBe(false);
    expect(isBurningIn(p, [100, 99, 5000])).toBe(true);
    expect(isBurningIn(p, [])).toBe(false);
  });

  it('gives the holdout to the control wherever it is, during burn-in and after', () => {
    const p = policy({ controlIndex: 1, holdout: 0.2, floor: 0.05, initial: [0.25, 0.5, 0.25] });
    // Burn-in: 0.8 of the configured split, plus the holdout on the control.
    const burnIn = burnInWeights(p);
    [0.2, 0.6, 0.2].forEach((w, i) => expect(burnIn[i]).toBeCloseTo(w, 12));
    // After it: floor + (1 - holdout - 3 floors) x share, plus the holdout on the control; the cap is wide.
    // (A control with a share of its own: at share 0 its floor + holdout bound alone gives the same.)
    const r = nextWeights(policy({ ...p, maxStep: 1 }), [0.2, 0.6, 0.2], [500, 500, 500], [0.5, 0.3, 0.2]);
    expect(r.phase).toBe('thompson');
    [0.05 + 0.325, 0.05 + 0.195 + 0.2, 0.05 + 0.13].forEach((w, i) => expect(r.weights[i]).toBeCloseTo(w, 12));
  });

  it('moves each weight at most max_step toward the target', () => {
    const r = nextWeights(policy({ maxStep: 0.1 }), [0.6, 0.2, 0.2], [500, 500, 500], [0, 0, 1]);
    // Target [0.05, 0.05, 0.9]: the control may fall to 0.5 and the third arm rise to 0.3; the second takes the rest.
    [0.5, 0.2, 0.3].forEach((w, i) => expect(r.weights[i]).toBeCloseTo(w, 12));
  });

  it("never takes the control below floor + holdout, even when the other arms' caps push it down", () => {
    const p = policy({ floor: 0.02, holdout: 0.2, maxStep: 0.1, initial: [0.25, 0.25, 0.25, 0.25] });
    const r = nextWeights(p, [0.3, 0.4, 0.1, 0.2], [500, 500, 500, 500], [0, 0.1, 0.4, 0.5]);
    // Target [0.22, 0.092, 0.308, 0.38]: the second arm may fall only to 0.3, the third rise only
    // to 0.2; the control stays at 0.22 and the fourth arm takes the rest.
    [0.22, 0.3, 0.2, 0.28].forEach((w, i) => expect(r.weights[i]).toBeCloseTo(w, 12));
  });

  it("adds up to exactly 1: the bisection's last rounding error goes to an arm not at a bound", () => {
    const sum = (w: number[]) => w.reduce((a, b) => a + b, 0);
    // Without the correction these weights add up to 1 - 2.2e-16 (measured).
    const wide = nextWeights(policy({ maxStep: 1 }), [1 / 3, 1 / 3, 1 / 3], [500, 500, 500], [0.6, 0.3, 0.1]);
    expect(sum(wide.weights)).toBe(1);
    // The first arm at its lower bound (0.5 - 0.1) and the third at its cap (0.2 + 0.1) stay exactly there.
    const capped = nextWeights(policy({ maxStep: 0.1 }), [0.5, 0.3, 0.2], [500, 500, 500], [0.1, 0.2, 0.7]);
    expect(sum(capped.weights)).toBe(1);
    expect(capped.weights[0]).toBe(0.5 - 0.1);
    expect(capped.weights[2]).toBe(0.2 + 0.1);
  });

  it('keeps the floors and lets the cap give way when the previous split breaks them (the config changed)', () => {
    // Floors raised to 0.25: the previous 0.05s cannot reach them within one step of 0.1.
    const p = policy({ floor: 0.25, maxStep: 0.1 });
    const r = nextWeights(p, [0.9, 0.05, 0.05], [500, 500, 500], [0, 0, 1]);
    expect(r.phase).toBe('thompson');
    [0.25, 0.25, 0.5].forEach((w, i) => expect(r.weights[i]).toBeCloseTo(w, 12));
    // A previous split whose caps cannot reach 1 (an arm was removed since): the floors and the target hold too.
    const q = nextWeights(policy({ maxStep: 0.1 }), [0.2, 0.2, 0.2], [500, 500, 500], [0.2, 0.3, 0.5]);
    [0.05 + 0.17, 0.05 + 0.255, 0.05 + 0.425].forEach((w, i) => expect(q.weights[i]).toBeCloseTo(w, 12));
  });

  it("versionPlan: the experiment's plan with these weights as ranges, this version and its id", () => {
    const { plan } = adaptiveExperiment();
    const v = versionPlan(plan, [0.25, 0.45, 0.3], 7);
    expect(Array.from(v.starts)).toEqual([0, 0.25, 0.7]);
    expect(Array.from(v.weights)).toEqual([0.25, 0.45, 0.3]);
    expect(v.version).toBe(7);
    expect(v.id).toBe('exp@7');
    expect(v.fixedCoverage).toBe(1);
    // Everything else is the base plan's, in compilePlan's property order (one object shape).
    const { starts: _s, weights: _w, version: _v, id: _i, fixedCoverage: _f, ...rest } = v;
    const { starts: _bs, weights: _bw, version: _bv, id: _bi, fixedCoverage: _bf, ...baseRest } = plan;
    expect(rest).toEqual(baseRest);
    expect(Object.keys(v)).toEqual(Object.keys(plan));
  });
});
