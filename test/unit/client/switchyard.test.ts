import {
  FlagNotFoundError,
  OpenFeature,
  type EvaluationContext,
  type Hook,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, SwitchyardError, type ExposureEvent, type Switchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPOSURE_SCHEMA, functionSink, type EventRecord, type Sink } from '../../../src/exposure/index.js';
import { recordingLogger } from '../../helpers/logger.js';
import { compilePlan } from '../../../src/allocation/index.js';
import { validateConfigObject } from '../../../src/config/index.js';
import { rampExperiment } from '../../helpers/experiments.js';

const START = Date.parse('2026-12-01T09:00:00Z');
const DAY = 86_400_000;

function config(extra: Record<string, unknown> = {}) {
  return {
    feature_flags: { provider: 'memory', evaluation_timeout_ms: 50, init_timeout_ms: 200 },
    // The pipeline has its own tests; these are about evaluation.
    // Kills persist beside the journal: a directory per instance, out of the working tree.
    exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-unit-state-')) },
    experiments: {
      checkout: {
        flag: 'checkout',
        variants: { control: { weight: 50 }, treatment: { weight: 50, payload: { layout: 'one-page' } } },
        allocation: { mode: 'fixed' },
      },
      ramp: rampExperiment(),
    },
    ...extra,
  };
}

/**
 * A plain timer of `ms` started now, to time a timeout against: `settle()`, called when the
 * awaited work is done, gives how long it took and how long after the plain timer fired it
 * ended (negative if before), so an event loop slowed by a loaded machine delays both alike.
 */
function referenceTimer(ms: number) {
  const started = performance.now();
  let firedAt = 0;
  const fired = new Promise<void>((resolve) => setTimeout(() => resolve(void (firedAt = performance.now())), ms));
  return {
    async settle() {
      const doneAt = performance.now();
      await fired;
      return { waited: doneAt - started, after: doneAt - firedAt };
    },
  };
}

class FakeClock {
  constructor(public t: number) {}
  now = () => this.t;
}

const open: Switchyard[] = [];
async function make(options: Partial<Parameters<typeof createSwitchyard>[0]> = {}) {
  const sy = await createSwitchyard({ config: config(), clock: new FakeClock(START + 3 * DAY), ...options });
  open.push(sy);
  return sy;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  OpenFeature.clearHooks();
});

describe('getVariant', () => {
  it('returns the variant, value, payload and allocation of a unit in the experiment', async () => {
    const sy = await make();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sy.getVariant('checkout', { targetingKey: `user-${i}` })),
    );
    const treated = results.find((r) => r.variant === 'treatment')!;
    expect(treated).toMatchObject({
      flag: 'checkout',
      variant: 'treatment',
      value: 'treatment',
      payload: { layout: 'one-page' },
      reason: 'SPLIT',
      inExperiment: true,
      experiment: 'checkout',
      allocationMode: 'fixed',
      trafficPercent: 100,
      rampStep: -1,
    });
    expect(treated.allocationVersion).toBe(
      compilePlan(validateConfigObject(config()).experiments.get('checkout')!).version,
    );
    expect(treated.errorCode).toBeUndefined();
    const share = results.filter((r) => r.variant === 'treatment').length / results.length;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
  });

  it('gives the same variant on a second instance (no shared state)', async () => {
    const a = await make();
    const b = await make();
    for (let i = 0; i < 500; i++) {
      const ctx = { targetingKey: `u${i}` };
      expect((await a.getVariant('checkout', ctx)).variant).toBe((await b.getVariant('checkout', ctx)).variant);
    }
  });

  it('agrees with the OpenFeature client of its domain on 10,000 units (string, boolean and object)', async () => {
    const sy = await make();
    const client = OpenFeature.getClient(sy.domain);
    // sy.openfeature is the client of sy.domain, served by the same provider.
    expect(sy.openfeature.metadata.domain).toBe(sy.domain);
    expect(client.metadata.providerMetadata).toBe(sy.openfeature.metadata.providerMetadata);
    let mismatches = 0;
    for (let i = 0; i < 10_000; i++) {
      const ctx = { targetingKey: `unit-${i}` };
      const ours = await sy.getVariant('checkout', ctx);
      const details = await client.getStringDetails('checkout', 'control', ctx);
      if (details.variant !== ours.variant || details.value !== ours.value || details.reason !== ours.reason)
        mismatches++;
      if (i % 50 === 0) {
        expect(await client.getBooleanValue('checkout', false, ctx)).toBe(ours.variant === 'treatment');
        expect(await client.getObjectValue('checkout', { fallback: true }, ctx)).toEqual(
          ours.payload ?? { fallback: true },
        );
        expect(details.flagMetadata).toMatchObject({
          experiment: 'checkout',
          inExperiment: true,
          allocationVersion: ours.allocationVersion!,
        });
      }
    }
    expect(mismatches).toBe(0);
  });

  it('passes flags with no experiment through to the provider', async () => {
    const provider = new MemoryProvider({
      checkout: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
      ramp: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
      theme: { variants: { dark: { bg: '#000' }, light: { bg: '#fff' } }, defaultVariant: 'dark', disabled: false },
      limit: { variants: { low: 10, high: 100 }, defaultVariant: 'high', disabled: false },
    });
    const sy = await make({ provider });
    expect(await sy.getVariant('theme', { targetingKey: 'u1' })).toMatchObject({
      variant: 'dark',
      value: { bg: '#000' },
      payload: { bg: '#000' },
      reason: 'STATIC',
      inExperiment: false,
    });
    expect(await sy.getVariant('limit', { targetingKey: 'u1' })).toMatchObject({
      variant: 'high',
      value: 100,
      reason: 'STATIC',
    });
  });
});

