/**
 * One factory per provider that turns the neutral flags into that vendor's real
 * configuration and returns a started-or-startable adapter: the memory provider, the
 * LaunchDarkly SDK on TestData, the Optimizely SDK polling a datafile from a local HTTP
 * server, the Split SDK against a local server speaking splitChanges. The contract suite,
 * the allocation tests and the benchmarks all use these, so every check runs on the same
 * flags through the same vendor set-up.
 */
import { integrations } from '@launchdarkly/node-server-sdk';
import { MemoryProvider, type MemoryFlag } from '../../adapters/memory/index.js';
import { LaunchDarklyProvider } from '../../adapters/launchdarkly/index.js';
import { OptimizelyProvider } from '../../adapters/optimizely/index.js';
import { SplitProvider } from '../../adapters/split/index.js';
import { UnleashProvider } from '../../adapters/unleash/index.js';
import { bucket } from '../../src/allocation/index.js';
import { rolloutVariant, type ContractFlag } from '../contract/flags.js';
import { launchDarklyFlag } from './launchdarkly-flags.js';
import { optimizelyDatafile } from './optimizely-datafile.js';
import { Receiver } from './receiver.js';
import { SplitServer } from './split-server.js';
import { UnleashApi } from './unleash-features.js';
import type { Provider } from '@openfeature/server-sdk';

export interface VendorSubject {
  provider: Provider;
  /** Replaces one flag's definition at the vendor (in effect at its next poll or at once). */
  update(flag: ContractFlag): Promise<void>;
  close(): Promise<void>;
  /** The variant name the vendor reports for a neutral variant (LaunchDarkly: the index). */
  variantOf?(flag: string, variant: string): string;
}

export type VendorFactory = (flags: ContractFlag[]) => Promise<VendorSubject>;

function toMemory(flag: ContractFlag): MemoryFlag {
  const out: MemoryFlag = {
    variants: flag.variants,
    defaultVariant: flag.defaultVariant,
    disabled: flag.disabled ?? false,
  };
  if (flag.targeting) {
    const t = flag.targeting;
    out.contextEvaluator = (ctx) => (ctx[t.attribute] === t.equals ? t.variant : flag.defaultVariant);
  } else if (flag.rollout) {
    const r = flag.rollout;
    out.contextEvaluator = (ctx) => rolloutVariant(r, bucket(flag.key, String(ctx.targetingKey ?? '')));
  }
  return out;
}

export const memory: VendorFactory = async (flags) => {
  const provider = new MemoryProvider(Object.fromEntries(flags.map((f) => [f.key, toMemory(f)])));
  return { provider, update: async (flag) => provider.setFlag(flag.key, toMemory(flag)), close: async () => {} };
};

export const launchdarkly: VendorFactory = async (flags) => {
  const td = new integrations.TestData();
  for (const f of flags) await td.usePreconfiguredFlag(launchDarklyFlag(f));
  const names = new Map(flags.map((f) => [f.key, Object.keys(f.variants)]));
  const provider = new LaunchDarklyProvider({
    sdk: { updateProcessor: td.getFactory(), sendEvents: false, diagnosticOptOut: true },
  });
  return {
    provider,
    update: async (flag) => {
      names.set(flag.key, Object.keys(flag.variants));
      await td.usePreconfiguredFlag(launchDarklyFlag(flag));
    },
    close: () => provider.onClose(),
    variantOf: (flag, variant) => String(names.get(flag)!.indexOf(variant)),
  };
};

/** Optimizely with a static datafile: no server, no changes. */
export const optimizelyStatic: VendorFactory = async (flags) => {
  const provider = new OptimizelyProvider({ datafile: optimizelyDatafile(flags) });
  return { provider, update: async () => {}, close: () => provider.onClose() };
};

/** Optimizely polling the datafile at /datafiles/<sdk key>.json, as from Optimizely's CDN. */
export const optimizely: VendorFactory = async (flags) => {
  const current = new Map(flags.map((f) => [f.key, f]));
  let revision = 1;
  let body = JSON.stringify(optimizelyDatafile([...current.values()], revision));
  const receiver = new Receiver();
  receiver.respond = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };
  await receiver.start();
  const provider = new OptimizelyProvider({
    sdkKey: 'test-sdk-key',
    urlTemplate: `http://127.0.0.1:${receiver.port}/datafiles/%s.json`,
    updateIntervalMs: 100,
  });
  return {
    provider,
    update: async (flag) => {
      current.set(flag.key, flag);
      body = JSON.stringify(optimizelyDatafile([...current.values()], ++revision));
    },
    close: async () => {
      await provider.onClose();
      await receiver.stop();
    },
  };
};

export const split: VendorFactory = async (flags) => {
  const server = await new SplitServer(flags).start();
  const provider = new SplitProvider({
    sdkKey: 'test-sdk-key',
    urls: server.urls(),
    streaming: false,
    featuresRefreshRate: 0.1,
    segmentsRefreshRate: 0.1,
  });
  return {
    provider,
    update: async (flag) => server.set(flag),
    close: async () => {
      await provider.onClose();
      await server.stop();
    },
  };
};

/** Unleash's SDK polling a local client API (/api/client/features) every 100 ms. */
export const unleash: VendorFactory = async (flags) => {
  const api = await new UnleashApi(flags).start();
  const provider = new UnleashProvider({
    url: api.url,
    appName: 'switchyard-test',
    clientToken: 'default:development.test-token',
    refreshIntervalMs: 100,
    metrics: false,
  });
  return {
    provider,
    update: async (flag) => api.set(flag),
    close: async () => {
      await provider.onClose();
      await api.stop();
    },
  };
};

export const VENDORS = { memory, launchdarkly, optimizely, split, unleash } as const;
