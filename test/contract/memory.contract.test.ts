/**
 * The memory adapter through the provider contract: the neutral flags become OpenFeature
 * in-memory flags, with targeting and rollouts as context evaluators.
 */
import { MemoryProvider, type MemoryFlag } from 'switchyard/adapters/memory';
import { bucket } from '../../src/allocation/index.js';
import { providerContract, rolloutVariant, type ContractFlag } from './provider-contract.js';

function toMemory(flag: ContractFlag): MemoryFlag {
  const out: MemoryFlag = { variants: flag.variants, defaultVariant: flag.defaultVariant, disabled: flag.disabled ?? false };
  if (flag.targeting) {
    const t = flag.targeting;
    out.contextEvaluator = (ctx) => (ctx[t.attribute] === t.equals ? t.variant : flag.defaultVariant);
  } else if (flag.rollout) {
    const r = flag.rollout;
    out.contextEvaluator = (ctx) => rolloutVariant(r, bucket(flag.key, String(ctx.targetingKey ?? '')));
  }
  return out;
}

providerContract('memory', async (flags) => {
  const provider = new MemoryProvider(Object.fromEntries(flags.map((f) => [f.key, toMemory(f)])));
  return {
    provider,
    update: async (flag) => provider.setFlag(flag.key, toMemory(flag)),
    close: async () => {},
  };
});
