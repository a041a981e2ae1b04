/**
 * getVariantSync: the same answer, exposures and counts as getVariant when the provider
 * answers synchronously; a clear fallback, never a wait or a throw, when it cannot.
 */
import { OpenFeature, type Provider, type ResolutionDetails } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPOSURE_SCHEMA, functionSink, type EventRecord } from '../../../src/exposure/index.js';
import { recordingLogger } from '../../helpers/logger.js';
import { privateStateDir } from '../../helpers/state-dir.js';
import { checkoutAndRamp } from '../../helpers/experiments.js';

const NOW = Date.parse('2026-12-03T09:00:00Z');

function config(exposures: Record<string, unknown>) {
  return {
    feature_flags: { provider: 'memory', evaluation_timeout_ms: 50, init_timeout_ms: 200 },
    exposures,
    analytics_platforms: [],
    experiments: checkoutAndRamp(),
  };
}

const open: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  OpenFeature.clearHooks();
});

async function logged() {
  const delivered: EventRecord[] = [];
  const sy = await createSwitchyard({
    config: config({ dir: join(mkdtempSync(join(tmpdir(), 'sy-sync-')), 'events') }),
    clock: { now: () => NOW },
    sinks: [functionSink('fn', (records) => void delivered.push(...records))],
  });
  open.push(sy);
  return { sy, exposures: () => delivered.filter((r) => r.schema === EXPOSURE_SCHEMA) };
}

describe('getVariantSync', () => {
  it('answers exactly what getVariant answers, and logs the same exposures, over fixed and ramped experiments', async () => {
    const a = await logged();
    const b = await logged();
    const units = Array.from({ length: 3000 }, (_, i) => `user-${(i * 7919) % 1000}`); // each unit three times
    for (const unit of units) {
      for (const flag of ['checkout', 'ramp']) {
        const ctx = { targetingKey: unit };
        const sync = a.sy.getVariantSync(flag, ctx);
        expect(sync).not.toBeInstanceOf(Promise);
        expect(sync).toStrictEqual(await b.sy.getVariant(flag, ctx));
      }
    }
    await Promise.all([a.sy.close(), b.sy.close()]);
    const key = (r: EventRecord) => {
      const e = r as { experiment: string; variant: string };
      return JSON.stringify([r.unit, e.experiment, e.variant, r.ts]);
    };
    const syncExposures = a.exposures().map(key).sort();
    expect(syncExposures).toEqual(b.exposures().map(key).sort());
    // 1,000 units; 80% of them in checkout, about 25% in the ramp (day 3): each logged once.
    expect(new Set(syncExposures).size).toBe(syncExposures.length);
    const inCheckout = a.exposures().filter((r) => (r as { experiment: string }).experiment === 'checkout').length;
    expect(inCheckout).toBeGreaterThan(740);
    expect(inCheckout).toBeLessThan(860);
    expect(a.sy.counters().engine.evaluations).toBe(b.sy.counters().engine.evaluations);
  });

  it('answers the fallback with SY_NOT_SYNCHRONOUS, logs no exposure and reports once, when the provider answers with a promise', async () => {
    const memory = new MemoryProvider({
      checkout: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
    });
    // A provider whose answers are promises, as LaunchDarkly's are: a real Provider, delegating to the memory one.
    const asynchronous: Provider = {
      metadata: { name: 'async' },
      runsOn: 'server',
      resolveBooleanEvaluation: (flag, value, ctx) =>
        Promise.resolve(memory.resolveBooleanEvaluation(flag, value, ctx)) as Promise<ResolutionDetails<boolean>>,
      resolveStringEvaluation: (flag, value, ctx) => memory.resolveStringEvaluation(flag, value, ctx),
      resolveNumberEvaluation: (flag, value, ctx) => memory.resolveNumberEvaluation(flag, value, ctx),
      resolveObjectEvaluation: (flag, value, ctx) => memory.resolveObjectEvaluation(flag, value, ctx),
    };
    const logger = recordingLogger();
    const delivered: EventRecord[] = [];
    const sy = await createSwitchyard({
      config: config({ dir: join(mkdtempSync(join(tmpdir(), 'sy-sync-')), 'events') }),
      provider: asynchronous,
      logger,
      clock: { now: () => NOW },
      sinks: [functionSink('fn', (records) => void delivered.push(...records))],
    });
    open.push(sy);
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(`${e.flag} ${e.code}`));
    const awaited = await sy.getVariant('checkout', { targetingKey: 'user-1' });
    expect(awaited.reason).not.toBe('ERROR'); // the provider works: only the synchronous call falls back
    for (let i = 0; i < 50; i++) {
      expect(sy.getVariantSync('checkout', { targetingKey: `user-${i}` })).toMatchObject({
        variant: 'control',
        reason: 'ERROR',
        problem: 'SY_NOT_SYNCHRONOUS',
        errorCode: 'GENERAL',
        inExperiment: false,
      });
    }
    await sy.close();
    expect(errors.filter((e) => e === 'checkout SY_NOT_SYNCHRONOUS')).toHaveLength(1);
    expect(logger.lines.filter((l) => l.includes('SY_NOT_SYNCHRONOUS') || l.includes('getVariantSync'))).toHaveLength(
      1,
    );
    // Only getVariant's exposure was logged.
    expect(delivered.filter((r) => r.schema === EXPOSURE_SCHEMA).map((r) => r.unit)).toEqual(
      awaited.inExperiment ? ['user-1'] : [],
    );
  });

  it('answers the fallback when OpenFeature hooks are registered (they may be asynchronous), and the variant again once they are gone', async () => {
    const sy = await createSwitchyard({ config: config({ enabled: false, dir: privateStateDir() }) });
    open.push(sy);
    let ran = 0;
    OpenFeature.addHooks({ before: () => void ran++ });
    expect(sy.getVariantSync('checkout', { targetingKey: 'user-1' })).toMatchObject({
      reason: 'ERROR',
      problem: 'SY_NOT_SYNCHRONOUS',
    });
    expect(ran).toBe(0);
    OpenFeature.clearHooks();
    const answer = sy.getVariantSync('checkout', { targetingKey: 'user-1' });
    expect(answer).toStrictEqual(await sy.getVariant('checkout', { targetingKey: 'user-1' }));
    expect(answer.reason).not.toBe('ERROR');
  });

  it('never throws: bad context, unknown flag, after close', async () => {
    const sy = await createSwitchyard({ config: config({ enabled: false, dir: privateStateDir() }) });
    expect(sy.getVariantSync('checkout', {})).toMatchObject({
      variant: 'control',
      problem: 'SY_TARGETING_KEY_MISSING',
    });
    expect(sy.getVariantSync('checkout', undefined as never)).toMatchObject({ problem: 'SY_TARGETING_KEY_MISSING' });
    expect(sy.getVariantSync('nope', { targetingKey: 'u' })).toMatchObject({
      reason: 'ERROR',
      problem: 'SY_FLAG_NOT_FOUND',
    });
    await sy.close();
    expect(sy.getVariantSync('checkout', { targetingKey: 'u' })).toMatchObject({
      variant: 'control',
      problem: 'SY_PROVIDER_NOT_READY',
    });
  });
});
