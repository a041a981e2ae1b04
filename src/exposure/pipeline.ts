/**
 * The event pipeline: a constant-time push on the caller's path, batching by size and
 * time, a durable journal, and one delivery channel per sink.
 *
 * Caller's path (getVariant, track, run): dedupe check and a store into preallocated
 * arrays. Work that can wait (ids, timestamps as text, unit hashing, JSON) happens at
 * flush, which runs on a timer, when a batch fills, and at close, never inside the
 * caller's call; it writes UTF-8 bytes straight into blocks (encoder.ts) that the journal
 * and the sinks share.
 * The one exception is a burst that fills the whole queue before the event loop gets to
 * flush: then that call flushes (a synchronous journal append) instead of dropping,
 * because a lost exposure skews the split. Every event ends up delivered, pending in
 * the journal, or counted in `dropped` (only when the journal cannot be written and the
 * memory fallback is full), with one log line per episode.
 */
import { createHmac } from 'node:crypto';
import type { Clock, Logger } from '../ports.js';
import { SinkChannel, type ChannelCounters } from './channel.js';
import { IsoWriter, LineWriter, utf8Bytes } from './encoder.js';
import { Journal, type Cursor, type Slab } from './journal.js';
import { writeUlid } from './ids.js';
import { EVENT_SCHEMA, EXPOSURE_SCHEMA, GUARDRAIL_SCHEMA } from './schema.js';
import type { ExposureDedupe } from './dedupe.js';
import type { Sink } from './sink.js';

export interface PipelineOptions {
  dir: string;
  sinks: Sink[];
  clock: Clock;
  logger: Logger;
  provider: string;
  batchSize?: number;
  flushIntervalMs?: number;
  queueCapacity?: number;
  /** HMAC-SHA256 key for unit ids; unset logs unit ids as they are. */
  hashUnitsKey?: string;
  /** Context attributes copied into exposures; nothing else from the context is logged. */
  attributes?: readonly string[];
  service?: string;
  instance?: string;
  maxSegmentBytes?: number;
  cacheBytes?: number;
  memoryLimit?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  /** The exposure rule that admits exposures queued with a fingerprint, at flush. */
  dedupe?: ExposureDedupe;
  /** Largest serialized `properties` accepted by track, in bytes. */
  maxPropertiesBytes?: number;
  /** Called for each exposure the rule admits at flush (guardrails count units exposed per arm). */
  onAdmitted?: (descriptor: ExposureDescriptor) => void;
}

/**
 * What every exposure of one experiment variant under one allocation shares. Callers
 * keep one per (allocation, variant) and pass it by reference, so queueing an exposure
 * creates no object.
 */
export interface ExposureDescriptor {
  readonly experiment: string;
  readonly flag: string;
  readonly variant: string;
  readonly mode: 'fixed' | 'gradual' | 'adaptive' | 'provider';
  readonly version: number;
}

/** One exposure, as tests and tools describe it (recordExposure takes the parts). */
export interface ExposureInput extends ExposureDescriptor {
  unit: string;
  step: number;
  percent: number;
  reason: string;
  ts: number;
  attributes: Record<string, unknown> | undefined;
}

interface TrackInput {
  event: string;
  value: number | undefined;
  /** Serialized already: a bad value is rejected in the caller's call, not at flush. */
  properties: string;
}

/**
 * The queue, as parallel arrays (struct of arrays) written by index: no object per event,
 * numbers in typed arrays, and the arrays keep their size from batch to batch, so a
 * push allocates nothing. A slot holds an exposure (descriptor set) or a tracked event
 * (track set).
 */
class Queue {
  length = 0;
  /** Slots before this one have been through the exposure rule (see settle()). */
  settled = 0;
  /** A slot's state: LOGGED, PENDING or DUPLICATE, plus the TRACK and ATTRIBUTES flags. */
  states = new Uint8Array(SLOTS);
  /** The dedupe fingerprint of a PENDING exposure. */
  hi = new Int32Array(SLOTS);
  lo = new Int32Array(SLOTS);
  ts = new Float64Array(SLOTS);
  steps = new Float64Array(SLOTS);
  percents = new Float64Array(SLOTS);
  units: string[] = filled(SLOTS, '');
  descriptors: (ExposureDescriptor | undefined)[] = filled(SLOTS, undefined);
  reasons: string[] = filled(SLOTS, '');
  /** Written only for slots flagged TRACK or ATTRIBUTES. */
  tracks: (TrackInput | undefined)[] = filled(SLOTS, undefined);
  attributes: (Record<string, unknown> | undefined)[] = filled(SLOTS, undefined);