describe('getVariant never throws', () => {
  it('answers an unknown flag with FLAG_NOT_FOUND, counted, reported once', async () => {
    const sy = await make();
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(`${e.flag} ${e.code}`));
    for (let i = 0; i < 100; i++) {
      const r = await sy.getVariant('nope', { targetingKey: `u${i}` });
      expect(r).toMatchObject({
        reason: 'ERROR',
        errorCode: 'FLAG_NOT_FOUND',
        problem: 'SY_FLAG_NOT_FOUND',
        inExperiment: false,
        value: undefined,
      });
    }
    expect(errors).toEqual(['nope SY_FLAG_NOT_FOUND']);
    expect(sy.counters().engine.errors.SY_FLAG_NOT_FOUND).toBe(100);
  });

  it.each([
    ['no context', undefined],
    ['no targeting key', { country: 'DE' }],
    ['an empty targeting key', { targetingKey: '' }],
  ])('answers the control with TARGETING_KEY_MISSING for %s', async (_name, ctx) => {
    const sy = await make();
    expect(await sy.getVariant('checkout', ctx as EvaluationContext)).toMatchObject({
      variant: 'control',
      value: 'control',
      reason: 'ERROR',
      errorCode: 'TARGETING_KEY_MISSING',
      inExperiment: false,
    });
  });

  it('answers the control when the provider throws', async () => {
    class Throwing implements Provider {
      metadata = { name: 'throwing' };
      runsOn = 'server' as const;
      resolveBooleanEvaluation(): Promise<ResolutionDetails<boolean>> {
        throw new Error('boom');
      }
      resolveStringEvaluation = this.resolveBooleanEvaluation as never;
      resolveNumberEvaluation = this.resolveBooleanEvaluation as never;
      resolveObjectEvaluation = this.resolveBooleanEvaluation as never;
    }
    const sy = await make({ provider: new Throwing() });
    expect(await sy.getVariant('checkout', { targetingKey: 'u' })).toMatchObject({
      variant: 'control',
      reason: 'ERROR',
      errorCode: 'GENERAL',
      problem: 'SY_PROVIDER_ERROR',
      errorMessage: 'boom',
    });
  });

  it('answers the control when the provider rejects', async () => {
    const rejecting: Provider = {
      metadata: { name: 'rejecting' },
      runsOn: 'server',
      resolveBooleanEvaluation: () => Promise.reject(Object.assign(new Error('flag gone'), { code: 'FLAG_NOT_FOUND' })),
      resolveStringEvaluation: () => Promise.reject(new Error('x')),
      resolveNumberEvaluation: () => Promise.reject(new Error('x')),
      resolveObjectEvaluation: () => Promise.reject(new Error('x')),
    };
    const sy = await make({ provider: rejecting });
    expect(await sy.getVariant('checkout', { targetingKey: 'u' })).toMatchObject({
      variant: 'control',
      errorCode: 'FLAG_NOT_FOUND',
      problem: 'SY_FLAG_NOT_FOUND',
    });
  });

  it('answers the control within the evaluation timeout when the provider hangs', async () => {
    const hanging: Provider = {
      metadata: { name: 'hanging' },
      runsOn: 'server',
      resolveBooleanEvaluation: () => new Promise(() => {}),
      resolveStringEvaluation: () => new Promise(() => {}),
      resolveNumberEvaluation: () => new Promise(() => {}),
      resolveObjectEvaluation: () => new Promise(() => {}),
    };
    const sy = await make({ provider: hanging });
    const reference = referenceTimer(50);
    const r = await sy.getVariant('checkout', { targetingKey: 'u' });
    // evaluation_timeout_ms is 50: the answer came when a plain 50 ms timer set at the call
    // fired, give or take a loaded event loop's lag (which both share).
    const { waited, after } = await reference.settle();
    expect(waited).toBeGreaterThanOrEqual(49);
    expect(after).toBeLessThan(25);
    expect(r).toMatchObject({
      variant: 'control',
      reason: 'ERROR',
      errorCode: 'GENERAL',
      problem: 'SY_PROVIDER_TIMEOUT',
    });
  });

  it('does not hang creation when the provider never becomes ready, and answers PROVIDER_NOT_READY', async () => {
    const provider = new MemoryProvider({});
    Object.assign(provider, { initialize: () => new Promise(() => {}) });
    const reference = referenceTimer(200);
    const sy = await make({ provider });
    // init_timeout_ms is 200: creation waited that long for the provider, and not much longer
    // than a plain 200 ms timer set at the call.
    const { waited, after } = await reference.settle();
    expect(waited).toBeGreaterThanOrEqual(199);
    expect(after).toBeLessThan(150);
    expect(await sy.getVariant('checkout', { targetingKey: 'u' })).toMatchObject({
      variant: 'control',
      errorCode: 'PROVIDER_NOT_READY',
    });
  });

  it('answers PROVIDER_NOT_READY when initialisation fails', async () => {
    const provider = new MemoryProvider({});
    Object.assign(provider, { initialize: () => Promise.reject(new Error('bad key')) });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (msg: string) => void warnings.push(msg) };
    const sy = await make({ provider, logger });
    expect(warnings).toEqual(['the provider failed to initialise: bad key']);
    expect(await sy.getVariant('checkout', { targetingKey: 'u' })).toMatchObject({
      variant: 'control',
      errorCode: 'PROVIDER_NOT_READY',
    });
  });

  it('hears exposures from the call after a listener subscribes until it unsubscribes, with logging and monitoring off', async () => {
    // Nothing else consumes exposures here, so the rule runs only while someone listens.
    const sy = await make({ config: config({ monitoring: { real_time_metrics: false } }) });
    const call = (unit: string) => sy.getVariant('checkout', { targetingKey: unit });
    await call('before');
    const heard: string[] = [];
    const off = sy.on('exposure', (e) => heard.push(e.unit));
    await call('during-1');
    await call('during-2');
    off();
    await call('after');
    expect(heard).toEqual(['during-1', 'during-2']);
    const again: string[] = [];
    sy.on('exposure', (e) => again.push(e.unit));
    await call('before'); // never logged before: nobody listened then
    await call('during-1'); // logged while the first listener heard it
    expect(again).toEqual(['before']);
  });

  it('keeps answering when a listener throws, and the next listener still hears the event', async () => {
    const logger = recordingLogger();
    const sy = await make({ logger });
    let thrown = 0;
    const heard: string[] = [];
    sy.on('exposure', () => {
      thrown++;
      throw new Error('listener bug');
    });
    sy.on('exposure', (e) => heard.push(e.unit));
    for (const unit of ['u1', 'u2', 'u3']) {
      const r = await sy.getVariant('checkout', { targetingKey: unit });
      expect(r.errorCode).toBeUndefined();
      expect(r.inExperiment).toBe(true);
    }
    expect(thrown).toBe(3);
    expect(heard).toEqual(['u1', 'u2', 'u3']);
    expect(logger.lines).toEqual([
      'error a listener of "exposure" threw; it was skipped and switchyard went on {"error":"Error: listener bug"}',
    ]);
  });
});

