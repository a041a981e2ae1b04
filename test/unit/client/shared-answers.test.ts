/**
 * Units given the same arm share one answer object (issue 18: no answer and no evaluation
 * made per call): it must be frozen, so no caller can change another's answer, and it must
 * follow everything an answer depends on: the arm, the ramp step, the kill switch, a new
 * allocation on reload. Exposures stay per unit, and keep the time of the call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard, type VariantResult } from 'switchyard';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXPOSURE_SCHEMA, functionSink, type EventRecord } from '../../../src/exposure/index.js';
import { until } from '../../helpers/receiver.js';
import { checkoutAndRamp } from '../../helpers/experiments.js';
import { launchdarkly } from '../../helpers/vendors.js';
import type { LaunchDarklyProvider } from '../../../adapters/launchdarkly/index.js';

const DAY = 86_400_000;
const START = Date.parse('2026-12-01T09:00:00Z');

function config(checkoutPercent = 80, weights: [number, number] = [30, 70]) {
  return {
    feature_flags: { provider: 'memory', evaluation_timeout_ms: 50, init_timeout_ms: 200 },
    exposures: { dir: join(mkdtempSync(join(tmpdir(), 'sy-shared-')), 'events') },
    analytics_platforms: [],
    experiments: checkoutAndRamp(checkoutPercent, weights),
  };
}

const open: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
});

async function instance(cfg: string | Record<string, unknown> = config(), now = { t: START + DAY / 2 }) {
  const delivered: EventRecord[] = [];
  const sy = await createSwitchyard({
    config: cfg,
    clock: { now: () => now.t },
    // A file is checked when the test calls reload(), not by the watcher's timer.
    watchIntervalMs: 3_600_000,
    sinks: [functionSink('fn', (records) => void delivered.push(...records))],
  });
  open.push(sy);
  return { sy, now, exposures: () => delivered.filter((r) => r.schema === EXPOSURE_SCHEMA) };
}

/** Units and their answers, grouped by the answer's variant and whether they are in the experiment. */
async function answers(sy: Switchyard, flag: string, n: number) {
  const out: { unit: string; answer: VariantResult }[] = [];
  for (let i = 0; i < n; i++) out.push({ unit: `u${i}`, answer: await sy.getVariant(flag, { targetingKey: `u${i}` }) });
  return out;
}

