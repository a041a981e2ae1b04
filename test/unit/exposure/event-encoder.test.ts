/**
 * One queued event as one JSON line (src/exposure/event-encoder.ts), without the pipeline's I/O: each line must be
 * byte for byte what JSON.stringify writes for the event the schema describes, whichever cached parts it reuses.
 */
import { createHmac } from 'node:crypto';
import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { EventEncoder, type EventEncoderOptions } from '../../../src/exposure/event-encoder.js';
import {
  ATTRIBUTES,
  EventQueue,
  GUARDRAIL,
  LOGGED,
  TRACK,
  type ExposureDescriptor,
} from '../../../src/exposure/queue.js';
import { EVENT_SCHEMA, EXPOSURE_SCHEMA, GUARDRAIL_SCHEMA } from '../../../src/exposure/schema.js';

const TS = Date.parse('2026-11-30T08:15:42.123Z');
const checkout: ExposureDescriptor = {
  experiment: 'checkout',
  flag: 'new-checkout',
  variant: 'b',
  mode: 'gradual',
  version: 7,
};

interface Exposure {
  unit: string;
  descriptor: ExposureDescriptor;
  step?: number;
  percent?: number;
  reason?: string;
  attributes?: Record<string, unknown>;
  ts?: number;
}

/** Encodes the queued slots one by one (as the pipeline's flush does) and returns the lines and the ids written. */
function encodeAll(encoder: EventEncoder, queue: EventQueue): { lines: string[]; ids: string[] } {
  encoder.writer.use(Buffer.alloc(16)); // smaller than any line: the writer must grow
  const ends: number[] = [];
  for (let i = 0; i < queue.length; i++) {
    encoder.encode(queue, i);
    ends.push(encoder.writer.pos);
  }
  const buf = encoder.writer.buf;
  const lines = ends.map((end, k) => buf.subarray(k === 0 ? 0 : ends[k - 1], end).toString('utf8'));
  for (const line of lines) expect(line.endsWith('\n')).toBe(true);
  return { lines, ids: lines.map((line) => (JSON.parse(line) as { id: string }).id) };
}

function pushExposure(queue: EventQueue, e: Exposure): void {
  const i = queue.push(LOGGED, e.unit, e.ts ?? TS);
  queue.exposure(i, e.descriptor, e.step ?? 2, e.percent ?? 25, e.reason ?? 'SPLIT', e.attributes);
}

/** The line JSON.stringify writes for an exposure, given the id the encoder chose. */
function exposureLine(
  id: string,
  e: Exposure,
  envelope: Record<string, string>,
  unit = e.unit,
  provider = 'memory',
): string {
  const { experiment, flag, variant, mode, version } = e.descriptor;
  return `${JSON.stringify({
    schema: EXPOSURE_SCHEMA,
    id,
    ts: new Date(e.ts ?? TS).toISOString(),
    unit,
    ...envelope,
    experiment,
    flag,
    variant,
    allocation: { mode, version, step: e.step ?? 2, percent: e.percent ?? 25 },
    reason: e.reason ?? 'SPLIT',
    provider,
    attributes: e.attributes ?? {},
  })}\n`;
}

/** Checks an id: 26 characters of Crockford base32 whose time part is the event's time. */
function expectUlid(id: string, ms: number): void {
  expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(decodeTime(id)).toBe(Math.floor(ms));
}