describe('vendor eligibility and the kill switch', () => {
  it('sends everyone to control, not exposed, when the vendor flag is disabled or off', async () => {
    const provider = new MemoryProvider({
      checkout: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: true },
      ramp: { variants: { on: true, off: false }, defaultVariant: 'off', disabled: false },
    });
    const sy = await make({ provider });
    expect(await sy.getVariant('checkout', { targetingKey: 'u1' })).toMatchObject({
      variant: 'control',
      reason: 'DISABLED',
      inExperiment: false,
    });
    expect(await sy.getVariant('ramp', { targetingKey: 'u1' })).toMatchObject({
      variant: 'control',
      reason: 'DEFAULT',
      inExperiment: false,
    });
    provider.setFlag('checkout', { variants: { on: true }, defaultVariant: 'on', disabled: false });
    const after = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sy.getVariant('checkout', { targetingKey: `u${i}` })),
    );
    expect(after.every((r) => r.inExperiment)).toBe(true);
  });

  it('targets by attribute through the vendor: only eligible units enter', async () => {
    const provider = new MemoryProvider({
      checkout: {
        variants: { yes: true, no: false },
        defaultVariant: 'no',
        disabled: false,
        contextEvaluator: (ctx) => (ctx.country === 'DE' ? 'yes' : 'no'),
      },
    });
    const sy = await make({ provider });
    expect((await sy.getVariant('checkout', { targetingKey: 'u1', country: 'FR' })).inExperiment).toBe(false);
    expect((await sy.getVariant('checkout', { targetingKey: 'u1', country: 'DE' })).inExperiment).toBe(true);
  });

  it('kill sends every unit to control at once, with reason DISABLED and no exposure; unkill restores', async () => {
    const sy = await make();
    const exposures: ExposureEvent[] = [];
    sy.on('exposure', (e) => exposures.push(e));
    const before = await sy.getVariant('checkout', { targetingKey: 'u7' });
    sy.kill('checkout', 'test');
    for (let i = 0; i < 100; i++) {
      expect(await sy.getVariant('checkout', { targetingKey: `u${i}` })).toMatchObject({
        variant: 'control',
        reason: 'DISABLED',
        inExperiment: false,
      });
    }
    expect(exposures).toHaveLength(1);
    sy.unkill('checkout');
    expect((await sy.getVariant('checkout', { targetingKey: 'u7' })).variant).toBe(before.variant);
    expect(() => sy.kill('no-such-experiment')).toThrow(/no experiment "no-such-experiment"/);
  });

  it('an unknown experiment is an SY_INVALID_ARGUMENT error naming the method called: kill, unkill or pause (issue 12)', async () => {
    const sy = await make();
    const thrown = (call: () => void) => {
      try {
        call();
      } catch (error) {
        return error as SwitchyardError;
      }
      throw new Error('did not throw');
    };
    for (const [where, call] of [
      ['kill', () => sy.kill('nope')],
      ['unkill', () => sy.unkill('nope')],
      ['pause', () => sy.pause('nope')],
      ['pause', () => sy.pause('nope', false)],
    ] as const) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(SwitchyardError);
      expect({ code: error.code, where: error.where }).toEqual({ code: 'SY_INVALID_ARGUMENT', where });
    }
  });
});

