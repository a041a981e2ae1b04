/**
 * The Unleash adapter against a real Unleash server (test/helpers/unleash-server.ts): the
 * provider contract on flags seeded through the Admin API, a gradual rollout changed
 * while a client reads it (30% -> 60% -> off -> on) through switchyard's control plane,
 * and an outage: the server stopped mid-test, the provider serving its last flags with
 * STALE, then READY again when the server is back.
 */
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard } from 'switchyard';
import { main } from '../../src/cli/main.js';
import { UnleashProvider } from 'switchyard/adapters/unleash';
import { CONTRACT_FLAGS, type ContractFlag } from '../contract/flags.js';
import { providerContract } from '../contract/provider-contract.js';
import { RealUnleash } from '../helpers/unleash-server.js';
import { privateStateDir } from '../helpers/state-dir.js';

let server: RealUnleash;

beforeAll(async () => {
  server = await RealUnleash.start();
}, 240_000);
afterAll(async () => {
  await server?.destroy();
}, 60_000);

const provider = (appName: string) =>
  new UnleashProvider({
    url: server.url,
    appName,
    clientToken: server.clientToken,
    refreshIntervalMs: 200,
    metrics: false,
    initTimeoutMs: 20_000,
  });

providerContract('unleash (real server)', async (flags) => {
  for (const f of flags) await server.seed(f);
  const p = provider('contract');
  return { provider: p, update: (flag) => server.seed(flag), close: () => p.onClose() };
});

const RAMP: ContractFlag = {
  key: 'ramp',
  kind: 'boolean',
  variants: { on: true, off: false },
  defaultVariant: 'on',
  rollout: { on: 30, off: 70 },
};

async function share(client: ReturnType<typeof OpenFeature.getClient>, flag: string, n = 10_000): Promise<number> {
  let on = 0;
  for (let i = 0; i < n; i++) if (await client.getBooleanValue(flag, false, { targetingKey: `user-${i}` })) on++;
  return on / n;
}

async function enabledAtUnleash(flag: string): Promise<boolean> {
  const f = await server.api<{ environments: Array<{ name: string; enabled: boolean }> }>(
    'GET',
    `/api/admin/projects/default/features/${flag}`,
  );
  return f.environments.find((e) => e.name === 'development')!.enabled;
}

async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('unleash against a real server', () => {
  const domain = 'unleash-real-ramp';
  const client = () => OpenFeature.getClient(domain);
  let p: UnleashProvider;

  beforeAll(async () => {
    await server.seed(RAMP);
    await server.seed(CONTRACT_FLAGS.find((f) => f.key === 'string-flag')!);
    p = provider('ramp');
    await OpenFeature.setProviderAndWait(domain, p);
  }, 60_000);
  afterAll(async () => {
    await p.onClose();
  });

  it('a 30% gradual rollout enables about 30% of 10,000 users, the same users every time', async () => {
    const first = await share(client(), 'ramp');
    expect(first).toBeGreaterThan(0.28);
    expect(first).toBeLessThan(0.32);
    expect(await share(client(), 'ramp')).toBe(first);
  });

  it('follows the control plane: 30% -> 60% (the 30% stay in), off (DISABLED), on again', async () => {
    const before = new Set<number>();
    for (let i = 0; i < 2000; i++)
      if (await client().getBooleanValue('ramp', false, { targetingKey: `user-${i}` })) before.add(i);
    await server.controlPlane.setRollout('ramp', 60);
    await until(async () => (await share(client(), 'ramp', 2000)) > 0.5, 'the 60% rollout to arrive');
    const now = await share(client(), 'ramp');
    expect(now).toBeGreaterThan(0.58);
    expect(now).toBeLessThan(0.62);
    for (const i of before)
      expect(await client().getBooleanValue('ramp', false, { targetingKey: `user-${i}` })).toBe(true);

    await server.controlPlane.turnOff('ramp');
    await until(
      async () => (await client().getBooleanDetails('ramp', false, { targetingKey: 'u' })).reason === 'DISABLED',
      'the flag to turn off',
    );
    await server.controlPlane.turnOn('ramp');
    await until(
      async () => (await client().getBooleanDetails('ramp', false, { targetingKey: 'u' })).reason !== 'DISABLED',
      'the flag to turn on',
    );
    expect(await share(client(), 'ramp', 2000)).toBeGreaterThan(0.5);
  });

  it('control plane errors carry the Unleash message and status', async () => {
    await expect(server.controlPlane.turnOff('no-such-flag')).rejects.toThrow(/SY_CONTROL_PLANE.*404/);
  });

  it('server stopped: serves the last flags and reports STALE; server back: READY, follows changes again', async () => {
    const stale = new Promise<void>((resolve) => client().addHandler(ProviderEvents.Stale, () => resolve()));
    const expected = await share(client(), 'ramp', 1000);
    await server.pause();
    await stale;
    expect(await share(client(), 'ramp', 1000)).toBe(expected);
    expect(await client().getStringValue('string-flag', 'x', { targetingKey: 'u' })).toBe('blue');
    const ready = new Promise<void>((resolve) => client().addHandler(ProviderEvents.Ready, () => resolve()));
    await server.resume();
    await ready;
    await server.controlPlane.setRollout('ramp', 30);
    await until(async () => (await share(client(), 'ramp', 2000)) < 0.4, 'the 30% rollout after the outage', 30_000);
  }, 120_000);
});

