/**
 * Amplitude, through @amplitude/analytics-node. Exposures become Amplitude Experiment's
 * exposure event, `$exposure` with flag_key, variant and experiment_key; tracked events
 * keep their name. insert_id is the event id, so Amplitude dedupes redeliveries.
 */
import type { Sink, SinkBatch } from '../sink.js';
import { exposureProperties, isExposure, loadSdk, trackedProperties, userEvents } from './platform.js';

export interface AmplitudeSinkOptions {
  apiKey: string;
  /** Default https://api2.amplitude.com/2/httpapi. */
  serverUrl?: string;
}

interface AmplitudeResult {
  code: number;
  message: string;
}
interface AmplitudeClient {
  init(apiKey: string, options: Record<string, unknown>): { promise: Promise<void> };
  track(event: Record<string, unknown>): { promise: Promise<AmplitudeResult> };
  flush(): { promise: Promise<void> };
}

export async function amplitudeSink(options: AmplitudeSinkOptions): Promise<Sink> {
  const { createInstance } = await loadSdk<{ createInstance: () => AmplitudeClient }>(
    '@amplitude/analytics-node',
    'amplitude',
  );
  const client = createInstance();
  await client.init(options.apiKey, {
    serverUrl: options.serverUrl,
    flushQueueSize: 1000,
    flushIntervalMillis: 3_600_000,
    flushMaxRetries: 1,
    // Unit ids are whatever the service uses; Amplitude's default minimum is 5 characters.
    minIdLength: 1,
    logLevel: 0,
  }).promise;
  return {
    name: 'amplitude',
    async send(batch: SinkBatch) {
      const results = userEvents(batch).map((r) => {
        const common = { user_id: r.unit, insert_id: r.id, time: Date.parse(r.ts) };
        const event = isExposure(r)
          ? {
              ...common,
              event_type: '$exposure',
              event_properties: {
                flag_key: r.flag,
                variant: r.variant,
                experiment_key: r.experiment,
                ...exposureProperties(r),
              },
            }
          : { ...common, event_type: r.event, event_properties: trackedProperties(r) };
        return client.track(event).promise;
      });
      const outcome = Promise.all(results);
      outcome.catch(() => {});
      await client.flush().promise;
      for (const result of await outcome) {
        if (result.code < 200 || result.code >= 300)
          throw new Error(`amplitude answered ${result.code}: ${result.message}`);
      }
    },
    async close() {
      await client.flush().promise;
    },
  };
}