describe('gradual allocation follows the clock', () => {
  it('ramps 0% -> 5% -> 25% -> 100% monotonically, with the same variant for units already in', async () => {
    const clock = new FakeClock(START - 1);
    const sy = await make({ clock });
    const units = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const snapshot = async () => Promise.all(units.map((u) => sy.getVariant('ramp', { targetingKey: u })));
    const shares: number[] = [];
    let previous = await snapshot();
    shares.push(previous.filter((r) => r.inExperiment).length / units.length);
    for (const t of [START, START + DAY, START + 2 * DAY]) {
      clock.t = t;
      const now = await snapshot();
      now.forEach((r, i) => {
        if (previous[i]!.inExperiment) {
          expect(r.inExperiment).toBe(true);
          expect(r.variant).toBe(previous[i]!.variant);
        }
      });
      shares.push(now.filter((r) => r.inExperiment).length / units.length);
      previous = now;
    }
    expect(shares[0]).toBe(0);
    expect(Math.abs(shares[1]! - 0.05)).toBeLessThan(0.015);
    expect(Math.abs(shares[2]! - 0.25)).toBeLessThan(0.03);
    expect(shares[3]).toBe(1);
    expect((await sy.getVariant('ramp', { targetingKey: 'x' })).rampStep).toBe(2);
  });

  it('pause freezes the ramp at the current step', async () => {
    const clock = new FakeClock(START + 1000);
    const sy = await make({ clock });
    sy.pause('ramp');
    clock.t = START + 5 * DAY;
    expect((await sy.getVariant('ramp', { targetingKey: 'x' })).trafficPercent).toBe(5);
    sy.pause('ramp', false);
    expect((await sy.getVariant('ramp', { targetingKey: 'x' })).trafficPercent).toBe(100);
  });

  it('units outside the traffic get the control and are not exposures', async () => {
    const sy = await make({ clock: new FakeClock(START + 10) });
    const exposures: ExposureEvent[] = [];
    sy.on('exposure', (e) => exposures.push(e));
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => sy.getVariant('ramp', { targetingKey: `u${i}` })),
    );
    const outside = results.filter((r) => !r.inExperiment);
    expect(outside.every((r) => r.variant === 'control' && r.reason === 'DEFAULT')).toBe(true);
    expect(exposures).toHaveLength(results.length - outside.length);
    expect(exposures[0]).toMatchObject({
      experiment: 'ramp',
      allocationMode: 'gradual',
      rampStep: 0,
      trafficPercent: 5,
    });
  });
});

