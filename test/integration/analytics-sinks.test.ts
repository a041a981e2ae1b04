/**
 * Each analytics sink against a local HTTP receiver that checks the wire payload the
 * platform's HTTP API documents (bodies arrive gzipped and are decoded by the receiver),
 * and how each sink treats the platform's limits and refusals: oversized events and
 * events the platform names as invalid are rejected for good (the channel dead-letters
 * them), 429 and 5xx are retried (with the platform's Retry-After), keys never appear in
 * a message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { amplitudeSink, mixpanelSink, segmentSink, type EventRecord, type Sink } from '../../src/exposure/index.js';
import { batchOfLines, SinkSendError, type SendResult } from '../../src/exposure/sink.js';
import { Receiver } from '../helpers/receiver.js';

const exposure: EventRecord = {
  schema: 'switchyard.exposure/1',
  id: '01KB2Y9Q4M6Q8W0Z3T5V7X9B1D',
  ts: '2026-12-01T09:00:00.123Z',
  unit: 'user-42',
  service: 'checkout-api',
  experiment: 'checkout-redesign',
  flag: 'checkout-redesign',
  variant: 'treatment',
  allocation: { mode: 'gradual', version: 3, step: 2, percent: 10 },
  reason: 'SPLIT',
  provider: 'memory',
  attributes: { country: 'DE' },
};
const purchase: EventRecord = {
  schema: 'switchyard.event/1',
  id: '01KB2Y9Q4M6Q8W0Z3T5V7X9B1E',
  ts: '2026-12-01T09:05:00.000Z',
  unit: 'user-42',
  event: 'purchase',
  value: 42.5,
  properties: { sku: 'A-1' },
};
const batch = batchOfLines([JSON.stringify(exposure), JSON.stringify(purchase)]);

let receiver: Receiver;
let sink: Sink | undefined;
beforeEach(async () => {
  receiver = await new Receiver().start();
});
afterEach(async () => {
  await sink?.close?.().catch(() => {});
  sink = undefined;
  await receiver.stop();
});

describe('Segment sink (/v1/batch)', () => {
  it('posts "Experiment Viewed" and the tracked event to /v1/batch with Basic auth', async () => {
    sink = await segmentSink({ writeKey: 'wk_test_123', host: receiver.url });
    await sink.send(batch);
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/batch');
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('wk_test_123:').toString('base64')}`);
    const body = JSON.parse(req.body);
    expect(body.batch).toHaveLength(2);
    expect(body.batch[0]).toMatchObject({
      type: 'track',
      event: 'Experiment Viewed',
      userId: 'user-42',
      messageId: exposure.id,
      timestamp: '2026-12-01T09:00:00.123Z',
      properties: {
        experiment_id: 'checkout-redesign',
        experiment_name: 'checkout-redesign',
        variation_id: 'treatment',
        variation_name: 'treatment',
        allocation_version: 3,
        ramp_step: 2,
        traffic_percent: 10,
        country: 'DE',
      },
    });
    expect(body.batch[1]).toMatchObject({
      type: 'track',
      event: 'purchase',
      userId: 'user-42',
      messageId: purchase.id,
      properties: { sku: 'A-1', value: 42.5 },
    });
  });

  it('rejects the batch when Segment answers 5xx, so the pipeline retries it', async () => {
    receiver.mode = 'error';
    sink = await segmentSink({ writeKey: 'wk', host: receiver.url });
    await expect(sink.send(batch)).rejects.toThrow(/503/);
  });
});

describe('Amplitude sink (HTTP V2 /2/httpapi)', () => {
  beforeEach(() => {
    receiver.respond = (req, res) => {
      const events = JSON.parse(req.body).events ?? [];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          code: 200,
          events_ingested: events.length,
          payload_size_bytes: req.body.length,
          server_upload_time: Date.now(),
        }),
      );
    };
  });

  it("posts Amplitude Experiment's $exposure event and the tracked event to /2/httpapi", async () => {
    sink = await amplitudeSink({ apiKey: 'amp_key_0123', serverUrl: `${receiver.url}/2/httpapi` });
    await sink.send(batch);
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.path).toBe('/2/httpapi');
    const body = JSON.parse(req.body);
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(body.api_key).toBe('amp_key_0123');
    expect(body.options).toEqual({ min_id_length: 1 });
    expect(body.events).toHaveLength(2);
    expect(body.events[0]).toMatchObject({
      event_type: '$exposure',
      user_id: 'user-42',
      insert_id: exposure.id,
      time: Date.parse(exposure.ts),
      event_properties: {
        flag_key: 'checkout-redesign',
        variant: 'treatment',
        experiment_key: 'checkout-redesign',
        allocation_version: 3,
      },
    });
    expect(body.events[1]).toMatchObject({
      event_type: 'purchase',
      user_id: 'user-42',
      insert_id: purchase.id,
      event_properties: { sku: 'A-1', value: 42.5 },
    });
  });

  it('rejects the batch when Amplitude answers 5xx', async () => {
    receiver.mode = 'error';
    sink = await amplitudeSink({ apiKey: 'k', serverUrl: `${receiver.url}/2/httpapi` });
    await expect(sink.send(batch)).rejects.toThrow(/amplitude answered/);
  });
});

describe('Mixpanel sink (/import)', () => {
  beforeEach(() => {
    receiver.respond = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 200, num_records_imported: JSON.parse(req.body).length, status: 'OK' }));
    };
  });

  it('posts $experiment_started with "Experiment name" and "Variant name" to /import?strict=1 as a JSON array, token as Basic auth user', async () => {
    sink = await mixpanelSink({ token: 'mp_token_9', host: `127.0.0.1:${receiver.port}`, protocol: 'http' });
    await sink.send(batch);
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/import?strict=1');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('mp_token_9:').toString('base64')}`);
    const events = JSON.parse(req.body);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      event: '$experiment_started',
      properties: {
        token: 'mp_token_9',
        distinct_id: 'user-42',
        $insert_id: exposure.id,
        time: Date.parse(exposure.ts),
        'Experiment name': 'checkout-redesign',
        'Variant name': 'treatment',
        allocation_version: 3,
        country: 'DE',
      },
    });
    expect(events[1]).toMatchObject({
      event: 'purchase',
      properties: { distinct_id: 'user-42', $insert_id: purchase.id, sku: 'A-1', value: 42.5 },
    });
  });

  it('rejects for good the records /import lists as failed, with its message, and takes the rest as imported', async () => {
    receiver.respond = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          code: 400,
          error: 'some data points in the request failed validation',
          failed_records: [
            { index: 1, $insert_id: purchase.id, field: 'properties.time', message: "'properties.time' is invalid" },
          ],
          num_records_imported: 1,
          status: 'Bad Request',
        }),
      );
    };
    sink = await mixpanelSink({ token: 't0k3n', host: `127.0.0.1:${receiver.port}`, protocol: 'http' });
    const result = (await sink.send(batch)) as SendResult;
    expect(result.rejected).toEqual([{ index: 1, reason: "mixpanel answered 400: 'properties.time' is invalid" }]);
    expect(receiver.requests).toHaveLength(1);
  });
});

function bigBatch(n: number, pad = 0): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      ...exposure,
      id: `01KB2Y9Q4M6Q8W0Z3T5V${String(i).padStart(6, '0')}`,
      unit: `user-${i}`,
      attributes: pad > 0 && i === 3 ? { blob: 'x'.repeat(pad) } : { country: 'DE' },
    }),
  );
}

describe('limits and refusals, every platform', () => {
  const platforms = {
    segment: () => segmentSink({ writeKey: 'wk_secret_77', host: receiver.url }),
    amplitude: () => amplitudeSink({ apiKey: 'amp_secret_77', serverUrl: `${receiver.url}/2/httpapi` }),
    mixpanel: () => mixpanelSink({ token: 'mp_secret_77', host: `127.0.0.1:${receiver.port}`, protocol: 'http' }),
  };
  const eventsIn = (body: string): unknown[] => {
    const parsed = JSON.parse(body) as { batch?: unknown[]; events?: unknown[] } | unknown[];
    return Array.isArray(parsed) ? parsed : (parsed.batch ?? parsed.events)!;
  };
  const keys = { segment: 'wk_secret_77', amplitude: 'amp_secret_77', mixpanel: 'mp_secret_77' };
  const limits = { segment: 32_000, amplitude: 1_000_000, mixpanel: 1_000_000 };

  for (const [name, make] of Object.entries(platforms) as [keyof typeof platforms, () => Promise<Sink>][]) {
    it(`${name}: an event over the platform's size limit is rejected with the reason, the others delivered`, async () => {
      sink = await make();
      const lines = bigBatch(6, limits[name] + 100);
      const result = (await sink.send(batchOfLines(lines))) as SendResult;
      expect(result.rejected).toHaveLength(1);
      expect(result.rejected[0]!.index).toBe(3);
      expect(result.rejected[0]!.reason).toMatch(new RegExp(`${name} takes events of at most ${limits[name]} bytes`));
      const delivered = receiver.requests.flatMap((r) => eventsIn(r.body));
      expect(delivered).toHaveLength(5);
    });

    it(`${name}: batches are split to the platform's request limits`, async () => {
      sink = await make();
      // 3,000 events: over every platform's events-per-request limit (2,000), and over Segment's 500 KB.
      await sink.send(batchOfLines(bigBatch(3000)));
      const sizes = receiver.requests.map((r) => eventsIn(r.body).length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(3000);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(2000);
      for (const r of receiver.requests)
        expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(
          name === 'segment' ? 500_000 : name === 'amplitude' ? 1_000_000 : 2_000_000,
        );
      if (name === 'segment') expect(receiver.requests.length).toBeGreaterThanOrEqual(3);
    });

    it(`${name}: 429 is retried later, after the platform's Retry-After, and no key reaches the message`, async () => {
      receiver.respond = (_req, res) => {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
        res.end(
          JSON.stringify({
            code: 429,
            error: `too many requests for key ${keys[name]}`,
          }),
        );
      };
      sink = await make();
      const error = (await sink.send(batch).catch((e: unknown) => e)) as SinkSendError;
      expect(error).toBeInstanceOf(SinkSendError);
      expect(error.retryAfterMs).toBe(7000);
      expect(error.message).toMatch(new RegExp(`${name} answered 429`));
      expect(error.message).toMatch(/too many requests for key \[redacted\]/);
      expect(error.message).not.toContain(keys[name]);
    });
  }

  it('segment: a 400 for the whole request is halved until the bad event is alone; only it is rejected', async () => {
    receiver.respond = (req, res) => {
      const events = eventsIn(req.body) as { messageId: string }[];
      const bad = events.some((e) => e.messageId.endsWith('000005'));
      res.writeHead(bad ? 400 : 200, { 'content-type': 'application/json' });
      res.end(bad ? '{"success":false,"message":"Invalid event"}' : '{"success":true}');
    };
    sink = await platforms.segment();
    const result = (await sink.send(batchOfLines(bigBatch(16)))) as SendResult;
    expect(result.rejected).toEqual([{ index: 5, reason: 'segment answered 400: Invalid event' }]);
    const delivered = receiver.requests
      .filter((r) => !(eventsIn(r.body) as { messageId: string }[]).some((e) => e.messageId.endsWith('000005')))
      .flatMap((r) => eventsIn(r.body));
    expect(delivered).toHaveLength(15);
  });

  it('amplitude: a 400 naming invalid events rejects those and sends the rest again', async () => {
    let calls = 0;
    receiver.respond = (req, res) => {
      calls++;
      const events = eventsIn(req.body);
      if (calls === 1) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            code: 400,
            error: 'Invalid field values on some events',
            events_with_invalid_fields: { time: [2] },
            events_with_missing_fields: { event_type: [4] },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 200, events_ingested: events.length }));
    };
    sink = await platforms.amplitude();
    const result = (await sink.send(batchOfLines(bigBatch(6)))) as SendResult;
    expect(result.rejected.map((r) => r.index).sort()).toEqual([2, 4]);
    expect(result.rejected[0]!.reason).toBe('amplitude answered 400: Invalid field values on some events');
    expect(receiver.requests).toHaveLength(2);
    expect(eventsIn(receiver.requests[1]!.body)).toHaveLength(4);
  });

  it('amplitude: 413 splits the request in halves', async () => {
    receiver.respond = (req, res) => {
      const n = eventsIn(req.body).length;
      res.writeHead(n > 2 ? 413 : 200, { 'content-type': 'application/json' });
      res.end(n > 2 ? '{"code":413,"error":"Payload too large"}' : JSON.stringify({ code: 200, events_ingested: n }));
    };
    sink = await platforms.amplitude();
    expect(await sink.send(batchOfLines(bigBatch(8)))).toBeUndefined();
    const accepted = receiver.requests.filter((r) => eventsIn(r.body).length <= 2);
    expect(accepted.flatMap((r) => eventsIn(r.body))).toHaveLength(8);
  });
});

describe('properties named like Object.prototype members', () => {
  // Names a caller may well use (a product's "constructor", a "toString" flag, "__proto__" from
  // hostile input): each reaches every platform as the caller's property, as any other name does.
  // Before, `key in into` found them on Object.prototype and dropped them silently.
  const names = ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__'];
  const properties = JSON.parse(`{${names.map((n, i) => `"${n}": "p${i}"`).join(', ')}}`) as Record<string, unknown>;
  const attributes = JSON.parse(`{${names.map((n, i) => `"${n}": "a${i}"`).join(', ')}}`) as Record<string, string>;
  const lines = batchOfLines([
    JSON.stringify({ ...exposure, attributes }),
    JSON.stringify({ ...purchase, properties }),
  ]);
  const expected = (prefix: string) => Object.fromEntries(names.map((n, i) => [n, `${prefix}${i}`]));

  for (const [platform, make, pick] of [
    [
      'segment',
      () => segmentSink({ writeKey: 'wk', host: receiver.url }),
      (b: any) => b.batch.map((e: any) => e.properties),
    ],
    [
      'amplitude',
      () => amplitudeSink({ apiKey: 'ak', serverUrl: `${receiver.url}/2/httpapi` }),
      (b: any) => b.events.map((e: any) => e.event_properties),
    ],
    [
      'mixpanel',
      () => mixpanelSink({ token: 'tk', host: `127.0.0.1:${receiver.port}`, protocol: 'http' }),
      (b: any) => b.map((e: any) => e.properties),
    ],
  ] as const) {
    it(`${platform}: every such attribute and property is sent`, async () => {
      sink = await make();
      await sink.send(lines);
      const bodies = receiver.requests.map((r) => JSON.parse(r.body));
      const [exposed, tracked] = bodies.flatMap(pick) as Record<string, unknown>[];
      for (const [n, v] of Object.entries(expected('a')))
        expect(Object.getOwnPropertyDescriptor(exposed, n)?.value, n).toBe(v);
      for (const [n, v] of Object.entries(expected('p')))
        expect(Object.getOwnPropertyDescriptor(tracked, n)?.value, n).toBe(v);
    });
  }
});
