/**
 * Guardrails through the public API, in one process: automatic rollback with its evidence
 * in the journal, on('guardrail') and on('kill'); the status file; ramp gating; observe();
 * bad input; a Redis URL that does not answer.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type GuardrailEvent, type Switchyard } from 'switchyard';
import { functionSink, guardrailEventSchema, type EventRecord } from '../../src/exposure/index.js';

const START = Date.parse('2026-12-01T09:00:00Z');
const DAY = 86_400_000;

class FakeClock {
  constructor(public t: number) {}
  now = () => this.t;
}

const open: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  OpenFeature.clearHooks();
});

function config(experiment: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    feature_flags: { provider: 'memory', init_timeout_ms: 200 },
    exposures: { dir: mkdtempSync(join(tmpdir(), 'sy-guardrails-')), flush_interval_ms: 50 },
    experiments: {
      checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, ...experiment },
    },
    ...extra,
  };
}

async function make(cfg: Record<string, unknown>, clock = new FakeClock(START + 3 * DAY), sink?: EventRecord[]) {
  const logs: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn: (m: string) => void logs.push(`warn ${m}`),
    error: (m: string) => void logs.push(`error ${m}`),
  };
  const sy = await createSwitchyard({
    config: cfg,
    clock,
    logger,
    sinks: sink ? [functionSink('capture', async (records) => void sink.push(...records))] : [],
  });
  open.push(sy);
  return { sy, logs, clock };
}

/** Runs `units` units through run(); the treatment throws with probability `treatmentErrors` (deterministic by unit). */
async function traffic(sy: Switchyard, flag: string, units: number, treatmentErrors: number, offset = 0) {
  for (let i = offset; i < offset + units; i++) {
    const fail = (i * 7919) % 1000 < treatmentErrors * 1000;
    await sy
      .run(
        flag,
        { targetingKey: `u-${i}` },
        {
          control: () => 'ok',
          treatment: () => {
            if (fail) throw new Error('boom');
            return 'ok';
          },
          default: () => 'ok',
        },
      )
      .catch(() => undefined);
  }
}

describe('automatic rollback', () => {
  it('an error rate over its limit kills the experiment, with the evidence in the journal, on(guardrail) and on(kill)', async () => {
    const records: EventRecord[] = [];
    const cfg = config({ guardrails: [{ metric: 'error_rate', max: 0.01, min_sample: 300 }] });
    const { sy, logs } = await make(cfg, undefined, records);
    const events: GuardrailEvent[] = [];
    const kills: unknown[] = [];
    sy.on('guardrail', (e) => events.push(e));
    sy.on('kill', (e) => kills.push(e));
    await traffic(sy, 'checkout', 2000, 0.1);
    await sy.checkGuardrails();

    expect(events).toHaveLength(1);
    const trip = events[0]!;
    expect(trip).toMatchObject({ kind: 'trip', action: 'rollback', experiment: 'checkout', variant: 'treatment' });
    expect(trip.arms.treatment!.value).toBeGreaterThan(0.05);
    expect(trip.arms.treatment!.n).toBeGreaterThan(900);
    expect(trip.arms.control!.value).toBe(0);
    expect(trip.bound!.lower).toBeGreaterThan(0);
    expect(trip.pValue).toBeLessThan(0.05);
    expect(kills).toEqual([expect.objectContaining({ experiment: 'checkout', killed: true, evidence: trip })]);
    // Everyone gets the control now, and no more exposures.
    const after = await sy.getVariant('checkout', { targetingKey: 'u-1' });
    expect(after).toMatchObject({ variant: 'control', reason: 'DISABLED', inExperiment: false });
    expect(logs.filter((l) => l.includes('breached'))).toHaveLength(1);
    // Another check does not trip or log again.
    await sy.checkGuardrails();
    expect(events).toHaveLength(1);

    sy.flush();
    await sy.close();
    const lines = records.filter((r) => (r.schema as string) === 'switchyard.guardrail/1');
    expect(lines).toHaveLength(1);
    const line = guardrailEventSchema.parse(lines[0]);
    expect(line).toMatchObject({ experiment: 'checkout', kind: 'trip', rule: 'error_rate max 0.01', min_sample: 300 });
    expect(line.p_value).toBe(trip.pValue);
  });

  it('a healthy experiment is not rolled back, and the status says healthy with numbers per arm', async () => {
    const cfg = config({ guardrails: [{ metric: 'error_rate', max: 0.01, min_sample: 300 }] });
    const { sy } = await make(cfg);
    await traffic(sy, 'checkout', 2000, 0);
    await sy.checkGuardrails();
    const status = sy.guardrailStatus().checkout!;
    expect(status).toMatchObject({ killed: false, healthy: true, source: 'local' });
    expect(status.rules[0]).toMatchObject({ rule: 'error_rate max 0.01', state: 'healthy', metric: 'error_rate' });
    expect(status.rules[0]!.arms.control!.n + status.rules[0]!.arms.treatment!.n).toBe(2000);
    expect(status.srm).toMatchObject({ rule: 'srm', state: 'healthy' });
    expect(status.srm!.arms.control!.n + status.srm!.arms.treatment!.n).toBe(2000);
    // The same, as a file beside the journal for `switchyard status`.
    const file = join(sy.config.exposures.dir as string, 'guardrails-status.json');
    expect(existsSync(file)).toBe(true);
    const written = JSON.parse(readFileSync(file, 'utf8')) as { experiments: Record<string, unknown> };
    expect(written.experiments.checkout).toEqual(JSON.parse(JSON.stringify(status)));
  });

  it('with automatic_rollback off a breach is an event and a warning, and the experiment keeps running', async () => {
    const cfg = config(
      { guardrails: [{ metric: 'error_rate', max: 0.01, min_sample: 300 }] },
      { monitoring: { automatic_rollback: false } },
    );
    const { sy } = await make(cfg);
    const events: GuardrailEvent[] = [];
    sy.on('guardrail', (e) => events.push(e));
    await traffic(sy, 'checkout', 2000, 0.1);
    await sy.checkGuardrails();
    expect(events.map((e) => [e.kind, e.action])).toEqual([['warn', 'warn']]);
    expect(sy.guardrailStatus().checkout).toMatchObject({ killed: false, healthy: false });
  });
});

