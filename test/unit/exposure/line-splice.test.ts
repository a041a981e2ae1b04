/**
 * The platform events spliced from journal bytes (src/exposure/sinks/line-splice.ts) must
 * be, byte for byte, JSON.stringify of the platform's event for the parsed line: for lines
 * as the encoder writes them (which must all be spliced, or the splice saves nothing), and
 * for any other line (which may be left to the reference path, but never written wrong).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../../../src/exposure/index.js';
import { EventEncoder } from '../../../src/exposure/event-encoder.js';
import { EventQueue, LOGGED, TRACK } from '../../../src/exposure/queue.js';
import { amplitudeEvent } from '../../../src/exposure/sinks/amplitude.js';
import { LineSplicer } from '../../../src/exposure/sinks/line-splice.js';
import { mixpanelEvent } from '../../../src/exposure/sinks/mixpanel.js';
import { isUserEvent } from '../../../src/exposure/sinks/platform.js';
import { segmentEvent } from '../../../src/exposure/sinks/segment.js';

const platforms: [string, (r: EventRecord) => unknown][] = [
  ['segment', segmentEvent],
  ['amplitude', amplitudeEvent],
  ['mixpanel', (r) => mixpanelEvent('mp_token', r)],
];

/** The splice of `line` (placed inside a bigger buffer, as in a journal chunk), or undefined when it declines. */
function spliced(splicer: LineSplicer, line: string): string | undefined {
  const text = Buffer.from(line, 'utf8');
  const buf = Buffer.concat([Buffer.from('{"x":1}\n'), text, Buffer.from('\n{"y":2}\n')]);
  const start = 8;
  const bound = splicer.read(buf, start, start + text.length);
  if (bound < 0) return undefined;
  const out = Buffer.alloc(bound + 8, 0xff);
  const n = splicer.write(out, 4);
  expect(n).toBeLessThanOrEqual(bound);
  expect(out[3]).toBe(0xff);
  expect(out[4 + n]).toBe(0xff);
  return out.toString('utf8', 4, 4 + n);
}

const reference = (event: (r: EventRecord) => unknown, line: string): string =>
  JSON.stringify(event(JSON.parse(line) as EventRecord));

// Names that look like the sentinels, collide with the platforms' fields or Object.prototype, or need escapes.
const tricky = fc.constantFrom(
  'checkout',
  '981173106789',
  '1015045567891',
  '2001-02-03T04:05:06.789Z',
  '\u0001u',
  '\u0001i',
  '7.25e-7',
  'a"b',
  'back\\slash',
  'ünïcode',
  'flag',
  'toString',
  '__proto__',
  'constructor',
  'experiment_id',
  'distinct_id',
  'token',
  'value',
  'Experiment name',
  '1',
  '0x',
  '',
);
// Names equal to sentinels of more than one of its sets could make the splice decline; lines of such names are in anyLines.
const trickyForEncoder = tricky.filter((t) => t !== '1015045567891');
const cleanText = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(...'abcXYZ09-_.:/ @'.split('')) });
const anyText = fc.oneof(cleanText, tricky, fc.string({ maxLength: 8, unit: 'binary' }));
const isoTime = fc
  .integer({ min: -62_000_000_000_000, max: 250_000_000_000_000 })
  .map((ms) => new Date(ms).toISOString());
const id = fc.string({
  minLength: 26,
  maxLength: 26,
  unit: fc.constantFrom(...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'.split('')),
});
const number = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0.1, 12.5, 1e21, 1e-7, -0, 2 ** 53 + 2),
);
const primitive = fc.oneof(anyText, number, fc.boolean());

interface Shape {
  text: fc.Arbitrary<string>;
  unit: fc.Arbitrary<string>;
  key: fc.Arbitrary<string>;
  value: fc.Arbitrary<unknown>;
  property: fc.Arbitrary<unknown>;
  percent: fc.Arbitrary<number>;
}

/** A journal line in the encoder's field order (src/exposure/event-encoder.ts). */
const line = (s: Shape): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .record({
        id,
        ts: isoTime,
        unit: s.unit,
        service: fc.option(s.text, { nil: undefined }),
        instance: fc.option(s.text, { nil: undefined }),
        experiment: s.text,
        flag: s.text,
        variant: s.text,
        mode: fc.constantFrom('fixed', 'gradual', 'adaptive', 'provider'),
        version: fc.nat(1000),
        step: fc.integer({ min: -1, max: 20 }),
        percent: s.percent,
        reason: s.text,
        provider: s.text,
        attributes: fc.dictionary(s.key, s.value, { maxKeys: 4 }),
      })
      .map((r) =>
        JSON.stringify({
          schema: 'switchyard.exposure/1',
          id: r.id,
          ts: r.ts,
          unit: r.unit,
          ...(r.service === undefined ? {} : { service: r.service }),
          ...(r.instance === undefined ? {} : { instance: r.instance }),
          experiment: r.experiment,
          flag: r.flag,
          variant: r.variant,
          allocation: { mode: r.mode, version: r.version, step: r.step, percent: r.percent },
          reason: r.reason,
          provider: r.provider,
          attributes: r.attributes,
        }),
      ),
    fc
      .record({
        id,
        ts: isoTime,
        unit: s.unit,
        service: fc.option(s.text, { nil: undefined }),
        event: s.text,
        value: fc.option(s.percent, { nil: undefined }),
        properties: fc.dictionary(s.key, s.property, { maxKeys: 4 }),
      })
      .map((r) =>
        JSON.stringify({
          schema: 'switchyard.event/1',
          id: r.id,
          ts: r.ts,
          unit: r.unit,
          ...(r.service === undefined ? {} : { service: r.service }),
          event: r.event,
          ...(r.value === undefined ? {} : { value: r.value }),
          properties: r.properties,
        }),
      ),
  );