describe('shared answers', () => {
  it('gives every unit of an arm the same frozen answer, which no caller can change for the others', async () => {
    const { sy } = await instance();
    const all = await answers(sy, 'checkout', 400);
    const treated = all.filter((a) => a.answer.inExperiment && a.answer.variant === 'treatment');
    const controls = all.filter((a) => a.answer.inExperiment && a.answer.variant === 'control');
    const outside = all.filter((a) => !a.answer.inExperiment);
    // 80% traffic, 30/70: all three kinds occur among 400 units.
    expect(treated.length).toBeGreaterThan(150);
    expect(controls.length).toBeGreaterThan(50);
    expect(outside.length).toBeGreaterThan(30);
    for (const group of [treated, controls, outside]) {
      for (const a of group) expect(a.answer).toBe(group[0]!.answer);
      expect(Object.isFrozen(group[0]!.answer)).toBe(true);
    }
    expect(treated[0]!.answer).not.toBe(controls[0]!.answer);
    expect(controls[0]!.answer).not.toBe(outside[0]!.answer);
    expect(outside[0]!.answer).toMatchObject({ variant: 'control', reason: 'DEFAULT', inExperiment: false });
    expect(treated[0]!.answer).toEqual({
      flag: 'checkout',
      variant: 'treatment',
      value: 'treatment',
      payload: { layout: 'one-page' },
      reason: 'SPLIT',
      inExperiment: true,
      experiment: 'checkout',
      allocationVersion: treated[0]!.answer.allocationVersion,
      allocationMode: 'fixed',
      rampStep: -1,
      trafficPercent: 80,
    });
    // ES modules are strict: writing to a frozen answer throws, and the next caller's answer is intact.
    const mine = treated[0]!.answer as { variant: string | undefined };
    expect(() => {
      mine.variant = 'control';
    }).toThrow(TypeError);
    const again = await sy.getVariant('checkout', { targetingKey: treated[1]!.unit });
    expect(again.variant).toBe('treatment');
    expect(sy.getVariantSync('checkout', { targetingKey: treated[2]!.unit })).toBe(again);
  });

  it("shares the settled promise of a shared answer too: each caller's await, then and async context stay its own", async () => {
    const { sy } = await instance();
    const all = await answers(sy, 'checkout', 100);
    const [a, b] = all.filter((x) => x.answer.inExperiment && x.answer.variant === 'treatment');
    const pa = sy.getVariant('checkout', { targetingKey: a!.unit });
    const pb = sy.getVariant('checkout', { targetingKey: b!.unit });
    expect(pa).toBe(pb);
    expect(await pa).toBe(a!.answer);
    // A caller's chain is its own: a throwing then() rejects only that caller's promise.
    const failing = pa.then(() => {
      throw new Error('caller bug');
    });
    await expect(failing).rejects.toThrow('caller bug');
    await expect(pb).resolves.toBe(a!.answer);
    // AsyncLocalStorage follows each awaiting caller, not the promise's maker.
    const als = new AsyncLocalStorage<string>();
    const seen = await Promise.all(
      ['r1', 'r2', 'r3'].map((request) =>
        als.run(request, async () => {
          await sy.getVariant('checkout', { targetingKey: a!.unit });
          await sy.getVariant('checkout', { targetingKey: b!.unit });
          return als.getStore();
        }),
      ),
    );
    expect(seen).toEqual(['r1', 'r2', 'r3']);
    // A unit whose answer is not shared (an error: no targeting key) gets a promise of its own.
    const x = sy.getVariant('checkout', {});
    const y = sy.getVariant('checkout', {});
    expect(x).not.toBe(y);
    expect((await x).errorCode).toBe('TARGETING_KEY_MISSING');
  });

  it('follows the ramp: each step has its own answer, and a unit exposed later gets the time of its call', async () => {
    const { sy, now, exposures } = await instance();
    const firstDay = await answers(sy, 'ramp', 2_000);
    const inside = firstDay.filter((a) => a.answer.inExperiment);
    expect(inside.length).toBeGreaterThan(40);
    expect(inside.length).toBeLessThan(200);
    for (const a of inside) expect(a.answer).toMatchObject({ rampStep: 0, trafficPercent: 5 });

    now.t = START + DAY + DAY / 2;
    const secondDay = await answers(sy, 'ramp', 2_000);
    const insideNow = secondDay.filter((a) => a.answer.inExperiment);
    expect(insideNow.length).toBeGreaterThan(350);
    for (const a of insideNow) expect(a.answer).toMatchObject({ rampStep: 1, trafficPercent: 25 });
    const outsideNow = secondDay.find((a) => !a.answer.inExperiment)!.answer;
    expect(outsideNow).toMatchObject({ rampStep: 1, trafficPercent: 25, reason: 'DEFAULT' });
    expect(outsideNow).not.toBe(firstDay.find((a) => !a.answer.inExperiment)!.answer);

    sy.flush();
    await sy.close();
    const byUnit = new Map(
      exposures().map((e) => [e.unit, e as EventRecord & { allocation: { step: number; percent: number } }]),
    );
    const firstUnits = new Set(inside.map((a) => a.unit));
    expect(byUnit.size).toBe(insideNow.length);
    for (const a of insideNow) {
      const e = byUnit.get(a.unit)!;
      // Units already in on the first day were exposed then, the others on the second.
      const expected = firstUnits.has(a.unit) ? START + DAY / 2 : START + DAY + DAY / 2;
      expect({ unit: a.unit, ts: e.ts, step: e.allocation.step }).toEqual({
        unit: a.unit,
        ts: new Date(expected).toISOString(),
        step: firstUnits.has(a.unit) ? 0 : 1,
      });
    }
  });

  it('answers a killed experiment with its own shared control, and the arms again once unkilled', async () => {
    const { sy } = await instance();
    const before = await sy.getVariant('checkout', { targetingKey: 'u1' });
    sy.kill('checkout', 'test');
    const a = await sy.getVariant('checkout', { targetingKey: 'u1' });
    const b = await sy.getVariant('checkout', { targetingKey: 'u2' });
    expect(a).toBe(b);
    expect(a).toMatchObject({ variant: 'control', reason: 'DISABLED', inExperiment: false, trafficPercent: 0 });
    sy.unkill('checkout');
    expect(await sy.getVariant('checkout', { targetingKey: 'u1' })).toBe(before);
  });

  it('makes new answers for a new allocation after a reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-shared-reload-'));
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, stringify(config(100, [50, 50])));
    const { sy } = await instance(file);
    const units = Array.from({ length: 200 }, (_, i) => `u${i}`);
    const before = await Promise.all(units.map((u) => sy.getVariant('checkout', { targetingKey: u })));
    writeFileSync(file, stringify(config(50, [50, 50])));
    sy.reload();
    const after = await Promise.all(units.map((u) => sy.getVariant('checkout', { targetingKey: u })));
    expect(after.some((a) => !a.inExperiment)).toBe(true);
    for (const [i, a] of after.entries()) {
      expect(a.trafficPercent).toBe(50);
      // Same weights and salt: the allocation version stays, units keep their variant or leave the traffic.
      expect(a.allocationVersion).toBe(before[i]!.allocationVersion);
      if (a.inExperiment) expect(a.variant).toBe(before[i]!.variant);
      expect(a).not.toBe(before[i]);
    }
  });

  it('in provider mode, shares the evaluation of a frozen vendor answer: one answer per served variation, exposures per unit', async () => {
    const flag = {
      key: 'checkout',
      kind: 'string' as const,
      variants: { control: 'control', treatment: 'treatment' },
      defaultVariant: 'control',
      rollout: { control: 50, treatment: 50 },
    };
    const subject = await launchdarkly([flag]);
    const dir = mkdtempSync(join(tmpdir(), 'sy-shared-provider-'));
    const file = join(dir, 'switchyard.yaml');
    const providerConfig = (weights: [number, number]) => ({
      feature_flags: { provider: 'memory' },
      exposures: { dir: join(dir, 'events') },
      analytics_platforms: [],
      experiments: {
        checkout: {
          control: 'control',
          variants: { control: { weight: weights[0] }, treatment: { weight: weights[1] } },
          allocation: { mode: 'provider' },
        },
      },
    });
    writeFileSync(file, stringify(providerConfig([50, 50])));
    const delivered: EventRecord[] = [];
    const sy = await createSwitchyard({
      config: file,
      provider: subject.provider,
      watchIntervalMs: 3_600_000,
      sinks: [functionSink('fn', (records) => void delivered.push(...records))],
    });
    open.push(sy);
    const ld = (subject.provider as LaunchDarklyProvider).ldClient!;
    const all = await answers(sy, 'checkout', 300);
    for (const { unit, answer } of all) {
      // The vendor's variation for the unit, asked of its SDK directly.
      const detail = await ld.variationDetail('checkout', { kind: 'user', key: unit }, 'x');
      expect(answer).toMatchObject({ variant: detail.value, inExperiment: true, allocationMode: 'provider' });
    }
    const byVariant = new Map<string, VariantResult>();
    for (const { answer } of all) {
      const first = byVariant.get(answer.variant!) ?? answer;
      byVariant.set(answer.variant!, first);
      expect(answer).toBe(first);
    }
    expect([...byVariant.keys()].sort()).toEqual(['control', 'treatment']);
    for (const answer of byVariant.values()) expect(Object.isFrozen(answer)).toBe(true);
    // Exposures stay per unit: each unit once, and once only when it comes back.
    await answers(sy, 'checkout', 300);
    sy.flush();
    await until(() => delivered.length >= 300, 5_000, 'the exposures were delivered');
    const exposed = delivered.filter((r) => r.schema === EXPOSURE_SCHEMA);
    expect(exposed).toHaveLength(300);
    expect(new Set(exposed.map((e) => e.unit)).size).toBe(300);
    // A new allocation (new weights, so a new version) makes new answers.
    const before = all[0]!.answer;
    writeFileSync(file, stringify(providerConfig([40, 60])));
    sy.reload();
    const after = await sy.getVariant('checkout', { targetingKey: all[0]!.unit });
    expect(after.variant).toBe(before.variant);
    expect(after.allocationVersion).not.toBe(before.allocationVersion);
    expect(after).not.toBe(before);
    await subject.close();
  });
});