describe('track and run', () => {
  it('track accepts a well-formed event and rejects bad ones with a reason, never throwing', async () => {
    const sy = await make();
    const tracked: unknown[] = [];
    const errors: string[] = [];
    sy.on('track', (e) => tracked.push(e));
    sy.on('error', (e) => errors.push(e.message));
    expect(sy.track('purchase', { targetingKey: 'u1' }, { value: 42.5, sku: 'A' })).toBe(true);
    expect(sy.track('purchase', { targetingKey: 'u1' }, { value: 'lots' })).toBe(false);
    expect(sy.track('', { targetingKey: 'u1' })).toBe(false);
    expect(sy.track('purchase', {})).toBe(false);
    expect(tracked).toEqual([
      { event: 'purchase', unit: 'u1', value: 42.5, properties: { value: 42.5, sku: 'A' }, ts: START + 3 * DAY },
    ]);
    expect(errors.join('\n')).toMatch(/properties.value must be a finite number, found "lots"/);
    expect(sy.counters().engine.errors.SY_INVALID_ARGUMENT).toBe(3);
  });

  it('run calls the variant handler and records latency and errors per variant', async () => {
    const sy = await make();
    const variants = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const out = await sy.run(
        'checkout',
        { targetingKey: `u${i}` },
        {
          control: () => 'old',
          treatment: async (r) => `new:${(r.payload as { layout: string }).layout}`,
        },
      );
      variants.set(out, (variants.get(out) ?? 0) + 1);
    }
    expect([...variants.keys()].sort()).toEqual(['new:one-page', 'old']);
    const control = sy.metrics.summary('checkout', 'control', 'latency_ms')!;
    const treatment = sy.metrics.summary('checkout', 'treatment', 'latency_ms')!;
    expect(control.n + treatment.n).toBe(40);
    expect(sy.metrics.summary('checkout', 'treatment', 'error')!.sum).toBe(0);

    const failing = (await sy.getVariant('checkout', { targetingKey: 'u1' })).variant!;
    await expect(
      sy.run(
        'checkout',
        { targetingKey: 'u1' },
        {
          [failing]: () => {
            throw new Error('handler bug');
          },
        },
      ),
    ).rejects.toThrow('handler bug');
    expect(sy.metrics.summary('checkout', failing, 'error')!.sum).toBe(1);
    await expect(sy.run('checkout', { targetingKey: 'u1' }, {})).rejects.toThrow(/no handler for variant/);
  });
});

describe('OpenFeature hooks on getVariant (requirement 4.x semantics)', () => {
  it('runs before hooks in order, after and finally in reverse, with the hook context and hints', async () => {
    const sy = await make();
    // The hook's key must land in another variant than the caller's, or a returned context
    // that is thrown away would go unnoticed.
    const plain = async (targetingKey: string) => (await sy.getVariant('checkout', { targetingKey })).variant;
    const callerVariant = await plain('ignored');
    let hookKey = '';
    for (let i = 0; !hookKey; i++) if ((await plain(`from-hook-${i}`)) !== callerVariant) hookKey = `from-hook-${i}`;
    const calls: string[] = [];
    const hook = (name: string): Hook => ({
      before: (ctx, hints) => {
        calls.push(`${name}.before ${ctx.flagKey} ${ctx.flagValueType} ${String(hints?.tag)}`);
        return name === 'api' ? { targetingKey: hookKey } : undefined;
      },
      after: (_ctx, details) => void calls.push(`${name}.after ${details.variant}`),
      finally: () => void calls.push(`${name}.finally`),
    });
    OpenFeature.addHooks(hook('api'));
    sy.openfeature.addHooks(hook('client'));
    const r = await sy.getVariant(
      'checkout',
      { targetingKey: 'ignored' },
      { hooks: [hook('call')], hookHints: { tag: 'h' } },
    );
    const expected = (await sy.getVariant('checkout', { targetingKey: hookKey }, {})).variant;
    expect(expected).not.toBe(callerVariant);
    expect(r.variant).toBe(expected);
    expect(calls.slice(0, 9)).toEqual([
      'api.before checkout string h',
      'client.before checkout string h',
      'call.before checkout string h',
      `call.after ${expected}`,
      `client.after ${expected}`,
      `api.after ${expected}`,
      'call.finally',
      'client.finally',
      'api.finally',
    ]);
  });

  it('runs error hooks on a failed evaluation and on a throwing before hook, and still answers', async () => {
    const sy = await make();
    const errors: string[] = [];
    const r1 = await sy.getVariant(
      'nope',
      { targetingKey: 'u' },
      { hooks: [{ error: (_c, e) => void errors.push((e as Error).message) }] },
    );
    expect(r1.errorCode).toBe('FLAG_NOT_FOUND');
    const r2 = await sy.getVariant(
      'checkout',
      { targetingKey: 'u' },
      {
        hooks: [
          {
            before: () => {
              throw new Error('bad hook');
            },
            error: (_c, e) => void errors.push((e as Error).message),
          },
        ],
      },
    );
    expect(r2).toMatchObject({ variant: 'control', reason: 'ERROR', problem: 'SY_PROVIDER_ERROR' });
    expect(errors).toEqual([expect.stringContaining('no flag found with key nope'), 'bad hook']);
  });

  it('gives error hooks the error OpenFeature’s client gives them for the same answer (its class and code)', async () => {
    const sy = await make();
    const seen: unknown[] = [];
    const hook = { error: (_c: unknown, e: unknown) => void seen.push(e) };
    await sy.getVariant('nope', { targetingKey: 'u' }, { hooks: [hook] });
    await sy.openfeature.getStringValue('nope', 'x', { targetingKey: 'u' }, { hooks: [hook] });
    expect(seen).toHaveLength(2);
    for (const e of seen) {
      expect(e).toBeInstanceOf(FlagNotFoundError);
      expect((e as FlagNotFoundError).code).toBe('FLAG_NOT_FOUND');
    }
  });
});

