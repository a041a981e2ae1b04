/**
 * The `fleet` block under hot reload, on redis-servers this test starts on their own ports:
 * a changed URL moves the instance to the new Redis (the old connection closed, the kill
 * state re-read there, metrics pushed there); a removed block falls back to the state
 * file; an added one connects and takes the fleet's kill state. The service serves
 * throughout.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { validateConfigObject } from '../../src/config/index.js';
import { changeKillState } from '../../src/fleet/index.js';
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

function config(dir: string, fleet: Record<string, unknown> | undefined) {
  return {
    feature_flags: { provider: 'memory', init_timeout_ms: 200 },
    exposures: { dir, flush_interval_ms: 50 },
    monitoring: { check_interval: '1h' },
    ...(fleet ? { fleet } : {}),
    experiments: {
      exp: {
        variants: { control: { weight: 0 }, treatment: { weight: 100 } },
        allocation: { mode: 'fixed' },
        guardrails: [{ metric: 'p95_latency_ms', max_relative_increase: 0.5 }],
      },
    },
  };
}

async function privateRedis(): Promise<PrivateRedis> {
  const redis = await PrivateRedis.create();
  await redis.start();
  cleanups.push(() => redis.stop());
  return redis;
}

/** Clients connected to the server, the asking one left out. */
async function clients(url: string): Promise<number> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await admin.connect();
    const list = (await admin.client('LIST')) as string;
    return list.split('\n').filter((l) => l.length > 0 && !/ cmd=client\|list /.test(` ${l} `)).length;
  } finally {
    admin.disconnect();
  }
}

/** A service reading its config from a file, and a way to rewrite that file and reload. */
async function service(first: Record<string, unknown>) {
  const file = join(mkdtempSync(join(tmpdir(), 'sy-fleet-reload-')), 'switchyard.yaml');
  writeFileSync(file, JSON.stringify(first));
  const logs: Logged[] = [];
  const at = (level: string) => (msg: string) => void logs.push({ level, msg });
  const sy: Switchyard = await createSwitchyard({
    config: file,
    watchIntervalMs: 60_000, // reloaded by hand below
    fleetConnectTimeoutMs: 1000,
    statePollIntervalMs: 20,
    logger: { debug() {}, info: at('info'), warn: at('warn'), error: at('error') },
  });
  cleanups.push(() => sy.close());
  const reload = async (next: Record<string, unknown>) => {
    const applied = sy.config;
    // A different size too, so the watcher's stat sees a change within the same millisecond.
    writeFileSync(file, JSON.stringify(next) + ' '.repeat(Math.floor(Math.random() * 50)));
    sy.reload();
    await waitFor(() => sy.config !== applied, 5000, 'the reload to apply');
  };
  return { sy, logs, reload };
}

const reasonOf = async (sy: Switchyard) => (await sy.getVariant('exp', { targetingKey: 'u-1' })).reason;

