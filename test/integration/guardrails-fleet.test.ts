/**
 * Fleet metrics on a real Redis: instances push deltas and the checks run on the merged
 * numbers, so a breach seen only across instances trips; status goes to Redis; a Redis
 * that stops and comes back (one this test starts on its own port, never the shared one)
 * loses nothing and counts nothing twice.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { FleetMetrics, MetricRecorder } from '../../src/guardrails/index.js';
import { FleetConnection } from '../../src/fleet/index.js';
import { silentLogger } from '../../src/ports.js';
import { PrivateRedis } from '../helpers/redis.js';
import { until } from '../helpers/receiver.js';

const SHARED = 'redis://127.0.0.1:6379';
const open: Switchyard[] = [];
const prefixes: string[] = [];
const admin = new Redis(SHARED, { lazyConnect: true });

afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  OpenFeature.clearHooks();
});
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  admin.disconnect();
});

function config(redis: string, prefix: string, guardrails: unknown[]) {
  return {
    feature_flags: { provider: 'memory', init_timeout_ms: 200 },
    exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-fleet-state-')) },
    monitoring: { check_interval: '1h' },
    fleet: { redis, prefix, push_interval: '1h' },
    experiments: {
      checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, guardrails },
    },
  };
}

async function instance(cfg: Record<string, unknown>, logs: string[] = []) {
  const sy = await createSwitchyard({
    config: cfg,
    logger: {
      debug() {},
      info: (m: string) => void logs.push(`info ${m}`),
      warn: (m: string) => void logs.push(`warn ${m}`),
      error: (m: string) => void logs.push(`error ${m}`),
    },
  });
  open.push(sy);
  return sy;
}

async function traffic(sy: Switchyard, from: number, to: number, treatmentErrors: number) {
  for (let i = from; i < to; i++) {
    const fail = (i * 7919) % 1000 < treatmentErrors * 1000;
    await sy
      .run(
        'checkout',
        { targetingKey: `u-${i}` },
        {
          control: () => 'ok',
          treatment: () => {
            if (fail) throw new Error('boom');
            return 'ok';
          },
        },
      )
      .catch(() => undefined);
  }
}

describe('fleet merge on the shared Redis', () => {
  it('three instances, each below min_sample alone: the merged numbers breach and trip', async () => {
    const prefix = `sy-test-${randomUUID()}`;
    prefixes.push(prefix);
    const cfg = config(SHARED, prefix, [{ metric: 'error_rate', max: 0.01, min_sample: 1500 }]);
    const fleet = [await instance(cfg), await instance(cfg), await instance(cfg)];
    // 1,000 units each: about 500 per arm per instance, 1,500 per arm merged.
    for (const [k, sy] of fleet.entries()) await traffic(sy, k * 1000, (k + 1) * 1000, 0.1);

    // Alone (pushing nothing yet, reading what others pushed: nothing), the first sees too little.
    await fleet[0]!.checkGuardrails();
    expect(fleet[0]!.guardrailStatus().checkout!.rules[0]!.state).toBe('insufficient');
    expect(fleet[0]!.guardrailStatus().checkout!.killed).toBe(false);

    await fleet[1]!.checkGuardrails();
    await fleet[2]!.checkGuardrails();
    await fleet[0]!.checkGuardrails();
    const status = fleet[0]!.guardrailStatus().checkout!;
    expect(status.source).toBe('fleet');
    const rule = status.rules[0]!;
    expect(rule.arms.control!.n + rule.arms.treatment!.n).toBe(3000);
    expect(rule.state).toBe('breached');
    expect(status.killed).toBe(true);

    // Redis has the merged numbers exactly once, and the status under <prefix>:status:<experiment> with a TTL.
    const hash = await admin.hgetall(`${prefix}:metrics:checkout`);
    expect(Number(hash['control|error|n']) + Number(hash['treatment|error|n'])).toBe(3000);
    const published = JSON.parse((await admin.get(`${prefix}:status:checkout`))!) as { rules: { state: string }[] };
    expect(published.rules[0]!.state).toBe('breached');
    const ttl = await admin.pttl(`${prefix}:status:checkout`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3 * 3_600_000);
  });

  it('two instances that see the same breach in the same moment: one rolls back, the other takes its kill through Redis', async () => {
    const prefix = `sy-test-${randomUUID()}`;
    prefixes.push(prefix);
    const cfg = config(SHARED, prefix, [{ metric: 'error_rate', max: 0.01, min_sample: 500 }]);
    const pair = [await instance(cfg), await instance(cfg)];
    const kills: { who: number; remote: boolean }[] = [];
    const trips: number[] = [];
    for (const [k, sy] of pair.entries()) {
      sy.on('kill', (e) => kills.push({ who: k, remote: e.remote }));
      sy.on('guardrail', (e) => e.kind === 'trip' && trips.push(k));
    }
    // Each has a breach of its own to see (2,000 units, 10% treatment errors), and both check at once.
    for (const [k, sy] of pair.entries()) await traffic(sy, k * 2000, (k + 1) * 2000, 0.1);
    await Promise.all(pair.map((sy) => sy.checkGuardrails()));
    await until(() => kills.length === 2, 5000, 'both instances to serve the control');
    expect(trips).toHaveLength(1);
    expect(kills.filter((k) => !k.remote)).toEqual([{ who: trips[0], remote: false }]);
    expect(kills.filter((k) => k.remote)).toEqual([{ who: 1 - trips[0]!, remote: true }]);
    for (const sy of pair)
      expect(await sy.getVariant('checkout', { targetingKey: 'after' })).toMatchObject({
        variant: 'control',
        reason: 'DISABLED',
      });
    // The claim is short-lived: it holds only while the kill travels.
    expect(await admin.pttl(`${prefix}:trip:checkout`)).toBeLessThanOrEqual(2000);
  });

  /** Two instances on a prefix of their own whose traffic breaches error_rate max 0.01; trips are recorded by instance. */
  async function breachedPair() {
    const prefix = `sy-test-${randomUUID()}`;
    prefixes.push(prefix);
    const cfg = config(SHARED, prefix, [{ metric: 'error_rate', max: 0.01, min_sample: 500 }]);
    const pair = [await instance(cfg), await instance(cfg)];
    const trips: number[] = [];
    for (const [k, sy] of pair.entries()) sy.on('guardrail', (e) => e.kind === 'trip' && trips.push(k));
    for (const [k, sy] of pair.entries()) await traffic(sy, k * 2000, (k + 1) * 2000, 0.1);
    return { pair, trips };
  }

  it('an unkill after a fleet trip holds on every instance: the one refused the claim does not kill again for the same breach', async () => {
    const { pair, trips } = await breachedPair();
    await Promise.all(pair.map((sy) => sy.checkGuardrails()));
    await until(() => pair.every((sy) => sy.killRecord('checkout')?.killed === true), 5000, 'both to be killed');
    expect(trips).toHaveLength(1);

    // An operator looks at the breach and lets the experiment run again, from either instance.
    pair[trips[0]!]!.unkill('checkout');
    await until(() => pair.every((sy) => sy.killRecord('checkout')?.killed === false), 5000, 'both to be unkilled');
    // The claim has expired; the same breach is checked again by both, as a single instance would.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await Promise.all(pair.map((sy) => sy.checkGuardrails()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(trips).toHaveLength(1);
    for (const sy of pair) expect(sy.killRecord('checkout')?.killed).toBe(false);
  });

  it('an unkill after a fleet trip holds on an instance that was killed before its own check saw the breach', async () => {
    const { pair, trips } = await breachedPair();
    // Check timers are not aligned: the first trips, the second is killed before its check comes.
    await pair[0]!.checkGuardrails();
    await until(() => pair[1]!.killRecord('checkout')?.killed === true, 5000, 'the kill to reach the second');
    await pair[1]!.checkGuardrails();
    pair[1]!.unkill('checkout', 'looked at it: a known incident, not the variant');
    await until(() => pair[0]!.killRecord('checkout')?.killed === false, 5000, 'the unkill to reach the first');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    for (const sy of pair) await sy.checkGuardrails();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(trips).toEqual([0]);
    for (const sy of pair) expect(sy.killRecord('checkout')?.killed).toBe(false);
  });

  it('a claim key that no claimer wrote (another type, no expiry or a longer one) does not hold the rollback off for good', async () => {
    for (const plant of [
      (key: string) => admin.hset(key, 'x', '1'),
      (key: string) => admin.set(key, 'left by hand'),
      (key: string) => admin.set(key, 'left by hand', 'EX', 3600),
    ]) {
      const prefix = `sy-test-${randomUUID()}`;
      prefixes.push(prefix);
      await plant(`${prefix}:trip:checkout`);
      const logs: string[] = [];
      const sy = await instance(config(SHARED, prefix, [{ metric: 'error_rate', max: 0.01, min_sample: 500 }]), logs);
      await traffic(sy, 0, 2000, 0.1);
      await sy.checkGuardrails();
      expect(sy.guardrailStatus().checkout!.rules[0]!.state).toBe('breached');
      expect(sy.killRecord('checkout')).toMatchObject({ killed: true, by: 'guardrails' });
      expect(await admin.pttl(`${prefix}:trip:checkout`)).toBeGreaterThan(0);
      expect(logs.filter((l) => l.startsWith('warn ') && l.includes(`${prefix}:trip:checkout`))).toHaveLength(1);
    }
  });

  it('a healthy fleet merges without tripping, and quantiles merge bucket by bucket', async () => {
    const prefix = `sy-test-${randomUUID()}`;
    prefixes.push(prefix);
    const cfg = config(SHARED, prefix, [
      { metric: 'error_rate', max: 0.01, min_sample: 500 },
      { metric: 'p95_latency_ms', max_relative_increase: 0.05, min_sample: 500 },
    ]);
    const fleet = [await instance(cfg), await instance(cfg)];
    for (const [k, sy] of fleet.entries()) {
      for (let i = 0; i < 1000; i++) {
        const ctx = { targetingKey: `h-${k}-${i}` };
        sy.observe('checkout', ctx, 'latency_ms', 10 + ((i * 37) % 100));
        sy.observe('checkout', ctx, 'error', 0);
      }
    }
    for (const sy of fleet) await sy.checkGuardrails();
    await fleet[0]!.checkGuardrails();
    const status = fleet[0]!.guardrailStatus().checkout!;
    expect(status.rules.map((r) => r.state)).toEqual(['healthy', 'healthy']);
    const p95 = status.rules[1]!.arms.control!.value!;
    expect(p95).toBeGreaterThan(100 * 0.93);
    expect(p95).toBeLessThan(110 * 1.02);
    expect(status.rules[1]!.arms.control!.n + status.rules[1]!.arms.treatment!.n).toBe(2000);
  });
});