describe('the kill switch with an Unleash control plane', () => {
  const KILL: ContractFlag = {
    key: 'kill-me',
    kind: 'boolean',
    variants: { on: true, off: false },
    defaultVariant: 'on',
  };
  const experiments = {
    checkout: { flag: 'kill-me', control: 'control', variants: { control: { weight: 50 }, treatment: { weight: 50 } } },
  };

  it('sy.kill() sends units to control at once and turns the flag off at Unleash; a second service sees it', async () => {
    await server.seed(KILL);
    process.env.SY_TEST_UNLEASH_CLIENT = server.clientToken;
    process.env.SY_TEST_UNLEASH_ADMIN = 'admin-token-unused-with-auth-off';
    const unleash = {
      url: server.url,
      app_name: 'kill-test',
      client_token: '${SY_TEST_UNLEASH_CLIENT}',
      refresh_interval_ms: 200,
      metrics: false,
      control_plane: { token: '${SY_TEST_UNLEASH_ADMIN}', environment: 'development' },
    };
    const config = {
      feature_flags: { provider: 'unleash', unleash },
      exposures: { enabled: false, dir: privateStateDir() },
      experiments,
    };
    const sy = await createSwitchyard({ config });
    const other = await createSwitchyard({ config });
    try {
      // Both services serve the experiment once their Unleash clients have the flag (under load the
      // first fetch can land after createSwitchyard's init timeout).
      for (const service of [sy, other])
        await until(
          async () => (await service.getVariant('kill-me', { targetingKey: 'u1' })).inExperiment,
          'the service to serve the experiment',
        );
      const receipt = sy.kill('checkout', 'test');
      expect(await sy.getVariant('kill-me', { targetingKey: 'u1' })).toMatchObject({
        variant: 'control',
        reason: 'DISABLED',
      });
      expect(await receipt.vendor).toEqual({ scope: 'vendor', vendor: 'unleash', flag: 'kill-me' });
      await until(
        async () => (await other.getVariant('kill-me', { targetingKey: 'u1' })).reason === 'DISABLED',
        'the other service to see the flag off',
      );
      expect(await other.getVariant('kill-me', { targetingKey: 'u1' })).toMatchObject({
        variant: 'control',
        inExperiment: false,
      });
      expect(await enabledAtUnleash('kill-me')).toBe(false);
      // The unkill turns the vendor's flag back on (the same code as the CLI's unkill).
      expect(await sy.unkill('checkout').vendor).toEqual({ scope: 'vendor', vendor: 'unleash', flag: 'kill-me' });
      expect(await enabledAtUnleash('kill-me')).toBe(true);
    } finally {
      await sy.close();
      await other.close();
    }
  }, 60_000);

  it('without control_plane credentials the kill is local only, and says so', async () => {
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false, dir: privateStateDir() },
        experiments,
      },
    });
    try {
      const scope = await sy.kill('checkout').vendor;
      expect(scope).toMatchObject({ scope: 'local' });
      expect(scope.scope === 'local' && scope.why).toMatch(
        /no control plane.*the kill of flag "kill-me" acts in switchyard only/,
      );
    } finally {
      await sy.close();
    }
  });

  it('a control plane that fails leaves the local kill standing and reports why, without the token', async () => {
    process.env.SY_TEST_UNLEASH_CLIENT = server.clientToken;
    process.env.SY_TEST_UNLEASH_ADMIN = 'admin-secret-4f2a';
    const sy = await createSwitchyard({
      config: {
        feature_flags: {
          provider: 'unleash',
          unleash: {
            url: server.url,
            client_token: '${SY_TEST_UNLEASH_CLIENT}',
            metrics: false,
            control_plane: { token: '${SY_TEST_UNLEASH_ADMIN}', project: 'no-such-project' },
          },
        },
        exposures: { enabled: false, dir: privateStateDir() },
        experiments,
      },
    });
    try {
      const scope = await sy.kill('checkout').vendor;
      expect(scope.scope).toBe('local');
      expect(scope.scope === 'local' && scope.why).toMatch(/unleash did not turn flag "kill-me" off.*40\d/);
      expect(JSON.stringify(scope)).not.toContain('admin-secret-4f2a');
      expect((await sy.getVariant('kill-me', { targetingKey: 'u1' })).variant).toBe('control');
    } finally {
      await sy.close();
    }
  }, 30_000);
});

