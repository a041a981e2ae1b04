/** The byte writers behind every event line (src/exposure/encoder.ts): what they write must be what JSON.stringify and Date#toISOString write. */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { IsoWriter, LineWriter } from '../../../src/exposure/encoder.js';

const written = (w: LineWriter): string => w.buf.subarray(0, w.pos).toString('utf8');

describe('LineWriter', () => {
  it('writes any string as JSON.stringify does: quotes, backslashes, control characters, non-ASCII, lone surrogates', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60, unit: 'binary' }),
        fc.string({ maxLength: 60, unit: 'grapheme-ascii' }),
        (a, b) => {
          const w = new LineWriter();
          w.use(Buffer.alloc(4)); // smaller than most lines: the writer must grow
          w.json(a);
          w.text(',');
          w.json(b);
          return written(w) === `${JSON.stringify(a)},${JSON.stringify(b)}`;
        },
      ),
      { numRuns: 1000 },
    );
    const w = new LineWriter();
    w.use(Buffer.alloc(64));
    for (const s of ['', '"', '\\', '\u001f', '\u007f', '\u0080', 'a"b\\c\n', '~', ' ']) w.json(s);
    expect(written(w)).toBe(
      ['', '"', '\\', '\u001f', '\u007f', '\u0080', 'a"b\\c\n', '~', ' '].map((s) => JSON.stringify(s)).join(''),
    );
  });

  it('keeps what it wrote when it grows, and writes from the start of a buffer it is given', () => {
    const w = new LineWriter();
    const slab = Buffer.alloc(16);
    w.use(slab);
    w.text('abc');
    expect(slab.subarray(0, 3).toString()).toBe('abc');
    w.bytes(Buffer.from('-'.repeat(100)));
    w.text('é✓');
    expect(written(w)).toBe(`abc${'-'.repeat(100)}é✓`);
    w.use(slab);
    expect(w.pos).toBe(0);
    // A line that fits exactly is written into the buffer given, not moved to a bigger one.
    const exact = Buffer.alloc(5);
    w.use(exact);
    w.json('abc');
    expect(w.buf).toBe(exact);
    expect(exact.toString()).toBe('"abc"');
  });
});

describe('IsoWriter', () => {
  it('formats a second once: the times within it are written from the cached part', () => {
    const iso = new IsoWriter();
    const w = new LineWriter();
    w.use(Buffer.alloc(64));
    const toISOString = vi.spyOn(Date.prototype, 'toISOString');
    try {
      const base = Date.parse('2026-12-01T09:00:00Z');
      for (const ms of [base, base + 1, base + 999, base + 1000, base + 1999]) iso.write(w, ms);
      expect(toISOString).toHaveBeenCalledTimes(2);
    } finally {
      toISOString.mockRestore();
    }
    expect(w.buf.subarray(0, w.pos).toString()).toBe(
      '2026-12-01T09:00:00.000Z2026-12-01T09:00:00.001Z2026-12-01T09:00:00.999Z2026-12-01T09:00:01.000Z2026-12-01T09:00:01.999Z',
    );
  });

  it('writes any time as Date#toISOString does, within a second and across seconds and years outside 0000-9999', () => {
    const iso = new IsoWriter();
    const w = new LineWriter();
    const check = (ms: number) => {
      w.use(Buffer.alloc(8));
      iso.write(w, ms);
      expect(written(w)).toBe(new Date(Math.floor(ms)).toISOString());
    };
    const base = Date.parse('2026-12-01T09:00:00Z');
    for (const ms of [
      base,
      base + 1,
      base + 9,
      base + 10,
      base + 99,
      base + 100,
      base + 999,
      base + 1000,
      base + 1000.7,
    ])
      check(ms);
    for (const ms of [0, -1, -1000, 253402300799999, 253402300800000, -62167219200001, base, 8.64e15, -8.64e15])
      check(ms);
    fc.assert(
      // The largest time a Date holds is 8.64e15 ms, and ms + 1 is checked too.
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 - 1 }), (ms) => {
        check(ms);
        check(ms + 1);
        return true;
      }),
      { numRuns: 1000 },
    );
  });
});
