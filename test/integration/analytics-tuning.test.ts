/**
 * How each analytics sink sends, as configured: gzip on (a level) or off, events and
 * bytes at most a request, values above the platform's limits refused with the limit
 * named; and request bodies built in reused buffers never mix one request's events into
 * another's, with many sends in flight.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { amplitudeSink, mixpanelSink, segmentSink, type EventRecord, type Sink } from '../../src/exposure/index.js';
import { batchOfLines } from '../../src/exposure/sink.js';
import type { SendOptions } from '../../src/exposure/sinks/batch-http.js';
import { Receiver } from '../helpers/receiver.js';

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

const exposure = (i: number, attributes: Record<string, string | number | boolean> = { country: 'DE' }): string =>
  JSON.stringify({
    schema: 'switchyard.exposure/1',
    id: `01KB2Y9Q4M6Q8W0Z3T5V${String(i).padStart(6, '0')}`,
    ts: '2026-12-01T09:00:00.123Z',
    unit: `user-${i}`,
    experiment: 'checkout-redesign',
    flag: 'checkout-redesign',
    variant: i % 2 ? 'treatment' : 'control',
    allocation: { mode: 'fixed', version: 1, step: 0, percent: 100 },
    reason: 'SPLIT',
    provider: 'memory',
    attributes,
  } satisfies EventRecord);

const platforms = {
  segment: (o: SendOptions) => segmentSink({ writeKey: 'wk_t', host: receiver.url, ...o }),
  amplitude: (o: SendOptions) => amplitudeSink({ apiKey: 'amp_t', serverUrl: `${receiver.url}/2/httpapi`, ...o }),
  mixpanel: (o: SendOptions) =>
    mixpanelSink({ token: 'mp_t', host: `127.0.0.1:${receiver.port}`, protocol: 'http', ...o }),
};
/** The platform's events in a body, and each one's id (what the platform dedupes by). */
const eventsIn = (body: string): Record<string, unknown>[] => {
  const parsed = JSON.parse(body) as { batch?: unknown[]; events?: unknown[] } | unknown[];
  return (Array.isArray(parsed) ? parsed : (parsed.batch ?? parsed.events)!) as Record<string, unknown>[];
};
const idOf = (e: Record<string, unknown>): string =>
  (e.messageId ?? e.insert_id ?? (e.properties as Record<string, unknown>).$insert_id) as string;
const limits = {
  segment: /batchSize may be at most 2,500 \(Segment takes at most 500 KB a request\), found 2501/,
  amplitude:
    /batchSize may be at most 2,000 \(Amplitude's HTTP V2 API takes at most 2,000 events and 1 MB a request\), found 2001/,
  mixpanel:
    /batchSize may be at most 2,000 \(Mixpanel's \/import takes at most 2,000 events and 2 MB a request\), found 2001/,
};

describe('send tuning, every platform', () => {
  for (const [name, make] of Object.entries(platforms) as [keyof typeof platforms, typeof platforms.segment][]) {
    it(`${name}: compress false sends the JSON as it is, a level sends gzip`, async () => {
      sink = await make({ compress: false });
      await sink.send(batchOfLines([exposure(1), exposure(2)]));
      await sink.close?.();
      sink = await make({ compress: 9 });
      await sink.send(batchOfLines([exposure(3)]));
      expect(receiver.requests).toHaveLength(2);
      expect(receiver.requests[0]!.headers['content-encoding']).toBeUndefined();
      expect(eventsIn(receiver.requests[0]!.body).map(idOf)).toEqual([
        '01KB2Y9Q4M6Q8W0Z3T5V000001',
        '01KB2Y9Q4M6Q8W0Z3T5V000002',
      ]);
      expect(receiver.requests[1]!.headers['content-encoding']).toBe('gzip');
      expect(eventsIn(receiver.requests[1]!.body).map(idOf)).toEqual(['01KB2Y9Q4M6Q8W0Z3T5V000003']);
    });

    it(`${name}: batchSize and batchBytes bound each request; an event over batchBytes goes alone, not dead-lettered`, async () => {
      sink = await make({ batchSize: 3, batchBytes: 2048, compress: false });
      expect(sink.maxBatch).toBe(3);
      const lines = Array.from({ length: 7 }, (_, i) => exposure(i));
      const result = await sink.send(batchOfLines(lines));
      expect(result).toBeUndefined();
      expect(receiver.requests.map((r) => eventsIn(r.body).length)).toEqual([3, 3, 1]);
      await sink.close?.();
      receiver.requests.length = 0;
      sink = await make({ batchBytes: 2048, compress: false });
      // About 1.5 KB each: two do not fit 2 KB; the 3 KB one is over batchBytes but within the platform's limit.
      const padded = [
        exposure(10, { p: 'x'.repeat(1000) }),
        exposure(11, { p: 'x'.repeat(1000) }),
        exposure(12, { p: 'y'.repeat(3000) }),
      ];
      expect(await sink.send(batchOfLines(padded))).toBeUndefined();
      expect(receiver.requests.map((r) => eventsIn(r.body).map(idOf))).toEqual([
        ['01KB2Y9Q4M6Q8W0Z3T5V000010'],
        ['01KB2Y9Q4M6Q8W0Z3T5V000011'],
        ['01KB2Y9Q4M6Q8W0Z3T5V000012'],
      ]);
      for (const r of receiver.requests.slice(0, 2)) expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(2048);
    });

    it(`${name}: a batchSize above the platform's limit is refused with the limit named`, async () => {
      const over = name === 'segment' ? 2501 : 2001;
      await expect(make({ batchSize: over })).rejects.toThrow(limits[name]);
      await expect(make({ compress: 0 })).rejects.toThrow(/compress must be true, false or a gzip level 1-9, found 0/);
    });

    it(`${name}: many sends in flight through reused buffers: every request carries exactly its batch's events`, async () => {
      for (const compress of [false, true]) {
        receiver.requests.length = 0;
        sink = await make({ compress, concurrency: 8 });
        const batches = Array.from({ length: 24 }, (_, b) =>
          Array.from({ length: 50 + ((b * 37) % 200) }, (_, i) =>
            exposure(b * 1000 + i, { b, pad: 'z'.repeat(b * 7) }),
          ),
        );
        // Waves of 8 sends at once, so the buffers of one wave are reused by the next.
        for (let w = 0; w < batches.length; w += 8)
          await Promise.all(batches.slice(w, w + 8).map((lines) => sink!.send(batchOfLines(lines))));
        const got = receiver.requests.map((r) => eventsIn(r.body).map(idOf)).sort((a, b) => a[0]!.localeCompare(b[0]!));
        const sent = batches.map((lines) => lines.map((l) => (JSON.parse(l) as { id: string }).id));
        expect(got).toEqual(sent);
        await sink.close?.();
        sink = undefined;
      }
    });
  }
});
