/**
 * One fleet connection per instance (src/fleet/connection.ts), on a redis-server this test
 * starts on its own port (the shared one is never stopped): the kill store and the
 * guardrail metrics share one command connection (plus one subscriber); an outage is
 * logged once and a reconnect once, whatever the number of parts and retries; what was
 * decided and recorded meanwhile reaches Redis when it is back.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { PrivateRedis, waitFor } from '../helpers/redis.js';
import { privateStateDir } from '../helpers/state-dir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  OpenFeature.clearHooks();
});

interface Logged {
  level: string;
  msg: string;
}

function config(redis: string, prefix = 'fc') {
  return {
    feature_flags: { provider: 'memory', init_timeout_ms: 200 },
    exposures: { dir: privateStateDir(), flush_interval_ms: 50 },
    monitoring: { check_interval: '1h' },
    fleet: { redis, prefix, push_interval: '100ms' },
    experiments: {
      exp: {
        variants: { control: { weight: 0 }, treatment: { weight: 100 } },
        allocation: { mode: 'fixed' },
        guardrails: [{ metric: 'p95_latency_ms', max_relative_increase: 0.5 }],
      },
    },
  };
}

async function instance(cfg: Record<string, unknown>): Promise<{ sy: Switchyard; logs: Logged[] }> {
  const logs: Logged[] = [];
  const at = (level: string) => (msg: string) => void logs.push({ level, msg });
  const sy = await createSwitchyard({
    config: cfg,
    logger: { debug() {}, info: at('info'), warn: at('warn'), error: at('error') },
    fleetConnectTimeoutMs: 1000,
  });
  cleanups.push(() => sy.close());
  return { sy, logs };
}

async function privateRedis(): Promise<PrivateRedis> {
  const redis = await PrivateRedis.create();
  await redis.start();
  cleanups.push(() => redis.stop());
  return redis;
}

/** Clients connected to the server, the asking one left out. */
async function clients(url: string): Promise<string[]> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await admin.connect();
    const list = (await admin.client('LIST')) as string;
    return list.split('\n').filter((l) => l.length > 0 && !/ cmd=client\|list /.test(` ${l} `));
  } finally {
    admin.disconnect();
  }
}

const outages = (logs: Logged[]) => logs.filter((l) => l.msg.includes('SY_FLEET_UNAVAILABLE'));
const reconnects = (logs: Logged[]) => logs.filter((l) => l.msg.includes('is reachable again'));