describe('switchyard kill / unkill with an Unleash control plane', () => {
  const configFile = (controlPlane: string, stateDir: string): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'sy-kill-vendor-')), 'switchyard.yaml');
    writeFileSync(
      file,
      [
        'feature_flags:',
        '  provider: unleash',
        '  unleash:',
        `    url: ${server.url}`,
        '    client_token: ${SY_TEST_UNLEASH_CLIENT}',
        ...(controlPlane ? [`    control_plane: ${controlPlane}`] : []),
        `exposures: { enabled: false, dir: ${JSON.stringify(stateDir)} }`,
        'experiments:',
        '  checkout:',
        '    flag: cli-kill',
        '    variants: { control: { weight: 50 }, treatment: { weight: 50 } }',
        '',
      ].join('\n'),
    );
    return file;
  };
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(
      argv,
      (s) => void (out += s),
      (s) => void (err += s),
    );
    return { code, out, err };
  };

  it('kill turns the flag off at Unleash and unkill turns it on again, and each says so', async () => {
    await server.seed({ key: 'cli-kill', kind: 'boolean', variants: { on: true, off: false }, defaultVariant: 'on' });
    process.env.SY_TEST_UNLEASH_CLIENT = server.clientToken;
    process.env.SY_TEST_UNLEASH_ADMIN = 'admin-token-unused-with-auth-off';
    const stateDir = privateStateDir();
    const file = configFile('{ token: "${SY_TEST_UNLEASH_ADMIN}", environment: development }', stateDir);
    expect(await enabledAtUnleash('cli-kill')).toBe(true);

    const kill = await run('kill', 'checkout', '--reason', 'errors up', '--config', file);
    expect(kill.err).toBe('');
    expect(kill.code).toBe(0);
    expect(kill.out).toBe(
      `checkout: killed (errors up); every instance sharing file ${join(stateDir, 'state.json')} obeys\n` +
        'vendor: unleash turned flag "cli-kill" off\n',
    );
    expect(await enabledAtUnleash('cli-kill')).toBe(false);

    const unkill = await run('unkill', 'checkout', '--config', file, '--json');
    expect(unkill.code).toBe(0);
    const answer = JSON.parse(unkill.out) as { written: boolean; vendor: unknown; record: { killed: boolean } };
    expect(answer.written).toBe(true);
    expect(answer.record.killed).toBe(false);
    expect(answer.vendor).toEqual({ scope: 'vendor', vendor: 'unleash', flag: 'cli-kill' });
    expect(await enabledAtUnleash('cli-kill')).toBe(true);
  }, 30_000);

  it('a refusing Unleash: the kill holds in switchyard, the output carries the vendor message, never the token', async () => {
    await server.seed({ key: 'cli-kill', kind: 'boolean', variants: { on: true, off: false }, defaultVariant: 'on' });
    process.env.SY_TEST_UNLEASH_CLIENT = server.clientToken;
    process.env.SY_TEST_UNLEASH_ADMIN = 'admin-secret-9d3e';
    const stateDir = privateStateDir();
    const file = configFile('{ token: "${SY_TEST_UNLEASH_ADMIN}", project: no-such-project }', stateDir);
    const kill = await run('kill', 'checkout', '--reason', 'errors up', '--config', file);
    expect(kill.code).toBe(0);
    expect(kill.out).toMatch(/^checkout: killed \(errors up\); every instance sharing file .* obeys\n/);
    expect(kill.out).toMatch(
      /\nvendor: not changed, switchyard only: unleash did not turn flag "cli-kill" off \(.*40\d.*\): the kill acts in switchyard only\n$/,
    );
    expect(kill.out + kill.err).not.toContain('admin-secret-9d3e');
    expect(await enabledAtUnleash('cli-kill')).toBe(true);
    const status = await run('status', 'checkout', '--config', file, '--json');
    expect(JSON.parse(status.out).experiments[0]).toMatchObject({ killed: true, kill: { reason: 'errors up' } });
  }, 30_000);

  it('without control_plane credentials: killed in switchyard only, and it says so', async () => {
    process.env.SY_TEST_UNLEASH_CLIENT = server.clientToken;
    const file = configFile('', privateStateDir());
    const kill = await run('kill', 'checkout', '--reason', 'r', '--config', file);
    expect(kill.code).toBe(0);
    expect(kill.out).toContain(
      'vendor: not changed, switchyard only: switchyard-unleash has no control plane (no control_plane credentials in the config): the kill of flag "cli-kill" acts in switchyard only',
    );
  });
});