describe('the exposure rule with the event pipeline', () => {
  // 1,500 evaluations over 500 units: repeats within one flush and across flushes.
  const units = (round: number) => Array.from({ length: 500 }, (_, i) => `u-${(i * 7 + round * 13) % 500}`);

  async function run(listen: boolean) {
    const delivered: EventRecord[] = [];
    const heard: ExposureEvent[] = [];
    const sy = await make({
      config: config({
        exposures: { dir: join(mkdtempSync(join(tmpdir(), 'sy-rule-')), 'events'), dedupe: { capacity: 10_000 } },
        analytics_platforms: [],
      }),
      sinks: [functionSink('fn', (records) => void delivered.push(...records))],
    });
    if (listen) sy.on('exposure', (e) => heard.push(e));
    for (let round = 0; round < 3; round++) {
      for (const unit of units(round)) await sy.getVariant('checkout', { targetingKey: unit });
      if (round === 1) sy.flush();
    }
    const counters = sy.counters().exposures;
    await sy.close();
    return { counters, heard, exposures: delivered.filter((r) => r.schema === EXPOSURE_SCHEMA) };
  }

  it('with nobody listening, admits at flush: each unit logged once with its first variant, the rest counted as deduplicated', async () => {
    const { counters, exposures } = await run(false);
    expect(counters.pipeline).toMatchObject({ exposures: 500, journaled: 500, dropped: 0 });
    expect(counters.deduplicated).toBe(1000);
    expect(exposures.map((r) => r.unit).sort()).toEqual(units(0).sort());
    expect(new Set(exposures.map((r) => r.id)).size).toBe(500);
    expect(exposures[0]).toMatchObject({
      experiment: 'checkout',
      allocation: { mode: 'fixed' },
      ts: new Date(START + 3 * DAY).toISOString(),
    });
  });

  it('logs the same exposures when a listener makes the rule run in the call', async () => {
    const deferred = await run(false);
    const inCall = await run(true);
    expect(inCall.heard).toHaveLength(500);
    expect(inCall.counters.deduplicated).toBe(1000);
    const key = (r: EventRecord) => `${r.unit}/${(r as { variant: string }).variant}`;
    expect(inCall.exposures.map(key).sort()).toEqual(deferred.exposures.map(key).sort());
  });
  it('answers a unit that comes back after 50,000 others from the rule on the caller path: nothing queued (issue 18)', async () => {
    const sy = await make({
      config: config({
        exposures: { dir: join(mkdtempSync(join(tmpdir(), 'sy-rule-')), 'events'), dedupe: { capacity: 200_000 } },
        analytics_platforms: [],
      }),
    });
    const first = await sy.getVariant('checkout', { targetingKey: 'returning' });
    for (let i = 0; i < 50_000; i++) await sy.getVariant('checkout', { targetingKey: `other-${i}` });
    sy.flush();
    const before = sy.counters().exposures;
    const again = await sy.getVariant('checkout', { targetingKey: 'returning' });
    sy.flush();
    const after = sy.counters().exposures;
    await sy.close();
    expect(again.variant).toBe(first.variant);
    expect(before.pipeline).toMatchObject({ exposures: 50_001, deduplicated: 0 });
    // Counted as a repeat in the call; the pipeline saw nothing (a queued repeat would count there at flush).
    expect(after.deduplicated - before.deduplicated).toBe(1);
    expect(after.pipeline).toMatchObject({ exposures: 50_001, deduplicated: 0, journaled: 50_001 });
  });
});