describe('hot reload of the fleet block', () => {
  it('a changed fleet.redis: the old connection closes, the kill state is re-read from the new Redis, metrics go there', async () => {
    const [a, b] = await Promise.all([privateRedis(), privateRedis()]);
    const dir = privateStateDir();
    // The fleet on b has killed the experiment; the one on a has not.
    await changeKillState(validateConfigObject(config(privateStateDir(), { redis: b.url, prefix: 'r' })), {
      experiment: 'exp',
      killed: true,
      reason: 'killed in fleet b',
      by: 'test',
    });
    const { sy, logs, reload } = await service(config(dir, { redis: a.url, prefix: 'r', push_interval: '100ms' }));
    expect(await reasonOf(sy)).toBe('SPLIT');
    expect(await clients(a.url)).toBe(2);

    await reload(config(dir, { redis: b.url, prefix: 'r', push_interval: '100ms' }));
    await waitFor(async () => (await reasonOf(sy)) === 'DISABLED', 5000, 'the kill state of fleet b');
    expect(sy.killRecord('exp')).toMatchObject({ killed: true, reason: 'killed in fleet b', by: 'test' });
    await waitFor(async () => (await clients(a.url)) === 0, 5000, 'the old connections to close');
    expect(await clients(b.url)).toBe(2);
    expect(logs.find((l) => l.msg.startsWith('fleet: now'))?.msg).toMatch(
      /^fleet: now Redis at redis:\/\/127\.0\.0\.1:\d+ \(was Redis at redis:\/\/127\.0\.0\.1:\d+\); kill state re-read there, guardrail metrics pushed there$/,
    );

    // Guardrail metrics now go to b, all of them (b had none of this instance's numbers).
    sy.unkill('exp', 'back on');
    for (let i = 0; i < 200; i++) sy.observe('exp', { targetingKey: `u-${i}` }, 'latency_ms', 5);
    await sy.checkGuardrails();
    const admin = new Redis(b.url);
    cleanups.push(() => admin.disconnect());
    expect(Number(await admin.hget('r:metrics:exp', 'treatment|latency_ms|n'))).toBe(200);
    expect(sy.guardrailStatus().exp!.source).toBe('fleet');
    // The unkill went to b as well.
    await waitFor(
      async () => (await admin.hget('r:kills', 'exp'))?.includes('"killed":false') === true,
      5000,
      'the unkill in b',
    );
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('fleet removed: the connection closes and the kill state lives in the state file again', async () => {
    const redis = await privateRedis();
    const dir = privateStateDir();
    const { sy, logs, reload } = await service(config(dir, { redis: redis.url, prefix: 'r' }));
    expect(await clients(redis.url)).toBe(2);
    sy.kill('exp', 'before the reload');

    await reload(config(dir, undefined));
    await waitFor(async () => (await clients(redis.url)) === 0, 5000, 'the connections to close');
    expect(await reasonOf(sy)).toBe('DISABLED'); // the kill holds
    await waitFor(() => logs.some((l) => l.msg.startsWith('fleet: now off')), 5000, 'the move to finish');
    // Without a fleet the file is the state: a kill is in it before kill() returns...
    sy.unkill('exp', 'after the reload');
    const file = join(dir, 'state.json');
    const unkilled = JSON.parse(readFileSync(file, 'utf8')) as { kills: { exp: { killed: boolean; at: number } } };
    expect(unkilled).toMatchObject({ kills: { exp: { killed: false } } });
    // The shell acts after the unkill: a later millisecond (two records of the same
    // millisecond are ordered by their origin, so the CLI's could lose to the unkill).
    while (Date.now() <= unkilled.kills.exp.at) await new Promise((r) => setTimeout(r, 1));
    // ...and what the CLI writes there reaches the running service.
    await changeKillState(validateConfigObject(config(dir, undefined)), {
      experiment: 'exp',
      killed: true,
      reason: 'from the shell',
      by: 'ops',
    });
    await waitFor(async () => (await reasonOf(sy)) === 'DISABLED', 5000, 'the kill from the state file');
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('fleet added: the instance connects and takes the kill state the fleet holds', async () => {
    const redis = await privateRedis();
    const dir = privateStateDir();
    await changeKillState(validateConfigObject(config(privateStateDir(), { redis: redis.url, prefix: 'r' })), {
      experiment: 'exp',
      killed: true,
      reason: 'killed in the fleet',
      by: 'test',
    });
    const { sy, reload } = await service(config(dir, undefined));
    expect(await reasonOf(sy)).toBe('SPLIT');
    expect(await clients(redis.url)).toBe(0);

    await reload(config(dir, { redis: redis.url, prefix: 'r' }));
    await waitFor(async () => (await reasonOf(sy)) === 'DISABLED', 5000, "the fleet's kill state");
    expect(await clients(redis.url)).toBe(2);
    // A kill made here now travels through that Redis.
    sy.unkill('exp', 'from the service');
    const admin = new Redis(redis.url);
    cleanups.push(() => admin.disconnect());
    await waitFor(
      async () => (await admin.hget('r:kills', 'exp'))?.includes('from the service') === true,
      5000,
      'the unkill in Redis',
    );
    expect(existsSync(join(dir, 'state.json'))).toBe(true); // its local copy
  });
});
