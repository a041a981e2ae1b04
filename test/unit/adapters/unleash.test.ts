/**
 * What the Unleash adapter maps, on the real SDK in offline mode (bootstrap flags, no
 * network): context fields and properties, every payload type, reasons, error codes,
 * stickiness, two clients side by side, and the strict `feature_flags.unleash` config.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFeature } from '@openfeature/server-sdk';
import { Unleash } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard } from 'switchyard';
import { UnleashProvider, unleashContext, type UnleashFeature } from 'switchyard/adapters/unleash';
import { parseConfig } from '../../../src/config/index.js';
import { Receiver } from '../../helpers/receiver.js';

const strategy = (extra: Record<string, unknown> = {}) => ({
  name: 'flexibleRollout',
  parameters: { rollout: '100', stickiness: 'default', groupId: 'g' },
  constraints: [],
  ...extra,
});
const variant = (name: string, type: string, value: string, weight = 1000, stickiness = 'default') => ({
  name,
  weight,
  weightType: 'variable',
  stickiness,
  payload: { type, value },
});

const FEATURES: UnleashFeature[] = [
  { name: 'gate', enabled: true, strategies: [strategy()] },
  { name: 'off', enabled: false, strategies: [strategy()] },
  {
    name: 'beta-only',
    enabled: true,
    strategies: [
      strategy({ constraints: [{ contextName: 'plan', operator: 'IN', values: ['beta'], inverted: false }] }),
    ],
  },
  { name: 'text', enabled: true, strategies: [strategy({ variants: [variant('v', 'string', 'hello')] })] },
  { name: 'json', enabled: true, strategies: [strategy({ variants: [variant('v', 'json', '{"a":[1,2]}')] })] },
  { name: 'csv', enabled: true, strategies: [strategy({ variants: [variant('v', 'csv', 'de, fr,it')] })] },
  { name: 'num', enabled: true, strategies: [strategy({ variants: [variant('v', 'number', '42.5')] })] },
  { name: 'bad-json', enabled: true, strategies: [strategy({ variants: [variant('v', 'json', '{nope')] })] },
  { name: 'bad-num', enabled: true, strategies: [strategy({ variants: [variant('v', 'number', 'abc')] })] },
  {
    name: 'bare',
    enabled: true,
    strategies: [strategy()],
    variants: [{ name: 'plain', weight: 1000, weightType: 'variable', stickiness: 'default' }],
  },
  {
    name: 'by-tenant',
    enabled: true,
    strategies: [
      strategy({
        parameters: { rollout: '100', stickiness: 'tenantId', groupId: 'by-tenant' },
        variants: [variant('a', 'string', 'a', 500, 'tenantId'), variant('b', 'string', 'b', 500, 'tenantId')],
      }),
    ],
  },
  {
    name: 'half',
    enabled: true,
    strategies: [strategy({ parameters: { rollout: '50', stickiness: 'default', groupId: 'half' } })],
  },
  {
    name: 'half-text',
    enabled: true,
    strategies: [
      strategy({
        parameters: { rollout: '50', stickiness: 'default', groupId: 'half-text' },
        variants: [variant('v', 'string', 'hello')],
      }),
    ],
  },
  {
    name: 'seen',
    enabled: true,
    impressionData: true,
    strategies: [strategy({ variants: [variant('a', 'string', 'a', 500), variant('b', 'string', 'b', 500)] })],
  },
  {
    // The client's static fields are in the context the SDK evaluates: appName 'unit' here.
    name: 'app-only',
    enabled: true,
    strategies: [
      strategy({ constraints: [{ contextName: 'appName', operator: 'IN', values: ['unit'], inverted: false }] }),
    ],
  },
  {
    name: 'child',
    enabled: true,
    strategies: [strategy()],
    dependencies: [{ feature: 'off' }],
  },
];

describe('Unleash adapter (offline, bootstrap)', () => {
  const provider = new UnleashProvider({ offline: true, bootstrap: { features: FEATURES }, appName: 'unit' });
  const client = OpenFeature.getClient('unleash-unit');
  beforeAll(async () => {
    await OpenFeature.setProviderAndWait('unleash-unit', provider);
  });
  afterAll(async () => {
    await provider.onClose();
  });

  it('maps targetingKey to userId, own fields as fields, everything else to properties', () => {
    const at = new Date('2026-12-01T09:00:00Z');
    expect(
      unleashContext({
        targetingKey: 'u1',
        sessionId: 's1',
        remoteAddress: '10.0.0.1',
        environment: 'prod',
        appName: 'shop',
        currentTime: at,
        plan: 'beta',
        seats: 3,
        trial: true,
        signup: at,
        tags: ['x'],
      }),
    ).toEqual({
      userId: 'u1',
      sessionId: 's1',
      remoteAddress: '10.0.0.1',
      environment: 'prod',
      appName: 'shop',
      currentTime: at,
      properties: { plan: 'beta', seats: 3, trial: 'true', signup: '2026-12-01T09:00:00.000Z' },
    });
  });

  it('answers a boolean flag from isEnabled (on/off), a constraint from properties', async () => {
    expect(await client.getBooleanDetails('gate', false, { targetingKey: 'u' })).toMatchObject({
      value: true,
      variant: 'on',
      reason: 'STATIC',
    });
    expect(await client.getBooleanDetails('beta-only', false, { targetingKey: 'u', plan: 'beta' })).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
    expect(await client.getBooleanDetails('beta-only', true, { targetingKey: 'u', plan: 'free' })).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'DEFAULT',
    });
  });

  it("matches the client's static fields (appName, environment); the context's own win", async () => {
    expect(await client.getBooleanValue('app-only', false, { targetingKey: 'u' })).toBe(true);
    expect(await client.getBooleanValue('app-only', false, { targetingKey: 'u', appName: 'other' })).toBe(false);
    expect(unleashContext({ targetingKey: 'u', environment: 'prod' }, { appName: 'a', environment: 'e' })).toEqual({
      appName: 'a',
      environment: 'prod',
      userId: 'u',
    });
  });

  it('answers a flag that is off, or whose parent is off, with the default and DISABLED', async () => {
    expect(await client.getBooleanDetails('off', true, { targetingKey: 'u' })).toMatchObject({
      value: true,
      reason: 'DISABLED',
    });
    expect(await client.getBooleanDetails('child', true, { targetingKey: 'u' })).toMatchObject({
      value: true,
      reason: 'DISABLED',
    });
  });

  it('decodes string, json, csv and number payloads', async () => {
    const ctx = { targetingKey: 'u' };
    expect(await client.getStringDetails('text', 'x', ctx)).toMatchObject({
      value: 'hello',
      variant: 'v',
      flagMetadata: { payloadType: 'string' },
    });
    expect(await client.getObjectValue('json', {}, ctx)).toEqual({ a: [1, 2] });
    expect(await client.getObjectValue('csv', {}, ctx)).toEqual(['de', 'fr', 'it']);
    expect(await client.getStringValue('csv', 'x', ctx)).toBe('de, fr,it');
    expect(await client.getNumberValue('num', 0, ctx)).toBe(42.5);
    expect(await client.getStringDetails('bare', 'x', ctx)).toMatchObject({ value: 'plain', variant: 'plain' });
  });

  it('maps bad payloads, wrong kinds, unknown flags to their error codes', async () => {
    const ctx = { targetingKey: 'u' };
    expect(await client.getObjectDetails('bad-json', {}, ctx)).toMatchObject({ errorCode: 'PARSE_ERROR' });
    expect(await client.getNumberDetails('bad-num', 1, ctx)).toMatchObject({ value: 1, errorCode: 'PARSE_ERROR' });
    expect(await client.getNumberDetails('text', 1, ctx)).toMatchObject({ value: 1, errorCode: 'TYPE_MISMATCH' });
    expect(await client.getBooleanDetails('text', false, ctx)).toMatchObject({ errorCode: 'TYPE_MISMATCH' });
    expect(await client.getStringDetails('gate', 'x', ctx)).toMatchObject({ errorCode: 'TYPE_MISMATCH' });
    expect(await client.getStringDetails('nope', 'x', ctx)).toMatchObject({ value: 'x', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('respects a custom stickiness field: one tenant, one variant, whoever the user', async () => {
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < 400; i++) {
      const tenant = `t${i % 20}`;
      const v = await client.getStringValue('by-tenant', 'x', { targetingKey: `u${i}`, tenantId: tenant });
      (seen.get(tenant) ?? seen.set(tenant, new Set()).get(tenant)!).add(v);
    }
    for (const variants of seen.values()) expect(variants.size).toBe(1);
    const all = new Set([...seen.values()].flatMap((s) => [...s]));
    expect(all).toEqual(new Set(['a', 'b']));
  });

  it('a 50% rollout enables about half of the units, reason SPLIT', async () => {
    let on = 0;
    for (let i = 0; i < 2000; i++) {
      const d = await client.getBooleanDetails('half', false, { targetingKey: `u${i}` });
      if (d.value) {
        on++;
        expect(d.reason).toBe('SPLIT');
      }
    }
    expect(on).toBeGreaterThan(900);
    expect(on).toBeLessThan(1100);
  });

  it('provider mode keeps the stickiness: switchyard serves the vendor variant per tenant', async () => {
    const sy = await createSwitchyard({
      provider: new UnleashProvider({ offline: true, bootstrap: { features: FEATURES } }),
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false },
        experiments: {
          tenants: {
            flag: 'by-tenant',
            control: 'a',
            variants: { a: { weight: 50 }, b: { weight: 50 } },
            allocation: { mode: 'provider' },
          },
        },
      },
    });
    try {
      for (let t = 0; t < 10; t++) {
        const first = await sy.getVariant('by-tenant', { targetingKey: 'x0', tenantId: `t${t}` });
        expect(first.inExperiment).toBe(true);
        for (let u = 1; u < 5; u++)
          expect((await sy.getVariant('by-tenant', { targetingKey: `x${u}`, tenantId: `t${t}` })).variant).toBe(
            first.variant,
          );
      }
    } finally {
      await sy.close();
    }
  });

  it('coexists with another Unleash client of a different configuration in the same process', async () => {
    const other = new Unleash({
      appName: 'the-service',
      url: 'http://127.0.0.1:9/api',
      refreshInterval: 0,
      disableMetrics: true,
      bootstrap: { data: [{ name: 'theirs', enabled: true, strategies: [strategy()] }] as never },
      skipInstanceCountWarning: true,
    });
    const second = new UnleashProvider({ offline: true, bootstrap: { features: FEATURES }, appName: 'second' });
    try {
      await new Promise<void>((resolve) => other.once('ready', () => resolve()));
      await second.initialize();
      expect(other.isEnabled('theirs')).toBe(true);
      expect(await client.getBooleanValue('gate', false, { targetingKey: 'u' })).toBe(true);
    } finally {
      other.destroy();
      await second.onClose();
    }
  });
});

describe('feature_flags.unleash config', () => {
  const base = (unleash: string) =>
    ['feature_flags:', '  provider: unleash', `  unleash: ${unleash}`, 'experiments: {}', ''].join('\n');
  const env = { UNLEASH_TOKEN: 'default:development.abc123secret' };

  it('accepts url, app_name, instance_id, a token from the environment, refresh interval, bootstrap', () => {
    const config = parseConfig(
      base(
        '{ url: "https://unleash.example.com/api", app_name: shop, instance_id: pod-1, client_token: "${UNLEASH_TOKEN}", refresh_interval_ms: 5000, bootstrap: flags.json }',
      ),
      'sy.yaml',
      { env },
    );
    expect(config.featureFlags.options).toMatchObject({ client_token: env.UNLEASH_TOKEN, refresh_interval_ms: 5000 });
  });

  it.each([
    ['{ url: "https://u.example/api", client_token: "default:development.literal" }', /from the environment/],
    ['{ url: "https://u.example/api", refresh: 5 }', /unknown key "refresh"/],
    ['{ url: "https://u.example/api", control_plane: { token: "admin-literal" } }', /from the environment/],
    ['{ app_name: shop }', /unleash needs url/],
    ['{ offline: true }', /bootstrap file/],
    ['{ url: "not a url" }', /feature_flags\.unleash\.url/],
  ])('refuses %s with a located error', (section, message) => {
    expect(() => parseConfig(base(section), 'sy.yaml', { env })).toThrow(message);
    expect(() => parseConfig(base(section), 'sy.yaml', { env })).toThrow(/sy\.yaml:3:/);
  });

  it('starts offline from a bootstrap file named in the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-unleash-'));
    writeFileSync(join(dir, 'flags.json'), JSON.stringify({ version: 2, features: FEATURES }));
    writeFileSync(
      join(dir, 'sy.yaml'),
      base(`{ offline: true, bootstrap: "${join(dir, 'flags.json')}" }`).replace(
        'experiments: {}',
        'exposures: { enabled: false }\nexperiments:\n  gate:\n    flag: gate\n    variants: { control: { weight: 50 }, treatment: { weight: 50 } }',
      ),
    );
    const sy = await createSwitchyard({ config: join(dir, 'sy.yaml'), watch: false });
    try {
      const r = await sy.getVariant('gate', { targetingKey: 'u1' });
      expect(r.errorCode).toBeUndefined();
      expect(r.inExperiment).toBe(true);
    } finally {
      await sy.close();
    }
  });
});

describe('Unleash adapter: its own client and a client passed in answer and count alike', () => {
  // The adapter evaluates a client it made without the SDK's copy of the context (see the
  // adapter's header); a client passed in goes through the SDK's public methods. Both must
  // give the same answers and send Unleash the same usage metrics.
  const server = new Receiver();
  const unitsSeen = 300;
  beforeAll(async () => {
    server.respond = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.path.startsWith('/api/client/features') ? JSON.stringify({ version: 2, features: FEATURES }) : '{}');
    };
    await server.start();
  });
  afterAll(() => server.stop());

  it('same answers, same yes/no and variant counts in the metrics sent', async () => {
    const sdk = { metricsInterval: 3_600_000, refreshInterval: 60_000 };
    const own = new UnleashProvider({ url: `${server.url}/api`, appName: 'own', sdk });
    const theirs = new Unleash({
      url: `${server.url}/api`,
      appName: 'theirs',
      ...sdk,
      skipInstanceCountWarning: true,
    });
    const passed = new UnleashProvider({ client: theirs });
    try {
      await own.initialize();
      await passed.initialize();
      const flags: Array<[string, 'boolean' | 'string']> = [
        ['gate', 'boolean'],
        ['half', 'boolean'],
        ['off', 'boolean'],
        ['child', 'boolean'],
        ['text', 'string'],
        ['by-tenant', 'string'],
        ['bare', 'string'],
        ['seen', 'string'],
        ['half-text', 'string'],
      ];
      const impressions = { own: 0, theirs: 0 };
      own.unleashClient!.on('impression', () => impressions.own++);
      theirs.on('impression', () => impressions.theirs++);
      for (let i = 0; i < unitsSeen; i++) {
        const ctx = { targetingKey: `u${i}`, tenantId: `t${i % 7}` };
        for (const [flag, kind] of flags) {
          const a = await (kind === 'boolean'
            ? own.resolveBooleanEvaluation(flag, false, ctx)
            : own.resolveStringEvaluation(flag, 'x', ctx));
          const b = await (kind === 'boolean'
            ? passed.resolveBooleanEvaluation(flag, false, ctx)
            : passed.resolveStringEvaluation(flag, 'x', ctx));
          expect(a).toEqual(b);
        }
      }
      expect(impressions).toEqual({ own: unitsSeen, theirs: unitsSeen });
      await own.unleashClient!.flushMetrics();
      await theirs.flushMetrics();
      const toggles = (app: string) => {
        const sent = server.requests.filter((r) => r.path === '/api/client/metrics').map((r) => JSON.parse(r.body));
        const mine = sent.filter((m: { appName: string }) => m.appName === app);
        expect(mine).toHaveLength(1);
        return mine[0].bucket.toggles as Record<string, { yes: number; no: number; variants: Record<string, number> }>;
      };
      const counted = toggles('own');
      expect(counted).toEqual(toggles('theirs'));
      expect(counted.gate).toMatchObject({ yes: unitsSeen, no: 0 });
      expect(counted.half!.yes + counted.half!.no).toBe(unitsSeen);
      expect(counted.half!.yes).toBeGreaterThan(0);
      expect(counted.half!.no).toBeGreaterThan(0);
      expect(counted.text).toMatchObject({ yes: unitsSeen, variants: { v: unitsSeen } });
      expect(Object.values(counted['by-tenant']!.variants).reduce((x, y) => x + y, 0)).toBe(unitsSeen);
      expect(counted.child).toMatchObject({ yes: 0, no: unitsSeen });
      const halfText = counted['half-text']!;
      expect(halfText.yes + halfText.no).toBe(unitsSeen);
      expect(halfText.variants).toEqual({ disabled: halfText.no, v: halfText.yes });
      expect(halfText.no).toBeGreaterThan(0);
      expect(counted.bare).toMatchObject({ yes: unitsSeen, variants: { plain: unitsSeen } });
    } finally {
      await own.onClose();
      await passed.onClose();
      theirs.destroy();
    }
  });
});

describe('Unleash adapter: flag data of the wrong type', () => {
  // What a broken or hostile Unleash (or bootstrap file) can serve: JSON, but not the
  // shape of its API. The SDK passes variant names and payloads on as they came.
  const served = (name: string, variants: unknown[]): UnleashFeature => ({
    name,
    enabled: true,
    strategies: [strategy({ variants })],
  });
  const named = (name: unknown, payload?: unknown) => ({
    name,
    weight: 500,
    weightType: 'variable',
    stickiness: 'default',
    ...(payload === undefined ? {} : { payload }),
  });
  const BROKEN: UnleashFeature[] = [
    served('number-names', [named(42), named(43)]),
    served('object-names', [named({ a: 1 }), named({ b: 2 })]),
    served('csv-of-a-number', [named('a', { type: 'csv', value: 42 }), named('b', { type: 'csv', value: 43 })]),
    served('number-of-an-object', [
      named('a', { type: 'number', value: {} }),
      named('b', { type: 'number', value: {} }),
    ]),
    served('type-an-object', [named('a', { type: { x: 1 }, value: 'x' }), named('b', { type: { x: 1 }, value: 'y' })]),
  ];
  const provider = new UnleashProvider({ offline: true, bootstrap: { features: BROKEN } });
  beforeAll(async () => {
    await provider.initialize();
  });
  afterAll(async () => {
    await provider.onClose();
  });

  it.each(BROKEN.map((f) => f.name))(
    '%s: PARSE_ERROR with the default for every type, and the vendor value is never the variant',
    async (flag) => {
      const ctx = { targetingKey: 'u' };
      for (const answer of [
        await provider.resolveStringEvaluation(flag, 'd', ctx),
        await provider.resolveNumberEvaluation(flag, 7, ctx),
        await provider.resolveObjectEvaluation(flag, { d: 1 }, ctx),
      ]) {
        expect(answer).toMatchObject({ reason: 'ERROR', errorCode: 'PARSE_ERROR' });
        expect(['d', 7, { d: 1 }]).toContainEqual(answer.value);
        expect(answer.variant).toBeUndefined();
        expect(answer.errorMessage).toContain(`"${flag}"`);
      }
    },
  );

  it('getVariant in provider mode answers the control with PARSE_ERROR, its variant a string', async () => {
    const sy = await createSwitchyard({
      provider: new UnleashProvider({ offline: true, bootstrap: { features: BROKEN } }),
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false },
        experiments: Object.fromEntries(
          BROKEN.map((f) => [
            f.name,
            {
              flag: f.name,
              control: 'a',
              variants: { a: { weight: 50 }, b: { weight: 50 } },
              allocation: { mode: 'provider' },
            },
          ]),
        ),
      },
    });
    try {
      for (const f of BROKEN) {
        const got = await sy.getVariant(f.name, { targetingKey: 'u' });
        expect(got).toMatchObject({ variant: 'a', inExperiment: false, errorCode: 'PARSE_ERROR' });
      }
    } finally {
      await sy.close();
    }
  });
});
