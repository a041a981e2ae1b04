/**
 * What a program sees through OpenFeature's API on a switchyard instance's domain: provider
 * status and events as the wrapped vendor reports them, tracking, and error codes from
 * OpenFeature's enum whatever a vendor throws.
 */
import { OpenFeature, ProviderEvents, type EventDetails, type Provider } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';
import { SplitProvider } from 'switchyard/adapters/split';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackEvent } from '../../../src/client/types.js';
import { CONTRACT_FLAGS } from '../../contract/flags.js';
import { until } from '../../helpers/receiver.js';
import { SplitServer } from '../../helpers/split-server.js';

function config(initTimeoutMs: number) {
  return {
    feature_flags: { provider: 'memory', evaluation_timeout_ms: 50, init_timeout_ms: initTimeoutMs },
    exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-of-surface-')) },
    experiments: {
      checkout: {
        flag: 'checkout',
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        allocation: { mode: 'fixed' },
      },
    },
  };
}

const open: Switchyard[] = [];
async function make(provider: Provider, initTimeoutMs = 200) {
  const sy = await createSwitchyard({ config: config(initTimeoutMs), provider });
  open.push(sy);
  return sy;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
});

const gate = () =>
  new MemoryProvider({ checkout: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false } });

/** Resolves with the details of the event of `type` a client of the domain heard next, or false after a second. */
function next(sy: Switchyard, type: ProviderEvents): Promise<object | false> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), 1000);
    const done = (heard: object | false) => {
      clearTimeout(timer);
      sy.openfeature.removeHandler(type, handler);
      resolve(heard);
    };
    const handler = (details?: EventDetails) => done(details ?? {});
    sy.openfeature.addHandler(type, handler);
  });
}

describe('provider status follows the vendor', () => {
  it('goes back to READY when the vendor recovers from STALE or ERROR (as Unleash does after a failed fetch)', async () => {
    const vendor = gate();
    const sy = await make(vendor);
    expect(sy.openfeature.providerStatus).toBe('READY');
    for (const trouble of [ProviderEvents.Stale, ProviderEvents.Error]) {
      const heard = next(sy, trouble);
      vendor.events.emit(trouble, { message: 'fetch failed' });
      expect(await heard).toBeTruthy();
      expect(sy.openfeature.providerStatus).toBe(trouble === ProviderEvents.Stale ? 'STALE' : 'ERROR');
      const ready = next(sy, ProviderEvents.Ready);
      vendor.events.emit(ProviderEvents.Ready, {});
      expect(await ready).toBeTruthy();
      expect(sy.openfeature.providerStatus).toBe('READY');
    }
  });
});

describe('after close', () => {
  it("the domain's clients see NOT_READY and answer their defaults with PROVIDER_NOT_READY; the vendor is closed once", async () => {
    let closes = 0;
    const vendor = Object.assign(gate(), {
      onClose: async () => {
        closes++;
      },
    });
    const sy = await make(vendor);
    expect(sy.openfeature.providerStatus).toBe('READY');
    await sy.close();
    // OpenFeature closes the old provider when the domain is rebound: give it its turn.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sy.openfeature.providerStatus).toBe('NOT_READY');
    expect(await sy.openfeature.getStringDetails('checkout', 'fallback', { targetingKey: 'u1' })).toMatchObject({
      value: 'fallback',
      reason: 'ERROR',
      errorCode: 'PROVIDER_NOT_READY',
    });
    expect(OpenFeature.getClient(sy.domain).providerStatus).toBe('NOT_READY');
    expect(closes).toBe(1);
    expect(await sy.getVariant('checkout', { targetingKey: 'u1' })).toMatchObject({
      variant: 'control',
      errorCode: 'PROVIDER_NOT_READY',
    });
  });
});

describe("error codes are OpenFeature's", () => {
  it('answers GENERAL, as the OpenFeature client does, when the vendor throws an error whose code is not one of them', async () => {
    // A Node socket error, as an SDK that fetches per evaluation throws it.
    const reset = () => {
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    };
    const vendor: Provider = {
      metadata: { name: 'resetting' },
      runsOn: 'server',
      resolveBooleanEvaluation: reset,
      resolveStringEvaluation: reset,
      resolveNumberEvaluation: reset,
      resolveObjectEvaluation: reset,
    };
    const sy = await make(vendor);
    const ctx = { targetingKey: 'u1' };
    expect(await sy.getVariant('checkout', ctx)).toMatchObject({
      variant: 'control',
      reason: 'ERROR',
      errorCode: 'GENERAL',
      problem: 'SY_PROVIDER_ERROR',
      errorMessage: 'socket hang up',
    });
    expect(sy.getVariantSync('checkout', ctx).errorCode).toBe('GENERAL');
    expect(await sy.openfeature.getStringDetails('checkout', 'fallback', ctx)).toMatchObject({
      value: 'fallback',
      reason: 'ERROR',
      errorCode: 'GENERAL',
      errorMessage: 'socket hang up',
    });
    // A code of OpenFeature's enum from a vendor stays as it is.
    const fatal = () => {
      throw Object.assign(new Error('key revoked'), { code: 'PROVIDER_FATAL' });
    };
    const sy2 = await make({ ...vendor, resolveBooleanEvaluation: fatal });
    expect((await sy2.getVariant('checkout', ctx)).errorCode).toBe('PROVIDER_FATAL');
  });
});

