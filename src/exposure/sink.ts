import type { EventRecord } from './schema.js';

/** One batch handed to a sink: the serialized lines, parsed on demand. */
export interface SinkBatch {
  readonly lines: readonly string[];
  records(): readonly EventRecord[];
}

/**
 * A destination for events. `send` resolves when the destination has accepted the
 * whole batch and rejects otherwise; the pipeline retries with back-off. Delivery is at
 * least once: a batch may arrive again after a failure or a restart, with the same ids.
 */
export interface Sink {
  readonly name: string;
  send(batch: SinkBatch): Promise<void>;
  close?(): Promise<void>;
}

export function batchOf(lines: readonly string[]): SinkBatch {
  let parsed: EventRecord[] | undefined;
  return {
    lines,
    records: () => (parsed ??= lines.map((l) => JSON.parse(l) as EventRecord)),
  };
}
