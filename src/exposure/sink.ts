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
 * A destination for events. `send` resolves when the destination has accepted the
 * whole batch and rejects otherwise; the pipeline retries with back-off. Delivery is at
 * least once: a batch may arrive again after a failure or a restart, with the same ids.
 */
export interface Sink {
  readonly name: string;
  /**
   * The most events this sink takes in one send; the pipeline's batch size when unset.
   * A sink that is behind reads this many at a time to catch up, so a destination whose
   * cost is per call (a file write) should allow many.
   */
  readonly maxBatch?: number;
  send(batch: SinkBatch): Promise<void>;
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

/** A batch of the given JSON lines (for tools and tests that have lines in hand). */
export function batchOfLines(lines: readonly string[]): SinkBatch {
  return batchOf(lines.length === 0 ? [] : [Buffer.from(lines.join('\n') + '\n', 'utf8')], lines.length);
}