  /** Appends a slot (stores into arrays that already have the room); returns its index. */
  push(state: number, unit: string, ts: number): number {
    const i = this.length;
    if (i === this.ts.length) this.grow();
    this.states[i] = state;
    this.units[i] = unit;
    this.ts[i] = ts;
    this.length = i + 1;
    return i;
  }

  exposure(
    i: number,
    descriptor: ExposureDescriptor,
    step: number,
    percent: number,
    reason: string,
    attributes: Record<string, unknown> | undefined,
  ): void {
    this.descriptors[i] = descriptor;
    this.steps[i] = step;
    this.percents[i] = percent;
    this.reasons[i] = reason;
    if (attributes !== undefined) {
      this.attributes[i] = attributes;
      this.states[i]! |= ATTRIBUTES;
    }
  }

  /** Empties the queue, letting go of what it referred to and keeping its arrays' room. */
  reset(): void {
    const n = this.length;
    this.units.fill('', 0, n);
    this.tracks.fill(undefined, 0, n);
    this.attributes.fill(undefined, 0, n);
    this.length = 0;
    this.settled = 0;
  }

  private grow(): void {
    this.states = grown(this.states);
    this.hi = grown(this.hi);
    this.lo = grown(this.lo);
    this.ts = grown(this.ts);
    this.steps = grown(this.steps);
    this.percents = grown(this.percents);
    this.units = grownArray(this.units, '');
    this.descriptors = grownArray(this.descriptors, undefined);
    this.reasons = grownArray(this.reasons, '');
    this.tracks = grownArray(this.tracks, undefined);
    this.attributes = grownArray(this.attributes, undefined);
  }
}

export interface PipelineCounters {
  exposures: number;
  /** Queued exposures that the exposure rule found already logged when it admitted them at flush. */
  deduplicated: number;
  events: number;
  rejected: number;
  journaled: number;
  dropped: number;
  /** Flushes forced in a caller's call because the queue reached its capacity. */
  overflowFlushes: number;
  /**
   * Flushes run in a caller's call because the queue reached four batches while the
   * flush scheduled at the first had not run: the event loop is not turning (a script
   * awaiting getVariant in a loop, or a long synchronous stretch in a service).
   */
  inlineFlushes: number;
  corruptLines: number;
  queued: number;
  journalInMemory: boolean;
  sinks: Record<string, ChannelCounters & { pending: number }>;
}

/**
 * Flushed lines are sealed into journal blocks of about this size: big enough that a
 * block is one write and one sink part, small enough to stay out of freshly mapped memory
 * (V8's large-object space, malloc's mmap threshold), where first-touch page faults made
 * large writes several times slower on the benchmark machine.
 */
const BLOCK_BYTES = 64 * 1024;

const SLOTS = 1024;
/** Batches queued, with a flush scheduled and not run, before a caller's call flushes them. */
const INLINE_FLUSH_BATCHES = 4;
const LOGGED = 0;
const PENDING = 1;
const DUPLICATE = 2;
const STATE = 3;
const TRACK = 4;
const ATTRIBUTES = 8;
/** A guardrail event: its body (fields after the envelope) is in `tracks[i].properties`. */
const GUARDRAIL = 16;

const EXPOSURE_HEAD = utf8Bytes(`{"schema":"${EXPOSURE_SCHEMA}","id":"`);
const EVENT_HEAD = utf8Bytes(`{"schema":"${EVENT_SCHEMA}","id":"`);
const GUARDRAIL_HEAD = utf8Bytes(`{"schema":"${GUARDRAIL_SCHEMA}","id":"`);
const TS_FIELD = utf8Bytes('","ts":"');
const UNIT_FIELD = utf8Bytes('","unit":');

/** An exposure's encoded tail for one allocation state: `open` ends before the attributes, `closed` has none and ends the line. */
interface Fragment {
  readonly step: number;
  readonly percent: number;
  readonly reason: string;
  readonly open: Buffer;
  readonly closed: Buffer;
}

