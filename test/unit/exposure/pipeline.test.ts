import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventPipeline,
  JOURNAL_RETRY_MS,
  JsonlSink,
  exposureEventSchema,
  functionSink,
  trackedEventSchema,
  guardrailEventSchema,
  type EventRecord,
  type PipelineOptions,
} from '../../../src/exposure/index.js';
import { batchOfLines, type Sink } from '../../../src/exposure/sink.js';
import { until } from '../../helpers/receiver.js';
import { exposure, record } from '../../helpers/exposure-input.js';
import { lockHolderText } from '../../../src/ports.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const tmp = () => mkdtempSync(join(tmpdir(), 'sy-pipe-'));
const open: EventPipeline[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close(100)));
});

function pipeline(options: Partial<PipelineOptions> & Pick<PipelineOptions, 'sinks'>): EventPipeline {
  const p = new EventPipeline({
    dir: tmp(),
    clock: { now: () => Date.parse('2026-12-01T09:00:00Z') },
    logger: quiet,
    provider: 'memory',
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    ...options,
  });
  open.push(p);
  p.start();
  return p;
}

describe('EventPipeline', () => {
  it('delivers every event once, in order, with schema-valid records and unique ids', async () => {
    const got: EventRecord[] = [];
    const p = pipeline({
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      batchSize: 100,
      service: 'api',
      instance: 'pod-1',
    });
    for (let i = 0; i < 1000; i++) record(p, exposure(i));
    for (let i = 0; i < 250; i++)
      expect(
        p.recordTrack(`user-${i}`, 'purchase', i, { sku: 'A', n: i }, Date.parse('2026-12-01T10:00:00Z')),
      ).toBeUndefined();
    const report = await p.close();
    expect(got).toHaveLength(1250);
    expect(new Set(got.map((r) => r.id)).size).toBe(1250);
    expect(got.slice(0, 1000).map((r) => r.unit)).toEqual(Array.from({ length: 1000 }, (_, i) => `user-${i}`));
    for (const r of got)
      expect(
        (r.schema === 'switchyard.exposure/1' ? exposureEventSchema : trackedEventSchema).safeParse(r).success,
      ).toBe(true);
    expect(got[0]).toMatchObject({
      schema: 'switchyard.exposure/1',
      ts: '2026-12-01T09:00:00.000Z',
      service: 'api',
      instance: 'pod-1',
      allocation: { mode: 'gradual', version: 7, step: 1, percent: 10 },
      provider: 'memory',
      attributes: {},
    });
    expect(got[1000]).toMatchObject({
      schema: 'switchyard.event/1',
      event: 'purchase',
      value: 0,
      properties: { sku: 'A', n: 0 },
    });
    expect(report).toMatchObject({
      exposures: 1000,
      events: 250,
      journaled: 1250,
      dropped: 0,
      sinks: { fn: { delivered: 1250, pending: 0 } },
    });
  });

  it('retries a failing sink with back-off and delivers everything once it recovers', async () => {
    let failures = 0;
    const got: EventRecord[] = [];
    const sink = functionSink('flaky', (r) => {
      if (failures < 5) {
        failures++;
        throw new Error('503 from the platform');
      }
      got.push(...r);
    });
    const p = pipeline({ sinks: [sink], batchSize: 50 });
    for (let i = 0; i < 300; i++) record(p, exposure(i));
    p.flush();
    await until(() => got.length >= 300, 5000, 'delivery after recovery');
    const c = p.counters();
    expect(c.sinks.flaky).toMatchObject({ failures: 5, delivered: 300, pending: 0 });
    expect(new Set(got.map((r) => r.id)).size).toBe(300);
  });

  it('keeps a slow sink from holding up a healthy one', async () => {
    const fast: EventRecord[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = pipeline({
      sinks: [functionSink('fast', (r) => void fast.push(...r)), functionSink('slow', () => gate)],
      batchSize: 10,
    });
    for (let i = 0; i < 100; i++) record(p, exposure(i));
    p.flush();
    await until(() => fast.length === 100, 2000, 'the fast sink');
    expect(p.counters().sinks.slow!.pending).toBe(100);
    release();
  });

  it('spills a burst that overflows the queue to the journal instead of dropping it', async () => {
    const got: EventRecord[] = [];
    const p = pipeline({
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      queueCapacity: 1000,
      batchSize: 500,
    });
    for (let i = 0; i < 50_000; i++) record(p, exposure(i)); // no await: the event loop never gets to flush
    const c = p.counters();
    expect(c.overflowFlushes).toBeGreaterThanOrEqual(49);
    expect(c.queued).toBeLessThan(1000);
    expect(c.dropped).toBe(0);
    await p.close(10_000);
    expect(got).toHaveLength(50_000);
    expect(new Set(got.map((r) => r.id)).size).toBe(50_000);
  });

  it("flushes a few batches at a time in the callers' calls when the event loop does not run the scheduled flush", async () => {
    const got: EventRecord[] = [];
    const p = pipeline({ sinks: [functionSink('fn', (r) => void got.push(...r))], batchSize: 500 });
    for (let i = 0; i < 10_000; i++) record(p, exposure(i)); // no await: the scheduled flush cannot run
    const c = p.counters();
    // At 2,000 queued (four batches) each time, never at the capacity of 100,000.
    expect(c).toMatchObject({ inlineFlushes: 5, overflowFlushes: 0 });
    expect(c.queued).toBe(0);
    await p.close(10_000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 10_000 }, (_, i) => `user-${i}`));
  });

  it('when the journal cannot be written: keeps delivering from memory, counts drops past the limit, logs why, does not crash', async () => {
    const file = join(tmp(), 'not-a-dir');
    writeFileSync(file, 'x');
    const errors: string[] = [];
    const logger = { ...quiet, error: (m: string) => void errors.push(m) };
    let up = false;
    const got: EventRecord[] = [];
    const sink = functionSink('fn', (r) => {
      if (!up) throw new Error('down');
      got.push(...r);
    });
    // Batches of 200: the 500 events below stay queued (under four batches) until the one flush.
    const p = pipeline({ sinks: [sink], dir: join(file, 'events'), logger, memoryLimit: 300, batchSize: 200 });
    expect(errors[0]).toMatch(
      /^cannot write the event journal in .*not-a-dir\/events \(ENOTDIR.*events are kept in memory, up to 300, and counted as dropped beyond that/,
    );
    for (let i = 0; i < 500; i++) record(p, exposure(i));
    p.flush();
    const c = p.counters();
    expect(c).toMatchObject({ journalInMemory: true, journaled: 300, dropped: 200 });
    expect(errors[1]).toMatch(/^dropped 200 events: the journal cannot be written/);
    up = true;
    await p.close(5000);
    expect(got).toHaveLength(300);
  });

  it('when the journal cannot be written: the memory fallback holds what the sinks have not received, not every event since, so a healthy sink never sees drops', async () => {
    const file = join(tmp(), 'not-a-dir');
    writeFileSync(file, 'x');
    const errors: string[] = [];
    const logger = { ...quiet, error: (m: string) => void errors.push(m) };
    const got: EventRecord[] = [];
    let now = Date.parse('2026-12-01T09:00:00Z');
    const p = pipeline({
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      dir: join(file, 'events'),
      clock: { now: () => now },
      logger,
      memoryLimit: 300,
      batchSize: 100,
    });
    for (let i = 0; i < 3000; i++) {
      record(p, exposure(i));
      if (i % 100 === 99) {
        now += 200; // past the throttle on cursor saves, which trim what the sinks have passed
        p.flush();
        await until(() => got.length === i + 1, 2000, `delivery of ${i + 1}`);
        await until(() => p.counters().sinks.fn!.pending === 0, 2000, `acknowledgement of ${i + 1}`);
      }
    }
    expect(p.counters()).toMatchObject({ journalInMemory: true, journaled: 3000, dropped: 0 });
    expect(errors).toHaveLength(1); // the journal's failure at start, no drop
    await p.close(5000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 3000 }, (_, i) => `user-${i}`));
  });

  it('when the journal cannot be written and the sink is still down at close: the events kept in memory only are counted as dropped and the loss is logged', async () => {
    const file = join(tmp(), 'not-a-dir');
    writeFileSync(file, 'x');
    const errors: string[] = [];
    const logger = { ...quiet, error: (m: string) => void errors.push(m) };
    const sink = functionSink('fn', () => Promise.reject(new Error('down')));
    const p = pipeline({ sinks: [sink], dir: join(file, 'events'), logger });
    for (let i = 0; i < 50; i++) record(p, exposure(i));
    const report = await p.close(50);
    expect(report).toMatchObject({ journalInMemory: true, journaled: 50, dropped: 50 });
    expect(errors[errors.length - 1]).toMatch(
      /^close: 50 events were kept in memory only \(the journal cannot be written\) and not delivered to every sink: lost, counted in dropped/,
    );
  });

  it('rejects malformed track properties with an explanation and a count', () => {
    const p = pipeline({ sinks: [] });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(p.recordTrack('u', 'e', undefined, circular, 0)).toMatch(
      /^properties cannot be serialized as JSON \(Converting circular structure/,
    );
    expect(p.recordTrack('u', 'e', undefined, { big: 10n }, 0)).toMatch(/BigInt/);
    expect(p.recordTrack('u', 'e', undefined, { blob: 'x'.repeat(40_000) }, 0)).toMatch(/over the limit of 32768/);
    expect(p.counters()).toMatchObject({ rejected: 3, events: 0 });
  });

  it('measures the track properties limit in UTF-8 bytes, as it says: 20,000 euro signs are 60,008 bytes, over 32,768', () => {
    const p = pipeline({ sinks: [] });
    expect(p.recordTrack('u', 'e', undefined, { s: '\u20ac'.repeat(20_000) }, 0)).toBe(
      'properties take 60008 bytes as JSON, over the limit of 32768',
    );
    expect(p.recordTrack('u', 'e', undefined, { s: '\u20ac'.repeat(10_000) }, 0)).toBeUndefined();
    expect(p.counters()).toMatchObject({ rejected: 1, events: 1 });
  });

  it('an event whose time is not a number (a broken clock) is dropped, counted and explained; the flush goes on', async () => {
    const got: EventRecord[] = [];
    const errors: string[] = [];
    const p = pipeline({
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      logger: { ...quiet, error: (m: string) => void errors.push(m) },
    });
    record(p, exposure(1));
    record(p, { ...exposure(2), ts: Number.NaN });
    record(p, { ...exposure(3), ts: Number.POSITIVE_INFINITY });
    record(p, exposure(4));
    expect(() => p.flush()).not.toThrow();
    const report = await p.close(2000);
    expect(report).toMatchObject({
      exposures: 4,
      journaled: 2,
      dropped: 2,
      sinks: { fn: { delivered: 2, pending: 0 } },
    });
    expect(got.map((r) => r.unit)).toEqual(['user-1', 'user-4']);
    expect(errors).toEqual([
      'dropped an event that cannot be encoded: its time is not a finite number (the clock gave NaN); counted in dropped (later ones are counted without a log line)',
    ]);
  });

  it('hashes unit ids with HMAC-SHA256 when a key is set, and logs only allow-listed attributes', async () => {
    const got: EventRecord[] = [];
    const p = pipeline({
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      hashUnitsKey: 'k3y-for-tests',
      attributes: ['country', 'plan'],
    });
    const attributes = p.pickAttributes({
      targetingKey: 'user-1',
      country: 'DE',
      email: 'a@b.c',
      plan: 'pro',
      nested: { x: 1 },
    });
    expect(attributes).toEqual({ country: 'DE', plan: 'pro' });
    record(p, { ...exposure(1), attributes });
    await p.close();
    expect(got[0]!.unit).toBe(createHmac('sha256', 'k3y-for-tests').update('user-1').digest('hex'));
    expect(JSON.stringify(got[0])).not.toContain('user-1');
    expect((got[0] as { attributes: unknown }).attributes).toEqual({ country: 'DE', plan: 'pro' });
  });

  // Printable ASCII ids are queued as bytes, anything else as the string: both must come out as they went in.
  const awkwardUnits = [
    'user-1',
    '',
    'a"b',
    'back\\slash',
    'tab\there',
    'nul\u0000',
    'üser-é',
    '用户-7',
    '🚀-rocket',
    '\u007f',
    'x'.repeat(5000),
    'plain-again',
  ];

  it('logs every unit id exactly as given: quotes, backslashes, control characters, non-ASCII, long ids', async () => {
    const got: EventRecord[] = [];
    const p = pipeline({ sinks: [functionSink('fn', (r) => void got.push(...r))] });
    for (const unit of awkwardUnits) record(p, { ...exposure(0), unit });
    for (const unit of awkwardUnits)
      expect(p.recordTrack(unit, 'purchase', 1, {}, Date.parse('2026-12-01T10:00:00Z'))).toBeUndefined();
    await p.close();
    expect(got.map((r) => r.unit)).toEqual([...awkwardUnits, ...awkwardUnits]);
  });

  it('hashes every unit id as its UTF-8 bytes, ASCII or not', async () => {
    const got: EventRecord[] = [];
    const p = pipeline({ sinks: [functionSink('fn', (r) => void got.push(...r))], hashUnitsKey: 'k3y-for-tests' });
    for (const unit of awkwardUnits) record(p, { ...exposure(0), unit });
    await p.close();
    expect(got.map((r) => r.unit)).toEqual(
      awkwardUnits.map((u) => createHmac('sha256', 'k3y-for-tests').update(u).digest('hex')),
    );
  });

  it('replays on the next start what a sink had not acknowledged, and clears the journal once delivered', async () => {
    const dir = tmp();
    const p1 = pipeline({ dir, sinks: [functionSink('fn', () => Promise.reject(new Error('down')))] });
    for (let i = 0; i < 200; i++) record(p1, exposure(i));
    p1.flush();
    await p1.written();
    const report = await p1.close(50);
    expect(report.sinks.fn!.pending).toBe(200);
    expect(readdirSync(join(dir, 'journal'))).toHaveLength(1);

    const got: EventRecord[] = [];
    const p2 = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    await until(() => got.length === 200, 2000, 'replay');
    await p2.close();
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 200 }, (_, i) => `user-${i}`));
    expect(readdirSync(join(dir, 'journal'))).toEqual([]);
  });

  /**
   * Ten exposures left undelivered in a journal (the sink was down), the segment's file
   * rewritten by `damage` as a crash could leave it, then a new pipeline on the journal:
   * what it delivers and counts.
   */
  async function replayAfter(
    damage: (text: string) => string | Buffer,
    expected: number,
  ): Promise<{ got: EventRecord[]; corrupt: number }> {
    const dir = tmp();
    const p1 = pipeline({ dir, sinks: [functionSink('fn', () => Promise.reject(new Error('down')))] });
    for (let i = 0; i < 10; i++) record(p1, exposure(i));
    // On disk before the close (whose 20 ms bound abandons writes still queued on a busy machine).
    p1.flush();
    await p1.written();
    await p1.close(20);
    const [segment] = readdirSync(join(dir, 'journal'));
    const file = join(dir, 'journal', segment!);
    writeFileSync(file, damage(readFileSync(file, 'utf8')));
    const got: EventRecord[] = [];
    const p2 = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    await until(() => got.length === expected, 2000, 'replay');
    return { got, corrupt: p2.counters().corruptLines };
  }

  it('skips a torn last line left by a crash and counts it', async () => {
    const { got, corrupt } = await replayAfter((text) => text + '{"schema":"switchyard.expo', 10);
    expect(got).toHaveLength(10);
    expect(corrupt).toBe(1);
  });

  it('replays the lines around a hole left by a crash (a later block on disk, an earlier one never written) and counts the hole', async () => {
    // Lines 0-3, then 4 KB of zeros where lines 4-6 were in flight, then lines 7-9.
    const { got, corrupt } = await replayAfter((text) => {
      const lines = text.split('\n').filter(Boolean);
      return Buffer.concat([
        Buffer.from(lines.slice(0, 4).join('\n') + '\n'),
        Buffer.alloc(4096),
        Buffer.from(lines.slice(7).join('\n') + '\n'),
      ]);
    }, 7);
    expect(got.map((r) => r.unit)).toEqual(['user-0', 'user-1', 'user-2', 'user-3', 'user-7', 'user-8', 'user-9']);
    expect(corrupt).toBe(1);
  });

  it('dead-letters a line damaged in the middle of a segment (not JSON) and delivers the lines around it to a function sink', async () => {
    const dir = tmp();
    const p1 = pipeline({ dir, sinks: [functionSink('fn', () => Promise.reject(new Error('down')))] });
    for (let i = 0; i < 10; i++) record(p1, exposure(i));
    await p1.close(20);
    const [segment] = readdirSync(join(dir, 'journal'));
    const file = join(dir, 'journal', segment!);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[5] = 'not json at all';
    writeFileSync(file, lines.join('\n'));
    const got: EventRecord[] = [];
    const p2 = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    await until(() => p2.counters().sinks.fn!.pending === 0, 2000, 'the journal delivered');
    expect(got.map((r) => r.unit)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9].map((i) => `user-${i}`));
    expect(p2.counters().sinks.fn).toMatchObject({ delivered: 9, deadLettered: 1 });
    const letter = JSON.parse(readFileSync(join(dir, 'dead-letters', 'fn.jsonl'), 'utf8')) as Record<string, string>;
    expect(letter).toMatchObject({ sink: 'fn', line: 'not json at all' });
    expect(letter.reason).toMatch(/not valid JSON/);
  });

  it('delivers new events when the saved cursor points past every segment on disk (a crash between clearing the journal and removing cursors.json), and keeps them until delivered', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cursors.json'), JSON.stringify({ fn: { seq: 7, line: 3 } }));
    const got: EventRecord[] = [];
    const p = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    for (let i = 0; i < 10; i++) record(p, exposure(i));
    p.flush();
    await until(() => got.length === 10, 2000, 'delivery past a stale cursor');
    const report = await p.close();
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `user-${i}`));
    expect(report.sinks.fn).toMatchObject({ delivered: 10, pending: 0 });
  });

  it('replays from the start, each event once, when a saved cursor is no place in the journal (a negative line or segment in a damaged cursors.json)', async () => {
    for (const saved of [
      { seq: 1, line: -3 },
      { seq: 1, line: -1_000_000 },
      { seq: -1, line: 4 },
    ]) {
      const dir = tmp();
      const down = functionSink('fn', () => {
        throw new Error('down');
      });
      const first = pipeline({ dir, sinks: [down] });
      for (let i = 0; i < 10; i++) record(first, exposure(i));
      first.flush();
      await first.written();
      await first.close(100);
      expect(readdirSync(join(dir, 'journal'))).toHaveLength(1);
      writeFileSync(join(dir, 'cursors.json'), JSON.stringify({ fn: saved }));
      const got: EventRecord[] = [];
      const p = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
      const report = await p.close(2000);
      expect(
        got.map((r) => r.unit),
        JSON.stringify(saved),
      ).toEqual(Array.from({ length: 10 }, (_, i) => `user-${i}`));
      expect(report.sinks.fn).toMatchObject({ delivered: 10, pending: 0 });
    }
  });

  it('refuses a journal directory another live instance holds', () => {
    const dir = tmp();
    pipeline({ dir, sinks: [] });
    const errors: string[] = [];
    pipeline({ dir, sinks: [], logger: { ...quiet, error: (m: string) => void errors.push(m) } });
    expect(errors[0]).toMatch(
      /already used by another switchyard instance in this process; give each instance its own exposures.dir/,
    );
  });
});

