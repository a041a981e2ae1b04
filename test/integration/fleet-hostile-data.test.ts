/**
 * Fleet metrics against hostile names and another writer's garbage under switchyard's
 * prefix, on the shared Redis (a random prefix, deleted after): nothing read back from
 * Redis may change objects outside the snapshot, a metric may be named anything the
 * caller likes, and a push that Redis refuses half-way may not count anything twice.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createSwitchyard } from 'switchyard';
import { FleetMetrics, MetricRecorder } from '../../src/guardrails/index.js';
import { FleetConnection } from '../../src/fleet/index.js';
import { silentLogger, type Logger } from '../../src/ports.js';
import { deletePrefix, randomPrefix, SHARED_REDIS } from '../helpers/redis.js';

const admin = new Redis(SHARED_REDIS, { lazyConnect: true });
const prefixes: string[] = [];

afterAll(async () => {
  for (const p of prefixes) await deletePrefix(p);
  admin.disconnect();
});

/** One instance's fleet metrics on a fresh prefix; `garbage` is written there before it connects (and first pushes). */
async function withFleet(
  recorder: MetricRecorder,
  work: (fleet: FleetMetrics, prefix: string) => Promise<void>,
  logger: Logger = silentLogger,
  garbage: (prefix: string) => Promise<unknown> = async () => undefined,
): Promise<void> {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  await garbage(prefix);
  const link = new FleetConnection({ redis: SHARED_REDIS, prefix, pushIntervalMs: 3_600_000 }, { logger });
  const fleet = new FleetMetrics({ link, prefix, pushIntervalMs: 3_600_000, local: () => recorder.snapshot(), logger });
  await fleet.start();
  try {
    await work(fleet, prefix);
  } finally {
    await fleet.close();
    await link.close();
  }
}

describe('names that are Object.prototype keys', () => {
  it('a hash field named __proto__ written by another writer is read as data and never reaches Object.prototype', async () => {
    const recorder = new MetricRecorder();
    await withFleet(recorder, async (fleet, prefix) => {
      await admin.hset(`${prefix}:metrics:checkout`, '__proto__||units', '7', 'control|__proto__|n', '9');
      const { snapshot, source } = await fleet.merged(['checkout']);
      expect(source).toBe('fleet');
      const plain: Record<string, unknown> = {};
      expect(plain.units).toBeUndefined();
      expect(plain.n).toBeUndefined();
      expect(Object.keys(snapshot.checkout!)).toContain('__proto__');
      expect(Object.getOwnPropertyDescriptor(snapshot.checkout!, '__proto__')?.value).toMatchObject({ units: 7 });
    });
  });

  it('a metric named __proto__ is recorded, snapshotted and pushed like any other', async () => {
    const recorder = new MetricRecorder();
    recorder.record('checkout', 'control', '__proto__', 3);
    const arm = recorder.snapshot().checkout!.control!;
    expect(Object.keys(arm.metrics)).toEqual(['__proto__']);
    await withFleet(recorder, async (fleet, prefix) => {
      await fleet.push();
      const hash = await admin.hgetall(`${prefix}:metrics:checkout`);
      expect(hash['control|__proto__|n']).toBe('1');
      expect(hash['control|__proto__|sum']).toBe('3');
    });
  });
});

