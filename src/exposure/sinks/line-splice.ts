/**
 * A platform's event JSON written straight from a journal line's bytes, with no
 * JSON.parse of the line and no object or JSON.stringify per event: measured on the
 * sinks benchmark, those were about 70% of a sink's time per event (BENCHMARKS.md,
 * "Analytics sinks").
 *
 * How it stays exactly what the platform's `event(record)` would give: a journal line is
 * the envelope (id, ts, unit), a run of fields that many lines share (service, instance,
 * the experiment, variant and allocation of an exposure; the name of a tracked event):
 * the "middle", an optional `value`, and last the flat attributes or properties. For each
 * distinct middle the platform's own `event()` is run once on a record made of that middle
 * and sentinel values for the rest, and its JSON.stringify output is cut where the
 * sentinels show up: a template of constant bytes and slots (unit, id, ts as text or as
 * Date.parse milliseconds, value, the attribute members). It is done twice with different
 * sentinels and kept only when both cuts agree, so a sentinel that happens to appear in a
 * constant (an experiment named like one) is never taken for a slot. Attribute members
 * are copied when the platform would keep them (not a key of the platform's object, see
 * platform.ts) and their JSON is what JSON.stringify writes again (no escape, canonical
 * numbers, no nested value); the keys already in the platform's object come from the
 * same sentinel run.
 *
 * The contract on `event()`: it uses the unit, id and value as they are, the time as it is
 * or through Date.parse, and adds attributes/properties last as platform.ts does. Anything
 * the splice does not recognise (a line not written by the encoder, an escape in a string,
 * a nested property, a key that JSON.stringify would reorder) answers -1, and the caller
 * builds that event from the parsed record: the reference path, always available.
 */
import type { EventRecord } from '../schema.js';
import { EVENT_SCHEMA, EXPOSURE_SCHEMA } from '../schema.js';

const UNIT = 0;
const ID = 1;
const TS = 2;
const TIME = 3;
const VALUE = 4;
/** The attribute members, each after a comma (the platform's object has fields before them). */
const MEMBERS_AFTER_COMMA = 5;
/** The attribute members, comma-separated (they open the platform's object). */
const MEMBERS_FIRST = 6;

interface Template {
  /** Constant bytes around the slots: parts.length === slots.length + 1. */
  readonly parts: readonly Buffer[];
  readonly slots: readonly number[];
  /** Bytes of the parts together. */
  readonly fixed: number;
  /** Keys the platform's object already holds where attributes are added (they are skipped). */
  readonly taken: ReadonlySet<string>;
  readonly hasTime: boolean;
  /** Attribute keys met before and not taken, as bytes: most lines' keys are found here without a string. */
  readonly kept: Buffer[];
}

/** A template in the making: constant text and slots, cut from one sentinel run. */
interface Cut {
  parts: string[];
  slots: number[];
  taken: Set<string>;
}

/** A middle seen before: its bytes and its templates without and with a value (null: not spliceable). */
interface Entry {
  readonly middle: Buffer;
  plain?: Template | null;
  valued?: Template | null;
}

interface Kind {
  readonly prefix: Buffer;
  readonly schema: string;
  /** The key of the flat object that ends the line. */
  readonly last: string;
  readonly lastKey: Buffer;
  /** Whether a `value` may sit between the middle and the last object. */
  readonly hasValue: boolean;
  readonly entries: Map<string, Entry>;
  /** The middles met last, the latest first (lines of a few experiments and variants interleave). */
  readonly recent: Entry[];
  /** The lengths of the middles in `entries` (a few: they differ by the names in them). */
  readonly lengths: number[];
}

const kind = (schema: string, last: string, hasValue: boolean): Kind => ({
  prefix: Buffer.from(`{"schema":"${schema}","id":`),
  schema,
  last,
  lastKey: Buffer.from(`,"${last}":`),
  hasValue,
  entries: new Map(),
  recent: [],
  lengths: [],
});

const TS_KEY = Buffer.from(',"ts":');
const UNIT_KEY = Buffer.from(',"unit":');
const VALUE_KEY = Buffer.from(',"value":');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
/** Middles compared byte for byte first (a few experiments and variants; each miss costs a compare). */
const RECENT = 4;
/** Middle lengths tried before a scan. */
const MAX_LENGTHS = 16;
/** Distinct middles remembered per kind; beyond, the cache starts again. */
const MAX_ENTRIES = 1000;

