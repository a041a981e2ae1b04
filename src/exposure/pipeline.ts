/**
 * The event pipeline: a constant-time push on the caller's path, batching by size and time into the journal, one delivery channel per sink.
 *
 * Caller's path (getVariant, track, run): dedupe check and a store into preallocated
 * arrays. Work that can wait (ids, timestamps as text, unit hashing, JSON) happens at
 * flush, which runs on a timer, when a batch fills, and at close, never inside the
 * caller's call; it writes UTF-8 bytes straight into blocks (event-encoder.ts) that the journal
 * and the sinks share.
 * The one exception is a burst that fills the whole queue before the event loop gets to
 * flush: then that call flushes (a synchronous journal append) instead of dropping,
 * because a lost exposure skews the split. Every event ends up delivered, pending in
 * the journal, or counted in `dropped` (only when the journal cannot be written and the
 * memory fallback is full), with one log line per episode.
 */
import { resolve } from 'node:path';
import type { Clock, Logger } from '../ports.js';
import { SinkChannel, type ChannelCounters } from './channel.js';
import { compare, CursorStore, isCursor, type Cursor } from './cursor-store.js';
import { EventEncoder } from './event-encoder.js';
import { Journal, type Slab } from './journal.js';
import { DUPLICATE, EventQueue, GUARDRAIL, LOGGED, PENDING, STATE, TRACK, type ExposureDescriptor } from './queue.js';
import type { ExposureDedupe } from './dedupe.js';
import type { Sink } from './sink.js';

export type { ExposureDescriptor } from './queue.js';

/** How long a sink's send may take by default before it is retried (the HTTP sinks give up on their own after 10 s). */
export const DEFAULT_SEND_TIMEOUT_MS = 60_000;

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
  /** How long a sink's send may take before it counts as failed and is retried (default 60 s; see ChannelOptions). */
  sendTimeoutMs?: number;
  random?: () => number;
  /** The exposure rule that admits exposures queued with a fingerprint, at flush. */
  dedupe?: ExposureDedupe;
  /** Largest serialized `properties` accepted by track, in bytes. */
  maxPropertiesBytes?: number;
  /** Called for each exposure the rule admits at flush (guardrails count units exposed per arm). */
  onAdmitted?: (descriptor: ExposureDescriptor) => void;
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

/** Batches queued, with a flush scheduled and not run, before a caller's call flushes them. */
const INLINE_FLUSH_BATCHES = 4;

/**
 * How often a journal in memory-only mode after a failure mid-run tries the disk again (at a
 * flush, by the pipeline's clock): see Journal.recover().
 */
export const JOURNAL_RETRY_MS = 5_000;

export class EventPipeline {
  private buffer = new EventQueue();
  /** The other half of the double buffer: flush serializes one while callers fill the other. */
  private spare = new EventQueue();
  private readonly journal: Journal;
  private readonly cursors: CursorStore;
  private readonly encoder: EventEncoder;
  private readonly channels: SinkChannel[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private closed = false;
  private dropWarned = false;
  /** When a journal in memory-only mode tries the disk again next (the pipeline's clock). */
  private retryJournalAt = 0;
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
    this.encoder = new EventEncoder(options);
    this.cursors = new CursorStore(options.dir, () => options.clock.now());
    this.journal = new Journal({
      dir: options.dir,
      // A healthy sink reads right behind the writer, so a few segments of cache cover it;
      // the cache is bytes outside the JS heap, so it costs the garbage collector nothing.
      // A sink that falls further behind reloads 2 MB segments from disk.
      maxSegmentBytes: options.maxSegmentBytes ?? 2 * 2 ** 20,
      cacheBytes: options.cacheBytes ?? 16 * 2 ** 20,
      memoryLimit: options.memoryLimit ?? this.capacity,
      cursors: this.cursors,
      onFailure: (error) => this.journalFailed(error, 'events not yet written and all new ones are', true),
      onLost: (file, lines, error) =>
        options.logger.error(
          `cannot read ${file} back (${error.message}): its ${lines} events are lost, counted in corruptLines; the sinks go on with the rest`,
        ),
    });
  }

