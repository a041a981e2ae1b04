/**
 * Delivery to one sink: reads the journal from the sink's cursor in batches and keeps up
 * to `sink.concurrency` sends in flight; on failure retries with exponential back-off and
 * full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"), never sooner than
 * the destination's Retry-After, for as long as it takes. The cursor moves in journal
 * order only: a batch is acknowledged when it and every batch before it are, whatever
 * order their sends settle in, so a crash never skips one (later batches may then arrive
 * twice; receivers dedupe by id). Events a destination refuses for good are written to a
 * dead-letter file beside the journal directory (dead-letters/<sink>.jsonl) and counted, and the
 * batch is acknowledged. Meanwhile new events keep landing in the journal, so a sink
 * that is down falls behind on disk and catches up when it recovers. Timers never keep
 * the process alive.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../ports.js';
import { compare, type Cursor } from './cursor-store.js';
import type { Journal, Lines } from './journal.js';
import { batchOf, SinkSendError, type SendResult, type Sink, type SinkBatch } from './sink.js';

/**
 * The longest wait a destination's Retry-After gets: a timer cannot wait past 2^31-1 ms
 * (it fires after 1 ms instead, which retried hundreds of times a second), and a sink that
 * asks for more than an hour is asked again then.
 */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

type Outcome = { ok: true; result: SendResult | undefined } | { ok: false; error: unknown };

/**
 * A batch read from the journal and sent; its lines stay lent until it is acknowledged and
 * every send of it has settled (one that outlived its time may still be reading them).
 */
interface InFlight {
  readonly lines: Lines;
  readonly batch: SinkBatch;
  /** The send, bounded by sendTimeoutMs: awaited directly at the head, so an acknowledgement follows its send at once. */
  sending: Promise<void | SendResult | undefined>;
  outcome: Promise<Outcome>;
  settled: Outcome | undefined;
  /** The sink's sends of this batch not settled yet (a timed-out one counts until it settles, if ever). */
  unsettled: number;
  /** Acknowledged or abandoned: its lines go back once no send is unsettled. */
  done: boolean;
}

export interface ChannelOptions {
  batchSize: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  random: () => number;
  /**
   * How long a send may take before it counts as failed and is retried (the sink's own
   * promise is left to settle, its lines held until it does): a custom sink whose send
   * never settles (a client with no timeout of its own) would otherwise stall the sink
   * for good without a word, its events piling up in the journal.
   */
  sendTimeoutMs: number;
}

export interface ChannelCounters {
  delivered: number;
  failures: number;
  /** Events the destination refused for good, kept in the dead-letter file. */
  deadLettered: number;
  lastError: string | undefined;
}

export class SinkChannel {
  readonly counters: ChannelCounters = { delivered: 0, failures: 0, deadLettered: 0, lastError: undefined };
  private running = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private attempt = 0;
  private lastDeadLetterWarning = -Infinity;

  constructor(
    readonly sink: Sink,
    private readonly journal: Journal,
    public cursor: Cursor,
    private readonly options: ChannelOptions,
    private readonly onAdvance: () => void,
    private readonly logger: Logger,
  ) {}

  /** Starts delivering if there is anything behind the cursor. */
  kick(): void {
    // While running (or backing off) the loop picks new events up itself; waking a
    // back-off early would hammer a sink that is down.
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop();
  }

  get pending(): number {
    return this.journal.behind(this.cursor);
  }