/**
 * Sets of sentinels (JSON text); every value must survive JSON.stringify recognisably. A
 * template is kept when two sets cut the same way: three sets, so a constant that happens
 * to equal one set's sentinel still leaves a pair that agrees.
 */
const SENTINELS = [
  { unit: '\\u0001u', id: '\\u0001i', ts: '2001-02-03T04:05:06.789Z', value: '7.25e-7', key: '\\u0001a' },
  { unit: '\\u0002v', id: '\\u0002j', ts: '2002-03-04T05:06:07.891Z', value: '3.5e-7', key: '\\u0002b' },
  { unit: '\\u0003w', id: '\\u0003k', ts: '2003-04-05T06:07:08.912Z', value: '1.125e-7', key: '\\u0003c' },
] as const;

export class LineSplicer {
  private readonly kinds: readonly Kind[] = [
    kind(EXPOSURE_SCHEMA, 'attributes', false),
    kind(EVENT_SCHEMA, 'properties', true),
  ];

  // The line read last (by `read`), for `write`.
  private line: Buffer = Buffer.alloc(0);
  private template: Template | undefined;
  private idAt = 0;
  private idEnd = 0;
  private tsAt = 0;
  private tsEnd = 0;
  private unitAt = 0;
  private unitEnd = 0;
  private valueAt = 0;
  private valueEnd = 0;
  private ms = 0;
  /** Start and end of each attribute member kept, in order. */
  private readonly members: number[] = [];
  private memberEnd = 0;

  // Date.parse of the ts's second, cached: "YYYY-MM-DDTHH:MM:SS." bytes and its milliseconds.
  private readonly second = Buffer.alloc(20);
  private secondMs = NaN;
  /** secondMs / 1000 in decimal, when secondMs > 0 (a later time's milliseconds are those digits and three more). */
  private secondDigits = Buffer.alloc(0);

  constructor(private readonly event: (r: EventRecord) => unknown) {}

  /**
   * Reads the line `buf[start, end)` (no newline): -1 when it cannot be spliced, else an
   * upper bound of the bytes `write` will take.
   */
  read(buf: Buffer, start: number, end: number): number {
    this.template = undefined;
    let k: Kind | undefined;
    for (const candidate of this.kinds)
      if (startsWith(buf, start, end, candidate.prefix)) {
        k = candidate;
        break;
      }
    if (k === undefined) return -1;
    let p = start + k.prefix.length;
    this.idAt = p;
    p = this.idEnd = plainString(buf, p, end);
    if (p < 0 || !startsWith(buf, p, end, TS_KEY)) return -1;
    this.tsAt = p += TS_KEY.length;
    p = this.tsEnd = plainString(buf, p, end);
    if (p < 0 || !startsWith(buf, p, end, UNIT_KEY)) return -1;
    this.unitAt = p += UNIT_KEY.length;
    p = this.unitEnd = plainString(buf, p, end);
    if (p < 0) return -1;
    const entry = this.middleAt(k, buf, p, end);
    if (entry === undefined) return -1;
    p += entry.middle.length;
    let valued = false;
    if (k.hasValue && startsWith(buf, p, end, VALUE_KEY)) {
      this.valueAt = p += VALUE_KEY.length;
      p = this.valueEnd = canonicalNumber(buf, p, end);
      if (p < 0) return -1;
      valued = true;
    }
    if (!startsWith(buf, p, end, k.lastKey)) return -1;
    p = this.readMembers(buf, p + k.lastKey.length, end);
    if (p < 0 || p + 1 !== end || buf[p] !== CLOSE) return -1;
    const template = valued
      ? (entry.valued ??= this.derive(k, entry, true))
      : (entry.plain ??= this.derive(k, entry, false));
    if (template === null) return -1;
    // Members taken by the platform's own fields are skipped (as platform.ts's addMembers does).
    if (this.memberEnd > 0 && !this.keepMembers(buf, template)) return -1;
    if (template.hasTime && !Number.isFinite((this.ms = this.time(buf)))) return -1;
    this.line = buf;
    this.template = template;
    return this.size(template);
  }

  /** The bytes `write` takes at most for the line read: the template's and each slot's (a time's 16 digits at most). */
  private size(t: Template): number {
    let n = t.fixed;
    for (const slot of t.slots)
      if (slot === UNIT) n += this.unitEnd - this.unitAt;
      else if (slot === ID) n += this.idEnd - this.idAt;
      else if (slot === TS) n += this.tsEnd - this.tsAt;
      else if (slot === TIME) n += 16;
      else if (slot === VALUE) n += this.valueEnd - this.valueAt;
      else for (let i = 0; i < this.memberEnd; i += 2) n += this.members[i + 1]! - this.members[i]! + 1;
    return n;
  }