/** A logger that keeps its lines, for asserting what an operator would read. */
function keeping(lines: string[]): Logger {
  return {
    debug() {},
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
}

describe("another writer's garbage in a metrics hash", () => {
  it('a field that is not a number refuses that experiment as a whole (nothing applied twice); others land; it lands once the field is gone', async () => {
    const recorder = new MetricRecorder();
    for (let i = 0; i < 3; i++) recorder.record('checkout', 'control', 'm', 1);
    for (let i = 0; i < 2; i++) recorder.record('other', 'control', 'm', 1);
    const lines: string[] = [];
    await withFleet(
      recorder,
      async (fleet, prefix) => {
        const key = `${prefix}:metrics:checkout`;
        await fleet.push();
        await fleet.push();
        expect(await admin.hget(key, 'control|m|n')).toBeNull();
        expect(await admin.hget(key, 'control|m|sum')).toBeNull();
        expect(await admin.hget(`${prefix}:metrics:other`, 'control|m|n')).toBe('2');
        const warnings = lines.filter((l) => l.includes(key));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('control|m|max');
        expect(warnings[0]).toContain('not-a-number');

        await admin.hdel(key, 'control|m|max');
        await fleet.push();
        await fleet.push();
        expect(await admin.hget(key, 'control|m|n')).toBe('3');
        expect(await admin.hget(key, 'control|m|max')).toBe('1');
        expect(await admin.hget(`${prefix}:metrics:other`, 'control|m|n')).toBe('2');
        // The fleet's numbers include this instance's exactly once.
        const { snapshot } = await fleet.merged(['checkout', 'other']);
        expect(snapshot.checkout!.control!.metrics.m!.n).toBe(3);
        expect(snapshot.other!.control!.metrics.m!.n).toBe(2);
      },
      keeping(lines),
      // A field the push writes after the counts and sums: a script that writes as it goes
      // would apply n, sum and sumSq, fail, and apply them again at every retry.
      (prefix) => admin.hset(`${prefix}:metrics:checkout`, 'control|m|max', 'not-a-number'),
    );
  });

  it('a metrics key holding a string: that experiment is refused and read from what this instance has; the others push and read from Redis', async () => {
    const recorder = new MetricRecorder();
    recorder.record('checkout', 'control', 'm', 5);
    recorder.record('other', 'control', 'm', 1);
    const lines: string[] = [];
    await withFleet(
      recorder,
      async (fleet, prefix) => {
        await fleet.push();
        expect(await admin.get(`${prefix}:metrics:checkout`)).toBe('garbage');
        const { snapshot } = await fleet.merged(['checkout', 'other']);
        expect(snapshot.checkout!.control!.metrics.m!.sum).toBe(5);
        expect(snapshot.other!.control!.metrics.m!.n).toBe(1);
        expect(snapshot.other!.treatment!.metrics.m!.n).toBe(4);
        expect(fleet.counters.readFailures).toBe(0);
        expect(lines.some((l) => l.startsWith('warn') && l.includes(`${prefix}:metrics:checkout`))).toBe(true);
        expect(lines.filter((l) => l.includes('cannot reach Redis'))).toEqual([]);
      },
      keeping(lines),
      async (prefix) => {
        await admin.set(`${prefix}:metrics:checkout`, 'garbage');
        await admin.hset(`${prefix}:metrics:other`, 'treatment|m|n', '4', 'treatment|m|sum', '4');
      },
    );
  });
});

describe("another writer's kill record stamped beyond any clock", () => {
  it('is skipped as corrupt: it kills nothing, and a kill and an unkill made here take effect across the fleet', async () => {
    const prefix = randomPrefix();
    prefixes.push(prefix);
    const forged = { experiment: 'checkout', killed: true, reason: 'x', by: 'x', at: 1e300, origin: '~~~~' };
    await admin.hset(`${prefix}:kills`, 'checkout', JSON.stringify(forged));
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory', init_timeout_ms: 200 },
        exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-hostile-kill-')) },
        fleet: { redis: SHARED_REDIS, prefix, push_interval: '1h' },
        experiments: { checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
      },
      logger: silentLogger,
    });
    try {
      expect(sy.killRecord('checkout')).toBeUndefined();
      expect((await sy.getVariant('checkout', { targetingKey: 'u-1' })).reason).not.toBe('DISABLED');
      sy.kill('checkout', 'breach');
      sy.unkill('checkout');
      // The unkill reaches Redis over the forged record and stays there.
      for (let i = 0; i < 100; i++) {
        const stored = JSON.parse((await admin.hget(`${prefix}:kills`, 'checkout'))!) as { killed: boolean };
        if (stored.killed === false) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const stored = JSON.parse((await admin.hget(`${prefix}:kills`, 'checkout'))!) as { killed: boolean; at: number };
      expect(stored.killed).toBe(false);
      expect(stored.at).toBeLessThan(8.64e15);
      expect((await sy.getVariant('checkout', { targetingKey: 'u-1' })).reason).not.toBe('DISABLED');
    } finally {
      await sy.close();
    }
  });
});
