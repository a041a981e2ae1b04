/**
 * Mixpanel, through the Import Events API (`POST /import?strict=1`, a JSON array of
 * events; Mixpanel docs, "Import Events"), authenticated with the project token as the
 * Basic auth user name, which /import accepts besides service accounts. /import, not
 * /track: it takes events of any age (/track only the last 5 days, which a catch-up
 * after a long outage would miss) and, in strict mode, says which events it refused.
 * Exposures become Mixpanel's experiment event, `$experiment_started` with "Experiment
 * name" and "Variant name"; tracked events keep their name. $insert_id is the event id,
 * so Mixpanel dedupes redeliveries.
 *
 * Limits (same page): up to 2,000 events and 2 MB uncompressed a request, an event under
 * 1 MB; gzip accepted. A 400 lists failed_records by index, with the others imported:
 * those are dead-lettered with Mixpanel's message. 429 is retried after back-off,
 * honouring Retry-After.
 */
import { PLATFORM_LIMITS } from '../../config/index.js';
import type { EventRecord } from '../schema.js';
import type { Sink, SinkBatch } from '../sink.js';
import { BatchPoster, resolveSendOptions, type SendOptions, summary } from './batch-http.js';
import { addExposureProperties, addTrackedProperties, isExposure } from './platform.js';

export interface MixpanelSinkOptions extends SendOptions {
  token: string;
  /** Default api.mixpanel.com; "host:port" is accepted (tests point it at a local receiver). */
  host?: string;
  protocol?: 'http' | 'https';
}

/** Mixpanel's event for a journal record (an element of /import's array), with the project token. */
export function mixpanelEvent(token: string, r: EventRecord): unknown {
  return isExposure(r)
    ? {
        event: '$experiment_started',
        properties: addExposureProperties(
          {
            token,
            distinct_id: r.unit,
            time: Date.parse(r.ts),
            $insert_id: r.id,
            'Experiment name': r.experiment,
            'Variant name': r.variant,
          },
          r,
        ),
      }
    : {
        event: r.event,
        properties: addTrackedProperties({ token, distinct_id: r.unit, time: Date.parse(r.ts), $insert_id: r.id }, r),
      };
}

export async function mixpanelSink(options: MixpanelSinkOptions): Promise<Sink> {
  const send = resolveSendOptions('mixpanel', PLATFORM_LIMITS.mixpanel, 2000, options);
  const poster = new BatchPoster(
    'mixpanel',
    {
      maxEvents: send.maxEvents,
      maxBytes: send.maxBytes,
      limitBytes: PLATFORM_LIMITS.mixpanel.maxBytes,
      maxEventBytes: send.maxEventBytes,
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${options.token}:`).toString('base64')}`,
      },
      head: () => '[',
      tail: () => ']',
      event: (r) => mixpanelEvent(options.token, r),
      rejected(status, text) {
        if (status < 400) return undefined;
        let body: { failed_records?: { index?: unknown; message?: unknown }[] } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          // not JSON: refused whole
        }
        const failed = (body.failed_records ?? []).filter((f) => Number.isInteger(f.index));
        if (failed.length === 0) return { message: summary(text), resendRest: true };
        return {
          message: summary(text),
          indices: failed.map((f) => f.index as number),
          reasons: failed.map((f) => (typeof f.message === 'string' ? f.message : '')),
          resendRest: false,
        };
      },
    },
    {
      url: `${options.protocol ?? 'https'}://${options.host ?? 'api.mixpanel.com'}/import?strict=1`,
      connections: send.concurrency * 2,
      timeoutMs: send.timeoutMs,
      gzipLevel: send.gzipLevel,
      secrets: [options.token],
      splice: options.splice,
    },
  );
  return {
    name: 'mixpanel',
    maxBatch: send.maxEvents,
    concurrency: send.concurrency,
    send: (batch: SinkBatch) => poster.send(batch),
    close: () => poster.close(),
  };
}