  /** Writes the event of the line read last into `out` at `at`; returns the bytes written. */
  write(out: Buffer, at: number): number {
    const t = this.template!;
    const buf = this.line;
    let o = at;
    for (let s = 0; s < t.slots.length; s++) {
      const part = t.parts[s]!;
      out.set(part, o);
      o += part.length;
      switch (t.slots[s]) {
        case UNIT:
          o = put(out, o, buf, this.unitAt, this.unitEnd);
          break;
        case ID:
          o = put(out, o, buf, this.idAt, this.idEnd);
          break;
        case TS:
          o = put(out, o, buf, this.tsAt, this.tsEnd);
          break;
        case TIME:
          o = this.writeTime(out, o);
          break;
        case VALUE:
          o = put(out, o, buf, this.valueAt, this.valueEnd);
          break;
        default: {
          const m = this.members;
          for (let i = 0; i < this.memberEnd; i += 2) {
            if (i > 0 || t.slots[s] === MEMBERS_AFTER_COMMA) out[o++] = COMMA;
            o = put(out, o, buf, m[i]!, m[i + 1]!);
          }
        }
      }
    }
    const last = t.parts[t.slots.length]!;
    out.set(last, o);
    o += last.length;
    return o - at;
  }

  /** Whether the bytes at `p` go on as a line whose middle ended there: the value or the last object. */
  private followsMiddle(k: Kind, buf: Buffer, p: number, end: number): boolean {
    return startsWith(buf, p, end, k.lastKey) || (k.hasValue && startsWith(buf, p, end, VALUE_KEY));
  }

  /** The middle that starts at `p`: one of the recent ones when its bytes are there, else found by scanning. */
  private middleAt(k: Kind, buf: Buffer, p: number, end: number): Entry | undefined {
    const recent = k.recent;
    for (let i = 0; i < recent.length; i++) {
      const entry = recent[i]!;
      if (sameBytes(buf, p, end, entry.middle) && this.followsMiddle(k, buf, p + entry.middle.length, end)) {
        if (i > 0) {
          recent[i] = recent[i - 1]!;
          recent[i - 1] = entry;
        }
        return entry;
      }
    }
    const entry = this.knownAt(k, buf, p, end) ?? this.entryAt(k, buf, p, end);
    if (entry === undefined) return undefined;
    if (recent.length === RECENT) recent.pop();
    recent.unshift(entry);
    return entry;
  }