describe('EventEncoder: exposures', () => {
  it.each<[string, EventEncoderOptions, Record<string, string>]>([
    ['no service or instance', { provider: 'memory' }, {}],
    ['a service', { provider: 'memory', service: 'shop' }, { service: 'shop' }],
    ['an instance', { provider: 'memory', instance: 'pod-1' }, { instance: 'pod-1' }],
    [
      'both, needing escapes',
      { provider: 'memory', service: 'sh"op', instance: 'pod\n1' },
      { service: 'sh"op', instance: 'pod\n1' },
    ],
  ])('writes the line JSON.stringify writes, with %s in the envelope', (_, options, envelope) => {
    const encoder = new EventEncoder(options);
    const queue = new EventQueue();
    const exposures: Exposure[] = [
      { unit: 'user-1', descriptor: checkout },
      { unit: 'user-2', descriptor: checkout, attributes: { country: 'NL', plan: 'pro', seats: 3, beta: true } },
      { unit: 'ünït "quoted" \\ \u0001', descriptor: checkout, ts: TS + 0.9 },
      {
        unit: 'user-3',
        descriptor: { ...checkout, mode: 'fixed', variant: 'é' },
        step: -1,
        percent: 100,
        reason: 'TARGETING_MATCH',
      },
    ];
    for (const e of exposures) pushExposure(queue, e);
    const { lines, ids } = encodeAll(encoder, queue);
    expect(lines).toEqual(exposures.map((e, k) => exposureLine(ids[k]!, e, envelope)));
    ids.forEach((id, k) => expectUlid(id, exposures[k]!.ts ?? TS));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('logs the HMAC-SHA256 of the unit id (hex) when a key is set, and the unit id itself when not', () => {
    const exposure: Exposure = { unit: 'user-42', descriptor: checkout, attributes: { plan: 'pro' } };
    const hashed = new EventEncoder({ provider: 'split', hashUnitsKey: 's3cret' });
    const plain = new EventEncoder({ provider: 'split' });
    for (const encoder of [hashed, plain]) {
      const queue = new EventQueue();
      pushExposure(queue, exposure);
      const { lines, ids } = encodeAll(encoder, queue);
      const unit = encoder === hashed ? createHmac('sha256', 's3cret').update('user-42').digest('hex') : exposure.unit;
      expect(lines).toEqual([exposureLine(ids[0]!, exposure, {}, unit, 'split')]);
      expect(lines[0]).not.toContain(encoder === hashed ? 'user-42' : 's3cret');
    }
  });

  it('writes each allocation state of a descriptor, returning to earlier ones, and keeps descriptors apart', () => {
    const encoder = new EventEncoder({ provider: 'memory', service: 'shop' });
    const queue = new EventQueue();
    const other: ExposureDescriptor = { ...checkout, variant: 'control' }; // same experiment, another object
    const exposures: Exposure[] = [];
    // Each of step, percent and reason alone changes the state; a state seen before is written again as it was.
    for (const [step, percent, reason] of [
      [1, 5, 'SPLIT'],
      [1, 5, 'SPLIT'],
      [2, 5, 'SPLIT'],
      [2, 10, 'SPLIT'],
      [2, 10, 'DEFAULT'],
      [1, 5, 'SPLIT'],
      [2, 10, 'DEFAULT'],
    ] as const) {
      exposures.push({ unit: 'u', descriptor: checkout, step, percent, reason });
      exposures.push(
        { unit: 'v', descriptor: other, step, percent, reason },
        { unit: 'w', descriptor: checkout, step, percent, reason, attributes: { k: 1 } },
      );
    }
    for (const e of exposures) pushExposure(queue, e);
    const { lines, ids } = encodeAll(encoder, queue);
    expect(lines).toEqual(exposures.map((e, k) => exposureLine(ids[k]!, e, { service: 'shop' })));
  });

  it('keeps its cache of encoded parts bounded: many descriptors, and many states of one', () => {
    const encoder = new EventEncoder({ provider: 'memory' });
    const fragments = encoder['fragments'];
    const queue = new EventQueue();
    const descriptors = Array.from({ length: 10_050 }, (_, k) => ({ ...checkout, variant: `v${k}` }));
    // At most 10,001 descriptors and 1,001 states of one are kept: the next one empties the map first.
    descriptors.forEach((descriptor, k) => {
      pushExposure(queue, { unit: 'u', descriptor });
      encoder.encode(queue, 0);
      queue.reset();
      expect(fragments.size).toBe(k < 10_001 ? k + 1 : k - 10_000);
    });
    for (let k = 0; k < 1_050; k++) {
      pushExposure(queue, { unit: 'u', descriptor: checkout, percent: k / 10 });
      encoder.encode(queue, 0);
      queue.reset();
      expect(fragments.get(checkout)!.all.size).toBe(k < 1_001 ? k + 1 : k - 1_000);
    }
    // Still right after both kinds of clearing, for a state and a descriptor seen before the clearing.
    const exposures: Exposure[] = [
      { unit: 'u', descriptor: checkout, percent: 0 },
      { unit: 'u', descriptor: descriptors[0]! },
    ];
    for (const e of exposures) pushExposure(queue, e);
    const { lines, ids } = encodeAll(encoder, queue);
    expect(lines).toEqual(exposures.map((e, k) => exposureLine(ids[k]!, e, {})));
  });
  it('encodes the shared part of a descriptor and allocation state once: an exposure in a state seen before reuses it', () => {
    const encoder = new EventEncoder({ provider: 'memory' });
    const fragments = encoder['fragments'];
    const queue = new EventQueue();
    const last = (e: Exposure) => {
      pushExposure(queue, e);
      encoder.encode(queue, 0);
      queue.reset();
      return fragments.get(e.descriptor)!.last;
    };
    const first = last({ unit: 'u', descriptor: checkout, step: 1 });
    expect(last({ unit: 'v', descriptor: checkout, step: 1 })).toBe(first);
    const second = last({ unit: 'u', descriptor: checkout, step: 2 });
    expect(second).not.toBe(first);
    expect(last({ unit: 'w', descriptor: checkout, step: 1 })).toBe(first);
    expect(last({ unit: 'u', descriptor: { ...checkout }, step: 1 })).not.toBe(first); // another descriptor object
    expect(last({ unit: 'w', descriptor: checkout, step: 2 })).toBe(second);
  });
});

describe('EventEncoder: tracked and guardrail events', () => {
  it('writes a tracked event with and without a value, splicing in its serialized properties', () => {
    const encoder = new EventEncoder({ provider: 'memory', service: 'shop', hashUnitsKey: 'k' });
    const queue = new EventQueue();
    const tracks = [
      { event: 'purchase', value: 12.5, properties: '{"sku":"A-1","qty":2}' },
      { event: 'page "view"', value: undefined, properties: '{}' },
      { event: 'refund', value: 0, properties: '{"nested":{"a":[1,2]}}' },
    ];
    for (const track of tracks) {
      const i = queue.push(LOGGED | TRACK, 'user-9', TS + 5);
      queue.tracks[i] = track;
    }
    const { lines, ids } = encodeAll(encoder, queue);
    const unit = createHmac('sha256', 'k').update('user-9').digest('hex');
    expect(lines).toEqual(
      tracks.map(
        (t, k) =>
          `${JSON.stringify({
            schema: EVENT_SCHEMA,
            id: ids[k],
            ts: new Date(TS + 5).toISOString(),
            unit,
            service: 'shop',
            event: t.event,
            ...(t.value === undefined ? {} : { value: t.value }),
            properties: JSON.parse(t.properties),
          })}\n`,
      ),
    );
    ids.forEach((id) => expectUlid(id, TS + 5));
  });

  it('writes a tracked event even when its slot also holds a descriptor (TRACK decides)', () => {
    const encoder = new EventEncoder({ provider: 'memory' });
    const queue = new EventQueue();
    const i = queue.push(LOGGED | TRACK, 'user-9', TS);
    queue.descriptors[i] = checkout; // a reused slot keeps an older exposure's descriptor
    queue.tracks[i] = { event: 'purchase', value: undefined, properties: '{}' };
    const { lines, ids } = encodeAll(encoder, queue);
    expect(lines).toEqual([
      `${JSON.stringify({ schema: EVENT_SCHEMA, id: ids[0], ts: new Date(TS).toISOString(), unit: 'user-9', event: 'purchase', properties: {} })}\n`,
    ]);
  });

  it('writes a guardrail event: no unit, its body after the envelope, an empty body too', () => {
    const encoder = new EventEncoder({ provider: 'memory', instance: 'pod-1' });
    const queue = new EventQueue();
    const body = {
      experiment: 'checkout',
      kind: 'trip',
      action: 'rollback',
      rule: 'error_rate max 0.001',
      p_value: 0.001,
    };
    for (const properties of [JSON.stringify(body), '{}']) {
      const i = queue.push(LOGGED | TRACK | GUARDRAIL, '', TS + 7);
      queue.tracks[i] = { event: '', value: undefined, properties };
    }
    const { lines, ids } = encodeAll(encoder, queue);
    const head = (id: string) => ({
      schema: GUARDRAIL_SCHEMA,
      id,
      ts: new Date(TS + 7).toISOString(),
      instance: 'pod-1',
    });
    expect(lines).toEqual([`${JSON.stringify({ ...head(ids[0]!), ...body })}\n`, `${JSON.stringify(head(ids[1]!))}\n`]);
    ids.forEach((id) => expectUlid(id, TS + 7));
  });

  it('writes an exposure with attributes only when the slot says so', () => {
    const encoder = new EventEncoder({ provider: 'memory' });
    const queue = new EventQueue();
    pushExposure(queue, { unit: 'u', descriptor: checkout, attributes: { plan: 'pro' } });
    queue.states[0] = queue.states[0]! & ~ATTRIBUTES; // the slot was reused: its old attributes are stale
    const { lines, ids } = encodeAll(encoder, queue);
    expect(lines).toEqual([exposureLine(ids[0]!, { unit: 'u', descriptor: checkout }, {})]);
  });

  it.each([NaN, Infinity, -Infinity])('rejects an event whose time is %s, naming it', (ms) => {
    const encoder = new EventEncoder({ provider: 'memory' });
    const queue = new EventQueue();
    pushExposure(queue, { unit: 'u', descriptor: checkout, ts: ms });
    encoder.writer.use(Buffer.alloc(64));
    expect(() => encoder.encode(queue, 0)).toThrow(`its time is not a finite number (the clock gave ${ms})`);
  });
});
