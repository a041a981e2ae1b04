/**
 * adaptive allocation through the public API, in one process: re-weighting toward the
 * best arm from tracked conversions, allocation versions in exposures, sticky units,
 * a removed arm's units on the control, and status.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type ExposureEvent, type Switchyard } from 'switchyard';
import { seededUniform } from '../../src/ports.js';
import { privateStateDir } from '../helpers/state-dir.js';

const RATES: Record<string, number> = { control: 0.04, b: 0.05, c: 0.09 };

function config(
  allocation: Record<string, unknown> = {},
  variants: Record<string, unknown> = { control: {}, b: {}, c: {} },
) {
  return {
    feature_flags: { provider: 'memory', init_timeout_ms: 200 },
    exposures: { enabled: false, dir: privateStateDir() },
    experiments: {
      hero: {
        variants,
        primary_metric: 'signup',
        allocation: {
          mode: 'adaptive',
          reweight_every: '1h',
          min_sample: 300,
          floor: 5,
          max_step: 15,
          draws: 2000,
          seed: 5,
          ...allocation,
        },
      },
    },
  };
}

const open: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
});

async function make(cfg: Record<string, unknown> | string) {
  const sy = await createSwitchyard({ config: cfg, watch: false });
  open.push(sy);
  return sy;
}

/** Sends `n` new units through getVariant and tracks their conversions at the arms' rates. */
async function traffic(sy: Switchyard, from: number, n: number, uniform: () => number) {
  for (let i = from; i < from + n; i++) {
    const ctx = { targetingKey: `u${i}` };
    const v = await sy.getVariant('hero', ctx);
    if (uniform() < RATES[v.variant!]!) sy.track('signup', ctx);
  }
}

