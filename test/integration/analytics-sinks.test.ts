/**
 * Each analytics sink, through the platform's official SDK, against a local HTTP
 * receiver that checks the wire payload the platform's HTTP API documents.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { amplitudeSink, mixpanelSink, segmentSink, type EventRecord, type Sink } from '../../src/exposure/index.js';
import { batchOfLines } from '../../src/exposure/sink.js';
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

describe('Segment sink (@segment/analytics-node)', () => {
  it('posts "Experiment Viewed" and the tracked event to /v1/batch with Basic auth', async () => {
    sink = await segmentSink({ writeKey: 'wk_test_123', host: receiver.url });
    await sink.send(batch);
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/batch');
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

describe('Amplitude sink (@amplitude/analytics-node)', () => {
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
    expect(body.api_key).toBe('amp_key_0123');
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

describe('Mixpanel sink (mixpanel)', () => {
  beforeEach(() => {
    receiver.respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":1,"error":null}');
    };
  });

  it('posts $experiment_started with "Experiment name" and "Variant name" to /track, base64 form-encoded', async () => {
    sink = await mixpanelSink({ token: 'mp_token_9', host: `127.0.0.1:${receiver.port}`, protocol: 'http' });
    await sink.send(batch);
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/track?ip=0&verbose=1');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const data = new URLSearchParams(req.body).get('data')!;
    const events = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
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
        country: 'DE',
      },
    });
    expect(events[1]).toMatchObject({
      event: 'purchase',
      properties: { distinct_id: 'user-42', $insert_id: purchase.id, sku: 'A-1', value: 42.5 },
    });
  });

  it('rejects the batch when Mixpanel reports an error', async () => {
    receiver.respond = (_req, res) => {
      res.writeHead(200);
      res.end('{"status":0,"error":"token invalid"}');
    };
    sink = await mixpanelSink({ token: 't', host: `127.0.0.1:${receiver.port}`, protocol: 'http' });
    await expect(sink.send(batch)).rejects.toThrow(/Mixpanel Server Error: token invalid/);
  });
});