describe('one fleet connection per instance', () => {
  it('kill store and guardrail metrics share one command connection and one subscriber', async () => {
    const redis = await privateRedis();
    await instance(config(redis.url));
    await instance(config(redis.url));
    await waitFor(async () => (await clients(redis.url)).length >= 4, 5000, 'both instances connected');
    await new Promise((r) => setTimeout(r, 300)); // nothing else opens late
    expect(await clients(redis.url)).toHaveLength(4);
  });

  it('Redis stopped and restarted: one SY_FLEET_UNAVAILABLE, one reconnect line, the kill state converges', async () => {
    const redis = await privateRedis();
    const a = await instance(config(redis.url));
    const b = await instance(config(redis.url));
    expect((await b.sy.getVariant('exp', { targetingKey: 'u' })).reason).toBe('SPLIT');

    await redis.stop();
    a.sy.kill('exp', 'decided while Redis is away');
    expect((await a.sy.getVariant('exp', { targetingKey: 'u' })).reason).toBe('DISABLED');
    expect((await b.sy.getVariant('exp', { targetingKey: 'u' })).reason).toBe('SPLIT'); // it cannot know yet
    await waitFor(() => outages(a.logs).length > 0, 5000, "a's outage log");
    // Several reconnect attempts, pushes and checks fail meanwhile: still one log line.
    await new Promise((r) => setTimeout(r, 1500));
    await a.sy.checkGuardrails();
    expect(outages(a.logs)).toHaveLength(1);
    expect(outages(a.logs)[0]).toMatchObject({ level: 'error' });
    // The line is written when the outage is seen: before or after the kill, as the socket's close comes.
    expect(outages(a.logs)[0]!.msg).toMatch(
      /^SY_FLEET_UNAVAILABLE: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(.*\); serving the last known kill state \([01] killed, from .*state\.json\); guardrail checks run on the numbers this instance has and its metric deltas are kept until Redis answers; retrying every second$/,
    );
    expect(outages(b.logs)).toHaveLength(1);

    await redis.start(); // empty (no persistence): what a decided meanwhile must come from a
    await waitFor(
      async () => (await b.sy.getVariant('exp', { targetingKey: 'u' })).reason === 'DISABLED',
      10_000,
      'b to take the kill made during the outage',
    );
    await waitFor(() => reconnects(a.logs).length > 0 && reconnects(b.logs).length > 0, 5000, 'the reconnect logs');
    await new Promise((r) => setTimeout(r, 300));
    expect(reconnects(a.logs)).toHaveLength(1);
    expect(reconnects(a.logs)[0]!.msg).toMatch(
      /^fleet: Redis at redis:\/\/127\.0\.0\.1:\d+ is reachable again; kill state re-read, metric deltas kept meanwhile pushed$/,
    );
    expect(outages(a.logs)).toHaveLength(1);
    expect(b.sy.killRecord('exp')).toMatchObject({ killed: true, reason: 'decided while Redis is away' });
  });

  it('metric deltas recorded while Redis is away are pushed once when it is back', async () => {
    const redis = await privateRedis();
    const a = await instance(config(redis.url, 'fm'));
    await redis.stop();
    for (let i = 0; i < 500; i++) a.sy.observe('exp', { targetingKey: `u-${i}` }, 'latency_ms', 10 + (i % 7));
    await a.sy.checkGuardrails(); // push fails: kept
    await waitFor(() => outages(a.logs).length > 0, 5000, 'the outage log');
    await redis.start();
    await waitFor(() => reconnects(a.logs).length > 0, 5000, 'the reconnect log');
    await a.sy.checkGuardrails();
    const admin = new Redis(redis.url);
    cleanups.push(() => admin.disconnect());
    await waitFor(
      async () => Number(await admin.hget('fm:metrics:exp', 'treatment|latency_ms|n')) === 500,
      5000,
      'the push',
    );
    await a.sy.checkGuardrails();
    expect(Number(await admin.hget('fm:metrics:exp', 'treatment|latency_ms|n'))).toBe(500);
    expect(a.sy.guardrailStatus().exp!.source).toBe('fleet');
    expect(outages(a.logs)).toHaveLength(1);
  });
});

describe('a Redis that stops answering without closing the connection (CLIENT PAUSE)', () => {
  it('the outage is logged once, its end once, and the next outage is logged again', async () => {
    const redis = await privateRedis();
    const a = await instance(config(redis.url, 'fp'));
    const admin = new Redis(redis.url);
    cleanups.push(() => admin.disconnect());

    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    a.sy.kill('exp', 'decided while Redis does not answer');
    await waitFor(() => outages(a.logs).length > 0, 5000, 'the outage log');
    // Redis answers again on the same connections: the kill made meanwhile reaches it, and the log says so.
    await waitFor(async () => (await admin.hget('fp:kills', 'exp')) !== null, 10_000, 'the kill in Redis');
    await waitFor(() => reconnects(a.logs).length > 0, 5000, 'the log line saying Redis is back');
    expect(outages(a.logs)).toHaveLength(1);

    await redis.stop();
    await waitFor(() => outages(a.logs).length > 1, 5000, 'the second outage log');
    await redis.start();
    await waitFor(() => reconnects(a.logs).length > 1, 10_000, 'the second log line saying Redis is back');
    expect(outages(a.logs)).toHaveLength(2);
    expect(reconnects(a.logs)).toHaveLength(2);
  });
});