describe('adaptive allocation (one process)', () => {
  it('moves traffic to the best arm, one new allocation version per re-weighting, in every exposure', async () => {
    const sy = await make(config());
    const versions = new Set<number>();
    sy.on('exposure', (e: ExposureEvent) => versions.add(e.allocationVersion));
    const uniform = seededUniform(77);
    const initial = sy.allocationStatus('hero')[0]!;
    expect(initial.phase).toBe('initial');
    expect(initial.arms.map((a) => a.weight)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    let served = 0;
    const seen = [initial.version];
    for (let round = 0; round < 12; round++) {
      await traffic(sy, served, 1500, uniform);
      served += 1500;
      const next = await sy.reweight('hero');
      expect(next!.version).toBeGreaterThan(seen.at(-1)!);
      seen.push(next!.version);
    }
    const status = sy.allocationStatus('hero')[0]!;
    expect(status.phase).toBe('thompson');
    expect(status.version).toBe(seen.at(-1));
    expect(status.arms.find((a) => a.variant === 'c')!.weight).toBeGreaterThanOrEqual(0.8);
    for (const a of status.arms) expect(a.weight).toBeGreaterThanOrEqual(0.05 - 1e-9);
    expect(status.arms.reduce((n, a) => n + a.units, 0)).toBe(served);
    expect(status.arms.find((a) => a.variant === 'c')!.posterior).toMatchObject({ alpha: expect.any(Number) });
    // One recorder: the bandit's arm series are in the instance's metrics, the store the
    // guardrails merge across a fleet, and status reads them from there.
    for (const a of status.arms) {
      expect(sy.metrics.summary('hero', a.variant, 'switchyard.units')!.n).toBe(a.units);
      expect(sy.metrics.summary('hero', a.variant, 'switchyard.adaptive:signup')?.n ?? 0).toBe(a.conversions);
      expect(a.credibleInterval!.lower).toBeLessThan(a.posteriorMean!);
      expect(a.credibleInterval!.upper).toBeGreaterThan(a.posteriorMean!);
    }
    expect(status.arms.reduce((p, a) => p + a.probabilityBest!, 0)).toBeCloseTo(1, 9);
    // Every version that served new units shows up in exposures.
    expect([...versions].sort()).toEqual(seen.slice(0, 12).sort());
    const v = await sy.getVariant('hero', { targetingKey: 'fresh' });
    expect(v.allocationVersion).toBe(status.version);
    expect(v.allocationMode).toBe('adaptive');
  });

  it('keeps each unit on its arm when the weights change', async () => {
    const sy = await make(config({ min_sample: 10 }));
    const before = new Map<string, string>();
    for (let i = 0; i < 600; i++)
      before.set(`u${i}`, (await sy.getVariant('hero', { targetingKey: `u${i}` })).variant!);
    // Only c converts, so the weights move hard toward c.
    for (const [unit, variant] of before) if (variant === 'c') sy.track('signup', { targetingKey: unit });
    for (let r = 0; r < 4; r++) await sy.reweight('hero');
    expect(sy.allocationStatus('hero')[0]!.arms.find((a) => a.variant === 'c')!.weight).toBeGreaterThan(0.6);
    for (const [unit, variant] of before)
      expect((await sy.getVariant('hero', { targetingKey: unit })).variant).toBe(variant);
    // A new unit follows the new weights.
    const fresh = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const v = (await sy.getVariant('hero', { targetingKey: `new${i}` })).variant!;
      fresh.set(v, (fresh.get(v) ?? 0) + 1);
    }
    expect(fresh.get('c')!).toBeGreaterThan(1100);
  });

  it('without a sticky store, moves exactly the units whose bucket changed owner', async () => {
    const sy = await make(config({ min_sample: 10, sticky: 'none' }));
    const before = new Map<string, string>();
    for (let i = 0; i < 3000; i++)
      before.set(`u${i}`, (await sy.getVariant('hero', { targetingKey: `u${i}` })).variant!);
    for (const [unit, variant] of before) if (variant === 'c') sy.track('signup', { targetingKey: unit });
    await sy.reweight('hero');
    const w = sy.allocationStatus('hero')[0]!.arms.map((a) => a.weight);
    let moved = 0;
    for (const [unit, variant] of before)
      if ((await sy.getVariant('hero', { targetingKey: unit })).variant !== variant) moved++;
    // Ranges in variant order: control [0, w0), b [w0, w0 + w1), c after. From thirds, the
    // share that changes owner is |w0 - 1/3| + |w0 + w1 - 2/3|.
    const expected = Math.abs(w[0]! - 1 / 3) + Math.abs(w[0]! + w[1]! - 2 / 3);
    expect(moved / 3000).toBeGreaterThan(expected - 0.03);
    expect(moved / 3000).toBeLessThan(expected + 0.03);
    expect(moved).toBeGreaterThan(0);
  });

  it('sends units sticky to an arm the config removed to the control', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-adaptive-'));
    const file = join(dir, 'sy.yaml');
    const yaml = (arms: string) =>
      `feature_flags: { provider: memory }\nexposures: { enabled: false, dir: ${JSON.stringify(privateStateDir())} }\nexperiments:\n  hero:\n    allow_reshuffle: true\n    primary_metric: signup\n    variants: { ${arms} }\n    allocation: { mode: adaptive, min_sample: 10 }\n`;
    writeFileSync(file, yaml('control: {}, b: {}, c: {}'));
    const sy = await createSwitchyard({ config: file, watchIntervalMs: 20 });
    open.push(sy);
    const onB: string[] = [];
    const onC: string[] = [];
    for (let i = 0; onB.length < 20 || onC.length < 20; i++) {
      const v = (await sy.getVariant('hero', { targetingKey: `u${i}` })).variant;
      if (v === 'b') onB.push(`u${i}`);
      if (v === 'c') onC.push(`u${i}`);
    }
    writeFileSync(file, yaml('control: {}, c: {}'));
    sy.reload();
    expect(sy.config.experiments.get('hero')!.variants.map((v) => v.key)).toEqual(['control', 'c']);
    for (const u of onB) expect((await sy.getVariant('hero', { targetingKey: u })).variant).toBe('control');
    for (const u of onC) expect((await sy.getVariant('hero', { targetingKey: u })).variant).toBe('c');
  });

  it('gives an arm added by a reload at least its floor at once, not nothing until the next re-weighting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-adaptive-'));
    const file = join(dir, 'sy.yaml');
    const yaml = (arms: string, floor: number) =>
      `feature_flags: { provider: memory }\nexposures: { enabled: false, dir: ${JSON.stringify(privateStateDir())} }\nexperiments:\n  hero:\n    primary_metric: signup\n    variants: { ${arms} }\n    allocation: { mode: adaptive, min_sample: 10, floor: ${floor}, max_step: 40 }\n`;
    writeFileSync(file, yaml('control: {}, b: {}, c: {}', 5));
    const sy = await createSwitchyard({ config: file, watchIntervalMs: 20 });
    open.push(sy);
    for (let i = 0; i < 600; i++) {
      const ctx = { targetingKey: `u${i}` };
      if ((await sy.getVariant('hero', ctx)).variant === 'c') sy.track('signup', ctx);
    }
    const version = (await sy.reweight('hero'))!.version;
    // An arm added at the end (no reshuffle) and the floor raised from 5% to 10%.
    writeFileSync(file, yaml('control: {}, b: {}, c: {}, d: {}', 10));
    sy.reload();
    const status = sy.allocationStatus('hero')[0]!;
    expect(status.version).toBe(version);
    expect(status.arms.map((a) => a.variant)).toEqual(['control', 'b', 'c', 'd']);
    for (const a of status.arms) expect(a.weight, a.variant).toBeGreaterThanOrEqual(0.1 - 1e-9);
    expect(status.arms.reduce((s, a) => s + a.weight, 0)).toBeCloseTo(1, 12);
    const counts: Record<string, number> = { control: 0, b: 0, c: 0, d: 0 };
    for (let i = 0; i < 3000; i++) counts[(await sy.getVariant('hero', { targetingKey: `new${i}` })).variant!]! += 1;
    for (const arm of ['control', 'b', 'd']) expect(counts[arm], arm).toBeGreaterThan(240);
  });

  it('attributes guardrail metrics (observe) to the arm each unit was served, after the weights moved', async () => {
    const sy = await make(config({ min_sample: 10, max_step: 40 }));
    const served = new Map<string, string>();
    for (let i = 0; i < 600; i++)
      served.set(`u${i}`, (await sy.getVariant('hero', { targetingKey: `u${i}` })).variant!);
    for (const [unit, v] of served) if (v === 'c') sy.track('signup', { targetingKey: unit });
    await sy.reweight('hero');
    expect(sy.allocationStatus('hero')[0]!.arms.find((a) => a.variant === 'c')!.weight).toBeGreaterThan(0.6);
    for (const unit of served.keys()) expect(sy.observe('hero', { targetingKey: unit }, 'load_ms', 1)).toBe(true);
    for (const v of ['control', 'b', 'c'])
      expect(sy.metrics.summary('hero', v, 'load_ms')?.n ?? 0).toBe([...served.values()].filter((x) => x === v).length);
  });

  it('re-weights from the same store with real-time guardrail metrics off', async () => {
    const sy = await make({ ...config({ min_sample: 10 }), monitoring: { real_time_metrics: false } });
    for (let i = 0; i < 300; i++) {
      const ctx = { targetingKey: `u${i}` };
      if ((await sy.getVariant('hero', ctx)).variant === 'c') sy.track('signup', ctx);
    }
    const next = (await sy.reweight('hero'))!;
    expect(next.phase).toBe('thompson');
    expect(next.weights.c).toBeCloseTo(1 / 3 + 0.15, 9);
    expect(sy.metrics.summary('hero', 'c', 'switchyard.adaptive:signup')!.n).toBe(
      next.arms!.find((a) => a.variant === 'c')!.conversions,
    );
  });

  it('is not rolled back by the sample-ratio check when the bandit moves the split (srm_action: rollback)', async () => {
    const sy = await make({ ...config({ min_sample: 10, max_step: 40 }), monitoring: { srm_action: 'rollback' } });
    const kills: unknown[] = [];
    sy.on('kill', (e) => kills.push(e));
    for (let i = 0; i < 600; i++) {
      const ctx = { targetingKey: `u${i}` };
      if ((await sy.getVariant('hero', ctx)).variant === 'c') sy.track('signup', ctx);
    }
    await sy.reweight('hero');
    expect(sy.allocationStatus('hero')[0]!.arms.find((a) => a.variant === 'c')!.weight).toBeGreaterThan(0.7);
    for (let i = 600; i < 1600; i++) await sy.getVariant('hero', { targetingKey: `u${i}` });
    await sy.checkGuardrails();
    // The units follow the weights the bandit chose, not the configured (burn-in) split: no mismatch.
    expect(sy.guardrailStatus().hero!.srm).toBeNull();
    expect(kills).toEqual([]);
    expect(await sy.getVariant('hero', { targetingKey: 'u1000' })).toMatchObject({
      reason: 'SPLIT',
      inExperiment: true,
    });
  });

  it('models a continuous metric on its values when units send several (normal on values, not on units)', async () => {
    const sy = await make(config({ min_sample: 10, metric_kind: 'continuous' }));
    // An A/A test: every arm's values come from the same spread (1 to 9), three per unit.
    for (let i = 0; i < 300; i++) {
      const ctx = { targetingKey: `u${i}` };
      await sy.getVariant('hero', ctx);
      for (let k = 0; k < 3; k++) sy.track('signup', ctx, { value: 1 + ((i * 7 + k * 3) % 9) });
    }
    const next = (await sy.reweight('hero'))!;
    expect(next.phase).toBe('thompson');
    for (const a of next.arms!) {
      const s = sy.metrics.summary('hero', a.variant, 'switchyard.adaptive:signup')!;
      expect(s.n).toBe(3 * a.units);
      const mean = s.sum / s.n;
      const sd = Math.sqrt((s.sumSq - s.sum * mean) / (s.n - 1) / s.n);
      expect(a.mean).toBeCloseTo(mean, 12);
      expect(a.posterior!.mean).toBeCloseTo(mean, 12);
      expect(a.posterior!.sd).toBeCloseTo(sd, 12);
      expect(a.posterior!.sd).toBeGreaterThan(0.05);
      // Arms alike: none is near-certainly best (a posterior without spread made one 1).
      expect(a.probabilityBest!).toBeLessThan(0.9);
    }
  });

  it('re-weights on its schedule with unref-ed timers', async () => {
    const sy = await make(config({ reweight_every: '200ms', min_sample: 1 }));
    const first = sy.allocationStatus('hero')[0]!.version;
    await new Promise((r) => setTimeout(r, 500));
    expect(sy.allocationStatus('hero')[0]!.version).toBeGreaterThan(first);
  });
});