  /** Resolves when the channel has caught up with the journal (or is stopped). */
  idle(): Promise<void> {
    if (!this.running || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /**
   * The file events this sink refused for good are kept in: dead-letters/<sink>.jsonl in the
   * exposures directory, beside the journal (one file for every process that shares the
   * directory, each appending whole lines).
   */
  get deadLetterFile(): string {
    return join(this.journal.root, 'dead-letters', `${this.sink.name}.jsonl`);
  }

  private start(lines: Lines): InFlight {
    const flight: InFlight = {
      lines,
      batch: batchOf(lines.parts, lines.count),
      sending: Promise.resolve(undefined),
      outcome: Promise.resolve({ ok: true, result: undefined }),
      settled: undefined,
      unsettled: 0,
      done: false,
    };
    this.send(flight);
    return flight;
  }

  private send(flight: InFlight): void {
    flight.settled = undefined;
    let sent: Promise<void | SendResult | undefined>;
    try {
      sent = Promise.resolve(this.sink.send(flight.batch));
    } catch (error) {
      sent = Promise.reject(error as Error);
    }
    flight.unsettled++;
    const settle = () => {
      flight.unsettled--;
      this.giveBack(flight);
    };
    sent.then(settle, settle);
    const ms = this.options.sendTimeoutMs;
    const sending = new Promise<void | SendResult | undefined>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SinkSendError(`sink ${this.sink.name} did not settle its send within ${ms} ms`)),
        ms,
      );
      timer.unref();
      sent.then(
        (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
    flight.sending = sending;
    flight.outcome = sending.then(
      (result): Outcome => (flight.settled = { ok: true, result: result ?? undefined }),
      (error: unknown): Outcome => (flight.settled = { ok: false, error }),
    );
  }

  private async loop(): Promise<void> {
    const window: InFlight[] = [];
    const concurrency = Math.max(1, Math.floor(this.sink.concurrency ?? 1));
    const max = this.sink.maxBatch ?? this.options.batchSize;
    /** Where the next read starts: past every batch in the window. */
    let readAt = this.cursor;
    try {
      while (!this.stopped) {
        while (window.length < concurrency) {
          const lines = this.journal.read(readAt, max);
          if (lines.count === 0) {
            // Nothing more: past the end of a used-up segment, the cursor may move on.
            if (window.length === 0 && compare(lines.next, this.cursor) !== 0) {
              this.cursor = lines.next;
              this.onAdvance();
            }
            if (window.length === 0) readAt = this.cursor;
            break;
          }
          readAt = lines.next;
          window.push(this.start(lines));
        }
        const head = window[0];
        if (!head) break;
        let outcome: Outcome;
        try {
          outcome = { ok: true, result: (await head.sending) ?? undefined };
        } catch (error) {
          outcome = { ok: false, error };
        }
        if (outcome.ok) {
          window.shift();
          const rejected = rejections(outcome.result, head.lines.count);
          if (rejected.length > 0) this.deadLetter(head.batch, rejected);
          head.done = true;
          this.giveBack(head);
          this.attempt = 0;
          this.counters.delivered += head.lines.count - rejected.length;
          this.cursor = head.lines.next;
          this.onAdvance();
          continue;
        }
        this.counters.failures++;
        const error = outcome.error as { message?: string; retryAfterMs?: number } | undefined;
        const message = error?.message ?? String(error);
        if (this.counters.lastError === undefined)
          this.logger.warn(`sink ${this.sink.name} failed; events wait in the journal and are retried`, {
            error: message,
          });
        this.counters.lastError = message;
        const retryAfter = error?.retryAfterMs;
        await this.sleep(
          Math.max(this.backoff(), Number.isFinite(retryAfter) ? Math.min(retryAfter!, MAX_RETRY_AFTER_MS) : 0),
        );
        if (this.stopped) break;
        // Again, in order: every batch in the window whose send failed (the head first).
        for (const flight of window) if (flight.settled?.ok === false) this.send(flight);
      }
    } finally {
      // Stopped with sends in flight: their lines are lent until the sends settle.
      for (const flight of window) {
        flight.done = true;
        this.giveBack(flight);
      }
      this.running = false;
      if (this.counters.lastError !== undefined && this.attempt === 0) this.counters.lastError = undefined;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    // Events may have arrived while the last batch was in flight.
    if (!this.stopped && this.journal.behind(this.cursor) > 0) this.kick();
  }

  /**
   * Keeps events the destination refused for good: one JSON line each in the dead-letter
   * file (when, the sink, the destination's reason, the event as journaled), counted, and
   * reported (a warning at most every 10 s, saying where they are).
   */
  private deadLetter(batch: SinkBatch, rejected: SendResult['rejected']): void {
    const lines = batch.lines();
    const at = new Date().toISOString();
    let text = '';
    for (const r of rejected) {
      const line = lines[r.index];
      if (line === undefined) continue;
      text += `{"at":"${at}","sink":${JSON.stringify(this.sink.name)},"reason":${JSON.stringify(r.reason)},${eventMember(line)}}\n`;
    }
    this.counters.deadLettered += rejected.length;
    const file = this.deadLetterFile;
    let kept = true;
    try {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, text);
    } catch (error) {
      kept = false;
      this.logger.error(`sink ${this.sink.name}: cannot write the dead-letter file ${file}`, {
        error: (error as Error).message,
      });
    }
    const now = Date.now();
    if (now - this.lastDeadLetterWarning >= 10_000) {
      this.lastDeadLetterWarning = now;
      this.logger.warn(
        `sink ${this.sink.name} refused ${rejected.length} event(s) for good${kept ? `; kept in ${file}` : ''}`,
        { reason: rejected[0]!.reason, deadLettered: this.counters.deadLettered },
      );
    }
  }

  /** Returns a finished flight's lines to the journal once none of its sends can still read them. */
  private giveBack(flight: InFlight): void {
    if (flight.done && flight.unsettled === 0) this.journal.release(flight.lines);
  }

  private backoff(): number {
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** this.attempt++);
    return ceiling / 2 + (this.options.random() * ceiling) / 2;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.wake = undefined;
    });
  }
}

/**
 * The events a send result refuses for good: each index of the batch at most once, the
 * first reason given for it. A custom sink's result is input like any other: an index out
 * of the batch, not a whole number or named twice would count events dead-lettered that
 * are not (and take them off `delivered`); a result without a `rejected` array refuses none.
 */
function rejections(result: SendResult | undefined, count: number): SendResult['rejected'] {
  const given: unknown = result?.rejected;
  if (!Array.isArray(given) || given.length === 0) return [];
  const seen = new Set<number>();
  const out: { index: number; reason: string }[] = [];
  for (const r of given as unknown[]) {
    const index = (r as { index?: unknown } | null)?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || seen.has(index))
      continue;
    seen.add(index);
    const reason = (r as { reason?: unknown }).reason;
    out.push({ index, reason: typeof reason === 'string' ? reason : String(reason) });
  }
  return out;
}

/** A dead letter's event: the journal line as JSON (`event`), or, when the line is not JSON (damaged on disk), as a string (`line`). */
function eventMember(line: string): string {
  try {
    JSON.parse(line);
    return `"event":${line}`;
  } catch {
    return `"line":${JSON.stringify(line)}`;
  }
}
