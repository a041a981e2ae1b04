/**
 * The LaunchDarkly adapter through the provider contract, on the official SDK with its
 * offline TestData source: each neutral flag becomes a real LaunchDarkly flag
 * configuration (variations, off variation, rules with clauses, a fallthrough rollout with
 * weights in units of 1/100000), evaluated by the SDK itself.
 */
import { integrations } from '@launchdarkly/node-server-sdk';
import { LaunchDarklyProvider } from 'switchyard/adapters/launchdarkly';
import { launchDarklyFlag } from '../helpers/launchdarkly-flags.js';
import { providerContract } from './provider-contract.js';

providerContract('launchdarkly', async (flags) => {
  const td = new integrations.TestData();
  for (const f of flags) td.usePreconfiguredFlag(launchDarklyFlag(f));
  const names = new Map(flags.map((f) => [f.key, Object.keys(f.variants)]));
  const provider = new LaunchDarklyProvider({ sdk: { updateProcessor: td.getFactory(), sendEvents: false, diagnosticOptOut: true } });
  return {
    provider,
    update: async (flag) => {
      td.usePreconfiguredFlag(launchDarklyFlag(flag));
    },
    close: async () => {},
    variantOf: (flag, variant) => String(names.get(flag)!.indexOf(variant)),
  };
});