describe('switchyard ramp --vendor', () => {
  it('sets allocation.percent in the file and the flexibleRollout at Unleash', async () => {
    const RAMPED: ContractFlag = {
      key: 'ramped',
      kind: 'boolean',
      variants: { on: true, off: false },
      defaultVariant: 'on',
      rollout: { on: 10, off: 90 },
    };
    await server.seed(RAMPED);
    process.env.SY_TEST_UNLEASH_CLIENT = server.clientToken;
    process.env.SY_TEST_UNLEASH_ADMIN = 'admin-token-unused-with-auth-off';
    const file = join(mkdtempSync(join(tmpdir(), 'sy-ramp-vendor-')), 'switchyard.yaml');
    writeFileSync(
      file,
      [
        'feature_flags:',
        '  provider: unleash',
        '  unleash:',
        `    url: ${server.url}`,
        '    client_token: ${SY_TEST_UNLEASH_CLIENT}',
        '    control_plane: { token: "${SY_TEST_UNLEASH_ADMIN}" }  # the Admin API',
        'experiments:',
        '  ramped:',
        '    flag: ramped',
        '    variants: { control: { weight: 50 }, treatment: { weight: 50 } }',
        '    allocation: { mode: fixed, percent: 10 }',
        '',
      ].join('\n'),
    );
    let out = '';
    const code = await main(['ramp', 'ramped', '--to', '35', '--config', file, '--vendor'], (s) => void (out += s));
    expect(code).toBe(0);
    expect(out).toContain('unleash: flag "ramped" rollout set to 35%');
    expect(readFileSync(file, 'utf8')).toContain('allocation: { mode: fixed, percent: 35 }');
    expect(readFileSync(file, 'utf8')).toContain('# the Admin API');
    const strategies = await server.api<Array<{ parameters: { rollout: string } }>>(
      'GET',
      '/api/admin/projects/default/features/ramped/environments/development/strategies',
    );
    expect(strategies.map((st) => st.parameters.rollout)).toEqual(['35']);
  }, 30_000);
});

