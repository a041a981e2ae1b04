/**
 * Segment, through @segment/analytics-node. Exposures become Segment's "Experiment
 * Viewed" track call (Segment's A/B testing spec: experiment_id, experiment_name,
 * variation_id, variation_name); tracked events keep their name. messageId is the event
 * id, so Segment dedupes redeliveries. The SDK's own retries are off: the pipeline's
 * channel retries, with the events safe in the journal meanwhile.
 */
import type { Sink, SinkBatch } from '../sink.js';
import { exposureProperties, isExposure, loadSdk, trackedProperties, userEvents } from './platform.js';

export interface SegmentSinkOptions {
  writeKey: string;
  /** Default https://api.segment.io; tests point it at a local receiver. */
  host?: string;
  path?: string;
  timeoutMs?: number;
}

interface SegmentAnalytics {
  track(message: Record<string, unknown>, callback: (err?: unknown) => void): void;
  flush(options?: { timeout?: number }): Promise<void>;
  closeAndFlush(options?: { timeout?: number }): Promise<void>;
}

export async function segmentSink(options: SegmentSinkOptions): Promise<Sink> {
  const { Analytics } = await loadSdk<{ Analytics: new (settings: Record<string, unknown>) => SegmentAnalytics }>(
    '@segment/analytics-node',
    'segment',
  );
  const analytics = new Analytics({
    writeKey: options.writeKey,
    host: options.host,
    path: options.path,
    maxRetries: 0,
    flushAt: 500,
    flushInterval: 3_600_000,
    httpRequestTimeout: options.timeoutMs ?? 10_000,
  });
  return {
    name: 'segment',
    async send(batch: SinkBatch) {
      const delivered = userEvents(batch).map(
        (r) =>
          new Promise<void>((resolve, reject) => {
            const common = { userId: r.unit, messageId: r.id, timestamp: r.ts };
            const message = isExposure(r)
              ? {
                  ...common,
                  event: 'Experiment Viewed',
                  properties: {
                    experiment_id: r.experiment,
                    experiment_name: r.experiment,
                    variation_id: r.variant,
                    variation_name: r.variant,
                    ...exposureProperties(r),
                  },
                }
              : { ...common, event: r.event, properties: trackedProperties(r) };
            analytics.track(message, (err) =>
              err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
            );
          }),
      );
      // Handle the outcome before flushing: the callbacks settle during the flush.
      const outcome = Promise.all(delivered);
      outcome.catch(() => {});
      await analytics.flush({ timeout: options.timeoutMs ?? 10_000 });
      await outcome;
    },
    close: () => analytics.closeAndFlush({ timeout: 1000 }),
  };
}