export class EventPipeline {
  private buffer = new Queue();
  /** The other half of the double buffer: flush serializes one while callers fill the other. */
  private spare = new Queue();
  private readonly journal: Journal;
  private readonly channels: SinkChannel[] = [];
  /** Encoded JSON that is the same for every exposure of one descriptor, step, percent and reason. */
  private readonly fragments = new Map<ExposureDescriptor, { last: Fragment; all: Map<string, Fragment> }>();
  private readonly writer = new LineWriter();
  private readonly iso = new IsoWriter();
  private timer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private closed = false;
  private cursorsDirty = false;
  private lastCursorSave = 0;
  private dropWarned = false;
  private unencodable = 0;
  private readonly counts = {
    exposures: 0,
    deduplicated: 0,
    events: 0,
    rejected: 0,
    journaled: 0,
    dropped: 0,
    overflowFlushes: 0,
    inlineFlushes: 0,
  };
  private readonly batchSize: number;
  private readonly capacity: number;
  private readonly attributeKeys: readonly string[];
  private readonly maxPropertiesBytes: number;

  constructor(private readonly options: PipelineOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.capacity = options.queueCapacity ?? 100_000;
    this.attributeKeys = options.attributes ?? [];
    this.maxPropertiesBytes = options.maxPropertiesBytes ?? 32_768;
    this.journal = new Journal({
      dir: options.dir,
      // A healthy sink reads right behind the writer, so a few segments of cache cover it;
      // the cache is bytes outside the JS heap, so it costs the garbage collector nothing.
      // A sink that falls further behind reloads 2 MB segments from disk.
      maxSegmentBytes: options.maxSegmentBytes ?? 2 * 2 ** 20,
      cacheBytes: options.cacheBytes ?? 16 * 2 ** 20,
      memoryLimit: options.memoryLimit ?? this.capacity,
    });
  }

  /** Opens the journal and starts delivering what a previous run left behind. */
  start(): void {
    const failed = (error: Error | undefined, which: string) =>
      this.options.logger.error(
        `cannot write the event journal in ${this.options.dir} (${error?.message}); ${which} kept in memory, up to ${this.options.memoryLimit ?? this.capacity}, and counted as dropped beyond that`,
      );
    this.journal.onFailure = (error) => failed(error, 'events not yet written and all new ones are');
    if (!this.journal.open()) failed(this.journal.failure, 'events are');
    const saved = this.journal.loadCursors();
    for (const sink of this.options.sinks) {
      const cursor = isCursor(saved[sink.name]) ? saved[sink.name]! : this.journal.start();
      const channel = new SinkChannel(
        sink,
        this.journal,
        cursor,
        {
          batchSize: this.batchSize,
          backoffBaseMs: this.options.backoffBaseMs ?? 100,
          backoffMaxMs: this.options.backoffMaxMs ?? 30_000,
          random: this.options.random ?? Math.random,
        },
        () => this.advanced(),
        this.options.logger,
      );
      this.channels.push(channel);
      channel.kick();
    }
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Queues an exposure. Without a fingerprint it was admitted by the exposure rule
   * already (see ExposureDedupe); with one (`hi`, `lo`), `options.dedupe` admits it at
   * flush, or counts it deduplicated, which keeps the rule's table, a cache miss for a new
   * unit, off the caller's path.
   */
  recordExposure(
    descriptor: ExposureDescriptor,
    unit: string,
    ts: number,
    step: number,
    percent: number,
    reason: string,
    attributes: Record<string, unknown> | undefined,
    hi?: number,
    lo?: number,
  ): void {
    if (this.closed) return;
    const q = this.buffer;
    let i: number;
    if (hi === undefined) {
      this.counts.exposures++;
      i = q.push(LOGGED, unit, ts);
    } else {
      i = q.push(PENDING, unit, ts);
      q.hi[i] = hi;
      q.lo[i] = lo!;
    }
    q.exposure(i, descriptor, step, percent, reason, attributes);
    this.pushed();
  }

  /**
   * Logs a tracked event. Returns an explanation when the event is rejected (counted),
   * undefined when it was accepted.
   */
  recordTrack(
    unit: string,
    event: string,
    value: number | undefined,
    properties: Record<string, unknown>,
    ts: number,
  ): string | undefined {
    if (this.closed) return 'the pipeline is closed';
    let text: string;
    try {
      text = JSON.stringify(properties);
    } catch (error) {
      this.counts.rejected++;
      return `properties cannot be serialized as JSON (${(error as Error).message})`;
    }
    if (text.length > this.maxPropertiesBytes) {
      this.counts.rejected++;
      return `properties take ${text.length} bytes as JSON, over the limit of ${this.maxPropertiesBytes}`;
    }
    this.counts.events++;
    const q = this.buffer;
    const i = q.push(LOGGED | TRACK, unit, ts); // may grow the arrays: index after
    q.tracks[i] = { event, value, properties: text };
    this.pushed();
    return undefined;
  }

  /**
   * Logs a guardrail event (rare: trips, holds, anomalies). `body` is its JSON object
   * without the envelope; the line gets the schema, id, ts, service and instance.
   */
  recordGuardrail(body: Record<string, unknown>, ts: number): void {
    if (this.closed) return;
    const q = this.buffer;
    const i = q.push(LOGGED | TRACK | GUARDRAIL, '', ts);
    q.tracks[i] = { event: '', value: undefined, properties: JSON.stringify(body) };
    this.counts.events++;
    this.pushed();
  }

  /** Counts an event rejected before it reached the pipeline (bad input to track()). */
  reject(): void {
    this.counts.rejected++;
  }

  /** Copies the allow-listed attributes out of a context (done in the caller's call, so later mutation cannot leak in). */
  pickAttributes(ctx: Record<string, unknown>): Record<string, unknown> | undefined {
    const keys = this.attributeKeys;
    if (keys.length === 0) return undefined;
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const v = ctx[keys[i]!];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') (out ??= {})[keys[i]!] = v;
    }
    return out;
  }

