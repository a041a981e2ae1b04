/**
 * adaptive allocation in a fleet, on the real Redis: three processes serve the same
 * allocation version within a second of one re-weighting; the Redis sticky store keeps
 * units across a restart; a Redis of the test's own that stops and starts again: units
 * are served from memory meanwhile and written to Redis afterwards.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createSwitchyard, type AllocationVersion, type Switchyard } from 'switchyard';
import { RedisStickyStore } from '../../src/client/adaptive/redis-sticky.js';
import { silentLogger } from '../../src/ports.js';
import { privateStateDir } from '../helpers/state-dir.js';
import { until } from '../helpers/receiver.js';
import { PrivateRedis } from '../helpers/redis.js';

const SHARED = 'redis://127.0.0.1:6379';
const shared = new Redis(SHARED, { lazyConnect: true });
const prefixes: string[] = [];
const open: Switchyard[] = [];

function prefix(): string {
  const p = `sy-test-${randomUUID()}`;
  prefixes.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
});
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await shared.keys(`${p}:*`);
    if (keys.length) await shared.del(...keys);
  }
  shared.disconnect();
});

function config(redis: string, p: string, extra: Record<string, unknown> = {}) {
  return {
    feature_flags: { provider: 'memory' },
    exposures: { enabled: false, dir: privateStateDir() },
    fleet: { redis, prefix: p },
    experiments: {
      hero: {
        variants: { control: {}, b: {}, c: {} },
        primary_metric: 'signup',
        allocation: { mode: 'adaptive', min_sample: 5, max_step: 30, sticky: 'redis', draws: 500, ...extra },
      },
    },
  };
}

// A generous round-trip budget: on a loaded machine 100 ms can pass, and the unit would be served from memory.
async function make(cfg: Record<string, unknown>, stickyTimeoutMs = 2000, warnings?: string[]) {
  const logger = { ...silentLogger, warn: (m: string) => warnings?.push(m) };
  const sy = await createSwitchyard({ config: cfg, watch: false, logger, adaptive: { pollMs: 100, stickyTimeoutMs } });
  open.push(sy);
  return sy;
}

interface Child {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly lines: { text: string; at: number }[];
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<{ text: string; at: number }>;
}

function child(p: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/adaptive-child.ts'], {
    env: { ...process.env, REDIS_URL: SHARED, PREFIX: p },
  });
  const lines: { text: string; at: number }[] = [];
  let buffer = '';
  proc.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push({ text: buffer.slice(0, i), at: Date.now() });
      buffer = buffer.slice(i + 1);
    }
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    proc,
    lines,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = setInterval(() => {
          const hit = lines.find((l) => pattern.test(l.text));
          if (hit) {
            clearInterval(check);
            resolve(hit);
          } else if (Date.now() - started > timeoutMs) {
            clearInterval(check);
            reject(new Error(`no line ${pattern} within ${timeoutMs} ms: ${JSON.stringify(lines)} ${stderr}`));
          }
        }, 5);
      }),
  };
}

describe('adaptive allocation in a fleet (real Redis)', () => {
  it('three processes serve the same new version within a second of one re-weighting', async () => {
    const p = prefix();
    const children = [child(p), child(p), child(p)];
    try {
      // Three tsx children start at once: on a loaded 2-core machine that has taken over 30 s.
      const ready = await Promise.all(children.map((c) => c.waitFor(/^ready /, 90_000)));
      const initial = ready.map((l) => l.text.split(' ')[1]);
      expect(new Set(initial).size).toBe(1);
      children[0]!.proc.stdin.write('reweight\n');
      const done = await children[0]!.waitFor(/^reweighted /);
      const version = done.text.split(' ')[1]!;
      expect(version).not.toBe('none');
      const seen = await Promise.all(children.map((c) => c.waitFor(new RegExp(`^version ${version}$`), 5000)));
      for (const s of seen) expect(s.at - done.at).toBeLessThan(1000);
      // Another instance re-weighting within the lock's hold gets none: one writer per re-weighting.
      children[1]!.proc.stdin.write('reweight\n');
      expect((await children[1]!.waitFor(/^reweighted /)).text).toBe('reweighted none');
      expect(JSON.parse((await shared.get(`${p}:adaptive:hero:version`))!).version).toBe(Number(version));
    } finally {
      for (const c of children) c.proc.stdin.write('exit\n');
      await Promise.all(children.map((c) => new Promise((r) => c.proc.once('exit', r))));
    }
  }, 150_000);

  it('the leader re-weights on the fleet-merged numbers: conversions recorded on a follower move its weights', async () => {
    const p = prefix();
    const [leader, follower] = [child(p), child(p)];
    try {
      await Promise.all([leader, follower].map((c) => c.waitFor(/^ready /, 60_000)));
      // Every unit the follower puts on b converts; the leader itself records nothing but its probe.
      follower.proc.stdin.write('convert b 200\n');
      const [, onB, served] = (await follower.waitFor(/^converted /, 60_000)).text.split(' ').map(Number);
      expect(onB).toBeGreaterThan(50);
      leader.proc.stdin.write('reweight-only\n');
      const line = (await leader.waitFor(/^weights /, 60_000)).text.slice('weights '.length);
      expect(line).not.toBe('none');
      const version = JSON.parse(line) as AllocationVersion;
      // On its own numbers (one probe unit) the leader would still be burning in at 50/50.
      expect(version.phase).toBe('thompson');
      expect(version.weights.b).toBeCloseTo(0.5 + 0.2, 9); // the default max_step from 50/50
      const arms = new Map(version.arms!.map((a) => [a.variant, a]));
      expect(arms.get('b')!.conversions).toBe(onB);
      expect(arms.get('control')!.conversions).toBe(0);
      // The follower's units plus one probe unit per instance.
      expect(arms.get('b')!.units + arms.get('control')!.units).toBe(served! + 2);
      expect(arms.get('b')!.probabilityBest).toBeGreaterThan(0.99);
      // What the leader published is what every instance follows.
      expect(JSON.parse((await shared.get(`${p}:adaptive:hero:version`))!).version).toBe(version.version);
      await follower.waitFor(new RegExp(`^version ${version.version}$`), 10_000);
    } finally {
      for (const c of [leader, follower]) c.proc.stdin.write('exit\n');
      await Promise.all([leader, follower].map((c) => new Promise((r) => c.proc.once('exit', r))));
    }
  }, 180_000);

  it('a reload that adds an arm while a unit waits for Redis: the answer names a variant of the plan it was made under, and its exposure too', async () => {
    const p = prefix();
    const dir = privateStateDir();
    const file = join(mkdtempSync(join(tmpdir(), 'sy-race-')), 'switchyard.yaml');
    const yamlOf = (variants: string[]) =>
      stringify({
        ...config(SHARED, p),
        exposures: { enabled: true, dir },
        experiments: {
          hero: {
            ...config(SHARED, p).experiments.hero,
            variants: Object.fromEntries(variants.map((v) => [v, {}])),
          },
        },
      });
    writeFileSync(file, yamlOf(['control', 'b']));
    const sy = await createSwitchyard({
      config: file,
      watch: true,
      watchIntervalMs: 60_000,
      logger: silentLogger,
      adaptive: { pollMs: 100, stickyTimeoutMs: 2000 },
    });
    open.push(sy);
    const exposed: (string | undefined)[] = [];
    sy.on('exposure', (e) => exposed.push(e.variant));
    // Another instance, already on the config with arm c, stored the unit in c.
    await shared.hset(`${p}:sticky:hero`, 'racer', 'c');
    const answer = sy.getVariant('hero', { targetingKey: 'racer' }); // waits for Redis
    writeFileSync(file, yamlOf(['control', 'b', 'c']));
    sy.reload(); // applied now, before Redis answers
    const v = await answer;
    // The evaluation began under the plan without c: c cannot be its answer; the control is.
    expect(v.variant).toBe('control');
    expect(v.value).toBe('control');
    // The next call is under the new plan: the unit's sticky arm, c.
    expect((await sy.getVariant('hero', { targetingKey: 'racer' })).variant).toBe('c');
    expect(exposed).toEqual(['control', 'c']);
  });

  it('a restarted instance keeps the sticky assignments (Redis store), also after weights changed', async () => {
    const p = prefix();
    const first = await make(config(SHARED, p));
    const before = new Map<string, string>();
    for (let i = 0; i < 300; i++)
      before.set(`u${i}`, (await first.getVariant('hero', { targetingKey: `u${i}` })).variant!);
    for (const [unit, v] of before) if (v === 'c') first.track('signup', { targetingKey: unit });
    await first.reweight('hero');
    await first.close();
    expect(await shared.hlen(`${p}:sticky:hero`)).toBe(300);

    const restarted = await make(config(SHARED, p));
    // The restarted instance follows the fleet's version, which favours c.
    expect(restarted.allocationStatus('hero')[0]!.arms.find((a) => a.variant === 'c')!.weight).toBeGreaterThan(0.5);
    for (const [unit, v] of before)
      expect((await restarted.getVariant('hero', { targetingKey: unit })).variant).toBe(v);
    // Units already stored in Redis are not new: the restarted instance counts none of them
    // (its own recorder; status shows the fleet's merged count, the first instance's 300).
    for (const v of ['control', 'b', 'c'])
      expect(restarted.metrics.summary('hero', v, 'switchyard.units')?.n ?? 0).toBe(0);
  });

  it("the experiment's sticky hash expires sticky_ttl after its last use (default 90 days), renewed by each round trip and by a reload's new sticky_ttl", async () => {
    const day = 86_400_000;
    const p = prefix();
    const key = `${p}:sticky:hero`;
    const sy = await make(config(SHARED, p));
    await sy.getVariant('hero', { targetingKey: 'u1' });
    const ttl = await shared.pttl(key);
    expect(ttl).toBeGreaterThan(90 * day - 60_000);
    expect(ttl).toBeLessThanOrEqual(90 * day);
    await sy.close();
    const dir = mkdtempSync(join(tmpdir(), 'sy-sticky-ttl-'));
    const file = join(dir, 'switchyard.yaml');
    const q = prefix();
    const qkey = `${q}:sticky:hero`;
    writeFileSync(file, JSON.stringify(config(SHARED, q, { sticky_ttl: '2d' })));
    const logger = { ...silentLogger };
    const watched = await createSwitchyard({
      config: file,
      watchIntervalMs: 50,
      logger,
      adaptive: { pollMs: 100, stickyTimeoutMs: 2000 },
    });
    open.push(watched);
    await watched.getVariant('hero', { targetingKey: 'u1' });
    expect(await shared.pttl(qkey)).toBeGreaterThan(2 * day - 60_000);
    expect(await shared.pttl(qkey)).toBeLessThanOrEqual(2 * day);
    // A reload to 3 days: the next round trip (a unit not seen yet) renews the hash for 3 days.
    writeFileSync(file, JSON.stringify(config(SHARED, q, { sticky_ttl: '3d' })));
    await until(
      () => watched.config.experiments.get('hero')!.allocation.adaptive?.stickyTtlMs === 3 * day,
      5000,
      'the reload',
    );
    await watched.getVariant('hero', { targetingKey: 'u2' });
    expect(await shared.pttl(qkey)).toBeGreaterThan(3 * day - 60_000);
  });

  it('Redis down: units are served from memory at once, written to Redis when it is back', async () => {
    const server = await startRedis();
    try {
      const p = prefix();
      const sy = await make(config(server.url, p), 200);
      for (let i = 0; i < 50; i++) await sy.getVariant('hero', { targetingKey: `early${i}` });
      const direct = new Redis(server.url);
      expect(await direct.hlen(`${p}:sticky:hero`)).toBe(50);
      direct.disconnect();

      await server.stop();
      const served = new Map<string, string>();
      const started = Date.now();
      for (let i = 0; i < 100; i++)
        served.set(`down${i}`, (await sy.getVariant('hero', { targetingKey: `down${i}` })).variant!);
      expect(Date.now() - started).toBeLessThan(2000);
      // Units seen before the outage are in memory: same arm, no wait.
      for (let i = 0; i < 50; i++)
        expect((await sy.getVariant('hero', { targetingKey: `early${i}` })).reason).toBe('SPLIT');
      expect(
        (sy as unknown as { adaptive: { health(): { sticky: Record<string, { pending: number }> } } }).adaptive.health()
          .sticky.hero!.pending,
      ).toBe(100);

      await server.start();
      const back = new Redis(server.url);
      const key = `${p}:sticky:hero`;
      for (let t = 0; t < 100 && (await back.hlen(key).catch(() => 0)) < 100; t++)
        await new Promise((r) => setTimeout(r, 100));
      // The restarted Redis lost the early units (no persistence) but got every unit served meanwhile.
      const stored = await back.hgetall(key);
      for (const [unit, variant] of served) expect(stored[unit]).toBe(variant);
      back.disconnect();
      for (const [unit, variant] of served)
        expect((await sy.getVariant('hero', { targetingKey: unit })).variant).toBe(variant);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('Redis paused (answers nothing, connection open): units are served from memory, and close() does not wait for the pause', async () => {
    const server = await startRedis();
    try {
      const p = prefix();
      const sy = await make(config(server.url, p), 200);
      await sy.getVariant('hero', { targetingKey: 'before' });
      const admin = new Redis(server.url);
      const pauseMs = 20_000;
      await admin.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL');
      const pausedUntil = Date.now() + pauseMs;
      try {
        for (let i = 0; i < 20; i++)
          expect(['control', 'b', 'c']).toContain(
            (await sy.getVariant('hero', { targetingKey: `paused${i}` })).variant,
          );
        expect(
          (
            sy as unknown as { adaptive: { health(): { sticky: Record<string, { pending: number }> } } }
          ).adaptive.health().sticky.hero!.pending,
        ).toBe(20);
        // close() tries to write the pending units once, within the store's round-trip budget.
        await sy.close();
        expect(Date.now()).toBeLessThan(pausedUntil);
      } finally {
        admin.disconnect();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('an instance that cannot reach the fleet Redis keeps its last version and says so once', async () => {
    const server = await startRedis();
    const warnings: string[] = [];
    try {
      const sy = await make(config(server.url, prefix(), { sticky: 'memory' }), 2000, warnings);
      const version = (await sy.reweight('hero'))!.version;
      await server.stop();
      await new Promise((r) => setTimeout(r, 600));
      for (let i = 0; i < 20; i++)
        expect((await sy.getVariant('hero', { targetingKey: `u${i}` })).allocationVersion).toBe(version);
      expect(await sy.reweight('hero')).toBeUndefined();
      expect(sy.allocationStatus('hero')[0]!.version).toBe(version);
      expect(warnings.filter((w) => w.includes('fleet: Redis unreachable'))).toHaveLength(1);
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('reconciling after an outage: an arm another instance stored meanwhile wins', async () => {
    const server = await startRedis();
    const redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    try {
      const corrected: [string, string][] = [];
      const store = new RedisStickyStore(redis, 'p', 'hero', silentLogger, (u, n) => corrected.push([u, n]), 200);
      await server.stop();
      expect(await store.resolve('a', 'b')).toEqual({ name: 'b', isNew: true });
      expect(await store.resolve('z', 'c')).toEqual({ name: 'c', isNew: true });
      expect(store.pendingUnits).toBe(2);
      await server.start();
      for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
      const other = new Redis(server.url);
      await other.hset('p:sticky:hero', 'a', 'control');
      await store.reconcile();
      expect(await other.hgetall('p:sticky:hero')).toEqual({ a: 'control', z: 'c' });
      other.disconnect();
      expect(corrected).toEqual([['a', 'control']]);
      expect(store.counters).toMatchObject({ reconciled: 2, conflicts: 1, servedFromMemory: 2 });
      expect(store.isDown).toBe(false);
      expect(await store.resolve('a', 'b')).toEqual({ name: 'control', isNew: false });
    } finally {
      redis.disconnect();
      await server.stop();
    }
  }, 30_000);

  it("the units an outage kept pending are written with the hash's time to live: a hash the reconcile makes expires too", async () => {
    // An unusable key stands for the outage (deterministic, as below): the units stay pending.
    const redis = new Redis(SHARED, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    const p = prefix();
    const key = `${p}:sticky:hero`;
    const ttlMs = 5 * 86_400_000;
    try {
      await redis.set(key, 'not a hash');
      const store = new RedisStickyStore(
        redis,
        p,
        'hero',
        silentLogger,
        () => undefined,
        500,
        undefined,
        () => ttlMs,
      );
      expect(await store.resolve('a', 'b')).toEqual({ name: 'b', isNew: true });
      expect(store.pendingUnits).toBe(1);
      await redis.del(key);
      // No lookup since: the hash is made by the reconcile alone.
      await store.reconcile();
      expect(store.pendingUnits).toBe(0);
      expect(await redis.hgetall(key)).toEqual({ a: 'b' });
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(ttlMs - 60_000);
      expect(ttl).toBeLessThanOrEqual(ttlMs);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  }, 30_000);

  it('a command that fails in the pipeline (connection lost mid-flight, unusable key) leaves its unit pending, not forgotten', async () => {
    // The per-command failure a lost connection gives is not reproducible on demand; a key of
    // the wrong type fails every hash command the same way, deterministically.
    const redis = new Redis(SHARED, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    const p = prefix();
    const key = `${p}:sticky:hero`;
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
    try {
      await redis.set(key, 'not a hash');
      const store = new RedisStickyStore(redis, p, 'hero', logger, () => undefined, 500);
      expect(await store.resolve('a', 'b')).toEqual({ name: 'b', isNew: true });
      expect(store.pendingUnits).toBe(1); // before the fix: answered, never written, not pending
      expect(store.isDown).toBe(true);
      expect(await store.resolve('c', 'd')).toEqual({ name: 'd', isNew: true });
      expect(store.pendingUnits).toBe(2);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/sticky store: Redis unreachable for hero \(WRONGTYPE/);
      await store.reconcile(); // still the wrong type: the units stay pending, nothing is dropped
      expect(store.pendingUnits).toBe(2);
      expect(store.isDown).toBe(true);
      await redis.del(key);
      await store.reconcile();
      expect(store.pendingUnits).toBe(0);
      expect(store.isDown).toBe(false);
      expect(await redis.hgetall(key)).toEqual({ a: 'b', c: 'd' });
      expect(store.counters).toMatchObject({ reconciled: 2, conflicts: 0, servedFromMemory: 2 });
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  }, 30_000);
});

/** A redis-server of this test's own, on a free port, without persistence (helpers/redis.ts). */
async function startRedis(): Promise<PrivateRedis> {
  const server = await PrivateRedis.create();
  await server.start();
  return server;
}

