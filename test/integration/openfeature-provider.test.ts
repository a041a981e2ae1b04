/**
 * Any OpenFeature provider can stand in for a vendor adapter: `provider: openfeature`
 * names an npm module (resolved from the application's directory) and its export. This
 * runs a third-party provider from npm, OpenFeature's own environment-variable provider,
 * through switchyard from config alone.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { EnvVarProvider } from '@openfeature/env-var-provider';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';

const open: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  delete process.env.CHECKOUT_GATE;
  delete process.env.GREETING;
  delete process.env.SY_OF_SWITCH;
  delete process.env.SY_OF_LIMIT;
  delete process.env.SY_OF_THEME;
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

  it("answers a flag it does not allocate through sy.openfeature as the provider's own client does, in the type asked", async () => {
    // Environment variables are text: the provider parses them into the type asked for.
    process.env.SY_OF_SWITCH = 'true';
    process.env.SY_OF_LIMIT = '42';
    process.env.SY_OF_THEME = '{"bg":"#000"}';
    const sy = await createSwitchyard({
      config: config({ module: '@openfeature/env-var-provider', export: 'EnvVarProvider' }),
    });
    open.push(sy);
    await OpenFeature.setProviderAndWait('env-direct', new EnvVarProvider());
    const direct = OpenFeature.getClient('env-direct');
    const asked = [
      ['sy-of-limit', (c: typeof direct) => c.getNumberDetails('sy-of-limit', 0)],
      ['sy-of-limit', (c: typeof direct) => c.getStringDetails('sy-of-limit', 'x')],
      ['sy-of-switch', (c: typeof direct) => c.getStringDetails('sy-of-switch', 'x')],
      ['sy-of-switch', (c: typeof direct) => c.getBooleanDetails('sy-of-switch', false)],
      ['sy-of-theme', (c: typeof direct) => c.getObjectDetails('sy-of-theme', {})],
    ] as const;
    for (const [flag, ask] of asked) {
      const { flagMetadata: _, ...mine } = await ask(direct);
      expect(mine.errorCode, flag).toBeUndefined();
      expect(await ask(sy.openfeature), flag).toMatchObject(mine);
    }
  });

  it("keeps the caller's default for a disabled flag it does not allocate, as OpenFeature's in-memory provider does", async () => {
    const provider = new MemoryProvider({
      theme: { variants: { dark: 'dark', light: 'light' }, defaultVariant: 'dark', disabled: true },
    });
    const sy = await createSwitchyard({ config: { ...config({}), feature_flags: { provider: 'memory' } }, provider });
    open.push(sy);
    expect(await sy.openfeature.getStringDetails('theme', 'mine', { targetingKey: 'u1' })).toMatchObject({
      value: 'mine',
      reason: 'DISABLED',
    });
    expect((await sy.openfeature.getStringDetails('theme', 'mine', { targetingKey: 'u1' })).errorCode).toBeUndefined();
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
