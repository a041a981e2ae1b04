import type { EventRecord } from '../schema.js';
import { damagedLineReason, type SendResult, type Sink, type SinkBatch } from '../sink.js';

/**
 * A sink for custom destinations: the function gets each batch's records; a throw or
 * rejection means "retry later". A line that does not parse (damaged on disk) is not
 * passed on but dead-lettered.
 */
export function functionSink(name: string, deliver: (records: readonly EventRecord[]) => void | Promise<void>): Sink {
  return {
    name,
    async send(batch: SinkBatch): Promise<SendResult | undefined> {
      const records: EventRecord[] = [];
      const rejected: { index: number; reason: string }[] = [];
      batch.lines().forEach((line, index) => {
        try {
          records.push(JSON.parse(line) as EventRecord);
        } catch (error) {
          rejected.push({ index, reason: damagedLineReason(error) });
        }
      });
      await deliver(records);
      return rejected.length > 0 ? { rejected } : undefined;
    },
  };
}
