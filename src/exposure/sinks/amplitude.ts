/**
 * Amplitude, through the HTTP V2 API (`POST /2/httpapi`, JSON `{api_key, events}`;
 * Amplitude docs, "HTTP V2 API") or, when the URL ends in /batch, the Batch Event Upload
 * API (same body; "Batch Event Upload API"). Exposures become Amplitude Experiment's
 * exposure event, `$exposure` with flag_key, variant and experiment_key; tracked events
 * keep their name. insert_id is the event id, so Amplitude dedupes redeliveries.
 *
 * Limits: HTTP V2 takes up to 2,000 events and 1 MB a request ("Upload limit"; 413
 * beyond), Batch up to 20 MB; an event alone must fit a request. 429 (a user or device
 * over its events per second) is retried after back-off, honouring Retry-After. A 400
 * names the events at fault (events_with_invalid_fields, events_with_missing_fields,
 * events_with_invalid_id_lengths, silenced_events): those are dead-lettered and the rest
 * sent again, as "Batch and retry HTTP V2 API requests" says. Bodies are gzipped (the
 * API counts events "after it decompresses a gzip-encoded body").
 */
import { PLATFORM_LIMITS } from '../../config/index.js';
import type { EventRecord } from '../schema.js';
import type { Sink, SinkBatch } from '../sink.js';
import { BatchPoster, resolveSendOptions, type SendOptions, summary } from './batch-http.js';
import { addExposureProperties, addTrackedProperties, isExposure } from './platform.js';

export interface AmplitudeSinkOptions extends SendOptions {
  apiKey: string;
  /** Default https://api2.amplitude.com/2/httpapi. */
  serverUrl?: string;
}

/** The indices a 400 answer names, in every list the HTTP V2 API documents. */
function faulted(body: Record<string, unknown>): number[] {
  const out = new Set<number>();
  const add = (x: unknown) => {
    if (Array.isArray(x)) for (const i of x) if (Number.isInteger(i)) out.add(i as number);
  };
  for (const key of ['events_with_invalid_fields', 'events_with_missing_fields', 'events_with_invalid_id_lengths']) {
    const byField = body[key];
    if (byField && typeof byField === 'object') for (const v of Object.values(byField)) add(v);
  }
  add(body.silenced_events);
  return [...out];
}

/** Amplitude's event for a journal record (an element of the request's `events`). */
export function amplitudeEvent(r: EventRecord): unknown {
  return isExposure(r)
    ? {
        event_type: '$exposure',
        user_id: r.unit,
        insert_id: r.id,
        time: Date.parse(r.ts),
        event_properties: addExposureProperties(
          { flag_key: r.flag, variant: r.variant, experiment_key: r.experiment },
          r,
        ),
      }
    : {
        event_type: r.event,
        user_id: r.unit,
        insert_id: r.id,
        time: Date.parse(r.ts),
        event_properties: addTrackedProperties({}, r),
      };
}

export async function amplitudeSink(options: AmplitudeSinkOptions): Promise<Sink> {
  const url = options.serverUrl ?? 'https://api2.amplitude.com/2/httpapi';
  const batchApi = new URL(url).pathname.endsWith('/batch');
  const limits = PLATFORM_LIMITS[batchApi ? 'amplitudeBatch' : 'amplitude'];
  const send = resolveSendOptions('amplitude', limits, 2000, options);
  const head = `{"api_key":${JSON.stringify(options.apiKey)},"events":[`;
  const poster = new BatchPoster(
    'amplitude',
    {
      maxEvents: send.maxEvents,
      maxBytes: send.maxBytes,
      limitBytes: limits.maxBytes,
      maxEventBytes: send.maxEventBytes,
      headers: { 'content-type': 'application/json' },
      head: () => head,
      // Unit ids are whatever the service uses; Amplitude's default minimum is 5 characters.
      tail: () => '],"options":{"min_id_length":1}}',
      event: amplitudeEvent,
      rejected(status, text) {
        if (status < 400) return undefined;
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON: refused whole
        }
        const indices = faulted(body);
        return { message: summary(text), indices: indices.length > 0 ? indices : undefined, resendRest: true };
      },
    },
    {
      url,
      connections: send.concurrency * 2,
      timeoutMs: send.timeoutMs,
      gzipLevel: send.gzipLevel,
      secrets: [options.apiKey],
      splice: options.splice,
    },
  );
  return {
    name: 'amplitude',
    maxBatch: send.maxEvents,
    concurrency: send.concurrency,
    send: (batch: SinkBatch) => poster.send(batch),
    close: () => poster.close(),
  };
}