describe('observe() and track() feed guardrails', () => {
  it('observe records per arm for a latency rule; bad input is reported, never thrown', async () => {
    const cfg = config({ guardrails: [{ metric: 'p95_latency_ms', max_relative_increase: 0.05, min_sample: 500 }] });
    const { sy } = await make(cfg);
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    for (let i = 0; i < 3000; i++) {
      const ctx = { targetingKey: `u-${i}` };
      const v = await sy.getVariant('checkout', ctx);
      expect(sy.observe('checkout', ctx, 'latency_ms', (v.variant === 'treatment' ? 1.3 : 1) * (50 + (i % 100)))).toBe(
        true,
      );
    }
    expect(sy.observe('checkout', { targetingKey: 'u-1' }, 'latency_ms', NaN)).toBe(false);
    expect(sy.observe('checkout', { targetingKey: 'u-1' }, 'latency_ms', Infinity)).toBe(false);
    expect(sy.observe('nope', { targetingKey: 'u-1' }, 'latency_ms', 1)).toBe(false);
    expect(sy.observe('checkout', {}, 'latency_ms', 1)).toBe(false);
    expect(errors.some((m) => m.includes('finite number'))).toBe(true);
    expect(errors.some((m) => m.includes('no experiment'))).toBe(true);
    await sy.checkGuardrails();
    expect(sy.guardrailStatus().checkout!.killed).toBe(true);
  });

  it('a value too large to square is refused by observe() and track() with the bound in the message, and the rule still trips', async () => {
    const cfg = config({ guardrails: [{ metric: 'latency_ms', max: 100, min_sample: 500 }] });
    const { sy } = await make(cfg);
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    for (let i = 0; i < 3000; i++) {
      const ctx = { targetingKey: `u-${i}` };
      const v = await sy.getVariant('checkout', ctx);
      sy.observe('checkout', ctx, 'latency_ms', (v.variant === 'treatment' ? 500 : 50) + (i % 7));
    }
    const treated = [...Array(3000).keys()]
      .map((i) => ({ targetingKey: `u-${i}` }))
      .find((ctx) => sy.getVariantSync('checkout', ctx).variant === 'treatment')!;
    expect(sy.observe('checkout', treated, 'latency_ms', 1e200)).toBe(false);
    expect(sy.track('latency_ms', treated, { value: -1e200 })).toBe(false);
    expect(errors).toEqual([
      'observe() ignored: the value must be a finite number between -1e+100 and 1e+100, found 1e+200',
      'track("latency_ms") rejected: properties.value must be between -1e+100 and 1e+100, found -1e+200',
    ]);
    await sy.checkGuardrails();
    expect(sy.guardrailStatus().checkout!.rules[0]!.state).toBe('breached');
    expect(sy.guardrailStatus().checkout!.killed).toBe(true);
  });

  it('observe() keeps at most 256 metric names per experiment, of at most 200 characters: names made per user do not grow it without bound', async () => {
    const { sy } = await make(config({ guardrails: [{ metric: 'p95_latency_ms', max_relative_increase: 0.05 }] }));
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    const ctx = { targetingKey: 'u-1' };
    expect(sy.observe('checkout', ctx, 'm'.repeat(201), 1)).toBe(false);
    expect(errors).toEqual(['observe() ignored: the metric name must be at most 200 characters, found 201']);
    for (let i = 0; i < 256; i++) expect(sy.observe('checkout', ctx, `metric-${i}`, i)).toBe(true);
    for (let i = 0; i < 1000; i++) expect(sy.observe('checkout', ctx, `per-user-${i}`, 1)).toBe(false);
    // The names it keeps are still recorded, and the rule's own series is among them.
    expect(sy.observe('checkout', ctx, 'metric-7', 7)).toBe(true);
    expect(sy.observe('checkout', ctx, 'm'.repeat(200), 1)).toBe(false);
    const series = Object.keys(sy.metrics.snapshot().checkout!.control!.metrics);
    expect(series).toHaveLength(256);
    expect(series).not.toContain('per-user-0');
    expect(sy.metrics.summary('checkout', 'control', 'metric-7')?.n).toBe(2);
  });

  it("observe() only appends; a batch of values is added to its series on a later turn, off the caller's path", async () => {
    const { sy } = await make(config({ guardrails: [{ metric: 'p95_latency_ms', max_relative_increase: 0.05 }] }));
    let recorded = 0;
    for (let i = 0; i < 2000; i++) if (sy.observe('checkout', { targetingKey: `u-${i}` }, 'latency_ms', 10)) recorded++;
    expect(recorded).toBe(2000); // every unit is in a 100% fixed split
    expect(sy.metrics.pending).toBe(2000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sy.metrics.pending).toBe(0);
    const n = ['control', 'treatment'].map((v) => sy.metrics.summary('checkout', v, 'latency_ms')?.n ?? 0);
    expect(n[0]! + n[1]!).toBe(2000);
    expect(Math.min(...n)).toBeGreaterThan(800);
  });

  it('a guardrail on a metric that is never recorded is reported as no-data and does not trip', async () => {
    const cfg = config({ guardrails: [{ metric: 'checkout_failed_per_unit', max: 0.01 }] });
    const { sy } = await make(cfg);
    await traffic(sy, 'checkout', 500, 0.5);
    await sy.checkGuardrails();
    expect(sy.guardrailStatus().checkout).toMatchObject({
      killed: false,
      rules: [expect.objectContaining({ state: 'no-data' })],
    });
  });

  it('tracked events count per unit exposed', async () => {
    const cfg = config({ guardrails: [{ metric: 'refund_per_unit', max_relative_increase: 0.5, min_sample: 200 }] });
    const { sy } = await make(cfg);
    for (let i = 0; i < 2000; i++) {
      const ctx = { targetingKey: `u-${i}` };
      const v = await sy.getVariant('checkout', ctx);
      if (v.variant === 'treatment' || i % 10 === 0) sy.track('refund', ctx);
    }
    sy.flush();
    await sy.checkGuardrails();
    const rule = sy.guardrailStatus().checkout!.rules[0]!;
    expect(rule.arms.treatment!.value).toBeCloseTo(1, 5);
    expect(rule.arms.control!.value).toBeGreaterThan(0.05);
    expect(rule.arms.control!.value).toBeLessThan(0.15);
    expect(rule.state).toBe('breached');
  });
});