  private pushed(): void {
    const n = this.buffer.length;
    if (n < this.batchSize) return;
    if (n >= this.capacity) {
      this.counts.overflowFlushes++;
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    } else if (n >= INLINE_FLUSH_BATCHES * this.batchSize) {
      // The event loop has not run the flush scheduled a few batches ago. Flushing here,
      // a few batches at a time, costs one caller about a millisecond; waiting for the
      // capacity would cost one caller the whole queue's flush (some 70 ms at 100,000)
      // and keep every queued unit id alive that long.
      this.counts.inlineFlushes++;
      this.flush();
    }
  }

  /** Encodes what is queued, appends it to the journal and wakes the sinks. */
  flush(): void {
    this.flushScheduled = false;
    if (this.buffer.length > 0) {
      const q = this.buffer;
      this.buffer = this.spare;
      this.spare = q;
      this.settle(q);
      const w = this.writer;
      let dropped = 0;
      let lines = 0;
      let logged = 0;
      // Lines are encoded straight into a journal slab: no copy between encoding and the journal.
      let slab = this.journal.takeSlab();
      w.use(slab.bytes);
      for (let i = 0; i < q.length; i++) {
        if ((q.states[i]! & STATE) === DUPLICATE) continue;
        const start = w.pos;
        try {
          this.encode(q, i);
        } catch (error) {
          // A flush runs in a timer: an event that cannot be encoded is counted, never thrown.
          w.pos = start;
          this.counts.dropped++;
          this.unencodable++;
          if (this.unencodable === 1)
            this.options.logger.error(
              `dropped an event that cannot be encoded: ${(error as Error).message}; counted in dropped (later ones are counted without a log line)`,
            );
          continue;
        }
        logged++;
        slab.ends[lines++] = w.pos;
        if (w.pos >= BLOCK_BYTES || lines === slab.ends.length) {
          dropped += this.seal(slab, lines);
          slab = this.journal.takeSlab();
          w.use(slab.bytes);
          lines = 0;
        }
      }
      if (lines > 0) dropped += this.seal(slab, lines);
      else this.journal.giveBack(slab);
      this.counts.journaled += logged - dropped;
      q.reset();
      if (dropped > 0) {
        this.counts.dropped += dropped;
        if (!this.dropWarned) {
          this.dropWarned = true;
          this.options.logger.error(
            `dropped ${dropped} events: the journal cannot be written (${this.journal.failure?.message}) and the in-memory fallback is full; counted in dropped`,
          );
        }
      } else this.dropWarned = false;
    }
    for (const c of this.channels) c.kick();
    // With no sink nobody reads the journal: written segments would only pile up on disk.
    if (this.channels.length === 0) this.journal.trim([]);
  }