const encoderLines = line({
  text: fc.oneof(cleanText, trickyForEncoder, fc.string({ maxLength: 8, unit: 'binary' })),
  unit: cleanText,
  key: cleanText.filter((k) => !/^[0-9]/.test(k)),
  value: fc.oneof(cleanText, fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom(0.5, 12.25, true, false)),
  property: fc.oneof(cleanText, fc.integer(), fc.boolean(), fc.constant(null)),
  percent: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(0.5, 12.5, 33.3)),
});

const anyLines = line({
  text: anyText,
  unit: anyText.filter((u) => u.length > 0),
  key: anyText,
  value: primitive,
  property: fc.oneof(primitive, fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
  percent: number,
});

/** The same event written otherwise: whitespace, another number form, an escape, keys moved, a field twice. */
const rewrites: ((l: string) => string)[] = [
  (l) => l.replace('"unit":', '"unit": '),
  (l) => l.replace(/"version":(\d+)/, '"version":$1.0'),
  (l) => l.replace(/"step":(-?\d+)/, '"step":$1e0'),
  (l) => l.replace(/"unit":"(.)/, (_, c: string) => `"unit":"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  (l) => l.replace(/"id":("[^"]*"),"ts":("[^"]*")/, '"ts":$2,"id":$1'),
  (l) => l.replace(/,"(attributes|properties)":/, ',"unit":"again","$1":'),
  (l) => l.replace(/,"(attributes|properties)":\{/, ',"$1":{"k":1,"k":2,'),
  (l) => l.replace(/\}\}$/, '}, "extra":1}'),
  (l) => l.replace(/"ts":"([^"]*)\.\d{3}Z"/, '"ts":"$1Z"'),
  (l) => l.replace('"schema":"switchyard.exposure/1"', '"schema":"switchyard.guardrail/1"'),
  (l) => l.replace(/,"(attributes|properties)":\{/, ',"$1":{"big":12345678901234567890,"neg":-0,"e":1E2,'),
  (l) => l.replace(/"value":[^,]*/, '"value":-0'),
  (l) => l.replace(/"value":[^,]*/, '"value":10000000000000000'),
  // Not JSON (a raw control character in a string): the reference path throws; the splice must decline.
  (l) => l.replace('"unit":"', '"unit":"\t'),
];

describe('LineSplicer', () => {
  it('splices every line the encoder writes, byte for byte what JSON.stringify of the platform event writes', () => {
    for (const [name, event] of platforms) {
      const splicer = new LineSplicer(event);
      fc.assert(
        fc.property(encoderLines, (l) => {
          const got = spliced(splicer, l);
          if (got === undefined) throw new Error(`${name} declined ${l}`);
          expect(got).toBe(reference(event, l));
        }),
        { numRuns: 700 },
      );
    }
  });

  it('writes any other line exactly as the reference path would, or declines it', () => {
    for (const [, event] of platforms) {
      const splicer = new LineSplicer(event);
      let count = 0;
      fc.assert(
        fc.property(anyLines, fc.nat(rewrites.length), (l, r) => {
          const text = r === rewrites.length ? l : rewrites[r]!(l);
          const got = spliced(splicer, text);
          if (got === undefined) return;
          count++;
          expect(isUserEvent(JSON.parse(text) as EventRecord)).toBe(true);
          expect(got).toBe(reference(event, text));
        }),
        { numRuns: 1500 },
      );
      // About a tenth go the fast way (the rest have escapes, bytes beyond ASCII, nested
      // values or a rewrite): enough that the comparison above runs on hundreds of lines.
      expect(count).toBeGreaterThan(60);
    }
  });

  it('splices the lines the EventEncoder itself writes (exposures with and without attributes, tracked events with and without a value, hashed units)', () => {
    for (const options of [
      { provider: 'memory', service: 'checkout-api', instance: 'i-1' },
      { provider: 'launchdarkly', hashUnitsKey: 'k' },
    ]) {
      const queue = new EventQueue();
      const encoder = new EventEncoder(options);
      encoder.writer.use(Buffer.alloc(1 << 16));
      const ts = Date.UTC(2026, 11, 1, 9, 0, 0, 123);
      const control = {
        experiment: 'checkout',
        flag: 'checkout',
        variant: 'control',
        mode: 'gradual',
        version: 3,
      } as const;
      const treatment = { ...control, variant: 'treatment' } as const;
      for (let n = 0; n < 20; n++) {
        const i = queue.push(LOGGED, `user-${n}`, ts + n * 7);
        queue.exposure(
          i,
          n % 2 ? treatment : control,
          2,
          12.5,
          'SPLIT',
          n % 3 ? { country: 'DE', plan: n } : undefined,
        );
      }
      for (const value of [42.5, undefined]) {
        const i = queue.push(TRACK, 'user-1', ts + 999);
        queue.tracks[i] = { event: 'purchase', value, properties: '{"sku":"A-1","qty":2}' };
      }
      for (let i = 0; i < queue.length; i++) encoder.encode(queue, i);
      const lines = encoder.writer.buf.toString('utf8', 0, encoder.writer.pos).split('\n').slice(0, -1);
      expect(lines).toHaveLength(22);
      for (const [name, event] of platforms) {
        const splicer = new LineSplicer(event);
        for (const l of lines) {
          const got = spliced(splicer, l);
          if (got === undefined) throw new Error(`${name} declined ${l}`);
          expect(got).toBe(reference(event, l));
        }
      }
    }
  });

  it('attribute keys the platform object already holds are left out as the reference path leaves them; Object.prototype names are kept, as it keeps them', () => {
    const l = JSON.stringify({
      schema: 'switchyard.exposure/1',
      id: '01KB2Y9Q4M6Q8W0Z3T5V7X9B1D',
      ts: '2026-12-01T09:00:00.123Z',
      unit: 'user-42',
      experiment: 'checkout',
      flag: 'checkout',
      variant: 'treatment',
      allocation: { mode: 'gradual', version: 3, step: 2, percent: 12.5 },
      reason: 'SPLIT',
      provider: 'memory',
      attributes: { country: 'DE', flag: 'x', toString: 'y', experiment_id: 'z', distinct_id: 'w', plan: 2 },
    });
    for (const [, event] of platforms) {
      const got = spliced(new LineSplicer(event), l);
      expect(got).toBe(reference(event, l));
      expect(got).toContain('"country":"DE"');
      expect(got).toContain('"toString":"y"');
      expect(got).not.toContain('"flag":"x"');
    }
  });

  it('declines guardrail events (not user events), lines that are not JSON objects of ours, and a ts not as toISOString writes it for a platform that needs its milliseconds', () => {
    const amplitude = new LineSplicer(amplitudeEvent);
    expect(
      spliced(
        amplitude,
        '{"schema":"switchyard.guardrail/1","id":"01KB2Y9Q4M6Q8W0Z3T5V7X9B1D","ts":"2026-12-01T09:00:00.123Z"}',
      ),
    ).toBeUndefined();
    expect(spliced(amplitude, 'not json')).toBeUndefined();
    // A byte that is not UTF-8 (a damaged journal): the reference path decodes it to U+FFFD, so it writes that line.
    const damaged = Buffer.from(
      '{"schema":"switchyard.exposure/1","id":"01KB2Y9Q4M6Q8W0Z3T5V7X9B1D","ts":"2026-12-01T09:00:00.123Z","unit":"u?","experiment":"e","flag":"e","variant":"v","allocation":{"mode":"fixed","version":1,"step":-1,"percent":100},"reason":"SPLIT","provider":"memory","attributes":{}}',
    );
    damaged[damaged.indexOf('u?') + 1] = 0xff;
    expect(amplitude.read(damaged, 0, damaged.length)).toBe(-1);
    const exposure = (ts: string) =>
      `{"schema":"switchyard.exposure/1","id":"01KB2Y9Q4M6Q8W0Z3T5V7X9B1D","ts":"${ts}","unit":"u","experiment":"e","flag":"e","variant":"v","allocation":{"mode":"fixed","version":1,"step":-1,"percent":100},"reason":"SPLIT","provider":"memory","attributes":{}}`;
    expect(spliced(amplitude, exposure('2026-12-01T09:00:00.123Z'))).toBe(
      reference(amplitudeEvent, exposure('2026-12-01T09:00:00.123Z')),
    );
    expect(spliced(amplitude, exposure('2026-12-01T09:00:00Z'))).toBeUndefined();
    // The same second as the line before (its part cached), milliseconds that are not digits: Date.parse gives NaN.
    expect(spliced(amplitude, exposure('2026-12-01T09:00:00.12aZ'))).toBeUndefined();
    expect(spliced(amplitude, exposure('2026-12-01T09:00:00.123+'))).toBeUndefined();
    // Segment copies the ts as it is: that one is spliced.
    expect(spliced(new LineSplicer(segmentEvent), exposure('2026-12-01T09:00:00Z'))).toBe(
      reference(segmentEvent, exposure('2026-12-01T09:00:00Z')),
    );
  });
});
