/** The sink port: what a destination of events implements, and the batch it is handed. */
import type { EventRecord } from './schema.js';

/**
 * One batch handed to a sink: `count` events as JSON lines in UTF-8, each ending in a
 * newline, in `chunks` (views of the journal's bytes: read them during send, do not keep
 * them); as strings and parsed records on demand.
 */
export interface SinkBatch {
  readonly count: number;
  readonly chunks: readonly Uint8Array[];
  lines(): readonly string[];
  records(): readonly EventRecord[];
}

/**
 * Events of a batch the destination refused for good (too big, invalid), by index in the
 * batch, with the destination's reason: the channel dead-letters them (a file beside the
 * journal, counted) and acknowledges the batch.
 */
export interface SendResult {
  readonly rejected: readonly { readonly index: number; readonly reason: string }[];
}

/** A send that failed for now; `retryAfterMs` is the destination's own wait (Retry-After), if it said one. */
export class SinkSendError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SinkSendError';
  }
}

/**
 * A destination for events. `send` resolves when the destination has accepted the
 * batch (but for the events it names as rejected for good) and rejects otherwise; the
 * pipeline retries with back-off. Delivery is at least once: a batch may arrive again
 * after a failure or a restart, with the same ids.
 */
export interface Sink {
  readonly name: string;
  /**
   * The most events this sink takes in one send; the pipeline's batch size when unset.
   * A sink that is behind reads this many at a time to catch up, so a destination whose
   * cost is per call (a file write) should allow many.
   */
  readonly maxBatch?: number;
  /**
   * Sends in flight at most (default 1). The channel acknowledges batches in journal
   * order whatever order their sends settle in, so a crash never skips one.
   */
  readonly concurrency?: number;
  send(batch: SinkBatch): Promise<void | SendResult | undefined>;
  close?(): Promise<void>;
}

export function batchOf(chunks: readonly Uint8Array[], count: number): SinkBatch {
  let lines: string[] | undefined;
  let parsed: EventRecord[] | undefined;
  const text = () => {
    const out: string[] = [];
    for (const c of chunks) {
      const part = Buffer.from(c.buffer, c.byteOffset, c.length).toString('utf8').split('\n');
      part.pop(); // after the last newline
      for (const line of part) out.push(line);
    }
    return out;
  };
  return {
    count,
    chunks,
    lines: () => (lines ??= text()),
    records: () => (parsed ??= (lines ??= text()).map((l) => JSON.parse(l) as EventRecord)),
  };
}

/**
 * The reason a journal line that does not parse (damaged on disk by a previous run) is
 * refused for good: every attempt would fail alike, and retrying it would stall the sink.
 */
export function damagedLineReason(error: unknown): string {
  return `the journal line is not valid JSON or not an event (damaged on disk?): ${String((error as Error)?.message).slice(0, 100)}`;
}

/** A batch of the given JSON lines (for tools and tests that have lines in hand). */
export function batchOfLines(lines: readonly string[]): SinkBatch {
  return batchOf(lines.length === 0 ? [] : [Buffer.from(lines.join('\n') + '\n', 'utf8')], lines.length);
}