  /** Appends the block encoded into `slab`, or into the bigger buffer a line too long for the slab moved the writer to. */
  private seal(slab: Slab, lines: number): number {
    const w = this.writer;
    if (w.buf === slab.bytes) return this.journal.appendSlab(slab, w.pos, lines);
    const ends = slab.ends.slice(0, lines);
    this.journal.giveBack(slab);
    return this.journal.append({ bytes: w.buf.subarray(0, w.pos), ends });
  }

  /** Puts the queue's pending exposures through the exposure rule, in queue order. */
  private settle(q: Queue): void {
    const dedupe = this.options.dedupe;
    for (let i = q.settled; i < q.length; i++) {
      if ((q.states[i]! & STATE) !== PENDING) continue;
      if (dedupe === undefined || dedupe.admit(q.hi[i]!, q.lo[i]!, q.ts[i]!)) {
        q.states[i] = (q.states[i]! & ~STATE) | LOGGED;
        this.counts.exposures++;
        this.options.onAdmitted?.(q.descriptors[i]!);
      } else {
        q.states[i] = (q.states[i]! & ~STATE) | DUPLICATE;
        this.counts.deduplicated++;
      }
    }
    q.settled = q.length;
  }

  /**
   * Flushes and waits up to `timeoutMs` for every sink to catch up; what is still
   * pending stays in the journal for the next start.
   */
  async close(timeoutMs = 5000): Promise<PipelineCounters> {
    if (this.closed) return this.counters();
    this.flush();
    this.closed = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.journal.written(), ...this.channels.map((c) => c.idle())]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    for (const c of this.channels) c.stop();
    if (!this.journal.clearIfDelivered(this.channels.map((c) => c.cursor))) {
      this.cursorsDirty = true;
      this.saveCursors();
    }
    this.journal.close();
    await Promise.all(
      this.options.sinks.map((s) =>
        s
          .close?.()
          .catch((error: unknown) =>
            this.options.logger.warn(`sink ${s.name} failed to close`, { error: String(error) }),
          ),
      ),
    );
    return this.counters();
  }

  /**
   * Resolves when every event flushed so far is written to the journal's files (so it
   * survives the process being killed), or when the journal has gone to memory only.
   */
  written(): Promise<void> {
    return this.journal.written();
  }

  counters(): PipelineCounters {
    this.settle(this.buffer);
    const sinks: PipelineCounters['sinks'] = {};
    for (const c of this.channels) sinks[c.sink.name] = { ...c.counters, pending: c.pending };
    return {
      ...this.counts,
      corruptLines: this.journal.corruptLines,
      queued: this.buffer.length,
      journalInMemory: this.journal.inMemoryOnly,
      sinks,
    };
  }

  /**
   * One JSON line per event, newline-terminated, written into the flush's buffer. What is
   * the same for many events is encoded once: the envelope's service and instance, and
   * the allocation part of an exposure per descriptor, step, percent and reason. Strings
   * that come from callers (unit ids, attributes, event names) are escaped as
   * JSON.stringify escapes them.
   */
  private encode(q: Queue, i: number): void {
    const o = this.options;
    const w = this.writer;
    const ms = q.ts[i]!;
    if (!Number.isFinite(ms)) throw new Error(`its time is not a finite number (the clock gave ${ms})`);
    const state = q.states[i]!;
    if (state & GUARDRAIL) {
      w.bytes(GUARDRAIL_HEAD);
      w.ensure(26);
      writeUlid(w.buf, w.pos, ms);
      w.pos += 26;
      w.bytes(TS_FIELD);
      this.iso.write(w, ms);
      w.text('"');
      w.bytes(this.envelope);
      const body = q.tracks[i]!.properties;
      w.text(body.length > 2 ? `,${body.slice(1, -1)}}\n` : '}\n');
      return;
    }
    const d = state & TRACK ? undefined : q.descriptors[i];
    w.bytes(d === undefined ? EVENT_HEAD : EXPOSURE_HEAD);
    w.ensure(26);
    writeUlid(w.buf, w.pos, ms);
    w.pos += 26;
    w.bytes(TS_FIELD);
    this.iso.write(w, ms);
    w.bytes(UNIT_FIELD);
    const unit = q.units[i]!;
    w.json(o.hashUnitsKey ? createHmac('sha256', o.hashUnitsKey).update(unit).digest('hex') : unit);
    if (d !== undefined) {
      const f = this.fragment(d, q.steps[i]!, q.percents[i]!, q.reasons[i]!);
      const attributes = state & ATTRIBUTES ? q.attributes[i] : undefined;
      if (attributes === undefined) w.bytes(f.closed);
      else {
        w.bytes(f.open);
        w.text(`,"attributes":${JSON.stringify(attributes)}}\n`);
      }
      return;
    }
    w.bytes(this.envelope);
    const e = q.tracks[i]!;
    // properties were serialized in the caller's call; spliced in as they are.
    w.text(
      `,"event":${JSON.stringify(e.event)}${e.value === undefined ? '' : `,"value":${JSON.stringify(e.value)}`},"properties":${e.properties}}\n`,
    );
  }

  /**
   * The rest of an exposure's line after the unit: the envelope and the allocation part,
   * encoded once per descriptor and allocation state. Each descriptor remembers the state
   * it was last encoded for, which is the state of nearly every exposure that follows.
   */
  private fragment(d: ExposureDescriptor, step: number, percent: number, reason: string): Fragment {
    let cache = this.fragments.get(d);
    if (
      cache !== undefined &&
      cache.last.step === step &&
      cache.last.percent === percent &&
      cache.last.reason === reason
    )
      return cache.last;
    if (cache === undefined) {
      if (this.fragments.size > 10_000) this.fragments.clear();
      cache = { last: undefined as unknown as Fragment, all: new Map() };
      this.fragments.set(d, cache);
    }
    const key = `${step}\u0000${percent}\u0000${reason}`;
    let f = cache.all.get(key);
    if (f === undefined) {
      const json = JSON.stringify({
        experiment: d.experiment,
        flag: d.flag,
        variant: d.variant,
        allocation: { mode: d.mode, version: d.version, step, percent },
        reason,
        provider: this.options.provider,
      });
      const open = `${this.envelope.toString('utf8')},${json.slice(1, -1)}`;
      f = { step, percent, reason, open: utf8Bytes(open), closed: utf8Bytes(`${open},"attributes":{}}\n`) };
      if (cache.all.size > 1_000) cache.all.clear();
      cache.all.set(key, f);
    }
    cache.last = f;
    return f;
  }

  private get envelope(): Buffer {
    const o = this.options;
    return (this.envelopeBytes ??= utf8Bytes(
      `${o.service === undefined ? '' : `,"service":${JSON.stringify(o.service)}`}${o.instance === undefined ? '' : `,"instance":${JSON.stringify(o.instance)}`}`,
    ));
  }

  private envelopeBytes: Buffer | undefined;

  private advanced(): void {
    this.cursorsDirty = true;
    const now = Date.now();
    if (now - this.lastCursorSave >= 200) this.saveCursors();
  }

  private saveCursors(): void {
    if (!this.cursorsDirty) return;
    this.cursorsDirty = false;
    this.lastCursorSave = Date.now();
    const cursors: Record<string, Cursor> = {};
    for (const c of this.channels) cursors[c.sink.name] = c.cursor;
    this.journal.saveCursors(cursors);
    this.journal.trim(this.channels.map((c) => c.cursor));
  }
}

/** An array of `n` copies of `value` (packed, so stores into it never grow it). */
function filled<T>(n: number, value: T): T[] {
  return new Array<T>(n).fill(value);
}

/** An array of twice the length, holding `a` at its start. */
function grownArray<T>(a: T[], value: T): T[] {
  const b = filled(a.length * 2, value);
  for (let i = 0; i < a.length; i++) b[i] = a[i]!;
  return b;
}

/** A typed array of twice the length, holding `a` at its start. */
function grown<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a as never);
  return b;
}

function isCursor(v: unknown): v is Cursor {
  return (
    typeof v === 'object' && v !== null && Number.isInteger((v as Cursor).seq) && Number.isInteger((v as Cursor).line)
  );
}
