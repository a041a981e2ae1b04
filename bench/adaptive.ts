/**
 * adaptive allocation: getVariant on an adaptive experiment with the sticky store in
 * memory and in Redis (units already seen: served from memory) against `fixed` mode, in
 * the same run, interleaved in a random order per round, each contender's batch after a
 * gc and a turn of the event loop; how that grows with the units cycling (10k, 100k, 1M:
 * the sticky table outgrows the caches); what a unit new to the Redis store costs (one
 * batched round trip); and the memory 1M sticky units take.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createSwitchyard, type Switchyard } from '../src/index.js';
import { seededUniform } from '../src/ports.js';
import { median } from './harness.js';

const UNITS = Array.from({ length: 100_000 }, (_, i) => ({ targetingKey: `user-${i}` }));
const gc = (globalThis as { gc?: () => void }).gc;
const REDIS = process.env.SY_BENCH_REDIS ?? 'redis://127.0.0.1:6379';

function config(mode: 'fixed' | 'adaptive', sticky: 'memory' | 'redis', prefix: string, capacity = 1_000_000) {
  return {
    feature_flags: { provider: 'memory' },
    exposures: { enabled: false },
    ...(sticky === 'redis' ? { fleet: { redis: REDIS, prefix } } : {}),
    experiments: {
      hero: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        primary_metric: 'signup',
        allocation:
          mode === 'fixed'
            ? { mode: 'fixed' }
            : { mode: 'adaptive', sticky, sticky_capacity: capacity, reweight_every: '1d' },
      },
    },
  };
}

async function loop(
  sy: Switchyard,
  n: number,
  start: number,
  units: readonly { targetingKey: string }[] = UNITS,
): Promise<number> {
  let sink = 0;
  for (let i = 0; i < n; i++)
    sink += (await sy.getVariant('hero', units[(start + i) % units.length]!)).inExperiment ? 1 : 0;
  return sink;
}

/** A gc (with --expose-gc) and a turn of the event loop, so no contender pays for another's garbage or timers. */
async function settle(): Promise<void> {
  gc?.();
  await new Promise((r) => setImmediate(r));
}

/**
 * Per-round ns/op of each contender and its ratio to the first, `rounds` rounds of
 * `batch` calls cycling through `units`, contenders in a seeded random order per round.
 */
async function rounds(
  contenders: readonly Switchyard[],
  units: readonly { targetingKey: string }[],
  count: number,
  batch: number,
  seed: number,
): Promise<{ samples: number[][]; ratios: number[][] }> {
  const samples = contenders.map(() => [] as number[]);
  const ratios = contenders.map(() => [] as number[]);
  const uniform = seededUniform(seed);
  let k = 0;
  for (let r = 0; r < count; r++) {
    const order = contenders.map((_, i) => i).sort(() => uniform() - 0.5);
    const round: number[] = [];
    for (const i of order) {
      await settle();
      const t0 = process.hrtime.bigint();
      await loop(contenders[i]!, batch, k, units);
      round[i] = Number(process.hrtime.bigint() - t0) / batch;
    }
    k += batch;
    for (let i = 0; i < contenders.length; i++) {
      samples[i]!.push(round[i]!);
      ratios[i]!.push(round[i]! / round[0]!);
    }
  }
  return { samples, ratios };
}

const quartiles = (xs: readonly number[]) => {
  const rs = [...xs].sort((a, b) => a - b);
  const q = (f: number) => rs[Math.round(f * (rs.length - 1))]!.toFixed(2);
  return `${median(rs).toFixed(2)}x (${q(0.25)}-${q(0.75)})`;
};

/** fixed against adaptive (sticky: memory) with `n` units cycling, all seen before. */
async function scaling(n: number): Promise<string> {
  const units = Array.from({ length: n }, (_, i) => ({ targetingKey: `scale-${i}` }));
  const fixed = await createSwitchyard({ config: config('fixed', 'memory', 'unused'), watch: false });
  const memory = await createSwitchyard({ config: config('adaptive', 'memory', 'unused'), watch: false });
  for (const sy of [fixed, memory]) await loop(sy, n, 0, units);
  const { samples, ratios } = await rounds([fixed, memory], units, 15, 10_000, n);
  await Promise.all([fixed.close(), memory.close()]);
  return `| ${n.toLocaleString('en')} | ${median(samples[0]!).toFixed(0)} | ${median(samples[1]!).toFixed(0)} | ${quartiles(ratios[1]!)} |`;
}