describe('JsonlSink', () => {
  it('writes one file per day and rotates by size', async () => {
    const dir = tmp();
    let now = Date.parse('2026-12-01T23:59:00Z');
    const sink = new JsonlSink({ dir, maxFileBytes: 2048, clock: { now: () => now } });
    const line = JSON.stringify({ pad: 'x'.repeat(500) });
    for (let i = 0; i < 6; i++) await sink.send(batchOfLines([line]));
    now = Date.parse('2026-12-02T00:01:00Z');
    await sink.send(batchOfLines([line]));
    await sink.close();
    expect(readdirSync(dir).sort()).toEqual([
      'exposures-2026-12-01.1.jsonl',
      'exposures-2026-12-01.jsonl',
      'exposures-2026-12-02.jsonl',
    ]);
    expect(readFileSync(join(dir, 'exposures-2026-12-01.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
  });
});

describe('the committed events JSON Schema', () => {
  it('is the one generated from the zod event schemas (run npm run schema after a change)', async () => {
    const { z } = await import('zod');
    const committed = JSON.parse(readFileSync(new URL('../../../schema/events.schema.json', import.meta.url), 'utf8'));
    const expected = [exposureEventSchema, trackedEventSchema, guardrailEventSchema].map((s) => {
      const { $schema: _s, ...rest } = z.toJSONSchema(s);
      return rest;
    });
    expect(committed.oneOf).toEqual(JSON.parse(JSON.stringify(expected)));
  });
});

describe('large flushes', () => {
  it('journals a flush of 300,000 events in one go (a spread push would overflow the stack)', async () => {
    let delivered = 0;
    const p = pipeline({
      sinks: [functionSink('fn', (r) => void (delivered += r.length))],
      queueCapacity: 1_000_000,
      batchSize: 1_000_000,
    });
    for (let i = 0; i < 300_000; i++) record(p, exposure(i));
    p.flush();
    expect(p.counters()).toMatchObject({ journaled: 300_000, journalInMemory: false, dropped: 0 });
    await p.close(30_000);
    expect(delivered).toBe(300_000);
  });
});

describe('journal block memory', () => {
  it('gives a block whose last line does not fit its slab a buffer of its own, intact', async () => {
    const got: EventRecord[] = [];
    const p = pipeline({ sinks: [functionSink('fn', (r) => void got.push(...r))] });
    // Lines of about 30 KB: the third one in a block passes the slab's 96 KB.
    const big = (i: number) => ({ i, blob: String(i % 10).repeat(30_000) });
    for (let i = 0; i < 12; i++) {
      expect(p.recordTrack(`user-${i}`, 'upload', i, big(i), Date.parse('2026-12-01T10:00:00Z'))).toBeUndefined();
      record(p, exposure(i));
    }
    await p.close(5000);
    expect(got).toHaveLength(24);
    expect(
      got.filter((r) => r.schema === 'switchyard.event/1').map((r) => (r as { properties: unknown }).properties),
    ).toEqual(Array.from({ length: 12 }, (_, i) => big(i)));
    expect(got.filter((r) => r.schema === 'switchyard.exposure/1').map((r) => r.unit)).toEqual(
      Array.from({ length: 12 }, (_, i) => `user-${i}`),
    );
  });

  // Segments of about four sealed blocks and a cache of about three (the active segment
  // always stays cached), so blocks leave the cache, and their slabs are free, all the time.
  const small = { batchSize: 500, cacheBytes: 200 * 1024, maxSegmentBytes: 256 * 1024 };
  const n = 20_000; // about 6.6 MB of lines: some 100 sealed blocks

  it('reuses the memory of blocks that left the cache: a bounded pool of buffers for over 100 blocks', async () => {
    const buffers = new Set<ArrayBufferLike>();
    const units: string[] = [];
    const sink: Sink = {
      name: 'reader',
      async send(batch) {
        for (const c of batch.chunks) buffers.add(c.buffer);
        for (const line of batch.lines()) units.push((JSON.parse(line) as EventRecord).unit);
      },
    };
    const p = pipeline({ sinks: [sink], ...small });
    for (let i = 0; i < n; i++) {
      record(p, exposure(i));
      if (i % 200 === 199) {
        // Flushes smaller than the cache, so the sink reads every block from it.
        p.flush();
        await until(() => p.counters().sinks.reader!.pending === 0, 2000, 'the sink to catch up');
      }
    }
    await p.close(10_000);
    expect(units).toEqual(Array.from({ length: n }, (_, i) => `user-${i}`));
    // One per block without reuse; the pool's bound for this configuration is 16 slabs.
    expect(buffers.size).toBeLessThanOrEqual(16);
  });

  it('never reuses the bytes a sink is still reading', async () => {
    const units: string[] = [];
    let held: string | undefined;
    let after: string | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sink: Sink = {
      name: 'reader',
      async send(batch) {
        if (held === undefined) {
          // Hold the first batch's views while the pipeline seals, evicts and recycles ~100 blocks.
          held = Buffer.concat(batch.chunks).toString('utf8');
          await gate;
          after = Buffer.concat(batch.chunks).toString('utf8');
        }
        for (const line of batch.lines()) units.push((JSON.parse(line) as EventRecord).unit);
      },
    };
    const p = pipeline({ sinks: [sink], ...small });
    for (let i = 0; i < n; i++) {
      record(p, exposure(i));
      // Small flushes: the first one's block is still cached when the sink reads it, so the
      // sink holds views of a slab, which leaves the cache a few flushes later.
      if (i % 100 === 99) p.flush();
    }
    expect(held).toBeDefined();
    release();
    await p.close(10_000);
    expect(after).toBe(held);
    expect(units).toEqual(Array.from({ length: n }, (_, i) => `user-${i}`));
  });
});

describe('a send that never settles (a custom sink whose client has no timeout)', () => {
  it('counts as failed after sendTimeoutMs and is retried: everything delivered, the failure said, and the hung send still reads its own bytes', async () => {
    const small = { batchSize: 500, cacheBytes: 200 * 1024, maxSegmentBytes: 256 * 1024 };
    const n = 20_000;
    const units: string[] = [];
    let hung: { batch: import('../../../src/exposure/sink.js').SinkBatch; text: string } | undefined;
    let wake!: () => void;
    const never = new Promise<void>((r) => (wake = r));
    const warned: string[] = [];
    const sink: Sink = {
      name: 'hangs-once',
      async send(batch) {
        if (hung === undefined) {
          hung = { batch, text: Buffer.concat(batch.chunks).toString('utf8') };
          await never;
          return;
        }
        for (const line of batch.lines()) units.push((JSON.parse(line) as EventRecord).unit);
      },
    };
    const p = pipeline({
      sinks: [sink],
      ...small,
      sendTimeoutMs: 50,
      logger: {
        ...quiet,
        warn: (m: string, meta?: Record<string, unknown>) => void warned.push(`${m} ${String(meta?.error)}`),
      },
    });
    for (let i = 0; i < n; i++) {
      record(p, exposure(i));
      if (i % 100 === 99) p.flush();
    }
    await until(() => units.length >= n, 10_000, 'delivery past the hung send');
    expect(units).toEqual(Array.from({ length: n }, (_, i) => `user-${i}`));
    expect(p.counters().sinks['hangs-once']).toMatchObject({ failures: 1, delivered: n, pending: 0 });
    expect(warned).toEqual([
      'sink hangs-once failed; events wait in the journal and are retried sink hangs-once did not settle its send within 50 ms',
    ]);
    // Some 100 blocks were sealed, evicted and recycled meanwhile: not the ones the hung send holds.
    expect(Buffer.concat(hung!.batch.chunks).toString('utf8')).toBe(hung!.text);
    wake();
    await p.close(5000);
  });
});

describe("a custom sink's close", () => {
  it('that never settles is left behind after the close timeout, said once; close() resolves', async () => {
    const warned: string[] = [];
    const got: EventRecord[] = [];
    const sink: Sink = {
      ...functionSink('hangs-at-close', (r) => void got.push(...r)),
      close: () => new Promise<void>(() => {}),
    };
    const p = pipeline({ sinks: [sink], logger: { ...quiet, warn: (m: string) => void warned.push(m) } });
    record(p, exposure(0));
    const closed = p.close(100).then(() => 'closed');
    const late = new Promise((resolve) => setTimeout(() => resolve('hung'), 2000));
    expect(await Promise.race([closed, late])).toBe('closed');
    expect(got).toHaveLength(1);
    expect(warned).toEqual(['sink hangs-at-close did not close within 100 ms; left behind']);
  });

  it('that is not async (returns nothing, or throws) is closed, or its error said; close() resolves', async () => {
    const warned: string[] = [];
    let closed = 0;
    const plain: Sink = {
      ...functionSink('plain', () => {}),
      close: (() => void closed++) as unknown as () => Promise<void>,
    };
    const throws: Sink = {
      ...functionSink('throws', () => {}),
      close: () => {
        throw new Error('boom');
      },
    };
    const p = pipeline({
      sinks: [plain, throws],
      logger: {
        ...quiet,
        warn: (m: string, meta?: Record<string, unknown>) => void warned.push(`${m}: ${String(meta?.error)}`),
      },
    });
    await expect(p.close(100)).resolves.toMatchObject({ sinks: { plain: { pending: 0 } } });
    expect(closed).toBe(1);
    expect(warned).toEqual(['sink throws failed to close: Error: boom']);
  });
});

describe('journal writes', () => {
  it('are on disk when written() resolves, without the flush having waited for the disk', async () => {
    const dir = tmp();
    const p = pipeline({ dir, sinks: [] });
    for (let i = 0; i < 3000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    const files = readdirSync(join(dir, 'journal')).filter((f) => f.endsWith('.jsonl'));
    const lines = files.flatMap((f) =>
      readFileSync(join(dir, 'journal', f), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
    expect(lines.map((l) => (JSON.parse(l) as EventRecord).unit)).toEqual(
      Array.from({ length: 3000 }, (_, i) => `user-${i}`),
    );
  });

  it('with no sink at all, do not pile up: written segments are deleted at the next flush', async () => {
    const dir = tmp();
    const p = pipeline({ dir, sinks: [], maxSegmentBytes: 64 * 1024 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2000; i++) record(p, exposure(round * 2000 + i));
      p.flush();
      await p.written();
    }
    p.flush();
    // 10,000 events are some 50 segments of 64 KB; only the active one is left.
    expect(readdirSync(join(dir, 'journal')).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    expect(p.counters()).toMatchObject({ exposures: 10_000, journaled: 10_000, dropped: 0 });
  });

  it('catch up synchronously when the event loop does not turn, so unwritten blocks never pile up', async () => {
    const dir = tmp();
    const p = pipeline({ dir, sinks: [], maxSegmentBytes: 256 * 2 ** 20 });
    const n = 100_000; // about 33 MB of lines
    for (let i = 0; i < n; i++) {
      record(p, exposure(i));
      if (i % 500 === 499) p.flush();
    }
    // No await yet: no write callback has run. All but the last 8 MB (the backlog allowed) is in the file.
    const [segment] = readdirSync(join(dir, 'journal')).filter((f) => f.endsWith('.jsonl'));
    const onDisk = statSync(join(dir, 'journal', segment!)).size;
    const lineBytes = Buffer.byteLength(readFileSync(join(dir, 'journal', segment!), 'utf8').split('\n')[0]!) + 1;
    expect(onDisk).toBeGreaterThan(n * lineBytes - 9 * 2 ** 20);
    await p.written();
    const lines = readFileSync(join(dir, 'journal', segment!), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(lines).toHaveLength(n);
    expect(lines.every((l, i) => (JSON.parse(l) as EventRecord).unit === `user-${i}`)).toBe(true);
  });

  it('that cannot open their next segment (the directory removed mid-run) go on in memory: all delivered, one error', async () => {
    const dir = tmp();
    const errors: string[] = [];
    const got: EventRecord[] = [];
    const p = pipeline({
      dir,
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      logger: { ...quiet, error: (m: string) => void errors.push(m) },
      maxSegmentBytes: 64 * 1024,
    });
    for (let i = 0; i < 500; i++) record(p, exposure(i));
    p.flush();
    rmSync(join(dir, 'journal'), { recursive: true, force: true });
    // About 330 KB: the next segment cannot be created, with writes to the last one still queued.
    for (let i = 500; i < 1500; i++) record(p, exposure(i));
    p.flush();
    const report = await p.close(5000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 1500 }, (_, i) => `user-${i}`));
    expect(report).toMatchObject({ journaled: 1500, dropped: 0, journalInMemory: true });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot write the event journal .*ENOENT/);
  });

  /**
   * A pipeline whose sink is down while 2,000 events are journaled in small segments and a
   * small cache, so that it is several segments behind and reads them back from their files.
   */
  async function behind() {
    let up = false;
    const got: EventRecord[] = [];
    const errors: string[] = [];
    const dir = tmp();
    const p = pipeline({
      dir,
      sinks: [
        functionSink('fn', (r) => {
          if (!up) throw new Error('down');
          got.push(...r);
        }),
      ],
      maxSegmentBytes: 4096,
      cacheBytes: 4096,
      logger: { ...quiet, error: (m: string) => void errors.push(m) },
    });
    for (let i = 0; i < 2000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    const segments = readdirSync(join(dir, 'journal')).sort();
    return { p, dir, got, errors, segments, bringUp: () => void (up = true) };
  }

  it('in a segment file deleted under the running process while the sink is behind: its lines are counted and logged as lost, the rest and later events delivered, no crash', async () => {
    const { p, dir, got, errors, segments, bringUp } = await behind();
    expect(segments.length).toBeGreaterThan(5);
    const deleted = join(dir, 'journal', segments[2]!);
    const lost = readFileSync(deleted, 'utf8').split('\n').filter(Boolean).length;
    rmSync(deleted);
    bringUp();
    for (let i = 2000; i < 2010; i++) record(p, exposure(i));
    p.flush();
    await until(() => p.counters().sinks.fn!.pending === 0, 5000, 'the rest delivered');
    expect(got).toHaveLength(2010 - lost);
    expect(got.slice(-10).map((r) => r.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `user-${2000 + i}`));
    expect(p.counters().corruptLines).toBe(lost);
    expect(errors).toEqual([expect.stringContaining(`cannot read ${deleted}`)]);
  });

  it.each([
    ['at the end of a line', false],
    ['in the middle of a line (counted once, not as lost and torn both)', true],
  ])(
    'in a segment file cut short under the running process while the sink is behind, %s: the missing lines are counted and logged as lost, the rest delivered',
    async (_where, torn) => {
      const { p, dir, got, errors, segments, bringUp } = await behind();
      const cut = join(dir, 'journal', segments[2]!);
      const lines = readFileSync(cut, 'utf8').split('\n').filter(Boolean);
      writeFileSync(cut, lines.slice(0, 3).join('\n') + '\n' + (torn ? lines[3]!.slice(0, 20) : ''));
      const lost = lines.length - 3;
      bringUp();
      await until(() => p.counters().sinks.fn!.pending === 0, 5000, 'the rest delivered');
      expect(got).toHaveLength(2000 - lost);
      expect(p.counters().corruptLines).toBe(lost);
      expect(errors).toEqual([
        expect.stringContaining(
          `cannot read ${cut} back (it holds 3 of its ${lines.length} lines): its ${lost} events are lost`,
        ),
      ]);
    },
  );

  it('that fail mid-run (a full disk) leave the unwritten events in memory: all delivered, one error, no crash', async () => {
    const dir = tmp();
    const errors: string[] = [];
    const got: EventRecord[] = [];
    const p = pipeline({
      dir,
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      logger: { ...quiet, error: (m: string) => void errors.push(m) },
      maxSegmentBytes: 64 * 1024,
    });
    // The second segment's file is /dev/full: every write to it fails with ENOSPC.
    symlinkSync('/dev/full', join(dir, 'journal', 'seg-000000000002.jsonl'));
    for (let i = 0; i < 2000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(p.counters().journalInMemory).toBe(true);
    for (let i = 2000; i < 2500; i++) record(p, exposure(i));
    const report = await p.close(5000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 2500 }, (_, i) => `user-${i}`));
    expect(report).toMatchObject({ journaled: 2500, dropped: 0, journalInMemory: true });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot write the event journal .*ENOSPC.*kept in memory/);
  });
  /** A pipeline on an injected clock (the journal's retries follow it), its error and info lines kept. */
  function clocked(options: Partial<PipelineOptions> & Pick<PipelineOptions, 'sinks'>) {
    const dir = tmp();
    const clock = { now: Date.parse('2026-12-01T09:00:00Z') };
    const errors: string[] = [];
    const infos: string[] = [];
    const p = pipeline({
      dir,
      clock: { now: () => clock.now },
      logger: { ...quiet, error: (m: string) => void errors.push(m), info: (m: string) => void infos.push(m) },
      ...options,
    });
    return { dir, clock, errors, infos, p };
  }

  it('that fail for a moment (a disk full, then with room again) go back to disk: the events kept in memory are written to their files, none lost or doubled, and new ones follow', async () => {
    let up = false;
    const got: EventRecord[] = [];
    const { dir, clock, errors, infos, p } = clocked({
      // Down, so that nothing is delivered and trimmed: every line stays in the journal.
      sinks: [
        functionSink('fn', (r) => {
          if (!up) throw new Error('down');
          got.push(...r);
        }),
      ],
      maxSegmentBytes: 64 * 1024,
    });
    const full = join(dir, 'journal', 'seg-000000000002.jsonl');
    symlinkSync('/dev/full', full);
    for (let i = 0; i < 2000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(p.counters().journalInMemory).toBe(true);
    for (let i = 2000; i < 2500; i++) record(p, exposure(i));
    p.flush();
    // Room again; nothing is tried before the retry interval has passed on the pipeline's clock.
    rmSync(full);
    for (let i = 2500; i < 2600; i++) record(p, exposure(i));
    p.flush();
    expect(p.counters().journalInMemory).toBe(true);
    clock.now += JOURNAL_RETRY_MS;
    for (let i = 2600; i < 3000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(p.counters().journalInMemory).toBe(false);
    expect(infos).toEqual([expect.stringContaining('can be written again')]);
    // What a restart would replay: every event once, in order, in the segment files.
    const files = readdirSync(join(dir, 'journal')).sort();
    const units = files.flatMap((f) =>
      readFileSync(join(dir, 'journal', f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as EventRecord).unit),
    );
    expect(units).toEqual(Array.from({ length: 3000 }, (_, i) => `user-${i}`));
    expect(statSync(full).isFile()).toBe(true);
    up = true;
    const report = await p.close(5000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 3000 }, (_, i) => `user-${i}`));
    expect(report).toMatchObject({ journaled: 3000, dropped: 0, journalInMemory: false });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/ENOSPC.*kept in memory \(the disk is tried again every 5 s\)/);
  });

  it('whose cursors cannot be saved stay in memory, and go back to disk once they can: no retry that fails at its first save (and logs it) every 5 s', async () => {
    const got: EventRecord[] = [];
    const { dir, clock, errors, infos, p } = clocked({ sinks: [functionSink('fn', (r) => void got.push(...r))] });
    const deliver = async (i: number) => {
      record(p, exposure(i));
      p.flush();
      await until(() => got.length === i + 1 && p.counters().sinks.fn!.pending === 0, 2000, `delivery of ${i}`);
      await p.written();
    };
    await deliver(0);
    const cursors = join(dir, 'cursors.json');
    rmSync(cursors);
    mkdirSync(cursors); // a directory where the cursors file goes: every save fails
    clock.now += 1000;
    await deliver(1);
    expect(p.counters().journalInMemory).toBe(true);
    clock.now += JOURNAL_RETRY_MS;
    await deliver(2);
    expect(p.counters().journalInMemory).toBe(true);
    expect(infos).toEqual([]);
    expect(errors).toHaveLength(1);
    rmSync(cursors, { recursive: true });
    clock.now += JOURNAL_RETRY_MS;
    await deliver(3);
    expect(p.counters().journalInMemory).toBe(false);
    expect(infos).toEqual([expect.stringContaining('can be written again')]);
    expect(statSync(cursors).isFile()).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('whose directory was removed under the process stay in memory: the slot is not made again (another process may have claimed it)', async () => {
    const got: EventRecord[] = [];
    const { dir, clock, p } = clocked({
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      maxSegmentBytes: 64 * 1024,
    });
    for (let i = 0; i < 500; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    rmSync(join(dir, 'journal'), { recursive: true, force: true });
    for (let i = 500; i < 1500; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(p.counters().journalInMemory).toBe(true);
    clock.now += JOURNAL_RETRY_MS;
    for (let i = 1500; i < 1600; i++) record(p, exposure(i));
    p.flush();
    expect(p.counters().journalInMemory).toBe(true);
    expect(existsSync(join(dir, 'journal'))).toBe(false);
    const report = await p.close(5000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 1600 }, (_, i) => `user-${i}`));
    expect(report).toMatchObject({ journaled: 1600, dropped: 0, journalInMemory: true });
  });
});

describe('journal defects (issue 12)', () => {
  /**
   * A pipeline on an injected clock with one function sink, and deliver(i): event i recorded,
   * delivered and acknowledged (the cursor moved, and was saved, or not, by the throttle, after
   * the send settled), its journal write done.
   */
  function onClock(options: Partial<Parameters<typeof pipeline>[0]> = {}) {
    const dir = tmp();
    const clock = { now: Date.parse('2026-12-01T09:00:00Z') };
    const got: EventRecord[] = [];
    const p = pipeline({
      dir,
      clock: { now: () => clock.now },
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      ...options,
    });
    const saved = () => (JSON.parse(readFileSync(join(dir, 'cursors.json'), 'utf8')) as Record<string, unknown>).fn;
    const deliver = async (i: number) => {
      record(p, exposure(i));
      p.flush();
      await until(() => got.length === i + 1, 2000, `delivery of ${i}`);
      await until(() => p.counters().sinks.fn!.pending === 0, 2000, `acknowledgement of ${i}`);
      await p.written();
    };
    return { dir, clock, saved, deliver };
  }

  it('throttles cursor saves by the injected clock, not the wall clock', async () => {
    const { clock, saved, deliver } = onClock();
    await deliver(0);
    expect(saved()).toEqual({ seq: 1, line: 1 }); // the first advance is saved at once
    // The wall clock passes the 200 ms between saves; the injected clock stands still.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await deliver(1);
    expect(saved()).toEqual({ seq: 1, line: 1 });
    clock.now += 200;
    await deliver(2);
    await until(() => (saved() as { line: number }).line === 3, 2000, 'the cursor saved once the clock moved on');
  });

  it('saves cursors and deletes delivered segments after the clock jumped back (an NTP step, a resumed VM)', async () => {
    const { dir, clock, saved, deliver } = onClock({ maxSegmentBytes: 1 });
    await deliver(0);
    expect(saved()).toEqual({ seq: 1, line: 1 });
    clock.now -= 3_600_000; // an hour back: the last save is "in the future"
    for (let i = 1; i < 4; i++) {
      clock.now += 250;
      await deliver(i);
    }
    await until(() => (saved() as { seq: number }).seq === 4, 2000, 'the cursor saved after the jump');
    // One segment per event: those the sink passed are deleted, not kept until the clock catches up.
    expect(readdirSync(join(dir, 'journal'))).toHaveLength(1);
  });

  it('a delivered segment that cannot be removed at close stays behind, and close() still resolves', async () => {
    const dir = tmp();
    const got: EventRecord[] = [];
    const p = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    for (let i = 0; i < 5; i++) record(p, exposure(i));
    p.flush();
    await until(() => got.length === 5, 2000, 'delivery');
    await p.written();
    // Removing a directory without `recursive` fails (EISDIR), as an unremovable file would.
    const [segment] = readdirSync(join(dir, 'journal'));
    rmSync(join(dir, 'journal', segment!));
    mkdirSync(join(dir, 'journal', segment!));
    rmSync(join(dir, 'cursors.json'));
    mkdirSync(join(dir, 'cursors.json'));
    const report = await p.close();
    expect(report.sinks.fn).toMatchObject({ delivered: 5, pending: 0 });
    expect(readdirSync(join(dir, 'journal'))).toEqual([segment]);
  });

  it('a journal directory held by a live process: this one journals in a worker slot of its own, on disk', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    const errors: string[] = [];
    const infos: string[] = [];
    let down = true;
    const got: EventRecord[] = [];
    const p = pipeline({
      dir,
      sinks: [functionSink('fn', (r) => (down ? Promise.reject(new Error('down')) : void got.push(...r)))],
      logger: { ...quiet, info: (m: string) => void infos.push(m), error: (m: string) => void errors.push(m) },
    });
    expect(errors).toEqual([]);
    expect(infos).toContain(
      `the journal in ${dir} is held by another process; this one journals in ${join(dir, 'workers', '1')}`,
    );
    for (let i = 0; i < 5; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(readdirSync(join(dir, 'workers', '1', 'journal'))).toHaveLength(1);
    expect(readFileSync(join(dir, 'workers', '1', 'lock'), 'utf8')).toBe(lockHolderText());
    expect(existsSync(join(dir, 'journal'))).toBe(false);
    down = false;
    const report = await p.close();
    expect(report).toMatchObject({ journalInMemory: false, journaled: 5, sinks: { fn: { delivered: 5, pending: 0 } } });
    expect(got.map((r) => r.unit)).toEqual(['user-0', 'user-1', 'user-2', 'user-3', 'user-4']);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(String(process.ppid));
    expect(existsSync(join(dir, 'workers', '1', 'lock'))).toBe(false);
  });

  it("a directory's saved cursors are not applied to a journal in memory only (they would skip its lines)", async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cursors.json'), JSON.stringify({ fn: { seq: 57, line: 3 } }));
    writeFileSync(join(dir, 'workers'), 'a file where the worker slots would go');
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    const errors: string[] = [];
    const got: EventRecord[] = [];
    const p = pipeline({
      dir,
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      logger: { ...quiet, error: (m: string) => void errors.push(m) },
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot write the event journal in .*; events are kept in memory/);
    for (let i = 0; i < 3; i++) record(p, exposure(i));
    const report = await p.close();
    expect(report).toMatchObject({ journalInMemory: true, sinks: { fn: { delivered: 3, pending: 0 } } });
    expect(got).toHaveLength(3);
  });

  /** A journal left in `slot` with ten undelivered exposures (its sink down at close), as a process that stopped leaves it. */
  async function leftBehind(slot: string, sinks = ['fn'], delivered = 0): Promise<void> {
    let sent = 0;
    const p = pipeline({
      dir: slot,
      batchSize: 1,
      sinks: sinks.map((name) =>
        functionSink(name, () => (sent++ < delivered ? undefined : Promise.reject(new Error('down')))),
      ),
    });
    for (let i = 0; i < 10; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    await until(() => sent > delivered, 2000, 'the sink to go down');
    const report = await p.close(50);
    expect(report.sinks[sinks[0]!]!.pending).toBe(10 - delivered);
  }

  it('takes over the undelivered events of a worker slot whose process is gone, and leaves the slot empty', async () => {
    const dir = tmp();
    await leftBehind(join(dir, 'workers', '3'));
    const infos: string[] = [];
    const got: EventRecord[] = [];
    const p = pipeline({
      dir,
      sinks: [functionSink('fn', (r) => void got.push(...r))],
      logger: { ...quiet, info: (m: string) => void infos.push(m) },
    });
    await until(() => got.length === 10, 2000, 'the adopted events');
    expect(infos).toEqual([`took over the undelivered events of ${join(dir, 'workers', '3')}, whose process is gone`]);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `user-${i}`));
    expect(readdirSync(join(dir, 'workers', '3', 'journal'))).toEqual([]);
    expect(existsSync(join(dir, 'workers', '3', 'cursors.json'))).toBe(false);
    await p.close();
    expect(readdirSync(join(dir, 'journal'))).toEqual([]);
  });

  it("takes over from the earliest cursor of its own sinks: a sink the slot's cursors do not name gets everything", async () => {
    const dir = tmp();
    // Four of the ten reached the slot's sink before it went down.
    await leftBehind(join(dir, 'workers', '2'), ['fn'], 4);
    const fn: EventRecord[] = [];
    const other: EventRecord[] = [];
    const p = pipeline({
      dir,
      sinks: [functionSink('fn', (r) => void fn.push(...r)), functionSink('other', (r) => void other.push(...r))],
    });
    await until(() => fn.length === 10 && other.length === 10, 2000, 'the adopted events');
    await p.close();
    expect(other.map((r) => r.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `user-${i}`));
    // At least once: 'fn' gets again the four it had (the journal moves lines once for all its sinks).
    expect(fn.map((r) => r.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `user-${i}`));

    const only: EventRecord[] = [];
    const dir2 = tmp();
    await leftBehind(join(dir2, 'workers', '1'), ['fn'], 4);
    const q = pipeline({ dir: dir2, sinks: [functionSink('fn', (r) => void only.push(...r))] });
    await until(() => only.length === 6, 2000, 'the undelivered six');
    await q.close();
    expect(only.map((r) => r.unit)).toEqual(Array.from({ length: 6 }, (_, i) => `user-${i + 4}`));
  });

  it("takes everything over from a slot whose saved cursor is past its last segment (saved before the slot's journal was cleared)", async () => {
    const dir = tmp();
    await leftBehind(join(dir, 'workers', '1'));
    writeFileSync(join(dir, 'workers', '1', 'cursors.json'), JSON.stringify({ fn: { seq: 9, line: 40 } }));
    const got: EventRecord[] = [];
    const p = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    await until(() => got.length === 10, 2000, 'the adopted events');
    await p.close();
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `user-${i}`));
  });

  it("takes everything over when its own saved cursor is past its own journal (a crash between clearing the journal and removing cursors.json): the cursor does not skip the slot's lines", async () => {
    const dir = tmp();
    await leftBehind(join(dir, 'workers', '1'));
    writeFileSync(join(dir, 'cursors.json'), JSON.stringify({ fn: { seq: 1, line: 5 } }));
    const got: EventRecord[] = [];
    const p = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    const report = await p.close(2000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 10 }, (_, i) => `user-${i}`));
    expect(report.sinks.fn).toMatchObject({ delivered: 10, pending: 0 });
  });

  it('takes nothing over without a sink of its own (its journal would drop what it took)', async () => {
    const dir = tmp();
    await leftBehind(join(dir, 'workers', '1'));
    const p = pipeline({ dir, sinks: [] });
    p.flush();
    await p.close();
    expect(readdirSync(join(dir, 'workers', '1', 'journal'))).toHaveLength(1);
    const got: EventRecord[] = [];
    const q = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    await until(() => got.length === 10, 2000, 'the events the sinkless process left');
    await q.close();
  });

  it('leaves alone a worker slot a live process holds', async () => {
    const dir = tmp();
    await leftBehind(join(dir, 'workers', '1'));
    writeFileSync(join(dir, 'workers', '1', 'lock'), String(process.ppid));
    const got: EventRecord[] = [];
    const p = pipeline({ dir, sinks: [functionSink('fn', (r) => void got.push(...r))] });
    p.flush();
    await p.close();
    expect(got).toEqual([]);
    expect(readdirSync(join(dir, 'workers', '1', 'journal'))).toHaveLength(1);
    expect(readFileSync(join(dir, 'workers', '1', 'lock'), 'utf8')).toBe(String(process.ppid));
  });

  it('a journal directory held by another instance in this process is refused with SY_JOURNAL_LOCKED', () => {
    const dir = tmp();
    pipeline({ dir, sinks: [] });
    const errors: string[] = [];
    pipeline({ dir, sinks: [], logger: { ...quiet, error: (m: string) => void errors.push(m) } });
    expect(errors[0]).toMatch(/SY_JOURNAL_LOCKED in exposures\.dir: .*already used by another switchyard instance/);
  });
});

describe('event ids', () => {
  it('are ULIDs: 26 Crockford base32 characters whose time part decodes (by the ulid package) to the event time', async () => {
    const { decodeTime } = await import('ulid');
    const { ulid } = await import('../../../src/exposure/ids.js');
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const ms = Date.parse('2026-12-01T09:00:00Z') + (i >> 3);
      const id = ulid(ms);
      expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      if (i % 1000 === 0) expect(decodeTime(id)).toBe(ms);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
  });
});
