/**
 * Delivery to one sink: reads the journal from the sink's cursor in batches, sends,
 * advances on success; on failure retries with exponential back-off and full jitter
 * (AWS Architecture Blog, "Exponential Backoff and Jitter"), for as long as it takes.
 * Meanwhile new events keep landing in the journal, so a sink that is down falls
 * behind on disk and catches up when it recovers. Timers never keep the process alive.
 */
import type { Logger } from '../ports.js';
import { compare, type Cursor } from './cursor-store.js';
import type { Journal } from './journal.js';
import { batchOf, type Sink } from './sink.js';

export interface ChannelOptions {
  batchSize: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  random: () => number;
}

export interface ChannelCounters {
  delivered: number;
  failures: number;
  lastError: string | undefined;
}

export class SinkChannel {
  readonly counters: ChannelCounters = { delivered: 0, failures: 0, lastError: undefined };
  private running = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private attempt = 0;

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

  private async loop(): Promise<void> {
    try {
      while (!this.stopped) {
        const lines = this.journal.read(this.cursor, this.sink.maxBatch ?? this.options.batchSize);
        const { parts, count, next } = lines;
        if (count === 0) {
          if (compare(next, this.cursor) !== 0) {
            this.cursor = next;
            this.onAdvance();
          }
          break;
        }
        try {
          try {
            await this.sink.send(batchOf(parts, count));
          } finally {
            this.journal.release(lines);
          }
          this.attempt = 0;
          this.counters.delivered += count;
          this.cursor = next;
          this.onAdvance();
        } catch (error) {
          this.counters.failures++;
          const message = (error as Error)?.message ?? String(error);
          if (this.counters.lastError === undefined)
            this.logger.warn(`sink ${this.sink.name} failed; events wait in the journal and are retried`, {
              error: message,
            });
          this.counters.lastError = message;
          await this.sleep(this.backoff());
        }
      }
    } finally {
      this.running = false;
      if (this.counters.lastError !== undefined && this.attempt === 0) this.counters.lastError = undefined;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    // Events may have arrived while the last batch was in flight.
    if (!this.stopped && this.journal.behind(this.cursor) > 0) this.kick();
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