  /** Opens the journal and starts delivering what a previous run left behind. */
  start(): void {
    if (!this.journal.open(this.options.sinks.map((sink) => sink.name)))
      this.journalFailed(this.journal.failure, 'events are');
    else if (resolve(this.journal.home) !== resolve(this.options.dir))
      this.options.logger.info(
        `the journal in ${this.options.dir} is held by another process; this one journals in ${this.journal.home}`,
      );
    for (const slot of this.journal.adoptedSlots)
      this.options.logger.info(`took over the undelivered events of ${slot}, whose process is gone`);
    const saved = this.journal.loadCursors();
    for (const sink of this.options.sinks) {
      const savedCursor = saved[sink.name];
      // A cursor past the journal's own end does not belong to these segments (a crash between
      // clearing the journal and removing cursors.json, a file restored from elsewhere): new
      // segments, and those taken over from other slots, start below it and would be skipped.
      // Replayed from the start instead: delivered twice at worst, never skipped.
      const cursor =
        isCursor(savedCursor) && compare(savedCursor, this.journal.ownEnd()) <= 0 ? savedCursor : this.journal.start();
      const channel = new SinkChannel(
        sink,
        this.journal,
        cursor,
        {
          batchSize: this.batchSize,
          backoffBaseMs: this.options.backoffBaseMs ?? 100,
          backoffMaxMs: this.options.backoffMaxMs ?? 30_000,
          sendTimeoutMs: this.options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
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
   *
   * Positional on purpose: this is the caller's path, and a record object per exposure
   * measured about +50-75 ns per new exposure on the caller-path bench (what logging adds:
   * median 241 and 271 ns against 189 and 196 ns positional, two alternating series of 6
   * and 8 processes, issue 12). The descriptor already carries what exposures share.
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
    const queue = this.buffer;
    let i: number;
    if (hi === undefined) {
      this.counts.exposures++;
      i = queue.push(LOGGED, unit, ts);
    } else {
      i = queue.push(PENDING, unit, ts);
      queue.hi[i] = hi;
      queue.lo[i] = lo!;
    }
    queue.exposure(i, descriptor, step, percent, reason, attributes);
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
    // UTF-8 takes up to three bytes per UTF-16 unit: measured only when the length alone cannot tell.
    const bytes = text.length * 3 > this.maxPropertiesBytes ? Buffer.byteLength(text) : text.length;
    if (bytes > this.maxPropertiesBytes) {
      this.counts.rejected++;
      return `properties take ${bytes} bytes as JSON, over the limit of ${this.maxPropertiesBytes}`;
    }
    this.counts.events++;
    const queue = this.buffer;
    const i = queue.push(LOGGED | TRACK, unit, ts); // may grow the arrays: index after
    queue.tracks[i] = { event, value, properties: text };
    this.pushed();
    return undefined;
  }

  /**
   * Logs a guardrail event (rare: trips, holds, anomalies). `body` is its JSON object
   * without the envelope; the line gets the schema, id, ts, service and instance.
   */
  recordGuardrail(body: Record<string, unknown>, ts: number): void {
    if (this.closed) return;
    const queue = this.buffer;
    const i = queue.push(LOGGED | TRACK | GUARDRAIL, '', ts);
    queue.tracks[i] = { event: '', value: undefined, properties: JSON.stringify(body) };
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
      const value = ctx[keys[i]!];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        (out ??= {})[keys[i]!] = value;
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
    if (this.journal.inMemoryOnly) this.retryJournal();
    if (this.buffer.length > 0) {
      const queue = this.buffer;
      this.buffer = this.spare;
      this.spare = queue;
      this.settle(queue);
      const writer = this.encoder.writer;
      let dropped = 0;
      let lines = 0;
      let logged = 0;
      // Lines are encoded straight into a journal slab: no copy between encoding and the journal.
      let slab = this.journal.takeSlab();
      writer.use(slab.bytes);
      for (let i = 0; i < queue.length; i++) {
        if ((queue.states[i]! & STATE) === DUPLICATE) continue;
        const start = writer.pos;
        try {
          this.encoder.encode(queue, i);
        } catch (error) {
          // A flush runs in a timer: an event that cannot be encoded is counted, never thrown.
          writer.pos = start;
          this.counts.dropped++;
          this.unencodable++;
          if (this.unencodable === 1)
            this.options.logger.error(
              `dropped an event that cannot be encoded: ${(error as Error).message}; counted in dropped (later ones are counted without a log line)`,
            );
          continue;
        }
        logged++;
        slab.ends[lines++] = writer.pos;
        if (writer.pos >= BLOCK_BYTES || lines === slab.ends.length) {
          dropped += this.seal(slab, lines);
          slab = this.journal.takeSlab();
          writer.use(slab.bytes);
          lines = 0;
        }
      }
      if (lines > 0) dropped += this.seal(slab, lines);
      else this.journal.giveBack(slab);
      this.counts.journaled += logged - dropped;
      queue.reset();
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
    for (const channel of this.channels) channel.kick();
    // With no sink nobody reads the journal: written segments would only pile up on disk.
    if (this.channels.length === 0) this.journal.trim([]);
  }

  /** Appends the block encoded into `slab`, or into the bigger buffer a line too long for the slab moved the writer to. */
  private seal(slab: Slab, lines: number): number {
    const writer = this.encoder.writer;
    if (writer.buf === slab.bytes) return this.journal.appendSlab(slab, writer.pos, lines);
    const ends = slab.ends.slice(0, lines);
    this.journal.giveBack(slab);
    return this.journal.append({ bytes: writer.buf.subarray(0, writer.pos), ends });
  }

  /** Puts the queue's pending exposures through the exposure rule, in queue order. */
  private settle(queue: EventQueue): void {
    const dedupe = this.options.dedupe;
    for (let i = queue.settled; i < queue.length; i++) {
      if ((queue.states[i]! & STATE) !== PENDING) continue;
      if (dedupe === undefined || dedupe.admit(queue.hi[i]!, queue.lo[i]!, queue.ts[i]!)) {
        queue.states[i] = (queue.states[i]! & ~STATE) | LOGGED;
        this.counts.exposures++;
        this.options.onAdmitted?.(queue.descriptors[i]!);
      } else {
        queue.states[i] = (queue.states[i]! & ~STATE) | DUPLICATE;
        this.counts.deduplicated++;
      }
    }
    queue.settled = queue.length;
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
      Promise.all([this.journal.written(), ...this.channels.map((channel) => channel.idle())]),
      // Not unref'd: a sink that is down waits on back-off timers that are, so a script
      // awaiting close() with nothing else to do exited (code 13) in the middle of it.
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const channel of this.channels) channel.stop();
    this.countLostInMemory();
    if (!this.journal.clearIfDelivered(this.channels.map((channel) => channel.cursor))) this.saveCursors(true);
    this.journal.close();
    await Promise.all(this.options.sinks.map((sink) => this.closeSink(sink, timeoutMs)));
    return this.counters();
  }

  /**
   * Closes a sink, waiting at most `timeoutMs`: a custom sink's close() that never settles (a
   * client waiting for a server that is down) is left behind and said, not waited for
   * forever; one that throws, or returns no promise, is a sink like any other.
   */
  private async closeSink(sink: Sink, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    try {
      const closed = await Promise.race([Promise.resolve(sink.close?.()).then(() => 'closed' as const), late]);
      if (closed === 'late')
        this.options.logger.warn(`sink ${sink.name} did not close within ${timeoutMs} ms; left behind`);
    } catch (error) {
      this.options.logger.warn(`sink ${sink.name} failed to close`, { error: String(error) });
    } finally {
      clearTimeout(timer);
    }
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
    for (const channel of this.channels) sinks[channel.sink.name] = { ...channel.counters, pending: channel.pending };
    return {
      ...this.counts,
      corruptLines: this.journal.corruptLines,
      queued: this.buffer.length,
      journalInMemory: this.journal.inMemoryOnly,
      sinks,
    };
  }

  /**
   * At close, events the journal kept in memory only (it could not be written) that some
   * sink has not received end with the process: counted as dropped and logged, never
   * left for a next start that will not have them. Cursors move in journal order, so
   * they are the longest undelivered tail among the sinks.
   */
  private countLostInMemory(): void {
    if (!this.journal.inMemoryOnly) return;
    let lost = 0;
    for (const channel of this.channels) lost = Math.max(lost, this.journal.behindInMemory(channel.cursor));
    if (lost === 0) return;
    this.counts.dropped += lost;
    this.options.logger.error(
      `close: ${lost} events were kept in memory only (the journal cannot be written) and not delivered to every sink: lost, counted in dropped`,
    );
  }

  /** A journal in memory-only mode tries the disk again, every JOURNAL_RETRY_MS at most. */
  private retryJournal(): void {
    const now = this.options.clock.now();
    if (now < this.retryJournalAt) return;
    this.retryJournalAt = now + JOURNAL_RETRY_MS;
    if (!this.journal.recover(this.cursorsNow())) return;
    this.options.logger.info(
      `the event journal in ${this.options.dir} can be written again: the events kept in memory are on disk again, and new ones go there`,
    );
    this.dropWarned = false;
    // recover() wrote the cursors: a save is done, and what every sink has passed can go.
    this.cursors.claimSave(true);
    this.journal.trim(this.channels.map((channel) => channel.cursor));
  }

  /** `retried`: a failure mid-run, after which the disk is tried again (not a directory that never opened). */
  private journalFailed(error: Error | undefined, which: string, retried = false): void {
    this.retryJournalAt = this.options.clock.now() + JOURNAL_RETRY_MS;
    this.options.logger.error(
      `cannot write the event journal in ${this.options.dir} (${error?.message}); ${which} kept in memory${retried ? ` (the disk is tried again every ${JOURNAL_RETRY_MS / 1000} s)` : ''}, up to ${this.options.memoryLimit ?? this.capacity}, and counted as dropped beyond that`,
    );
  }

  private advanced(): void {
    if (this.cursors.advanced()) this.saveCursors();
  }

  /** The sinks' cursors, by sink name. */
  private cursorsNow(): Record<string, Cursor> {
    const cursors: Record<string, Cursor> = {};
    for (const channel of this.channels) cursors[channel.sink.name] = channel.cursor;
    return cursors;
  }

  /** Saves the sinks' cursors if one moved since the last save (or `force`), and deletes the segments they all passed. */
  private saveCursors(force = false): void {
    if (!this.cursors.claimSave(force)) return;
    this.journal.saveCursors(this.cursorsNow());
    this.journal.trim(this.channels.map((channel) => channel.cursor));
  }
}
