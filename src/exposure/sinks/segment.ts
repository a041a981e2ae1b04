/**
 * Segment, through its HTTP Tracking API's batch endpoint (`POST /v1/batch`, Basic auth
 * with the write key as user name; Segment docs, "HTTP API Source"). Exposures become
 * Segment's "Experiment Viewed" track call (Segment's A/B testing spec: experiment_id,
 * experiment_name, variation_id, variation_name); tracked events keep their name.
 * messageId is the event id, so Segment dedupes redeliveries.
 *
 * Limits (same page, "Max request size"): 500 KB a batch request and 32 KB an event,
 * else 400 Bad Request; taken as 500,000 and 32,000 bytes. Bodies are gzipped: the
 * Tracking API decompresses `Content-Encoding: gzip` (Segment engineering, "Gzip",
 * f2prateek.com/2016/06/05/gzip, the libraries' own uploads). Segment answers 200 to
 * anything else it takes, 400 to a request it refuses whole.
 */
import { PLATFORM_LIMITS } from '../../config/index.js';
import type { EventRecord } from '../schema.js';
import type { Sink, SinkBatch } from '../sink.js';
import { BatchPoster, resolveSendOptions, type SendOptions } from './batch-http.js';
import { addExposureProperties, addTrackedProperties, isExposure } from './platform.js';

export interface SegmentSinkOptions extends SendOptions {
  writeKey: string;
  /** Default https://api.segment.io; tests point it at a local receiver. */
  host?: string;
  /** Default /v1/batch. */
  path?: string;
}

const LIBRARY = { library: { name: 'switchyard' } };

/** Segment's track call for a journal record (the event inside /v1/batch's `batch`). */
export function segmentEvent(r: EventRecord): unknown {
  return isExposure(r)
    ? {
        type: 'track',
        event: 'Experiment Viewed',
        userId: r.unit,
        messageId: r.id,
        timestamp: r.ts,
        properties: addExposureProperties(
          {
            experiment_id: r.experiment,
            experiment_name: r.experiment,
            variation_id: r.variant,
            variation_name: r.variant,
          },
          r,
        ),
        context: LIBRARY,
      }
    : {
        type: 'track',
        event: r.event,
        userId: r.unit,
        messageId: r.id,
        timestamp: r.ts,
        properties: addTrackedProperties({}, r),
        context: LIBRARY,
      };
}

export async function segmentSink(options: SegmentSinkOptions): Promise<Sink> {
  const send = resolveSendOptions('segment', PLATFORM_LIMITS.segment, 1000, options);
  const poster = new BatchPoster(
    'segment',
    {
      maxEvents: send.maxEvents,
      maxBytes: send.maxBytes,
      limitBytes: PLATFORM_LIMITS.segment.maxBytes,
      maxEventBytes: send.maxEventBytes,
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`,
      },
      head: () => '{"batch":[',
      tail: () => `],"sentAt":"${new Date().toISOString()}"}`,
      event: segmentEvent,
      // A 400 refuses the whole request without saying which event: the poster halves it.
      rejected: () => undefined,
    },
    {
      url: `${(options.host ?? 'https://api.segment.io').replace(/\/+$/, '')}${options.path ?? '/v1/batch'}`,
      connections: send.concurrency * 2,
      timeoutMs: send.timeoutMs,
      gzipLevel: send.gzipLevel,
      secrets: [options.writeKey],
      splice: options.splice,
    },
  );
  return {
    name: 'segment',
    // About 1,000 exposures fill Segment's 500 KB: one send is one request or two.
    maxBatch: send.maxEvents,
    concurrency: send.concurrency,
    send: (batch: SinkBatch) => poster.send(batch),
    close: () => poster.close(),
  };
}
