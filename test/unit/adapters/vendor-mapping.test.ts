/**
 * What each adapter maps beyond the shared contract, on the real SDKs: context mapping
 * (LaunchDarkly kinds and multi-kind contexts, Split bucketing keys), reasons and
 * flagMetadata from the vendor's rule ids, vendor-specific error codes, events, and the
 * error that names the npm package when a vendor SDK is missing.
 */
import { integrations, type LDClient } from '@launchdarkly/node-server-sdk';
import { ProviderEvents, type EvaluationContext } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPeer } from '../../../adapters/common/index.js';
import { LaunchDarklyProvider } from 'switchyard/adapters/launchdarkly';
import { OptimizelyProvider } from 'switchyard/adapters/optimizely';
import { SplitProvider } from 'switchyard/adapters/split';
import { CONTRACT_FLAGS } from '../../contract/flags.js';
import { optimizelyDatafile } from '../../helpers/optimizely-datafile.js';
import { SplitServer, splitDefinition } from '../../helpers/split-server.js';
import { Receiver, until } from '../../helpers/receiver.js';
import { SYNC_RESOLVE } from '../../../src/ports.js';

describe('LaunchDarkly mapping', () => {
  const td = new integrations.TestData();
  let provider: LaunchDarklyProvider;
  beforeAll(async () => {
    await td.update(
      td
        .flag('org-flag')
        .variations('basic', 'enterprise')
        .fallthroughVariation(0)
        .ifMatch('org', 'plan', 'gold')
        .thenReturn(1),
    );
    await td.update(
      td.flag('user-flag').booleanFlag().fallthroughVariation(false).ifMatch('user', 'beta', true).thenReturn(true),
    );
    await td.usePreconfiguredFlag({
      key: 'broken',
      on: true,
      variations: ['a'],
      offVariation: 0,
      fallthrough: { variation: 7 },
      version: 1,
    });
    provider = new LaunchDarklyProvider({ sdk: { updateProcessor: td.getFactory(), sendEvents: false } });
    await provider.initialize();
  });
  afterAll(() => provider.onClose());

  it('maps targetingKey and kind to a context, and a multi-kind context to its parts', async () => {
    expect(
      provider.context({ targetingKey: 'u1', kind: 'org', plan: 'gold', joined: new Date('2026-01-02T00:00:00Z') }),
    ).toEqual({
      kind: 'org',
      key: 'u1',
      plan: 'gold',
      joined: '2026-01-02T00:00:00.000Z',
    });
    const multi = {
      kind: 'multi',
      user: { targetingKey: 'u1', beta: true },
      org: { targetingKey: 'acme', plan: 'gold' },
    };
    expect(provider.context(multi)).toEqual({
      kind: 'multi',
      user: { key: 'u1', beta: true },
      org: { key: 'acme', plan: 'gold' },
    });
    expect(await provider.resolveStringEvaluation('org-flag', 'x', multi)).toMatchObject({
      value: 'enterprise',
      variant: '1',
      reason: 'TARGETING_MATCH',
    });
    expect(await provider.resolveBooleanEvaluation('user-flag', false, multi)).toMatchObject({
      value: true,
      reason: 'TARGETING_MATCH',
    });
  });

  it('carries the rule and variation in flagMetadata; fallthrough is DEFAULT', async () => {
    const matched = await provider.resolveStringEvaluation('org-flag', 'x', {
      targetingKey: 'acme',
      kind: 'org',
      plan: 'gold',
    });
    expect(matched.flagMetadata).toMatchObject({ vendorReason: 'RULE_MATCH', ruleIndex: 0, variationIndex: 1 });
    // TestData names its rules rule0, rule1, ... in order.
    expect(matched.flagMetadata?.ruleId).toBe('rule0');
    expect(
      await provider.resolveStringEvaluation('org-flag', 'x', { targetingKey: 'acme', kind: 'org', plan: 'tin' }),
    ).toMatchObject({
      value: 'basic',
      reason: 'DEFAULT',
      flagMetadata: { vendorReason: 'FALLTHROUGH', variationIndex: 0 },
    });
  });

  it('answers a malformed flag with PARSE_ERROR and a missing key with TARGETING_KEY_MISSING', async () => {
    expect(await provider.resolveStringEvaluation('broken', 'dflt', { targetingKey: 'u' })).toMatchObject({
      value: 'dflt',
      errorCode: 'PARSE_ERROR',
    });
    expect(await provider.resolveStringEvaluation('org-flag', 'dflt', {})).toMatchObject({
      value: 'dflt',
      errorCode: 'TARGETING_KEY_MISSING',
    });
  });

  it('emits ConfigurationChanged naming the flag that changed', async () => {
    const changed = new Promise<string[] | undefined>((resolve) =>
      provider.events.addHandler(ProviderEvents.ConfigurationChanged, (d) =>
        resolve(d?.flagsChanged as string[] | undefined),
      ),
    );
    await td.update(td.flag('user-flag').booleanFlag().variationForAll(true));
    expect(await changed).toEqual(['user-flag']);
  });

  it("answers from the SDK's promise when the SDK cannot answer at once, never with an earlier call's detail", async () => {
    // A client whose store answers some flags later (as a persistent store does): its
    // callback then runs after the adapter has returned, and the promise carries the answer.
    const later: Array<() => void> = [];
    const fake = {
      on: () => fake,
      initialized: () => true,
      variationDetail: (flag: string, _ctx: unknown, _dflt: unknown, cb: (e: null, d: unknown) => void) => {
        const detail = { value: flag, variationIndex: flag === 'now' ? 0 : 1, reason: { kind: 'FALLTHROUGH' } };
        if (flag === 'now') {
          cb(null, detail);
          return Promise.resolve(detail);
        }
        return new Promise((resolve) =>
          later.push(() => {
            cb(null, detail);
            resolve(detail);
          }),
        );
      },
    };
    const slow = new LaunchDarklyProvider({ client: fake as unknown as LDClient });
    await slow.initialize();
    const ctx = { targetingKey: 'u' };
    const first = slow[SYNC_RESOLVE]('slow-a', 'string', 'x', ctx);
    expect(first).toBeInstanceOf(Promise);
    later.shift()!();
    expect(await first).toMatchObject({ value: 'slow-a', variant: '1' });
    const second = slow[SYNC_RESOLVE]('slow-b', 'string', 'x', ctx);
    expect(second).toBeInstanceOf(Promise);
    expect(slow[SYNC_RESOLVE]('now', 'string', 'x', ctx)).toMatchObject({ value: 'now', variant: '0' });
    later.shift()!();
    expect(await second).toMatchObject({ value: 'slow-b', variant: '1' });
    await slow.onClose();
  });
});