describe("another writer's garbage in an allocation version key", () => {
  it('a version whose weights are not shares (null, negative, strings, overflowing) or whose number is past any clock is ignored with a warning naming the key; the instance serves the weights it has', async () => {
    const garbage = [
      { version: 5, weights: null },
      { version: 5, weights: { control: -1, b: 2, c: 0 } },
      { version: 5, weights: { control: 'x', b: '1', c: 0 } },
      { version: 5, weights: { control: 1e308, b: 1e308, c: 1e308 } },
      // Shares, but a version past any clock (1e300 + 1 is 1e300): no later version could replace it.
      { version: 1e300, weights: { control: 1, b: 0, c: 0 } },
    ];
    for (const bad of garbage) {
      const p = prefix();
      const key = `${p}:adaptive:hero:version`;
      await shared.set(key, JSON.stringify(bad));
      const warnings: string[] = [];
      const sy = await make(config(SHARED, p, { sticky: 'none' }), 2000, warnings);
      const counts: Record<string, number> = { control: 0, b: 0, c: 0 };
      for (let i = 0; i < 900; i++) counts[(await sy.getVariant('hero', { targetingKey: `u-${i}` })).variant!]! += 1;
      // The initial split (a third each), not the garbage's.
      for (const arm of ['control', 'b', 'c']) expect(counts[arm], JSON.stringify(bad)).toBeGreaterThan(200);
      expect(
        warnings.filter((w) => w.includes(key)),
        JSON.stringify(bad),
      ).toHaveLength(1);
      await sy.close();
    }
  });
});