describe('exposure logging through the OpenFeature client (hook form)', () => {
  it('logs exposures for evaluations through sy.openfeature, deduplicated with getVariant', async () => {
    const sy = await make();
    const exposures: ExposureEvent[] = [];
    sy.on('exposure', (e) => exposures.push(e));
    for (let i = 0; i < 20; i++)
      await sy.openfeature.getStringValue('checkout', 'control', { targetingKey: `of-${i}` });
    expect(exposures).toHaveLength(20);
    expect(exposures[0]).toMatchObject({ experiment: 'checkout', allocationMode: 'fixed', reason: 'SPLIT' });
    for (let i = 0; i < 20; i++) await sy.getVariant('checkout', { targetingKey: `of-${i}` });
    expect(exposures).toHaveLength(20);
    expect(sy.counters().exposures.deduplicated).toBe(20);
    sy.kill('checkout');
    await sy.openfeature.getStringValue('checkout', 'control', { targetingKey: 'new-unit' });
    expect(exposures).toHaveLength(20);
  });
});

describe('secrets and platform credentials', () => {
  it('never lets a secret from the environment reach an error event or the log', async () => {
    const secret = 'sdk-live-0123456789abcdef';
    const leaky: Provider = {
      metadata: { name: 'leaky' },
      runsOn: 'server',
      resolveBooleanEvaluation: () => Promise.reject(new Error(`401 for key ${secret}`)),
      resolveStringEvaluation: () => Promise.reject(new Error('x')),
      resolveNumberEvaluation: () => Promise.reject(new Error('x')),
      resolveObjectEvaluation: () => Promise.reject(new Error('x')),
      onClose: () => Promise.reject(new Error(`close refused for key ${secret}`)),
    };
    const logger = recordingLogger();
    const sy = await make({
      provider: leaky,
      logger,
      env: { LD_KEY: secret },
      config: { ...config(), feature_flags: { provider: 'memory', launchdarkly: { sdk_key: '${LD_KEY}' } } },
    });
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    const r = await sy.getVariant('checkout', { targetingKey: 'u' });
    expect(r).toMatchObject({ variant: 'control', errorMessage: '401 for key ***' });
    expect((await sy.openfeature.getBooleanDetails('checkout', false, { targetingKey: 'u' })).errorMessage).toBe(
      '401 for key ***',
    );
    expect(errors).toEqual(['401 for key ***']);
    await sy.close();
    // Every level and every field of the log: the scrubbed messages were logged, the secret nowhere.
    expect(logger.lines).toContain('warn 401 for key *** {"flag":"checkout","code":"SY_PROVIDER_ERROR"}');
    expect(logger.lines).toContain('warn the provider failed to close {"error":"close refused for key ***"}');
    expect(logger.lines.join('\n')).not.toContain(secret);
  });

  it('refuses to start when analytics_platforms names a platform without its credentials, saying which key', async () => {
    await expect(
      createSwitchyard({
        config: { ...config(), exposures: { dir: '/tmp/sy-unused' }, analytics_platforms: ['segment'] },
      }),
    ).rejects.toThrow(
      'SY_CONFIG_INVALID in analytics.segment: analytics_platforms names segment, which needs analytics.segment.write_key (from the environment, e.g. "${SEGMENT_WRITE_KEY}")',
    );
  });
});

describe('close() called again', () => {
  it('while the first close() is still delivering: the second settles only once the events are delivered', async () => {
    const delivered: EventRecord[] = [];
    const sy = await make({
      config: config({
        exposures: { dir: join(mkdtempSync(join(tmpdir(), 'sy-close-')), 'events') },
        analytics_platforms: [],
      }),
      sinks: [
        functionSink('slow', async (records) => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          delivered.push(...records);
        }),
      ],
    });
    for (let i = 0; i < 20; i++) await sy.getVariant('checkout', { targetingKey: `user-${i}` });
    const first = sy.close();
    await sy.close();
    expect(delivered.filter((r) => r.schema === EXPOSURE_SCHEMA)).toHaveLength(20);
    await first;
  });
});