describe("LaunchDarkly's evaluation below variationDetail", () => {
  // Served by one rule, by a plain fallthrough, by an experiment rollout (inExperiment,
  // full feature events), by a flag that is off, and a flag that does not exist: each
  // path of the SDK's evaluation that makes events.
  const flags = [
    {
      key: 'ruled',
      on: true,
      variations: ['basic', 'gold'],
      offVariation: 0,
      fallthrough: { variation: 0 },
      rules: [
        {
          id: 'r1',
          variation: 1,
          clauses: [{ contextKind: 'user', attribute: 'plan', op: 'in', values: ['gold'], negate: false }],
        },
      ],
      version: 3,
    },
    {
      key: 'tracked',
      on: true,
      trackEvents: true,
      variations: ['a', 'b'],
      offVariation: 0,
      fallthrough: { variation: 1 },
      version: 4,
    },
    {
      key: 'experiment',
      on: true,
      variations: ['control', 'treatment'],
      offVariation: 0,
      fallthrough: {
        rollout: {
          kind: 'experiment',
          variations: [
            { variation: 0, weight: 50_000 },
            { variation: 1, weight: 50_000 },
          ],
        },
      },
      salt: 'experiment',
      version: 5,
    },
    { key: 'off', on: false, variations: ['x', 'y'], offVariation: 1, fallthrough: { variation: 0 }, version: 6 },
  ];
  const contexts: EvaluationContext[] = [
    { targetingKey: 'u1', plan: 'gold' },
    { targetingKey: 'u2', plan: 'tin' },
    { targetingKey: 'u3' },
    { targetingKey: 'acme', kind: 'org' },
  ];

  /** A provider whose SDK client the adapter makes, sending its events to `receiver` (flushed by the test). */
  async function provider(receiver: Receiver): Promise<LaunchDarklyProvider> {
    const td = new integrations.TestData();
    for (const f of flags) await td.usePreconfiguredFlag(f);
    const p = new LaunchDarklyProvider({
      sdk: {
        updateProcessor: td.getFactory(),
        sendEvents: true,
        eventsUri: receiver.url,
        // Set with the events URI, or the SDK warns that custom URIs are incomplete (neither is used).
        baseUri: receiver.url,
        streamUri: receiver.url,
        diagnosticOptOut: true,
        flushInterval: 3600,
      },
    });
    await p.initialize();
    return p;
  }

  /** The event payloads a client posted, without the times (creation, summary start and end). */
  async function flushed(p: LaunchDarklyProvider, receiver: Receiver): Promise<unknown> {
    await p.ldClient!.flush();
    await until(() => receiver.requests.length > 0, 5_000, 'the events were posted');
    const events = receiver.json<unknown[]>().flat();
    receiver.requests.length = 0;
    return JSON.parse(
      JSON.stringify(events, (key, value: unknown) =>
        key === 'creationDate' || key === 'startDate' || key === 'endDate' ? undefined : value,
      ),
    );
  }

  it("sends the SDK's own events: the same feature, index and summary events as variationDetail", async () => {
    const receiver = await new Receiver().start();
    const direct = await provider(receiver);
    const publicPath = await provider(receiver);
    try {
      expect(direct.evaluatesDirectly).toBe(true);
      const viaAdapter: unknown[] = [];
      const viaSdk: unknown[] = [];
      for (const ctx of contexts) {
        for (const flag of [...flags.map((f) => f.key), 'missing']) {
          viaAdapter.push(await direct[SYNC_RESOLVE](flag, 'string', 'dflt', ctx));
          const detail = await publicPath.ldClient!.variationDetail(flag, publicPath.context(ctx), 'dflt');
          viaSdk.push(detail);
        }
      }
      const fromAdapter = await flushed(direct, receiver);
      const fromSdk = await flushed(publicPath, receiver);
      // Something of each kind was sent, so an empty payload cannot pass for the same one.
      const kinds = new Set((fromSdk as Array<{ kind: string }>).map((e) => e.kind));
      expect([...kinds].sort()).toEqual(['feature', 'index', 'summary']);
      expect(fromAdapter).toEqual(fromSdk);
      // And the answers are the SDK's: the same variation for each call.
      expect(viaAdapter.map((a) => (a as { variant?: string }).variant ?? null)).toEqual(
        viaSdk.map((d) => {
          const i = (d as { variationIndex: number | null }).variationIndex;
          return i === null ? null : String(i);
        }),
      );
    } finally {
      await direct.onClose();
      await publicPath.onClose();
      await receiver.stop();
    }
  });

  it("goes through variationDetail once the client has a hook, so the hook runs for the adapter's evaluations", async () => {
    const receiver = await new Receiver().start();
    const p = await provider(receiver);
    try {
      const seen: string[] = [];
      p.ldClient!.addHook!({
        getMetadata: () => ({ name: 'recorder' }),
        afterEvaluation: (hookContext, data) => {
          seen.push(hookContext.flagKey);
          return data;
        },
      });
      expect(p.evaluatesDirectly).toBe(false);
      expect(await p[SYNC_RESOLVE]('tracked', 'string', 'dflt', { targetingKey: 'u1' })).toMatchObject({
        value: 'b',
        variant: '1',
      });
      await until(() => seen.length > 0, 1_000, 'the hook ran');
      expect(seen).toEqual(['tracked']);
    } finally {
      await p.onClose();
      await receiver.stop();
    }
  });

  it('uses the public variationDetail of a client passed in by the caller', async () => {
    const td = new integrations.TestData();
    await td.usePreconfiguredFlag(flags[1]!);
    const { init } = await import('@launchdarkly/node-server-sdk');
    const client = init('sdk-key', { updateProcessor: td.getFactory(), sendEvents: false, diagnosticOptOut: true });
    await client.waitForInitialization({ timeout: 5 });
    const p = new LaunchDarklyProvider({ client });
    await p.initialize();
    let calls = 0;
    const variationDetail = client.variationDetail.bind(client);
    client.variationDetail = (...args: Parameters<LDClient['variationDetail']>) => {
      calls++;
      return variationDetail(...args);
    };
    try {
      expect(p.evaluatesDirectly).toBe(false);
      expect(await p[SYNC_RESOLVE]('tracked', 'string', 'dflt', { targetingKey: 'u1' })).toMatchObject({ value: 'b' });
      expect(calls).toBe(1);
    } finally {
      await p.onClose();
      client.close();
    }
  });

  it('answers each call its own detail when the store answers later (a persistent store), as variationDetail would', async () => {
    // A feature store that calls back on a later turn, as a persistent store does.
    const data = new Map<string, Map<string, { version: number; deleted?: boolean }>>();
    const kindOf = (kind: { namespace: string }) => {
      let m = data.get(kind.namespace);
      if (!m) data.set(kind.namespace, (m = new Map()));
      return m;
    };
    let inited = false;
    const later = (f: () => void) => setTimeout(f, Math.random() * 5);
    const featureStore = {
      init(all: Record<string, Record<string, { version: number }>>, cb: () => void) {
        data.clear();
        for (const ns of Object.keys(all)) data.set(ns, new Map(Object.entries(all[ns]!)));
        inited = true;
        cb();
      },
      get(kind: { namespace: string }, key: string, cb: (item: unknown) => void) {
        const item = kindOf(kind).get(key);
        later(() => cb(item && !item.deleted ? item : null));
      },
      all(kind: { namespace: string }, cb: (items: unknown) => void) {
        later(() => cb(Object.fromEntries(kindOf(kind))));
      },
      upsert(kind: { namespace: string }, item: { key: string; version: number }, cb: () => void) {
        kindOf(kind).set(item.key, item);
        cb();
      },
      delete(kind: { namespace: string }, key: string, version: number, cb: () => void) {
        kindOf(kind).set(key, { version, deleted: true });
        cb();
      },
      initialized: (cb: (yes: boolean) => void) => cb(inited),
      close() {},
      getDescription: () => 'later',
    };
    const td = new integrations.TestData();
    await td.usePreconfiguredFlag(flags[0]!);
    await td.usePreconfiguredFlag(flags[1]!);
    const p = new LaunchDarklyProvider({
      sdk: { updateProcessor: td.getFactory(), sendEvents: false, featureStore: featureStore as never },
    });
    await p.initialize();
    try {
      expect(p.evaluatesDirectly).toBe(true);
      const calls = [
        p[SYNC_RESOLVE]('ruled', 'string', 'dflt', { targetingKey: 'u1', plan: 'gold' }),
        p[SYNC_RESOLVE]('tracked', 'string', 'dflt', { targetingKey: 'u2' }),
        p[SYNC_RESOLVE]('ruled', 'string', 'dflt', { targetingKey: 'u3', plan: 'tin' }),
        p[SYNC_RESOLVE]('missing', 'string', 'dflt', { targetingKey: 'u4' }),
      ];
      for (const c of calls) expect(c).toBeInstanceOf(Promise);
      expect(await Promise.all(calls)).toEqual([
        expect.objectContaining({ value: 'gold', variant: '1' }),
        expect.objectContaining({ value: 'b', variant: '1' }),
        expect.objectContaining({ value: 'basic', variant: '0' }),
        expect.objectContaining({ value: 'dflt', errorCode: 'FLAG_NOT_FOUND' }),
      ]);
    } finally {
      await p.onClose();
    }
  });

  it('shares one frozen answer per served outcome, and makes a new one when the outcome or the flag changes', async () => {
    const td = new integrations.TestData();
    await td.usePreconfiguredFlag(flags[0]!);
    const p = new LaunchDarklyProvider({ sdk: { updateProcessor: td.getFactory(), sendEvents: false } });
    await p.initialize();
    try {
      const gold = p[SYNC_RESOLVE]('ruled', 'string', 'dflt', { targetingKey: 'u1', plan: 'gold' });
      const gold2 = p[SYNC_RESOLVE]('ruled', 'string', 'dflt', { targetingKey: 'u2', plan: 'gold' });
      const tin = p[SYNC_RESOLVE]('ruled', 'string', 'dflt', { targetingKey: 'u3', plan: 'tin' });
      expect(gold).toBe(gold2);
      expect(Object.isFrozen(gold)).toBe(true);
      expect(Object.isFrozen((gold as { flagMetadata: object }).flagMetadata)).toBe(true);
      expect(gold).toEqual({
        value: 'gold',
        variant: '1',
        reason: 'TARGETING_MATCH',
        flagMetadata: { vendorReason: 'RULE_MATCH', variationIndex: 1, ruleId: 'r1', ruleIndex: 0 },
      });
      expect(tin).toEqual({
        value: 'basic',
        variant: '0',
        reason: 'DEFAULT',
        flagMetadata: { vendorReason: 'FALLTHROUGH', variationIndex: 0 },
      });
      // Another type asked for is another answer (here a mismatch, with the caller's default, per call).
      const asBoolean = p[SYNC_RESOLVE]('ruled', 'boolean', true, { targetingKey: 'u1', plan: 'gold' });
      expect(asBoolean).toMatchObject({ value: true, errorCode: 'TYPE_MISMATCH' });
      expect(p[SYNC_RESOLVE]('ruled', 'boolean', false, { targetingKey: 'u1', plan: 'gold' })).toMatchObject({
        value: false,
      });
      // The variation's value changes at the vendor: the same index and rule, a new answer.
      await td.usePreconfiguredFlag({ ...flags[0]!, variations: ['basic', 'platinum'], version: 10 });
      expect(p[SYNC_RESOLVE]('ruled', 'string', 'dflt', { targetingKey: 'u1', plan: 'gold' })).toMatchObject({
        value: 'platinum',
        variant: '1',
      });
      // The rule changes: its id is in the answer.
      await td.usePreconfiguredFlag({
        ...flags[0]!,
        rules: [{ ...flags[0]!.rules![0]!, id: 'r2' }],
        version: 11,
      });
      expect(p[SYNC_RESOLVE]('ruled', 'string', 'dflt', { targetingKey: 'u1', plan: 'gold' })).toMatchObject({
        flagMetadata: { ruleId: 'r2' },
      });
      // An object value that is a new object at each change (or each call, from a store that
      // deserialises every time) replaces its outcome's entry: the flag keeps one, not one per value.
      for (let v = 0; v < 40; v++) {
        await td.usePreconfiguredFlag({
          key: 'json',
          on: true,
          variations: [{ v }],
          offVariation: 0,
          fallthrough: { variation: 0 },
          version: 20 + v,
        });
        expect(p[SYNC_RESOLVE]('json', 'object', {}, { targetingKey: 'u1' })).toMatchObject({ value: { v } });
      }
      const kept = (p as unknown as { answers: Map<string, unknown[]> }).answers;
      expect(kept.get('json')).toHaveLength(1);
    } finally {
      await p.onClose();
    }
  });
});