describe('ramp gating', () => {
  const ramp = (guardrails: unknown[]) => ({
    allocation: {
      mode: 'gradual',
      start: '2026-12-01T09:00:00Z',
      schedule: [{ percent: 10, dwell: '1d' }, { percent: 50, dwell: '1d' }, { percent: 100 }],
    },
    guardrails,
  });

  async function observeErrors(sy: Switchyard, units: number, treatmentRate: number) {
    for (let i = 0; i < units; i++) {
      const ctx = { targetingKey: `r-${i}` };
      const v = await sy.getVariant('checkout', ctx);
      if (!v.inExperiment) continue;
      sy.observe('checkout', ctx, 'error', v.variant === 'treatment' && i % 1000 < treatmentRate * 1000 ? 1 : 0);
    }
  }

  it('holds its step while the sample is below min_sample, and advances one step when healthy', async () => {
    const clock = new FakeClock(START + DAY / 2);
    const { sy } = await make(config(ramp([{ metric: 'error_rate', max: 0.05, min_sample: 400 }])), clock);
    const events: GuardrailEvent[] = [];
    sy.on('guardrail', (e) => events.push(e));
    expect((await sy.getVariant('checkout', { targetingKey: 'x' })).trafficPercent).toBe(10);
    clock.t = START + DAY + DAY / 2; // the clock says step 1 (50%)
    expect((await sy.getVariant('checkout', { targetingKey: 'x' })).trafficPercent).toBe(10); // gated
    await observeErrors(sy, 2000, 0); // about 100 per arm: insufficient
    await sy.checkGuardrails();
    expect((await sy.getVariant('checkout', { targetingKey: 'x' })).trafficPercent).toBe(10);
    expect(events.map((e) => e.kind)).toEqual(['hold']);
    expect(sy.guardrailStatus().checkout!.ramp).toEqual({ clockStep: 1, allowedStep: 0, held: true });
    await observeErrors(sy, 10_000, 0); // now over 400 per arm, no errors
    await sy.checkGuardrails();
    expect((await sy.getVariant('checkout', { targetingKey: 'x' })).trafficPercent).toBe(50);
    expect(events.map((e) => e.kind)).toEqual(['hold', 'advance']);
    // Step 2 begins on the clock; still healthy: the next check lets it in.
    clock.t = START + 2 * DAY + 1;
    expect((await sy.getVariant('checkout', { targetingKey: 'x' })).trafficPercent).toBe(50);
    await sy.checkGuardrails();
    expect((await sy.getVariant('checkout', { targetingKey: 'x' })).trafficPercent).toBe(100);
  });

  it('a breach on a ramp pauses it with ramp_breach_action: pause (no kill)', async () => {
    const clock = new FakeClock(START + DAY / 2);
    const cfg = config(ramp([{ metric: 'error_rate', max: 0.01, min_sample: 200 }]), {
      monitoring: { ramp_breach_action: 'pause' },
    });
    const { sy } = await make(cfg, clock);
    const events: GuardrailEvent[] = [];
    sy.on('guardrail', (e) => events.push(e));
    await observeErrors(sy, 10_000, 0.2);
    await sy.checkGuardrails();
    expect(events[0]).toMatchObject({ kind: 'pause', action: 'pause', rule: 'error_rate max 0.01' });
    clock.t = START + 5 * DAY;
    await sy.checkGuardrails();
    const v = await sy.getVariant('checkout', { targetingKey: 'x' });
    expect(v.trafficPercent).toBe(10);
    expect(sy.guardrailStatus().checkout!.killed).toBe(false);
  });
});

describe('fleet: a Redis URL that does not answer', () => {
  it('logs a clear error at start (password redacted), keeps serving, checks on local numbers, never throws', async () => {
    const cfg = config(
      { guardrails: [{ metric: 'error_rate', max: 0.01, min_sample: 300 }] },
      { fleet: { redis: 'redis://:hunter2@127.0.0.1:1', push_interval: '100ms' } },
    );
    const { sy, logs } = await make(cfg);
    // One line for the instance's fleet connection, saying what the metrics pusher does meanwhile.
    const startup = logs.filter((l) => l.includes('cannot reach Redis'));
    expect(startup).toHaveLength(1);
    expect(startup[0]).toContain('metric deltas are kept');
    expect(startup[0]).toContain('cannot reach Redis at redis://127.0.0.1:1 (');
    expect(logs.join('\n')).not.toContain('hunter2');
    await traffic(sy, 'checkout', 2000, 0.1);
    await sy.checkGuardrails();
    expect(sy.guardrailStatus().checkout).toMatchObject({ source: 'stale', killed: true });
  });
});