describe("another writer's summaries in a good allocation version", () => {
  it('a version with good weights but arms that are not arm summaries is served, and allocationStatus drops those arms instead of throwing', async () => {
    const weights = { control: 0.6, b: 0.3, c: 0.1 };
    const garbled = [5, 'x', [null], [{ variant: 'b', probabilityBest: 'x' }], [{ probabilityBest: 0.5 }]];
    for (const arms of garbled) {
      const p = prefix();
      await shared.set(
        `${p}:adaptive:hero:version`,
        JSON.stringify({ version: 1_000_000, weights, phase: 'thompson', at: 1_000_000, arms }),
      );
      const sy = await make(config(SHARED, p, { sticky: 'none' }));
      const status = sy.allocationStatus('hero')[0]!;
      expect(status.version, JSON.stringify(arms)).toBe(1_000_000);
      status.arms.forEach((a) => expect(a.weight).toBeCloseTo(weights[a.variant as keyof typeof weights], 12));
      expect(status.arms.map((a) => a.probabilityBest)).toEqual([undefined, undefined, undefined]);
      await sy.close();
    }
    // Good summaries are kept.
    const p = prefix();
    const arms = [{ variant: 'b', probabilityBest: 0.7 }, { variant: 'c', probabilityBest: 0.3 }, 'x'];
    await shared.set(
      `${p}:adaptive:hero:version`,
      JSON.stringify({ version: 1_000_000, weights, phase: 'thompson', at: 1, arms }),
    );
    const sy = await make(config(SHARED, p, { sticky: 'none' }));
    expect(sy.allocationStatus('hero')[0]!.arms.map((a) => a.probabilityBest)).toEqual([undefined, 0.7, 0.3]);
  });
});