describe('Optimizely mapping', () => {
  let provider: OptimizelyProvider;
  beforeAll(async () => {
    provider = new OptimizelyProvider({ datafile: JSON.stringify(optimizelyDatafile(CONTRACT_FLAGS)) });
    await provider.initialize();
  });
  afterAll(() => provider.onClose());

  it('reports the rule that decided: A/B test -> SPLIT, targeted delivery -> TARGETING_MATCH, everyone else -> DEFAULT', async () => {
    expect(await provider.resolveStringEvaluation('rollout-flag', 'x', { targetingKey: 'u1' })).toMatchObject({
      reason: 'SPLIT',
      flagMetadata: { ruleKey: 'rollout-flag-ab', ruleKind: 'experiment' },
    });
    expect(
      await provider.resolveStringEvaluation('targeted-flag', 'x', { targetingKey: 'u1', country: 'DE' }),
    ).toMatchObject({
      value: 'hallo',
      variant: 'de',
      reason: 'TARGETING_MATCH',
      flagMetadata: { ruleKind: 'delivery', variationKey: 'de' },
    });
    expect(
      await provider.resolveStringEvaluation('targeted-flag', 'x', { targetingKey: 'u1', country: 'FR' }),
    ).toMatchObject({
      value: 'hello',
      reason: 'DEFAULT',
      flagMetadata: { ruleKind: 'everyone' },
    });
  });

  it('an object evaluation answers the variation variables; a missing user id is TARGETING_KEY_MISSING', async () => {
    expect((await provider.resolveObjectEvaluation('object-flag', {}, { targetingKey: 'u1' })).value).toEqual({
      layout: 'one-page',
      steps: 1,
    });
    expect(await provider.resolveBooleanEvaluation('bool-flag', false, {})).toMatchObject({
      errorCode: 'TARGETING_KEY_MISSING',
    });
  });
});

