import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import { assign, bucket, compilePlan, trafficAt } from '../../../src/allocation/index.js';
import { validateConfigObject, type ValidatedExperiment } from '../../../src/config/index.js';
import cases from '../../fixtures/allocation-cases.json' with { type: 'json' };

function experiment(weights: number[], extra: Record<string, unknown> = {}): ValidatedExperiment {
  const variants: Record<string, { weight: number }> = {};
  weights.forEach((w, i) => (variants[i === 0 ? 'control' : `v${i}`] = { weight: w }));
  const config = validateConfigObject({
    experiments: { exp: { variants, allocation: { mode: 'fixed', salt: 'exp-a', ...extra } } },
  });
  return config.experiments.get('exp')!;
}

describe('shared allocation cases (test/fixtures/allocation-cases.json, from a Python port)', () => {
  it.each(cases.buckets.map((c) => [c.salt, c.unit, c.bucket] as const))(
    'bucket(%j, %j) = %f',
    (salt, unit, expected) => {
      expect(bucket(salt, unit)).toBe(expected);
    },
  );

  it.each(cases.assignments.map((c) => [c.unit, c.weights, c.coverage, c.variant] as const))(
    'unit %s with weights %j at coverage %f gets variant %i',
    (unit, weights, coverage, variant) => {
      const plan = compilePlan(experiment(weights));
      expect(assign(plan, unit, coverage)).toBe(variant);
    },
  );
});

