/**
 * The event pipeline: a constant-time push on the caller's path, batching by size and
 * time, a durable journal, and one delivery channel per sink.
 *
 * Caller's path (getVariant, track, run): dedupe check and a push into an array. Work
 * that can wait (ids, timestamps as text, unit hashing, JSON) happens at flush, which
 * runs on a timer, when a batch fills, and at close, never inside the caller's call.
 * The one exception is a burst that fills the whole queue before the event loop gets to
 * flush: then that call flushes (a synchronous journal append) instead of dropping,
 * because a lost exposure skews the split. Every event ends up delivered, pending in
 * the journal, or counted in `dropped` (only when the journal cannot be written and the
 * memory fallback is full), with one log line per episode.
 */
import { createHmac } from 'node:crypto';
import type { Clock, Logger } from '../ports.js';
import { SinkChannel, type ChannelCounters } from './channel.js';
import { Journal, type Cursor } from './journal.js';
import { ulid } from './ids.js';
import { EVENT_SCHEMA, EXPOSURE_SCHEMA } from './schema.js';
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
  cacheLines?: number;
  memoryLimit?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  /** Largest serialized `properties` accepted by track, in bytes. */
  maxPropertiesBytes?: number;
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
 * The queue, as parallel arrays (struct of arrays): one push per field, no object per
 * event, so holding a second's worth of events costs the garbage collector little.
 * A slot holds an exposure (descriptor set) or a tracked event (track set).
 */
class Queue {
  units: string[] = [];
  ts: number[] = [];
  descriptors: (ExposureDescriptor | undefined)[] = [];
  tracks: (TrackInput | undefined)[] = [];
  steps: number[] = [];
  percents: number[] = [];
  reasons: string[] = [];
  attributes: (Record<string, unknown> | undefined)[] = [];

  get length(): number {
    return this.units.length;
  }

  /** Empties the queue, keeping the arrays' memory (already mapped) for the next batch. */
  reset(): void {
    this.units.length = 0;
    this.ts.length = 0;
    this.descriptors.length = 0;
    this.tracks.length = 0;
    this.steps.length = 0;
    this.percents.length = 0;
    this.reasons.length = 0;
    this.attributes.length = 0;
  }
}

export interface PipelineCounters {
  exposures: number;
  events: number;
  rejected: number;
  journaled: number;
  dropped: number;
  overflowFlushes: number;
  corruptLines: number;
  queued: number;
  journalInMemory: boolean;
  sinks: Record<string, ChannelCounters & { pending: number }>;
}

const FLUSH_CHUNK = 1000;