describe('custom sinks', () => {
  it("of one name, or with none, are refused at creation: their cursors were saved under one name, so a sink that had been down resumed from the other's after a restart, its events never delivered", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sy-sinks-')), 'events');
    const create = (sinks: unknown[], platforms: string[] = []) =>
      createSwitchyard({
        config: config({ exposures: { dir }, analytics_platforms: platforms }),
        sinks: sinks as Sink[],
      });
    const sink = (name: unknown) => ({ send: async () => {}, name });
    await expect(create([sink('http'), sink('http')])).rejects.toThrow(
      expect.objectContaining({
        code: 'SY_INVALID_ARGUMENT',
        where: 'createSwitchyard',
        what: 'options.sinks[1] is named "http", as another sink is: give each sink a name of its own (its place in the journal, its counters and its dead-letter file are kept by name)',
      }),
    );
    await expect(create([sink('jsonl')], ['jsonl'])).rejects.toThrow(
      /options.sinks\[0\] is named "jsonl", as another sink is/,
    );
    for (const name of [undefined, '', 42])
      await expect(create([sink(name)]), String(name)).rejects.toThrow(
        /options.sinks\[0\] needs a name: a string that is not empty, found /,
      );
    // The name is also a file name (dead-letters/<name>.jsonl): no way out of that directory.
    for (const name of ['../../outside', 'a/b', '..', '.hidden', 'x'.repeat(65), 'tab\tname'])
      await expect(create([sink(name)]), name).rejects.toThrow(
        /options.sinks\[0\] is named .*: a sink's name is also its dead-letter file's/,
      );
    // Nothing was left holding the journal directory.
    open.push(await create([sink('a'), sink('b')]));
  });

  it('with a maxBatch or concurrency that is not a whole number from 1 are refused at creation: 0 or NaN stalled the sink without a word, 2.5 delivered each event three times, -1 overflowed the stack', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sy-sinks-')), 'events');
    const create = (extra: Record<string, unknown>) =>
      createSwitchyard({
        config: config({ exposures: { dir }, analytics_platforms: [] }),
        sinks: [{ ...functionSink('ok', () => {}) }, { ...functionSink('fn', () => {}), ...extra } as Sink],
      });
    for (const [key, value] of [
      ['maxBatch', 0],
      ['maxBatch', 2.5],
      ['maxBatch', -1],
      ['maxBatch', NaN],
      ['maxBatch', '100'],
      ['concurrency', NaN],
      ['concurrency', 0],
    ] as const)
      await expect(create({ [key]: value }), `${key} ${String(value)}`).rejects.toThrow(
        expect.objectContaining({
          code: 'SY_INVALID_ARGUMENT',
          what: `options.sinks[1].${key} must be a whole number of at least 1, found ${typeof value === 'string' ? `"${value}"` : String(value)}`,
        }),
      );
    open.push(await create({ maxBatch: 100, concurrency: 2 }));
  });

  it("are made with functionSink from the package, as the README shows: createSwitchyard({ sinks: [functionSink('warehouse', ...)] })", async () => {
    const api: Record<string, unknown> = await import('switchyard');
    expect(typeof api.functionSink).toBe('function');
    const made = api.functionSink as typeof functionSink;
    const delivered: EventRecord[] = [];
    const sy = await make({
      config: config({
        exposures: { dir: join(mkdtempSync(join(tmpdir(), 'sy-sinks-')), 'events') },
        analytics_platforms: [],
      }),
      sinks: [made('warehouse', (records) => void delivered.push(...records))],
    });
    await sy.getVariant('checkout', { targetingKey: 'user-1' });
    await sy.close();
    expect(delivered.map((r) => r.unit)).toEqual(['user-1']);
  });
});

describe('close() with the journal in memory only', () => {
  it('and the sink down: logs that the undelivered events are lost (counted in dropped), never that they stay in the journal', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sy-close-')), 'not-a-dir');
    writeFileSync(file, 'x');
    const logger = recordingLogger();
    const sy = await make({
      config: config({ exposures: { dir: join(file, 'events'), close_timeout_ms: 50 }, analytics_platforms: [] }),
      sinks: [functionSink('down', () => Promise.reject(new Error('down')))],
      logger,
    });
    for (let i = 0; i < 20; i++) await sy.getVariant('checkout', { targetingKey: `user-${i}` });
    await sy.close();
    expect(sy.counters().exposures.pipeline).toMatchObject({ journalInMemory: true, dropped: 20 });
    expect(logger.lines).toContainEqual(expect.stringMatching(/^error close: 20 events were kept in memory only/));
    expect(logger.lines.join('\n')).not.toMatch(/stay in the journal/);
  });
});

describe('an exposure attribute whose getter throws', () => {
  it.each([false, true])(
    'falls back without admitting the exposure, so the next good call logs it (an exposure listener: %s)',
    async (listen) => {
      const delivered: EventRecord[] = [];
      const sy = await make({
        config: config({
          exposures: { dir: join(mkdtempSync(join(tmpdir(), 'sy-attr-')), 'events'), attributes: ['country'] },
          analytics_platforms: [],
        }),
        sinks: [functionSink('fn', (records) => void delivered.push(...records))],
      });
      if (listen) sy.on('exposure', () => {});
      const hostile = Object.defineProperty({ targetingKey: 'u1' }, 'country', {
        enumerable: true,
        get() {
          throw new Error('getter boom');
        },
      });
      const first = await sy.getVariant('checkout', hostile);
      expect(first.reason).toBe('ERROR');
      const second = await sy.getVariant('checkout', { targetingKey: 'u1', country: 'DE' });
      expect(second.reason).not.toBe('ERROR');
      await sy.close();
      const exposures = delivered.filter((r) => r.schema === EXPOSURE_SCHEMA);
      expect(exposures).toHaveLength(1);
      expect(exposures[0]).toMatchObject({ unit: 'u1', variant: second.variant, attributes: { country: 'DE' } });
    },
  );
});