  /**
   * A middle met before that starts at `p`, looked up by its bytes for each length a
   * middle has had (when the bytes after that length go on as a middle's end): with many
   * experiments interleaved, most lines miss the recent few, and this spares the scan.
   */
  private knownAt(k: Kind, buf: Buffer, p: number, end: number): Entry | undefined {
    for (const length of k.lengths) {
      if (!this.followsMiddle(k, buf, p + length, end)) continue;
      const entry = k.entries.get(buf.toString('latin1', p, p + length));
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  /** The middle that starts at `p`, found by scanning its members (any JSON), from the cache or new. */
  private entryAt(k: Kind, buf: Buffer, p: number, end: number): Entry | undefined {
    let q = p;
    while (!this.followsMiddle(k, buf, q, end)) {
      if (buf[q] !== COMMA) return undefined;
      q = anyString(buf, q + 1, end);
      if (q < 0 || buf[q] !== COLON) return undefined;
      q = anyValue(buf, q + 1, end);
      if (q < 0) return undefined;
    }
    const key = buf.toString('latin1', p, q);
    let entry = k.entries.get(key);
    if (entry === undefined) {
      if (k.entries.size >= MAX_ENTRIES) {
        k.entries.clear();
        k.lengths.length = 0;
      }
      entry = { middle: Buffer.from(buf.subarray(p, q)) };
      k.entries.set(key, entry);
      if (!k.lengths.includes(q - p) && k.lengths.length < MAX_LENGTHS) k.lengths.push(q - p);
    }
    return entry;
  }

  /**
   * The flat object at `p` (`{` ... `}`): each member's span into `members`; -1 unless
   * every key and value is one that JSON.parse then JSON.stringify writes back the same
   * and in the same order (no escape, no leading digit, strings, canonical numbers,
   * true, false, null).
   */
  private readMembers(buf: Buffer, p: number, end: number): number {
    const m = this.members;
    let n = (this.memberEnd = 0);
    if (buf[p] !== OPEN) return -1;
    p++;
    if (buf[p] === CLOSE) return p + 1;
    for (;;) {
      const from = p;
      const c = buf[p + 1]!;
      if (c >= 0x30 && c <= 0x39) return -1; // an index-like key goes first in JSON.stringify's order
      p = plainString(buf, p, end);
      if (p < 0 || buf[p] !== COLON) return -1;
      p = plainValue(buf, p + 1, end);
      if (p < 0) return -1;
      m[n++] = from;
      m[n++] = p;
      this.memberEnd = n;
      if (buf[p] === CLOSE) return p + 1;
      if (buf[p] !== COMMA) return -1;
      p++;
    }
  }

  /** Drops the members the platform would not add; false for a key that appears twice (JSON.parse keeps the last). */
  private keepMembers(buf: Buffer, template: Template): boolean {
    const m = this.members;
    const n = this.memberEnd;
    for (let i = 2; i < n; i += 2) for (let j = 0; j < i; j += 2) if (sameKey(buf, m[i]!, buf, m[j]!)) return false;
    let kept = 0;
    for (let i = 0; i < n; i += 2) {
      if (!this.isKept(buf, m[i]!, template)) continue;
      m[kept++] = m[i]!;
      m[kept++] = m[i + 1]!;
    }
    this.memberEnd = kept;
    return true;
  }

  /** Whether the platform adds the member whose key starts at `at` (its quote): not when its object has the key already. */
  private isKept(buf: Buffer, at: number, template: Template): boolean {
    const kept = template.kept;
    for (let k = 0; k < kept.length; k++) if (sameKey(buf, at, kept[k]!, 0)) return true;
    const end = buf.indexOf(QUOTE, at + 1) + 1;
    const key = buf.toString('latin1', at + 1, end - 1);
    if (template.taken.has(key)) return false;
    if (kept.length < 64) kept.push(Buffer.from(buf.subarray(at, end)));
    return true;
  }

  /** Writes Date.parse of the line's ts (see time()). */
  private writeTime(out: Buffer, at: number): number {
    if (this.secondMs <= 0) return writeInteger(out, at, this.ms);
    const o = put(out, at, this.secondDigits, 0, this.secondDigits.length);
    const milli = this.ms - this.secondMs;
    out[o] = 0x30 + Math.floor(milli / 100);
    out[o + 1] = 0x30 + (Math.floor(milli / 10) % 10);
    out[o + 2] = 0x30 + (milli % 10);
    return o + 3;
  }

  /**
   * Date.parse of the line's ts, from the cached second and the milliseconds' digits; NaN
   * unless the ts is written as Date#toISOString writes it (YYYY-MM-DDTHH:MM:SS.mmmZ).
   */
  private time(buf: Buffer): number {
    const at = this.tsAt + 1;
    if (this.tsEnd - this.tsAt !== 26) return NaN;
    if (!startsWith(buf, at, at + 20, this.second)) {
      if (!isoShaped(buf, at)) return NaN;
      buf.copy(this.second, 0, at, at + 20);
      this.secondMs = Date.parse(`${this.second.toString('latin1', 0, 20)}000Z`);
      this.secondDigits = Buffer.from(this.secondMs > 0 ? String(this.secondMs / 1000) : '');
    }
    // The second's 20 bytes were checked when cached; the milliseconds' digits and the Z here.
    if (!isDigit(buf[at + 20]!) || !isDigit(buf[at + 21]!) || !isDigit(buf[at + 22]!) || buf[at + 23] !== 0x5a)
      return NaN;
    return this.secondMs + (buf[at + 20]! - 0x30) * 100 + (buf[at + 21]! - 0x30) * 10 + (buf[at + 22]! - 0x30);
  }

  /** The template of a middle, or null when no two sentinel runs agree. */
  private derive(k: Kind, entry: Entry, valued: boolean): Template | null {
    const middle = entry.middle.toString('utf8');
    const cuts = SENTINELS.map((_, n) => this.cut(k, middle, valued, n));
    const same = (x: Cut, y: Cut) =>
      x.slots.join() === y.slots.join() &&
      x.parts.join('\u0000') === y.parts.join('\u0000') &&
      [...x.taken].join('\u0000') === [...y.taken].join('\u0000');
    let a: Cut | undefined;
    for (let i = 0; i < cuts.length && a === undefined; i++)
      for (let j = i + 1; j < cuts.length; j++)
        if (cuts[i] && cuts[j] && same(cuts[i]!, cuts[j]!)) {
          a = cuts[i]!;
          break;
        }
    if (a === undefined) return null;
    const parts = a.parts.map((s) => Buffer.from(s, 'utf8'));
    return {
      parts,
      slots: a.slots,
      fixed: parts.reduce((n, part) => n + part.length, 0),
      taken: a.taken,
      hasTime: a.slots.includes(TIME),
      kept: [],
    };
  }

  /** The platform's event for the middle and sentinel set `n`, cut at the sentinels. */
  private cut(k: Kind, middle: string, valued: boolean, n: number): Cut | null {
    const s = SENTINELS[n]!;
    const line = `{"schema":"${k.schema}","id":"${s.id}","ts":"${s.ts}","unit":"${s.unit}"${middle}${valued ? `,"value":${s.value}` : ''},"${k.last}":{"${s.key}":0}}`;
    let out: string;
    let record: EventRecord;
    try {
      record = JSON.parse(line) as EventRecord;
      // A middle that renames the record (its own "schema") is not this kind's.
      if (record.schema !== k.schema) return null;
      out = JSON.stringify(this.event(record));
    } catch {
      return null;
    }
    if (typeof out !== 'string') return null;
    const member = `"${s.key}":0`;
    const marks: [string, number][] = [
      [`"${s.unit}"`, UNIT],
      [`"${s.id}"`, ID],
      [`"${s.ts}"`, TS],
      [String(Date.parse(s.ts)), TIME],
      [member, MEMBERS_AFTER_COMMA],
    ];
    if (valued) marks.push([s.value, VALUE]);
    const found: { at: number; length: number; slot: number }[] = [];
    for (const [text, slot] of marks)
      for (let at = out.indexOf(text); at >= 0; at = out.indexOf(text, at + text.length))
        found.push({ at, length: text.length, slot });
    found.sort((x, y) => x.at - y.at);
    const parts: string[] = [];
    const slots: number[] = [];
    let from = 0;
    let taken = new Set<string>();
    for (const f of found) {
      if (f.at < from) return null; // overlapping marks
      let cut = f.at;
      let slot = f.slot;
      if (slot === MEMBERS_AFTER_COMMA) {
        if (out[f.at + f.length] !== '}') return null;
        if (out[f.at - 1] === ',') cut = f.at - 1;
        else if (out[f.at - 1] === '{') slot = MEMBERS_FIRST;
        else return null;
        const holder = holderOf(JSON.parse(out) as unknown, JSON.parse(`"${s.key}"`) as string);
        if (holder === undefined) return null;
        taken = holder;
      }
      parts.push(out.slice(from, cut));
      slots.push(slot);
      from = f.at + f.length;
    }
    parts.push(out.slice(from));
    if (slots.filter((x) => x === MEMBERS_AFTER_COMMA || x === MEMBERS_FIRST).length > 1) return null;
    return { parts, slots, taken };
  }
}

/** The keys besides `key` of the one object in `value` that has `key`; undefined when none or several have it. */
function holderOf(value: unknown, key: string): Set<string> | undefined {
  const holders: Set<string>[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    const keys = Object.keys(v);
    if (keys.includes(key)) holders.push(new Set(keys.filter((x) => x !== key)));
    for (const x of Object.values(v)) walk(x);
  };
  walk(value);
  return holders.length === 1 ? holders[0] : undefined;
}

const ISO_SHAPE = '0000-00-00T00:00:00.000Z';

/** Whether the 24 bytes at `at` have the shape of Date#toISOString for years 0000-9999 (digits where it writes digits). */
function isoShaped(buf: Buffer, at: number): boolean {
  for (let i = 0; i < ISO_SHAPE.length; i++) {
    const c = buf[at + i]!;
    const want = ISO_SHAPE.charCodeAt(i);
    if (want === 0x30 ? c < 0x30 || c > 0x39 : c !== want) return false;
  }
  return true;
}

/**
 * Copies `src[from, to)` to `out` at `at`; returns the index after it. Short runs byte by
 * byte: Buffer#copy's argument checks cost more than the copy for the few dozen bytes of
 * a unit, an id or a template part.
 */
function put(out: Buffer, at: number, src: Buffer, from: number, to: number): number {
  if (to - from > 64) return at + src.copy(out, at, from, to);
  for (let i = from; i < to; i++) out[at++] = src[i]!;
  return at;
}

/** Whether the keys (strings without escapes) starting at `a[i]` and `b[j]` are the same. */
function sameKey(a: Buffer, i: number, b: Buffer, j: number): boolean {
  for (let k = 1; ; k++) {
    const c = a[i + k];
    if (c !== b[j + k]) return false;
    if (c === QUOTE) return true;
  }
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

function startsWith(buf: Buffer, p: number, end: number, what: Buffer): boolean {
  if (p + what.length > end) return false;
  for (let i = 0; i < what.length; i++) if (buf[p + i] !== what[i]) return false;
  return true;
}

function sameBytes(buf: Buffer, p: number, end: number, what: Buffer): boolean {
  return p + what.length <= end && what.compare(buf, p, p + what.length) === 0;
}

/** A printable-ASCII string without escapes at `p`: the index after its closing quote, or -1. */
function plainString(buf: Buffer, p: number, end: number): number {
  if (buf[p] !== QUOTE) return -1;
  for (let i = p + 1; i < end; i++) {
    const c = buf[i]!;
    if (c === QUOTE) return i + 1;
    // An escape, or bytes beyond ASCII (copied as they are they would not pass through
    // the UTF-8 decoding of the reference path if malformed): the reference path writes it.
    if (c === BACKSLASH || c < 0x20 || c > 0x7e) return -1;
  }
  return -1;
}

/** Any JSON string at `p`: the index after it, or -1. */
function anyString(buf: Buffer, p: number, end: number): number {
  if (buf[p] !== QUOTE) return -1;
  for (let i = p + 1; i < end; i++) {
    const c = buf[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i++;
  }
  return -1;
}

/** Any JSON value at `p` (no whitespace, as the encoder writes): the index after it, or -1. */
function anyValue(buf: Buffer, p: number, end: number): number {
  const c = buf[p];
  if (c === QUOTE) return anyString(buf, p, end);
  if (c === OPEN || c === 0x5b) {
    const close = c === OPEN ? CLOSE : 0x5d;
    p++;
    if (buf[p] === close) return p + 1;
    for (;;) {
      if (c === OPEN) {
        p = anyString(buf, p, end);
        if (p < 0 || buf[p] !== COLON) return -1;
        p++;
      }
      p = anyValue(buf, p, end);
      if (p < 0) return -1;
      if (buf[p] === close) return p + 1;
      if (buf[p] !== COMMA) return -1;
      p++;
    }
  }
  let i = p;
  while (i < end && buf[i] !== COMMA && buf[i] !== CLOSE && buf[i] !== 0x5d) i++;
  return i > p ? i : -1;
}

/** A string (no escape), a canonical number, true, false or null at `p`: the index after it, or -1. */
function plainValue(buf: Buffer, p: number, end: number): number {
  const c = buf[p];
  if (c === QUOTE) return plainString(buf, p, end);
  if (c === 0x74) return literal(buf, p, end, TRUE);
  if (c === 0x66) return literal(buf, p, end, FALSE);
  if (c === 0x6e) return literal(buf, p, end, NULL);
  return canonicalNumber(buf, p, end);
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function literal(buf: Buffer, p: number, end: number, what: Buffer): number {
  return startsWith(buf, p, end, what) ? p + what.length : -1;
}

/**
 * A number at `p` written as JSON.stringify writes it (so parsing and writing it again
 * gives the same bytes): the index after it, or -1. Integers of up to 15 digits are that
 * by their shape; anything else is checked by writing it again.
 */
function canonicalNumber(buf: Buffer, p: number, end: number): number {
  let i = p;
  if (buf[i] === 0x2d) i++;
  const digits = i;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  const n = i - digits;
  if (n === 0) return -1;
  const next = buf[i];
  if (next === COMMA || next === CLOSE || i === end) {
    if (n <= 15 && (buf[digits] !== 0x30 || (n === 1 && digits === p))) return i;
  }
  while (i < end && buf[i] !== COMMA && buf[i] !== CLOSE) i++;
  const text = buf.toString('latin1', p, i);
  const value = Number(text);
  return Number.isFinite(value) && String(value) === text ? i : -1;
}

/** Writes a safe integer in decimal; returns the index after it. */
function writeInteger(out: Buffer, at: number, value: number): number {
  let v = value;
  if (v < 0) {
    out[at++] = 0x2d;
    v = -v;
  }
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return at + digits;
}
