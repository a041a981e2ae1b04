/**
 * Mixpanel, through the `mixpanel` package. Exposures become Mixpanel's experiment
 * event, `$experiment_started` with "Experiment name" and "Variant name"; tracked events
 * keep their name. $insert_id is the event id, so Mixpanel dedupes redeliveries.
 * Sent with verbose=1, so a rejected batch is an error, not a silent "0".
 */
import type { Sink, SinkBatch } from '../sink.js';
import { exposureProperties, isExposure, loadSdk, trackedProperties, userEvents } from './platform.js';

export interface MixpanelSinkOptions {
  token: string;
  /** Default api.mixpanel.com; "host:port" is accepted (tests point it at a local receiver). */
  host?: string;
  protocol?: 'http' | 'https';
}

interface MixpanelClient {
  track_batch(
    events: Record<string, unknown>[],
    options: Record<string, unknown>,
    callback: (errors?: Error[] | null) => void,
  ): void;
}

export async function mixpanelSink(options: MixpanelSinkOptions): Promise<Sink> {
  const mod = await loadSdk<{
    default?: { init: (token: string, config: Record<string, unknown>) => MixpanelClient };
    init?: (token: string, config: Record<string, unknown>) => MixpanelClient;
  }>('mixpanel', 'mixpanel');
  const init = mod.init ?? mod.default!.init;
  const [host, port] = (options.host ?? 'api.mixpanel.com').split(':');
  const client = init(options.token, {
    host,
    ...(port ? { port: Number(port) } : {}),
    protocol: options.protocol ?? 'https',
    verbose: true,
    keepAlive: false,
  });
  return {
    name: 'mixpanel',
    send(batch: SinkBatch) {
      const events = userEvents(batch).map((r) => {
        const common = { distinct_id: r.unit, time: Date.parse(r.ts), $insert_id: r.id };
        return isExposure(r)
          ? {
              event: '$experiment_started',
              properties: {
                ...common,
                'Experiment name': r.experiment,
                'Variant name': r.variant,
                ...exposureProperties(r),
              },
            }
          : { event: r.event, properties: { ...common, ...trackedProperties(r) } };
      });
      return new Promise<void>((resolve, reject) =>
        client.track_batch(events, { max_batch_size: 50 }, (errors) =>
          errors && errors.length > 0 ? reject(errors[0]) : resolve(),
        ),
      );
    },
  };
}
