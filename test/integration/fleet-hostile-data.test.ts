/**
 * Fleet metrics against hostile names and another writer's garbage under switchyard's
 * prefix, on the shared Redis (a random prefix, deleted after): nothing read back from
 * Redis may change objects outside the snapshot, a metric may be named anything the
 * caller likes, and a push that Redis refuses half-way may not count anything twice.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
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

async function withFleet(
  recorder: MetricRecorder,
  work: (fleet: FleetMetrics, prefix: string) => Promise<void>,
  logger: Logger = silentLogger,
): Promise<void> {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  const link = new FleetConnection({ redis: SHARED_REDIS, prefix, pushIntervalMs: 3_600_000 }, { logger });
  const fleet = new FleetMetrics({ link, prefix, pushIntervalMs: 3_600_000, local: () => recorder.snapshot() });
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