export async function benchAdaptive(): Promise<string> {
  // First, while the heap holds nothing of the other contenders.
  const memoryMb = await stickyMemory();
  const prefix = `sy-bench-${randomUUID()}`;
  const fixed = await createSwitchyard({ config: config('fixed', 'memory', prefix), watch: false });
  const memory = await createSwitchyard({ config: config('adaptive', 'memory', prefix), watch: false });
  const redis = await createSwitchyard({
    config: config('adaptive', 'redis', prefix),
    watch: false,
    adaptive: { stickyTimeoutMs: 2000 },
  });
  const contenders: [string, Switchyard][] = [
    ['fixed (baseline)', fixed],
    ['adaptive, sticky: memory', memory],
    ['adaptive, sticky: redis (units seen)', redis],
  ];
  // Every unit seen once first, so the sticky stores have them (Redis: one round trip each, batched).
  await Promise.all(UNITS.map((u) => redis.getVariant('hero', u)));
  for (const [, sy] of contenders) await loop(sy, UNITS.length, 0);

  const BATCH = 10_000;
  const ROUNDS = 21;
  const { samples, ratios } = await rounds(
    contenders.map(([, sy]) => sy),
    UNITS,
    ROUNDS,
    BATCH,
    16,
  );

  // Units new to the Redis store: 10,000 at once, so they share round trips.
  const fresh = Array.from({ length: 10_000 }, (_, i) => ({ targetingKey: `fresh-${i}` }));
  const t0 = process.hrtime.bigint();
  await Promise.all(fresh.map((u) => redis.getVariant('hero', u)));
  const freshNs = Number(process.hrtime.bigint() - t0) / fresh.length;
  const oneT0 = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) await redis.getVariant('hero', { targetingKey: `lone-${i}` });
  const loneUs = Number(process.hrtime.bigint() - oneT0) / 200 / 1000;

  const fallbacks = redisCounters(redis).servedFromMemory;
  for (const [, sy] of contenders) await sy.close();
  const scaled: string[] = [];
  for (const n of [10_000, 100_000, 1_000_000]) scaled.push(await scaling(n));
  const cleanup = new Redis(REDIS);
  const keys = await cleanup.keys(`${prefix}:*`);
  if (keys.length) await cleanup.del(...keys);
  cleanup.disconnect();

  const lines = [
    '## Adaptive allocation',
    '',
    `getVariant on a two-arm experiment, 100,000 units all seen before (sticky), ${ROUNDS} rounds of ${BATCH.toLocaleString('en')} awaited calls, the three contenders in a random order each round, each batch after a gc${gc ? '' : ' (not available: run with --expose-gc)'} and a turn of the event loop; ratio: median of the per-round ratios to fixed mode (interquartile range over rounds in brackets). Exposure logging off (bench/exposure.ts measures it).`,
    '',
    '| contender | ns/op (median) | ratio to fixed |',
    '|---|---:|---:|',
    ...contenders.map(([name], i) => `| ${name} | ${median(samples[i]!).toFixed(0)} | ${quartiles(ratios[i]!)} |`),
    '',
    'With the units cycling (fixed and sticky: memory only, 15 rounds of 10,000 calls each, same method):',
    '',
    '| units cycling | fixed ns/op | adaptive ns/op | ratio |',
    '|---:|---:|---:|---:|',
    ...scaled,
    '',
    `Units new to the Redis sticky store (one HSETNX + HGET each, pipelined per tick): ${(freshNs / 1000).toFixed(1)} us per unit when 10,000 arrive together; ${loneUs.toFixed(0)} us for a lone unit awaited on its own (one round trip); ${fallbacks} units served from memory for want of an answer (timeout 2 s here, 100 ms by default).`,
    '',
    `Memory for 1,000,000 sticky units in memory: ${memoryMb.table.toFixed(1)} MB for a new instance, ${memoryMb.total.toFixed(1)} MB in all after assigning 1M units through getVariant (the sticky table grows to 18.9 MB) (heap + array buffers, after GC${memoryMb.gc ? '' : ' was not available: run with --expose-gc'}).`,
    '',
  ];
  return lines.join('\n');
}

async function stickyMemory(): Promise<{ table: number; total: number; gc: boolean }> {
  const used = () => {
    for (let i = 0; i < 3; i++) gc?.();
    const m = process.memoryUsage();
    return (m.heapUsed + m.arrayBuffers) / 1e6;
  };
  const before = used();
  const sy = await createSwitchyard({ config: config('adaptive', 'memory', 'unused'), watch: false });
  const afterCreate = used();
  for (let i = 0; i < 1_000_000; i++) await sy.getVariant('hero', { targetingKey: `member-${i}` });
  const after = used();
  const status = sy.allocationStatus('hero')[0]!;
  if (status.stickyUnits !== 1_000_000) throw new Error(`expected 1M sticky units, found ${status.stickyUnits}`);
  await sy.close();
  return { table: afterCreate - before, total: after - before, gc: gc !== undefined };
}

function redisCounters(sy: Switchyard): { servedFromMemory: number } {
  const health = (
    sy as unknown as { adaptive: { health(): { sticky: Record<string, { servedFromMemory: number }> } } }
  ).adaptive.health();
  return health.sticky.hero ?? { servedFromMemory: -1 };
}
