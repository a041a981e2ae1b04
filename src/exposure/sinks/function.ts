import type { EventRecord } from '../schema.js';
import type { Sink, SinkBatch } from '../sink.js';

/** A sink for custom destinations: the function gets each batch's records; a throw or rejection means "retry later". */
export function functionSink(name: string, deliver: (records: readonly EventRecord[]) => void | Promise<void>): Sink {
  return {
    name,
    async send(batch: SinkBatch) {
      await deliver(batch.records());
    },
  };
}