describe('Unleash control plane: setRollout against the real server', () => {
  interface AdminStrategy {
    id: string;
    name: string;
    title: string | null;
    disabled: boolean;
    sortOrder: number;
    parameters: Record<string, string>;
    constraints: unknown[];
    variants: unknown[];
    segments: number[];
  }
  const envPath = (flag: string) => `/api/admin/projects/default/features/${flag}/environments/development`;
  const strategiesOf = (flag: string) => server.api<AdminStrategy[]>('GET', `${envPath(flag)}/strategies`);
  /** A fresh flag with these strategies (in this order), on in development. */
  async function flagWith(flag: string, strategies: Array<Record<string, unknown>>): Promise<AdminStrategy[]> {
    await server.api('POST', '/api/admin/projects/default/features', { name: flag, type: 'release' });
    for (const s of strategies) await server.api('POST', `${envPath(flag)}/strategies`, s);
    await server.api('POST', `${envPath(flag)}/on`);
    return strategiesOf(flag);
  }

  it('changes only the rollout: order, titles, constraints, variants, segments and disabled flags stay', async () => {
    const segment = await server.api<{ id: number }>('POST', '/api/admin/segments', {
      name: 'beta-testers',
      constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1', 'u2'] }],
    });
    const created = await flagWith('keep-all', [
      {
        name: 'flexibleRollout',
        title: 'beta first',
        parameters: { rollout: '10', stickiness: 'userId', groupId: 'beta' },
        constraints: [
          { contextName: 'appName', operator: 'IN', values: ['web'], inverted: false, caseInsensitive: true },
        ],
        variants: [
          {
            name: 'blue',
            weight: 1000,
            weightType: 'variable',
            stickiness: 'userId',
            payload: { type: 'string', value: 'b' },
          },
        ],
        segments: [segment.id],
      },
      {
        name: 'default',
        title: '',
        constraints: [{ contextName: 'userId', operator: 'IN', values: ['alice', 'bob'] }],
      },
      // Disabled beside an enabled rollout: updated too, so enabling it later serves the new percentage.
      {
        name: 'flexibleRollout',
        parameters: { rollout: '20', stickiness: 'default', groupId: 'keep-all' },
        disabled: true,
      },
    ]);
    // An order of Unleash's own (as the UI's drag and drop sets it): the disabled rollout first.
    const order = [created[2]!.id, created[0]!.id, created[1]!.id];
    await server.api(
      'POST',
      `${envPath('keep-all')}/strategies/set-sort-order`,
      order.map((id, i) => ({ id, sortOrder: 10 * (i + 1) })),
    );
    const before = await strategiesOf('keep-all');
    expect(before.map((s) => [s.id, s.sortOrder])).toEqual(
      expect.arrayContaining(order.map((id, i) => [id, 10 * (i + 1)])),
    );

    await server.controlPlane.setRollout('keep-all', 40);

    const after = await strategiesOf('keep-all');
    const byId = (list: AdminStrategy[]) => Object.fromEntries(list.map((s) => [s.id, s]));
    expect(byId(after)).toEqual(
      byId(
        before.map((s) =>
          s.name === 'flexibleRollout' ? { ...s, parameters: { ...s.parameters, rollout: '40' } } : s,
        ),
      ),
    );
    expect(after.map((s) => s.id)).toEqual(before.map((s) => s.id));
    expect(await enabledAtUnleash('keep-all')).toBe(true);
  }, 30_000);

  it('refuses a flag whose flexibleRollouts are all disabled, naming them, and changes nothing', async () => {
    const created = await flagWith('all-disabled', [
      { name: 'default', constraints: [{ contextName: 'userId', operator: 'IN', values: ['alice'] }] },
      { name: 'flexibleRollout', parameters: { rollout: '10', stickiness: 'default', groupId: 'a' }, disabled: true },
      { name: 'flexibleRollout', parameters: { rollout: '30', stickiness: 'default', groupId: 'b' }, disabled: true },
    ]);
    const [, first, second] = created;
    const before = await strategiesOf('all-disabled');

    const refused = server.controlPlane.setRollout('all-disabled', 50);
    await expect(refused).rejects.toThrow(/SY_CONTROL_PLANE/);
    await expect(refused).rejects.toThrow(
      `flag "all-disabled" was not changed: every flexibleRollout strategy of it in development is disabled (${first!.id}, ${second!.id})`,
    );
    await expect(refused).rejects.toThrow(/enable one or remove them/);
    expect(await strategiesOf('all-disabled')).toEqual(before);
    expect(await enabledAtUnleash('all-disabled')).toBe(true);
  }, 30_000);
});