describe('Split mapping', () => {
  let server: SplitServer;
  let provider: SplitProvider;
  beforeAll(async () => {
    server = await new SplitServer(CONTRACT_FLAGS).start();
    server.setDefinition({
      ...splitDefinition({ key: 'bad-config', kind: 'object', variants: { on: {} }, defaultVariant: 'on' }, 1),
      configurations: { on: '{not json' },
    });
    // A treatment that is not text (a broken or hostile Split): the SDK passes it on.
    const numbered = splitDefinition(
      { key: 'number-treatment', kind: 'string', variants: { a: 'a' }, defaultVariant: 'a' },
      1,
    );
    server.setDefinition({
      ...numbered,
      defaultTreatment: 42,
      conditions: (numbered.conditions as Array<Record<string, unknown>>).map((c) => ({
        ...c,
        partitions: [{ treatment: 42, size: 100 }],
      })),
    });
    // A targeting rule on the matching key (a key selector without an attribute) before a
    // 50/50 rollout, which Split buckets by the bucketing key.
    const rollout = splitDefinition(
      {
        key: 'vip-rollout',
        kind: 'string',
        variants: { a: 'a', b: 'b', vip: 'vip' },
        defaultVariant: 'a',
        rollout: { a: 50, b: 50 },
      },
      1,
    );
    server.setDefinition({
      ...rollout,
      conditions: [
        {
          conditionType: 'WHITELIST',
          matcherGroup: {
            combiner: 'AND',
            matchers: [
              {
                keySelector: { trafficType: 'user', attribute: null },
                matcherType: 'WHITELIST',
                negate: false,
                whitelistMatcherData: { whitelist: ['vip-1'] },
              },
            ],
          },
          partitions: [{ treatment: 'vip', size: 100 }],
          label: 'whitelisted',
        },
        ...(rollout.conditions as unknown[]),
      ],
    });
    provider = new SplitProvider({
      sdkKey: 'k',
      urls: server.urls(),
      streaming: false,
      featuresRefreshRate: 0.1,
      segmentsRefreshRate: 0.1,
    });
    await provider.initialize();
  });
  afterAll(async () => {
    await provider.onClose();
    await server.stop();
  });

  it('uses a bucketingKey for bucketing and the targetingKey for matching', async () => {
    const variant = async (targetingKey: string, bucketingKey?: string) =>
      (
        await provider.resolveStringEvaluation('vip-rollout', 'x', {
          targetingKey,
          ...(bucketingKey === undefined ? {} : { bucketingKey }),
        })
      ).variant;
    // Matching is on the targetingKey: the whitelisted key matches whatever it buckets by,
    // and a bucketingKey equal to the whitelisted key does not make another unit match.
    expect(await variant('vip-1')).toBe('vip');
    expect(await variant('vip-1', 'household-9')).toBe('vip');
    expect(await variant('user-1', 'vip-1')).not.toBe('vip');
    // Bucketing is by the bucketingKey: the members of a household share its treatment,
    // and households (40 of them) land in both treatments.
    const byHousehold = new Map<string, Set<string>>();
    for (let h = 0; h < 40; h++)
      for (let m = 0; m < 5; m++) {
        const got = (await variant(`user-${h}-${m}`, `household-${h}`))!;
        byHousehold.set(`household-${h}`, (byHousehold.get(`household-${h}`) ?? new Set()).add(got));
      }
    expect([...byHousehold.values()].filter((members) => members.size > 1)).toEqual([]);
    expect(new Set([...byHousehold.values()].map((members) => [...members][0])).size).toBe(2);
  });

  it('answers a killed flag DISABLED with the default, carries the changeNumber, and PARSE_ERROR for a treatment config that is not JSON', async () => {
    expect(await provider.resolveBooleanEvaluation('disabled-flag', false, { targetingKey: 'u' })).toMatchObject({
      value: false,
      reason: 'DISABLED',
      flagMetadata: { treatment: 'on', trafficType: 'user' },
    });
    // The test server serves its initial flags at change number 1.
    expect(
      (await provider.resolveStringEvaluation('string-flag', 'x', { targetingKey: 'u' })).flagMetadata?.changeNumber,
    ).toBe(1);
    expect(await provider.resolveObjectEvaluation('bad-config', { d: 1 }, { targetingKey: 'u' })).toMatchObject({
      value: { d: 1 },
      errorCode: 'PARSE_ERROR',
    });
  });

  it('answers a treatment that is not text with PARSE_ERROR for every type, never as the variant', async () => {
    const ctx = { targetingKey: 'u' };
    for (const answer of [
      await provider.resolveBooleanEvaluation('number-treatment', false, ctx),
      await provider.resolveStringEvaluation('number-treatment', 'd', ctx),
      await provider.resolveNumberEvaluation('number-treatment', 7, ctx),
      await provider.resolveObjectEvaluation('number-treatment', { d: 1 }, ctx),
    ]) {
      expect(answer).toMatchObject({ reason: 'ERROR', errorCode: 'PARSE_ERROR' });
      expect([false, 'd', 7, { d: 1 }]).toContainEqual(answer.value);
      expect(answer.variant).toBeUndefined();
      expect(answer.errorMessage).toContain('"number-treatment"');
    }
  });

  it('sends track() as a Split event with the traffic type and value', async () => {
    provider.track('checkout', { targetingKey: 'u1' }, { value: 42, plan: 'gold' });
    await provider.onClose(); // destroy() flushes queued events to the events endpoint
    await until(() => server.requests.some((r) => r.path.endsWith('/events/bulk')), 5000, 'Split events posted');
    const body = JSON.parse(server.requests.find((r) => r.path.endsWith('/events/bulk'))!.body) as Array<
      Record<string, unknown>
    >;
    expect(body[0]).toMatchObject({
      key: 'u1',
      trafficTypeName: 'user',
      eventTypeId: 'checkout',
      value: 42,
      properties: { plan: 'gold' },
    });
  });
});

describe('a missing vendor SDK', () => {
  it('is an error that names the npm package to install', async () => {
    await expect(loadPeer('no-such-vendor-sdk', 'acme')).rejects.toThrow(
      /the acme adapter needs the vendor's SDK, which is not installed: run "npm install no-such-vendor-sdk"/,
    );
  });
});