describe("OpenFeature's client.track on the domain", () => {
  it('is recorded as sy.track records it, and reaches the vendor: Split gets the event', async () => {
    const server = await new SplitServer(CONTRACT_FLAGS).start();
    try {
      const vendor = new SplitProvider({ sdkKey: 'k', urls: server.urls(), streaming: false });
      const sy = await make(vendor, 10_000);
      expect(sy.openfeature.providerStatus).toBe('READY');
      const heard: TrackEvent[] = [];
      sy.on('track', (e) => heard.push(e));
      sy.openfeature.track('purchase', { targetingKey: 'u1' }, { value: 42, plan: 'gold' });
      expect(heard).toEqual([
        expect.objectContaining({ event: 'purchase', unit: 'u1', value: 42, properties: { value: 42, plan: 'gold' } }),
      ]);
      await sy.close(); // destroys the Split client, which posts its queued events
      await until(() => server.requests.some((r) => r.path.endsWith('/events/bulk')), 5000, 'Split events posted');
      const posted = JSON.parse(server.requests.find((r) => r.path.endsWith('/events/bulk'))!.body) as unknown[];
      expect(posted).toEqual([
        expect.objectContaining({ key: 'u1', eventTypeId: 'purchase', value: 42, properties: { plan: 'gold' } }),
      ]);
    } finally {
      await server.stop();
    }
  });
});

describe('a hot reload of switchyard.yaml', () => {
  it('emits CONFIGURATION_CHANGED on the domain naming the flags whose allocation changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-of-reload-'));
    const file = join(dir, 'switchyard.yaml');
    const yaml = (control: number, treatment: number) => `
feature_flags: { provider: memory }
exposures: { enabled: false, dir: ${JSON.stringify(dir)} }
experiments:
  checkout:
    variants: { control: { weight: ${control} }, treatment: { weight: ${treatment} } }
  search:
    variants: { control: { weight: 50 }, ranked: { weight: 50 } }
`;
    writeFileSync(file, yaml(100, 0));
    const sy = await createSwitchyard({ config: file, watchIntervalMs: 60_000 });
    open.push(sy);
    const ctx = { targetingKey: 'u1' };
    expect(await sy.openfeature.getStringValue('checkout', 'x', ctx)).toBe('control');
    const changed = next(sy, ProviderEvents.ConfigurationChanged);
    writeFileSync(file, yaml(0, 100));
    sy.reload();
    expect(await changed).toMatchObject({ flagsChanged: ['checkout'] });
    // A handler that re-reads the flag gets the new allocation.
    expect(await sy.openfeature.getStringValue('checkout', 'x', ctx)).toBe('treatment');
  });
});

describe('a kill and an unkill', () => {
  it('emit CONFIGURATION_CHANGED on the domain naming the experiment’s flag: every answer of it changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-of-kill-'));
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false, dir },
        experiments: {
          checkout: { flag: 'checkout-flag', variants: { control: { weight: 0 }, treatment: { weight: 100 } } },
        },
      },
    });
    open.push(sy);
    const ctx = { targetingKey: 'u1' };
    expect(await sy.openfeature.getStringValue('checkout-flag', 'x', ctx)).toBe('treatment');
    const killed = next(sy, ProviderEvents.ConfigurationChanged);
    await sy.kill('checkout', 'error rate');
    expect(await killed).toMatchObject({ flagsChanged: ['checkout-flag'] });
    expect(await sy.openfeature.getStringValue('checkout-flag', 'x', ctx)).toBe('control');
    const unkilled = next(sy, ProviderEvents.ConfigurationChanged);
    await sy.unkill('checkout');
    expect(await unkilled).toMatchObject({ flagsChanged: ['checkout-flag'] });
    expect(await sy.openfeature.getStringValue('checkout-flag', 'x', ctx)).toBe('treatment');
  });
});

describe('exposures through sy.openfeature', () => {
  it('logs none for an answer an after hook turned into the default, as getVariant does', async () => {
    const sy = await make(gate());
    const exposures: string[] = [];
    sy.on('exposure', (e) => exposures.push(`${e.unit}:${e.variant}`));
    const refusing = {
      after: () => {
        throw new Error('after hook refuses');
      },
    };
    const ctx = { targetingKey: 'u1' };
    const details = await sy.openfeature.getStringDetails('checkout', 'fallback', ctx, { hooks: [refusing] });
    expect(details).toMatchObject({ value: 'fallback', reason: 'ERROR', errorCode: 'GENERAL' });
    expect((await sy.getVariant('checkout', { targetingKey: 'u2' }, { hooks: [refusing] })).reason).toBe('ERROR');
    expect(exposures).toEqual([]);
    // The same unit served without the hook is logged once, with the arm it was served.
    const served = await sy.openfeature.getStringValue('checkout', 'fallback', ctx);
    expect(exposures).toEqual([`u1:${served}`]);
  });
});