export class EventPipeline {
  private buffer = new Queue();
  /** The other half of the double buffer: flush serializes one while callers fill the other. */
  private spare = new Queue();
  private readonly journal: Journal;
  private readonly channels: SinkChannel[] = [];
  /** JSON fragments that are the same for every exposure of one allocation and step. */
  private readonly fragments = new Map<string, string>();
  private lastTs = -1;
  private lastIso = '';
  private timer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private closed = false;
  private cursorsDirty = false;
  private lastCursorSave = 0;
  private dropWarned = false;
  private readonly counts = { exposures: 0, events: 0, rejected: 0, journaled: 0, dropped: 0, overflowFlushes: 0 };
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
      // Small segments and a small cache: a healthy sink reads right behind the writer, so
      // 20k cached lines (about 6 MB) cover it, and retained lines cost the GC on every
      // collection (a 200k-line cache made GC a third of the caller's time). A sink that
      // falls further behind reloads 2 MB segments from disk.
      maxSegmentBytes: options.maxSegmentBytes ?? 2 * 2 ** 20,
      cacheLines: options.cacheLines ?? 20_000,
      memoryLimit: options.memoryLimit ?? this.capacity,
    });
  }

  /** Opens the journal and starts delivering what a previous run left behind. */
  start(): void {
    if (!this.journal.open()) {
      this.options.logger.error(
        `cannot write the event journal in ${this.options.dir} (${this.journal.failure?.message}); events are kept in memory, up to ${this.options.memoryLimit ?? this.capacity}, and counted as dropped beyond that`,
      );
    }
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

  /** Logs an exposure (already admitted by the exposure rule, see ExposureDedupe). */
  recordExposure(
    descriptor: ExposureDescriptor,
    unit: string,
    ts: number,
    step: number,
    percent: number,
    reason: string,
    attributes: Record<string, unknown> | undefined,
  ): void {
    if (this.closed) return;
    this.counts.exposures++;
    const q = this.buffer;
    q.units.push(unit);
    q.ts.push(ts);
    q.descriptors.push(descriptor);
    q.tracks.push(undefined);
    q.steps.push(step);
    q.percents.push(percent);
    q.reasons.push(reason);
    q.attributes.push(attributes);
    this.pushed();
  }

  /**
   * Logs a tracked event. Returns an explanation when the event is rejected (counted),
   * undefined when it was accepted.
   */
  recordTrack(unit: string, event: string, value: number | undefined, properties: Record<string, unknown>, ts: number): string | undefined {
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
    q.units.push(unit);
    q.ts.push(ts);
    q.descriptors.push(undefined);
    q.tracks.push({ event, value, properties: text });
    q.steps.push(0);
    q.percents.push(0);
    q.reasons.push('');
    q.attributes.push(undefined);
    this.pushed();
    return undefined;
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
    const buffer = this.buffer;
    if (buffer.length >= this.capacity) {
      this.counts.overflowFlushes++;
      this.flush();
    } else if (buffer.length >= this.batchSize && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Serializes what is queued, appends it to the journal and wakes the sinks. */
  flush(): void {
    this.flushScheduled = false;
    if (this.buffer.length > 0) {
      const q = this.buffer;
      this.buffer = this.spare;
      this.spare = q;
      // In chunks, so a large flush never holds all its lines at once (see chunks() in journal.ts).
      let dropped = 0;
      for (let start = 0; start < q.length; start += FLUSH_CHUNK) {
        const end = Math.min(q.length, start + FLUSH_CHUNK);
        const lines = new Array<string>(end - start);
        for (let i = start; i < end; i++) lines[i - start] = this.serialize(q, i);
        dropped += this.journal.append(lines);
      }
      this.counts.journaled += q.length - dropped;
      q.reset();
      if (dropped > 0) {
        this.counts.dropped += dropped;
        if (!this.dropWarned) {
          this.dropWarned = true;
          this.options.logger.error(`dropped ${dropped} events: the journal cannot be written (${this.journal.failure?.message}) and the in-memory fallback is full; counted in dropped`);
        }
      } else this.dropWarned = false;
    }
    for (const c of this.channels) c.kick();
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
      Promise.all(this.channels.map((c) => c.idle())),
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
    await Promise.all(this.options.sinks.map((s) => s.close?.().catch((error: unknown) => this.options.logger.warn(`sink ${s.name} failed to close`, { error: String(error) }))));
    return this.counters();
  }

  counters(): PipelineCounters {
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
   * One JSON line per event, built from cached fragments: the envelope's service and
   * instance, the allocation part of an exposure, and the timestamp text for the same
   * millisecond are computed once, not per event. Strings that come from callers (unit
   * ids, attributes, event names) always go through JSON.stringify.
   */
  private serialize(q: Queue, i: number): string {
    const o = this.options;
    const rawUnit = q.units[i]!;
    const ms = q.ts[i]!;
    const unit = JSON.stringify(o.hashUnitsKey ? createHmac('sha256', o.hashUnitsKey).update(rawUnit).digest('hex') : rawUnit);
    const ts = ms === this.lastTs ? this.lastIso : this.iso(ms);
    const head = `"id":"${ulid(ms)}","ts":"${ts}","unit":${unit}${this.envelope}`;
    const d = q.descriptors[i];
    if (d !== undefined) {
      const step = q.steps[i]!;
      const percent = q.percents[i]!;
      const reason = q.reasons[i]!;
      const key = `${d.experiment}\u0000${d.variant}\u0000${d.version}\u0000${step}\u0000${percent}\u0000${reason}\u0000${d.flag}\u0000${d.mode}`;
      let fragment = this.fragments.get(key);
      if (fragment === undefined) {
        fragment = JSON.stringify({
          experiment: d.experiment,
          flag: d.flag,
          variant: d.variant,
          allocation: { mode: d.mode, version: d.version, step, percent },
          reason,
          provider: o.provider,
        }).slice(1, -1);
        if (this.fragments.size > 10_000) this.fragments.clear();
        this.fragments.set(key, fragment);
      }
      const attributes = q.attributes[i];
      return `{"schema":"${EXPOSURE_SCHEMA}",${head},${fragment},"attributes":${attributes ? JSON.stringify(attributes) : '{}'}}`;
    }
    const e = q.tracks[i]!;
    // properties were serialized in the caller's call; spliced in as they are.
    return `{"schema":"${EVENT_SCHEMA}",${head},"event":${JSON.stringify(e.event)}${e.value === undefined ? '' : `,"value":${JSON.stringify(e.value)}`},"properties":${e.properties}}`;
  }

  private get envelope(): string {
    const o = this.options;
    return (this.envelopeText ??= `${o.service === undefined ? '' : `,"service":${JSON.stringify(o.service)}`}${o.instance === undefined ? '' : `,"instance":${JSON.stringify(o.instance)}`}`);
  }

  private envelopeText: string | undefined;

  private iso(ts: number): string {
    this.lastTs = ts;
    this.lastIso = new Date(ts).toISOString();
    return this.lastIso;
  }

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

function isCursor(v: unknown): v is Cursor {
  return typeof v === 'object' && v !== null && Number.isInteger((v as Cursor).seq) && Number.isInteger((v as Cursor).line);
}
