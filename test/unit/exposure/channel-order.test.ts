/**
 * A sink with several sends in flight: the cursor moves in journal order only, whatever
 * order the sends settle in and whichever of them fail, so the events behind the cursor
 * are always events the sink accepted (a crash then never skips one); events a sink
 * rejects for good are dead-lettered beside the journal, counted, and never block the
 * events behind them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventPipeline, type PipelineOptions, type TrackedRecord } from '../../../src/exposure/index.js';
import { SinkSendError, type Sink, type SinkBatch } from '../../../src/exposure/sink.js';
import { until } from '../../helpers/receiver.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const dirs: string[] = [];
const open: EventPipeline[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close(100)));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function pipeline(sink: Sink, options: Partial<PipelineOptions> = {}): { p: EventPipeline; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sy-order-'));
  dirs.push(dir);
  const p = new EventPipeline({
    dir,
    sinks: [sink],
    clock: { now: Date.now },
    logger: quiet,
    provider: 'memory',
    backoffBaseMs: 1,
    backoffMaxMs: 4,
    flushIntervalMs: 60_000,
    ...options,
  });
  open.push(p);
  p.start();
  return { p, dir };
}

const indexOf = (batch: SinkBatch) => batch.records().map((r) => (r as TrackedRecord).properties.i as number);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('in-order acknowledgement with sends in flight', () => {
  it('sends settling out of order, some failing: the cursor only ever passes events the sink accepted, and every event arrives', async () => {
    const N = 4000;
    const accepted = new Set<number>();
    let inFlight = 0;
    let maxInFlight = 0;
    let outOfOrder = 0;
    let failures = 0;
    let violations = 0;
    const settledFirst: number[] = [];
    let p: EventPipeline | undefined;
    // Events behind the cursor: what is journaled minus what is pending. Every one must be accepted.
    const check = () => {
      if (!p) return;
      const c = p.counters();
      const behind = c.journaled - c.sinks.flaky!.pending;
      for (let i = 0; i < behind; i++) if (!accepted.has(i)) violations++;
    };
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const sink: Sink = {
      name: 'flaky',
      maxBatch: 37,
      concurrency: 6,
      async send(batch) {
        check();
        const ids = indexOf(batch);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(Math.floor(random() * 12));
        inFlight--;
        if (settledFirst.length > 0 && ids[0]! < settledFirst.at(-1)!) outOfOrder++;
        settledFirst.push(ids[0]!);
        if (random() < 0.25) {
          failures++;
          throw new SinkSendError('receiver answered 503');
        }
        for (const i of ids) accepted.add(i);
        check();
      },
    };
    ({ p } = pipeline(sink));
    for (let i = 0; i < N; i++) p.recordTrack(`user-${i}`, 'purchase', i, { i }, Date.now());
    p.flush();
    await until(() => p.counters().sinks.flaky!.pending === 0, 60_000, 'every event');
    check();
    expect(violations).toBe(0);
    expect(accepted.size).toBe(N);
    expect(p.counters().sinks.flaky!.delivered).toBe(N);
    // The test means something only if sends overlapped, settled out of order and failed.
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(6);
    expect(outOfOrder).toBeGreaterThan(10);
    expect(failures).toBeGreaterThan(10);
  });

  it('a Retry-After longer than the back-off is waited for', async () => {
    const attempts: number[] = [];
    const sink: Sink = {
      name: 'throttled',
      concurrency: 2,
      send() {
        attempts.push(Date.now());
        if (attempts.length === 1) return Promise.reject(new SinkSendError('answered 429', 600));
        return Promise.resolve();
      },
    };
    const { p } = pipeline(sink);
    p.recordTrack('u', 'purchase', 1, {}, Date.now());
    p.flush();
    await until(() => p.counters().sinks.throttled!.delivered === 1, 10_000, 'the retry');
    expect(attempts).toHaveLength(2);
    // The back-off here is at most 4 ms; the retry waited for the 600 ms the sink was told.
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(590);
  });

  it('events rejected for good go to dead-letters/<sink>.jsonl with the reason, are counted, and the rest is delivered', async () => {
    const delivered: number[] = [];
    const sink: Sink = {
      name: 'picky',
      maxBatch: 10,
      concurrency: 3,
      send(batch) {
        const ids = indexOf(batch);
        const rejected = ids.flatMap((i, index) => (i % 7 === 3 ? [{ index, reason: `too big: ${i}` }] : []));
        for (const i of ids) if (i % 7 !== 3) delivered.push(i);
        return Promise.resolve({ rejected });
      },
    };
    const { p, dir } = pipeline(sink);
    for (let i = 0; i < 50; i++) p.recordTrack(`user-${i}`, 'purchase', i, { i }, Date.now());
    p.flush();
    await until(() => p.counters().sinks.picky!.pending === 0, 10_000, 'every event');
    const counters = p.counters().sinks.picky!;
    const bad = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 7 === 3);
    expect(counters.deadLettered).toBe(bad.length);
    expect(counters.delivered).toBe(50 - bad.length);
    expect(delivered.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 7 !== 3));
    const letters = readFileSync(join(dir, 'dead-letters', 'picky.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { sink: string; reason: string; event: { properties: { i: number } } });
    expect(letters.map((l) => l.event.properties.i)).toEqual(bad);
    expect(letters.map((l) => l.reason)).toEqual(bad.map((i) => `too big: ${i}`));
    expect(letters.every((l) => l.sink === 'picky')).toBe(true);
  });

  it("a custom sink's result naming indices out of the batch, not whole, twice, or no array: only real events are dead-lettered, counts stay true", async () => {
    const results: unknown[] = [
      {
        rejected: [
          { index: 10, reason: 'past the batch' },
          { index: -1, reason: 'negative' },
        ],
      },
      { rejected: [{ index: 1.5, reason: 'half' }, { index: '2', reason: 'text' }, null] },
      {
        rejected: [
          { index: 3, reason: 'first' },
          { index: 3, reason: 'again' },
          { index: 4, reason: { not: 'text' } },
        ],
      },
      { rejected: 'all of them' },
      { rejected: [] },
    ];
    let call = 0;
    const sink: Sink = {
      name: 'odd',
      maxBatch: 10,
      send: () => Promise.resolve(results[call++] as never),
    };
    const { p, dir } = pipeline(sink);
    for (let i = 0; i < 50; i++) p.recordTrack(`user-${i}`, 'purchase', i, { i }, Date.now());
    p.flush();
    await until(() => p.counters().sinks.odd!.pending === 0, 10_000, 'every event');
    expect(p.counters().sinks.odd).toMatchObject({ deadLettered: 2, delivered: 48 });
    const letters = readFileSync(join(dir, 'dead-letters', 'odd.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; event: { properties: { i: number } } });
    expect(letters.map((l) => [l.event.properties.i, l.reason])).toEqual([
      [23, 'first'],
      [24, '[object Object]'],
    ]);
  });
});