describe('FleetMetrics reads per experiment', () => {
  it('a read of one experiment keeps the last fleet numbers of another (the monitor and the bandit read different ones)', async () => {
    const prefix = `sy-test-${randomUUID()}`;
    prefixes.push(prefix);
    const mine = new MetricRecorder();
    const theirs = new MetricRecorder();
    const links: FleetConnection[] = [];
    const fleet = (recorder: MetricRecorder) => {
      const link = new FleetConnection({ redis: SHARED, prefix, pushIntervalMs: 3_600_000 }, { logger: silentLogger });
      links.push(link);
      return new FleetMetrics({ link, prefix, pushIntervalMs: 3_600_000, local: () => recorder.snapshot() });
    };
    const a = fleet(mine);
    const b = fleet(theirs);
    await Promise.all(links.map((l) => l.start()));
    await Promise.all([a.start(), b.start()]);
    try {
      for (let i = 0; i < 7; i++) theirs.record('hero', 'b', 'signup', 1);
      theirs.record('other', 'control', 'signup', 1);
      await b.push();
      mine.record('hero', 'b', 'signup', 1);
      expect((await a.merged(['hero'])).snapshot.hero!.b!.metrics.signup!.n).toBe(8);
      expect((await a.merged(['other'])).snapshot.other!.control!.metrics.signup!.n).toBe(1);
      // hero's fleet numbers from its own read, plus what this instance recorded since.
      mine.record('hero', 'b', 'signup', 1);
      expect(a.cached(['hero']).hero!.b!.metrics.signup!.n).toBe(9);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await Promise.all(links.map((l) => l.close()));
    }
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('Redis stopped and restarted mid-test (a redis-server of this test, on its own port)', () => {
  let redis: ChildProcess | undefined;
  afterAll(async () => {
    if (redis && redis.exitCode === null) await stopRedis(redis);
  });

  it('keeps serving and checking while Redis is down; pushes what it kept on reconnect, counting nothing twice', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sy-redis-'));
    redis = await startRedis(port, dir);
    const url = `redis://127.0.0.1:${port}`;
    const cfg = config(url, 'sy', [{ metric: 'error_rate', max: 0.01, min_sample: 100 }]);
    const logs: string[] = [];
    const a = await instance(cfg, logs);
    const b = await instance(cfg);
    await traffic(a, 0, 400, 0);
    await traffic(b, 1000, 1400, 0);
    await a.checkGuardrails();
    await b.checkGuardrails();
    await a.checkGuardrails(); // a has read b's 400 too

    await stopRedis(redis);
    await traffic(a, 400, 1000, 0); // recorded while Redis is away
    await expect(a.checkGuardrails()).resolves.toBeUndefined();
    const down = a.guardrailStatus().checkout!;
    expect(down.source).toBe('stale');
    // Last merged (800) plus what a recorded since (600).
    expect(down.rules[0]!.arms.control!.n + down.rules[0]!.arms.treatment!.n).toBe(1400);
    expect((await a.getVariant('checkout', { targetingKey: 'u-1' })).inExperiment).toBe(true);
    expect(logs.filter((l) => l.includes('cannot reach Redis'))).toHaveLength(1);

    redis = await startRedis(port, dir);
    for (let i = 0; i < 100 && !logs.some((l) => l.includes('is reachable again')); i++)
      await new Promise((r) => setTimeout(r, 50));
    await a.checkGuardrails();
    const up = a.guardrailStatus().checkout!;
    expect(up.source).toBe('fleet');
    expect(up.rules[0]!.arms.control!.n + up.rules[0]!.arms.treatment!.n).toBe(1400);
    const check = new Redis(url);
    const hash = await check.hgetall('sy:metrics:checkout');
    check.disconnect();
    expect(Number(hash['control|error|n']) + Number(hash['treatment|error|n'])).toBe(1400);
  }, 30_000);
});

describe('Redis that stops answering without closing the connection (CLIENT PAUSE on a redis-server of this test)', () => {
  it('guardrail checks and close() finish within the fleet timeout while Redis is paused, and a local breach still rolls back', async () => {
    const server = await PrivateRedis.create();
    await server.start();
    try {
      const cfg = config(server.url, 'sy', [{ metric: 'error_rate', max: 0.01, min_sample: 200 }]);
      const logs: string[] = [];
      const sy = await createSwitchyard({
        config: cfg,
        fleetConnectTimeoutMs: 300,
        logger: {
          debug() {},
          info() {},
          warn: (m: string) => void logs.push(m),
          error: (m: string) => void logs.push(m),
        },
      });
      open.push(sy);
      await traffic(sy, 0, 1000, 0.1);
      const admin = new Redis(server.url);
      const pauseMs = 20_000;
      await admin.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL');
      const pausedUntil = Date.now() + pauseMs;
      try {
        await sy.checkGuardrails();
        const status = sy.guardrailStatus().checkout!;
        // Read from this instance's numbers, not after waiting for Redis to answer.
        expect(status.source).toBe('stale');
        expect(status.killed).toBe(true);
        expect((await sy.getVariant('checkout', { targetingKey: 'u-1' })).reason).toBe('DISABLED');
        expect(logs.filter((l) => l.includes('cannot reach Redis'))).toHaveLength(1);
        await sy.close();
        expect(Date.now()).toBeLessThan(pausedUntil);
      } finally {
        admin.disconnect();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe('a config reload while a check waits for the fleet (CLIENT PAUSE on a redis-server of this test)', () => {
  it('an experiment the reload removed is not acted on, and the experiments still in the config are checked and rolled back in that same check', async () => {
    const server = await PrivateRedis.create();
    await server.start();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'sy-reload-check-'));
      const file = join(dir, 'switchyard.json');
      const experiment = {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        guardrails: [{ metric: 'error_rate', max: 0.01, min_sample: 200 }],
      };
      const write = (experiments: Record<string, unknown>) =>
        writeFileSync(
          file,
          JSON.stringify({
            feature_flags: { provider: 'memory', init_timeout_ms: 200 },
            exposures: { enabled: false, dir: join(dir, 'state') },
            monitoring: { check_interval: '1h' },
            fleet: { redis: server.url, prefix: 'sy', push_interval: '1h' },
            experiments,
          }),
        );
      write({ removed: experiment, kept: experiment });
      const logs: string[] = [];
      const sy = await createSwitchyard({
        config: file,
        fleetConnectTimeoutMs: 10_000,
        logger: {
          debug() {},
          info() {},
          warn: (m: string) => void logs.push(m),
          error: (m: string) => void logs.push(m),
        },
      });
      open.push(sy);
      for (const flag of ['removed', 'kept'])
        for (let i = 0; i < 1000; i++) {
          const fail = (i * 7919) % 1000 < 100;
          await sy
            .run(
              flag,
              { targetingKey: `u-${i}` },
              {
                control: () => 'ok',
                treatment: () => {
                  if (fail) throw new Error('boom');
                  return 'ok';
                },
              },
            )
            .catch(() => undefined);
        }
      const admin = new Redis(server.url);
      try {
        await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
        // What the monitor's interval timer runs: the check reads the fleet's numbers first.
        const monitor = (sy as unknown as { guardrails: { monitor: { check(): Promise<void> } } }).guardrails.monitor;
        const checking = monitor.check();
        write({ kept: experiment });
        sy.reload();
        await checking;
      } finally {
        admin.disconnect();
      }
      expect(logs.filter((l) => l.includes('guardrail check failed'))).toEqual([]);
      expect(sy.guardrailStatus().kept!.killed).toBe(true);
      expect((await sy.getVariant('kept', { targetingKey: 'u-1' })).reason).toBe('DISABLED');
      expect(sy.guardrailStatus().removed).toBeUndefined();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
