/**
 * Builds the vendor provider named in `feature_flags.provider`. Adapters are loaded by
 * dynamic import only when the config names them, so a vendor SDK is needed only by the
 * teams that use that vendor.
 */
import type { Provider } from '@openfeature/server-sdk';
import type { ValidatedConfig } from '../config/index.js';
import { SwitchyardError } from '../errors.js';

export async function providerFromConfig(config: ValidatedConfig): Promise<Provider> {
  const name = config.featureFlags.provider;
  if (name === 'memory') {
    const { MemoryProvider } = await import('../../adapters/memory/index.js');
    const flags: Record<string, { variants: Record<string, never>; defaultVariant: string; disabled: boolean }> = {};
    for (const [key, flag] of Object.entries(config.featureFlags.memoryFlags)) {
      flags[key] = { variants: flag.variants as Record<string, never>, defaultVariant: flag.defaultVariant, disabled: flag.disabled ?? false };
    }
    // An experiment whose flag the config does not define gets an "on" gate, so the
    // embedded default runs every experiment without extra setup.
    for (const exp of config.experiments.values()) {
      flags[exp.flag] ??= { variants: { on: true, off: false } as never, defaultVariant: 'on', disabled: false };
    }
    return new MemoryProvider(flags as never);
  }
  throw new SwitchyardError(
    'SY_NOT_AVAILABLE',
    `feature_flags.provider`,
    `the ${name} adapter is not part of this version of switchyard yet; use provider: memory, or pass an OpenFeature provider as createSwitchyard({ provider })`,
  );
}
