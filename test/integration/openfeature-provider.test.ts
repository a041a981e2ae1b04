/**
 * Any OpenFeature provider can stand in for a vendor adapter: `provider: openfeature`
 * names an npm module (resolved from the application's directory) and its export. This
 * runs a third-party provider from npm, OpenFeature's own environment-variable provider,
 * through switchyard from config alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';

const open: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  delete process.env.CHECKOUT_GATE;
  delete process.env.GREETING;
});

function config(openfeature: Record<string, unknown>) {
  return {
    feature_flags: { provider: 'openfeature', openfeature, init_timeout_ms: 2000 },
    exposures: { enabled: false },
    experiments: {
      checkout: { flag: 'checkout-gate', variants: { control: { weight: 50 }, treatment: { weight: 50 } } },
    },
  };
}

describe('provider: openfeature (a third-party OpenFeature provider from npm)', () => {
  it('gates the experiment on the provider and passes other flags through', async () => {
    process.env.CHECKOUT_GATE = 'true';
    process.env.GREETING = 'hello';
    const sy = await createSwitchyard({
      config: config({ module: '@openfeature/env-var-provider', export: 'EnvVarProvider' }),
    });
    open.push(sy);
    const variants = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const r = await sy.getVariant('checkout-gate', { targetingKey: `u${i}` });
      expect(r).toMatchObject({ reason: 'SPLIT', inExperiment: true });
      variants.add(r.variant!);
    }
    expect([...variants].sort()).toEqual(['control', 'treatment']);
    expect(await sy.getVariant('greeting', { targetingKey: 'u1' })).toMatchObject({
      value: 'hello',
      inExperiment: false,
    });

    process.env.CHECKOUT_GATE = 'false';
    expect(await sy.getVariant('checkout-gate', { targetingKey: 'u1' })).toMatchObject({
      variant: 'control',
      inExperiment: false,
    });
  });

  it('names the package to install when the module is missing', async () => {
    await expect(createSwitchyard({ config: config({ module: 'no-such-openfeature-provider' }) })).rejects.toThrow(
      /cannot load the OpenFeature provider module "no-such-openfeature-provider": run "npm install no-such-openfeature-provider"/,
    );
  });

  it('says what the module exports when the export is wrong', async () => {
    await expect(
      createSwitchyard({ config: config({ module: '@openfeature/env-var-provider', export: 'Nope' }) }),
    ).rejects.toThrow(/has no export "Nope" \(it has: .*EnvVarProvider/);
  });
});