describe('allocation properties', () => {
  const unitId = fc.string({ minLength: 1, maxLength: 40 });

  it('is deterministic: same unit, same config, same variant', () => {
    const plan = compilePlan(experiment([30, 30, 40]));
    const again = compilePlan(experiment([30, 30, 40]));
    fc.assert(
      fc.property(
        unitId,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (u, c) => assign(plan, u, c) === assign(again, u, c),
      ),
    );
  });

  it('ramps monotonically: a unit in at a lower coverage is in, with the same variant, at any higher one', () => {
    const plan = compilePlan(experiment([20, 30, 50]));
    fc.assert(
      fc.property(
        unitId,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (u, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const before = assign(plan, u, low);
          return before === -1 || assign(plan, u, high) === before;
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('ramps down without moving anyone to another variant', () => {
    const plan = compilePlan(experiment([50, 50]));
    fc.assert(
      fc.property(
        unitId,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (u, a, b) => {
          const after = assign(plan, u, Math.min(a, b));
          return after === -1 || after === assign(plan, u, Math.max(a, b));
        },
      ),
    );
  });

  it('keeps weight fidelity over 100k ids (chi-square goodness of fit, p > 0.001)', () => {
    const weights = [10, 20, 30, 40];
    const plan = compilePlan(experiment(weights));
    const counts = [0, 0, 0, 0];
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[assign(plan, `user-${i}`, 1)]!++;
    const chi2 = counts.reduce((acc, c, i) => acc + (c - (n * weights[i]!) / 100) ** 2 / ((n * weights[i]!) / 100), 0);
    expect(1 - chisquareCdf(chi2, 3)).toBeGreaterThan(0.001);
  });

  it('takes the configured share of traffic (coverage 25% over 100k ids within 1 point)', () => {
    const plan = compilePlan(experiment([50, 50]));
    let inside = 0;
    for (let i = 0; i < 100_000; i++) if (assign(plan, `u${i}`, 0.25) >= 0) inside++;
    expect(Math.abs(inside / 100_000 - 0.25)).toBeLessThan(0.01);
  });

  it('keeps two experiments with different salts independent (chi-square test of independence, p > 0.001)', () => {
    const a = compilePlan(experiment([50, 50], { salt: 'salt-a' }));
    const b = compilePlan(experiment([50, 50], { salt: 'salt-b' }));
    const table = [
      [0, 0],
      [0, 0],
    ];
    const n = 100_000;
    for (let i = 0; i < n; i++) table[assign(a, `user-${i}`, 1)]![assign(b, `user-${i}`, 1)]!++;
    let chi2 = 0;
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 2; c++) {
        const expected = ((table[r]![0]! + table[r]![1]!) * (table[0]![c]! + table[1]![c]!)) / n;
        chi2 += (table[r]![c]! - expected) ** 2 / expected;
      }
    }
    expect(1 - chisquareCdf(chi2, 1)).toBeGreaterThan(0.001);
  });

  it('puts a unit whose bucket is exactly a range boundary in the range that starts there (half-open ranges, as GrowthBook)', () => {
    // Found by inverting MurmurHash3's last block: murmur3('exp-a:edge-702--2uAW') = 2^30, bucket 0.25 exactly.
    const edge = 'edge-702--2uAW';
    expect(bucket('exp-a', edge)).toBe(0.25);
    // At full traffic every unit gets a variant: 0.25 starts the second range of 25/25/50.
    expect(assign(compilePlan(experiment([25, 25, 50])), edge, 1)).toBe(1);
    // At 50% traffic the first range of 50/50 is [0, 0.25): its end is outside the experiment.
    expect(assign(compilePlan(experiment([50, 50])), edge, 0.5)).toBe(-1);
    expect(assign(compilePlan(experiment([50, 50])), edge, 0.5000001)).toBe(0);
  });

  it('changes the allocation version when weights, salt or order change, not when the ramp changes', () => {
    const base = compilePlan(experiment([50, 50])).version;
    expect(compilePlan(experiment([40, 60])).version).not.toBe(base);
    expect(compilePlan(experiment([50, 50], { salt: 'other' })).version).not.toBe(base);
    expect(compilePlan(experiment([50, 50], { percent: 10 })).version).toBe(base);
    // The same variants and weights listed in another order split the bucket range
    // differently, so the version (which the reshuffle guard compares) must change.
    const ordered = (variants: Record<string, { weight: number }>) =>
      compilePlan(
        validateConfigObject({
          experiments: { exp: { variants, allocation: { mode: 'fixed', salt: 'exp-a' } } },
        }).experiments.get('exp')!,
      ).version;
    const abc = ordered({ control: { weight: 50 }, a: { weight: 30 }, b: { weight: 20 } });
    expect(ordered({ control: { weight: 50 }, a: { weight: 30 }, b: { weight: 20 } })).toBe(abc);
    expect(ordered({ control: { weight: 50 }, b: { weight: 20 }, a: { weight: 30 } })).not.toBe(abc);
  });
});

describe('what the client reads from a plan', () => {
  const config = validateConfigObject({
    experiments: {
      pricing: {
        flag: 'pricing-page',
        control: 'baseline',
        variants: {
          cheap: { weight: 25, payload: { price: 5 } },
          baseline: { weight: 50, payload: { price: 10 } },
          premium: { weight: 25, payload: { price: 20, badge: 'gold' } },
        },
        allocation: { mode: 'fixed', salt: 'pricing-1', percent: 30 },
      },
      twin: {
        control: 'baseline',
        variants: {
          cheap: { weight: 25, payload: { price: 5 } },
          baseline: { weight: 50, payload: { price: 10 } },
          premium: { weight: 25, payload: { price: 20, badge: 'gold' } },
        },
        allocation: { mode: 'fixed', salt: 'pricing-1', percent: 30 },
      },
    },
  });
  const plan = compilePlan(config.experiments.get('pricing')!);

  it('points controlIndex at the variant the config names as control, wherever it is listed', () => {
    // Units outside the traffic and failed evaluations get the variant at controlIndex.
    expect(plan.controlIndex).toBe(1);
    expect(plan.variants[plan.controlIndex]).toBe('baseline');
    expect(plan.control).toBe('baseline');
  });

  it("gives each variant index its own variant's payload", () => {
    expect(plan.variants).toEqual(['cheap', 'baseline', 'premium']);
    expect(plan.payloads).toEqual([{ price: 5 }, { price: 10 }, { price: 20, badge: 'gold' }]);
    // The payload a unit receives is the one of the variant it is assigned.
    const seen = new Map<string, unknown>();
    for (let i = 0; i < 2000 && seen.size < 3; i++) {
      const v = assign(plan, `user-${i}`, 1);
      seen.set(plan.variants[v]!, plan.payloads[v]);
    }
    expect(seen.get('premium')).toEqual({ price: 20, badge: 'gold' });
    expect(seen.get('cheap')).toEqual({ price: 5 });
  });

  it('takes the fixed percent of traffic at every time, with no ramp step', () => {
    expect(plan.fixedCoverage).toBe(0.3);
    for (const now of [0, Date.parse('2026-12-01T00:00:00Z'), Date.parse('2030-01-01T00:00:00Z')]) {
      expect(trafficAt(plan, now)).toEqual({ percent: 30, step: -1 });
    }
    let inside = 0;
    for (let i = 0; i < 100_000; i++) if (assign(plan, `u${i}`, plan.fixedCoverage) >= 0) inside++;
    expect(Math.abs(inside / 100_000 - 0.3)).toBeLessThan(0.01);
  });

  it('names the allocation experiment@version, distinct per experiment and per version', () => {
    // Exposure dedupe keys start with the id: two experiments that share salt and variants
    // must not share it, and a change of allocation must give a new one (units are logged again).
    expect(plan.id).toBe(`pricing@${plan.version}`);
    const twin = compilePlan(config.experiments.get('twin')!);
    expect(twin.version).toBe(plan.version);
    expect(twin.id).not.toBe(plan.id);
    const reweighted = compilePlan(experiment([40, 60]));
    const base = compilePlan(experiment([50, 50]));
    expect(reweighted.id).not.toBe(base.id);
    expect(compilePlan(experiment([50, 50])).id).toBe(base.id);
  });
});

describe('gradual ramp from config and clock', () => {
  const config = validateConfigObject({
    experiments: {
      ramp: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        allocation: {
          mode: 'gradual',
          start: '2026-12-01T09:00:00Z',
          schedule: [
            { percent: 1, dwell: '1d' },
            { percent: 10, dwell: '2d' },
            { percent: 50, dwell: '3d' },
            { percent: 100 },
          ],
        },
      },
    },
  });
  const plan = compilePlan(config.experiments.get('ramp')!);
  const start = Date.parse('2026-12-01T09:00:00Z');
  const day = 86_400_000;

  it.each([
    [-1, 0, -1],
    [0, 1, 0],
    [day - 1, 1, 0],
    [day, 10, 1],
    [3 * day - 1, 10, 1],
    [3 * day, 50, 2],
    [6 * day, 100, 3],
    [600 * day, 100, 3],
  ] as const)('at start%+d ms the traffic is %d%% (step %d)', (offset, percent, step) => {
    expect(trafficAt(plan, start + offset)).toEqual({ percent, step });
  });

  it('answers with one frozen object per step, made with the plan (asking allocates nothing)', () => {
    const early = trafficAt(plan, start - 1);
    expect(trafficAt(plan, start - 1000)).toBe(early);
    expect(trafficAt(plan, start + 2 * day)).toBe(trafficAt(plan, start + day));
    expect(trafficAt(plan, start + 2 * day)).not.toBe(trafficAt(plan, start));
    expect(Object.isFrozen(early)).toBe(true);
    expect(Object.isFrozen(plan.traffic)).toBe(true);
    expect(plan.traffic).toEqual([
      { percent: 0, step: -1 },
      { percent: 1, step: 0 },
      { percent: 10, step: 1 },
      { percent: 50, step: 2 },
      { percent: 100, step: 3 },
    ]);
  });

  it('holds at the paused step while paused', () => {
    expect(trafficAt(plan, start + 5 * day, { pausedAt: start + day })).toEqual({ percent: 10, step: 1 });
  });

  it('never moves the ramp ahead for a pause stamped later than now (another instance whose clock is ahead)', () => {
    expect(trafficAt(plan, start + day - 1, { pausedAt: start + 3 * day })).toEqual({ percent: 1, step: 0 });
    expect(trafficAt(plan, start - 1, { pausedAt: start + day })).toEqual({ percent: 0, step: -1 });
  });
});
