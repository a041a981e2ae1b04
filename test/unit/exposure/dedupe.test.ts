/**
 * The exposure rule's memory (src/exposure/dedupe.ts): pure, so apart from the pipeline's I/O tests (and quick to mutate).
 * It imports the module itself, not src/exposure/index.ts (the pipeline, sinks, undici, zod): under mutation testing
 * every mutant imports this file again.
 */
import { describe, expect, it } from 'vitest';
import { ExposureDedupe } from '../../../src/exposure/dedupe.js';
import { fingerprint64 } from '../../../src/allocation/murmur3.js';
import { atScale } from '../../helpers/scale.js';

describe('exposure dedupe', () => {
  it('admits each fingerprint once, stays within capacity, keeps recently seen keys, and re-admits after the window', () => {
    const d = new ExposureDedupe(4, undefined);
    expect([d.admit(1, 1, 0), d.admit(1, 1, 1), d.admit(2, 2, 2), d.admit(3, 3, 3)]).toEqual([true, false, true, true]);
    expect(d.admit(1, 1, 4)).toBe(false); // seen recently enough: moved to the current generation
    expect([d.admit(4, 4, 5), d.admit(5, 5, 6), d.admit(6, 6, 7)]).toEqual([true, true, true]);
    expect(d.size).toBeLessThanOrEqual(4);
    expect(d.admit(2, 2, 8)).toBe(true); // the oldest keys were dropped
    expect([d.admit(0, 0, 9), d.admit(0, 0, 9), d.admit(7, 0, 9), d.admit(0, 7, 9)]).toEqual([true, false, true, true]);
    // Only (0, 0) is taken for (1, 0): a key whose high word alone is 0 stays apart from the one with 1.
    const z = new ExposureDedupe(100, undefined);
    expect([z.admit(1, 6, 0), z.has(0, 6), z.admit(0, 6, 0), z.admit(0, 6, 0), z.has(0, 6)]).toEqual([
      true,
      false,
      true,
      false,
      true,
    ]);

    const big = new ExposureDedupe(1000, undefined);
    for (let i = 1; i <= 100_000; i++) big.admit(i, i * 7, i);
    expect(big.size).toBeLessThanOrEqual(1000);
    expect(big.admit(100_000, 700_000, 0)).toBe(false);
    expect(big.admit(1, 7, 0)).toBe(true);

    const w = new ExposureDedupe(10, 1000);
    expect([w.admit(9, 9, 0), w.admit(9, 9, 999), w.admit(9, 9, 1000), w.admit(9, 9, 1500)]).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });

  it('keys by 64-bit fingerprints: no collision among 1,000,000 unit ids (20,000 under mutation testing), and the seeds (variant, allocation version) change the key', () => {
    const d = new ExposureDedupe(4_000_000, undefined);
    const key = new Int32Array(2);
    const admit = (unit: string, seedHi: number, seedLo: number) => {
      fingerprint64(unit, seedHi, seedLo, key);
      return d.admit(key[0]!, key[1]!, 0);
    };
    const units = atScale(1_000_000, 20_000);
    let admitted = 0;
    for (let i = 0; i < units; i++) if (admit(`user-${i}`, 11, 22)) admitted++;
    expect(admitted).toBe(units);
    expect(admit('user-17', 11, 22)).toBe(false);
    expect(admit('user-17', 11, 23)).toBe(true); // another variant or allocation version
  });

  it('has: true only for a key admitted before, leaves the table untouched for a new key (issue 18)', () => {
    const d = new ExposureDedupe(100_000, undefined);
    expect(d.has(5, 8)).toBe(false);
    expect(d.size).toBe(0); // a miss inserts nothing: admit() decides at flush
    expect(d.admit(5, 8, 0)).toBe(true);
    expect([d.has(5, 8), d.has(5, 9), d.has(6, 8)]).toEqual([true, true, false]); // the lowest bit is the generation's
    expect([d.has(0, 0), d.admit(0, 0, 0), d.has(0, 0), d.has(1, 0)]).toEqual([false, true, true, true]); // (0,0) is stored as (1,0)
  });

  it('has: a key found in the old generation moves to the current one and survives the next sweep', () => {
    const d = new ExposureDedupe(20, undefined); // a generation holds 10 keys
    d.admit(1000, 2, 0);
    for (let k = 0; k < 10; k++) d.admit(k + 1, 4 * k, 0); // fills the current generation: key 1000 is now old
    expect(d.has(1000, 2)).toBe(true); // promoted
    for (let k = 0; k < 9; k++) d.admit(k + 100, 4 * k, 0); // one short of the next sweep
    d.admit(7777, 4, 0); // the sweep drops the old generation (keys 1..10), keeps 1000
    expect(d.has(1000, 2)).toBe(true);
    expect(d.has(1, 0)).toBe(false);
  });

  it('starts with a small table and grows with its keys, keeping every key of both generations and its time (issue 18)', () => {
    const d = new ExposureDedupe(100_000, 1000);
    expect(d.bytes).toBeLessThanOrEqual(1024 * 16); // 1,024 slots: 8 KB of keys, 8 KB of times
    for (let k = 1; k <= 10_000; k++) expect(d.admit(k, k * 6, k % 500)).toBe(true);
    // 10,000 keys at a load of at most 1/2: 32,768 slots (256 KB of keys), not the 2 MB the capacity needs.
    expect(d.bytes).toBeLessThanOrEqual(32_768 * 16);
    for (let k = 1; k <= 10_000; k++) {
      expect(d.has(k, k * 6)).toBe(true);
      expect(d.admit(k, k * 6, (k % 500) + 999)).toBe(false); // its time moved with it: still inside the window
    }
    expect(d.admit(77, 77 * 6, (77 % 500) + 1000)).toBe(true); // the window has passed for this one
    // Past the capacity the table stops growing and sweeps instead: memory is bounded. (Under mutation
    // testing 3 sweeps, not 8: the table reaches its full size at 32,769 keys, a sweep comes every 50,000.)
    const last = atScale(400_000, 160_000);
    for (let k = 10_001; k <= last; k++) d.admit(k, k * 6, 0);
    expect(d.size).toBeLessThanOrEqual(100_000);
    expect(d.bytes).toBeLessThanOrEqual(2 * 262_144 * 16); // the table and its spare at full size
    expect(d.admit(last, last * 6, 1)).toBe(false);
  });

  it('never forgets a key among the last capacity/2 distinct keys (property over random streams)', () => {
    const d = new ExposureDedupe(2000, undefined);
    const recent: number[] = [];
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 50_000; i++) {
      const k = next() % 20_000;
      const fresh = d.admit(k + 1, k * 31 + 5, i);
      const idx = recent.indexOf(k);
      if (idx >= 0) expect(fresh).toBe(false);
      if (idx >= 0) recent.splice(idx, 1);
      recent.push(k);
      if (recent.length > 1000) recent.shift();
    }
  });
});

describe('exposure dedupe with a time window, across generations', () => {
  it('logs a key again once the window since it was last logged has passed, whether the key is in the current or the old generation', () => {
    const d = new ExposureDedupe(20, 1000); // a generation holds 10 keys
    expect(d.timed).toBe(true);
    expect(new ExposureDedupe(20, undefined).timed).toBe(false);
    expect(d.admit(1000, 2, 500)).toBe(true);
    for (let k = 0; k < 10; k++) expect(d.admit(k + 1, 4 * k, 600)).toBe(true); // key 1000 is now in the old generation
    expect(d.admit(1000, 2, 1499)).toBe(false); // old generation, within the window: moves to the current one, keeps time 500
    for (let k = 0; k < 9; k++) d.admit(k + 100, 4 * k, 1499); // the sweep keeps key 1000 and its time
    expect(d.admit(1000, 2, 1499)).toBe(false);
    expect(d.admit(1000, 2, 1500)).toBe(true); // 1000 ms after it was logged at 500, not after the visit at 1499
    expect(d.admit(1000, 2, 2499)).toBe(false);
  });

  it('logs a key from the old generation whose window has passed, and counts the window from then', () => {
    const d = new ExposureDedupe(20, 1000);
    d.admit(1000, 2, 0);
    for (let k = 0; k < 10; k++) d.admit(k + 1, 4 * k, 0); // key 1000 is now old
    expect(d.admit(1000, 2, 1000)).toBe(true); // old, and the window has just passed: logged again
    expect(d.admit(1000, 2, 1999)).toBe(false); // its window restarted at 1000
    expect(d.admit(1000, 2, 2000)).toBe(true);
  });
});

/**
 * The two-generation scheme told plainly (Maps, no table, no bits): what ExposureDedupe must answer and hold
 * after every call. A test oracle: keys are compared as the table compares them (lo's lowest bit is the
 * table's generation bit, and (0, 0) is stored as (1, 0)).
 */
class TwoGenerations {
  private current = new Map<string, number>();
  private old = new Map<string, number>();
  private readonly half: number;
  constructor(
    capacity: number,
    private readonly windowMs: number | undefined,
  ) {
    this.half = Math.max(1, Math.floor(capacity / 2));
  }
  get size(): number {
    return this.current.size + this.old.size;
  }
  has(hi: number, lo: number): boolean {
    const k = TwoGenerations.key(hi, lo);
    if (this.current.has(k)) return true;
    if (!this.old.has(k)) return false;
    this.moveToCurrent(k, this.old.get(k)!);
    return true;
  }
  admit(hi: number, lo: number, now: number): boolean {
    const k = TwoGenerations.key(hi, lo);
    const seen = this.current.get(k);
    const window = this.windowMs;
    if (seen !== undefined) {
      if (window === undefined || now - seen < window) return false;
      this.current.set(k, now);
      return true;
    }
    const old = this.old.get(k);
    if (old === undefined) {
      this.current.set(k, now);
      this.added();
      return true;
    }
    const fresh = window !== undefined && now - old >= window;
    this.moveToCurrent(k, fresh ? now : old);
    return fresh;
  }
  private moveToCurrent(k: string, at: number): void {
    this.old.delete(k);
    this.current.set(k, at);
    this.added();
  }
  private added(): void {
    if (this.current.size < this.half) return;
    this.old = this.current;
    this.current = new Map();
  }
  private static key(hi: number, lo: number): string {
    hi |= 0;
    lo &= ~1;
    return hi === 0 && lo === 0 ? '1,0' : `${hi},${lo}`;
  }
}

describe('exposure dedupe against the two-generation scheme told plainly (issue 19)', () => {
  // Few keys in small tables: slots collide, sweeps and promotions are frequent, and keys share a high or a low
  // word, have a zero word, or differ only in lo's lowest bit. (0, 2048) and (0, 4096) land in slot 0.
  const his = [0, 1, 2, 7, -1];
  const los = [0, 1, 2, 3, 6, 2048, 4096, -2];
  it.each<[number, number | undefined]>([
    [4, undefined],
    [7, undefined],
    [20, undefined],
    [4, 50],
    [20, 50],
    [3000, undefined],
    [3000, 50],
  ])('answers has() and admit() and holds size as the scheme does: capacity %i, window %s', (capacity, windowMs) => {
    let seed = capacity * 31 + (windowMs ?? 0);
    const next = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const d = new ExposureDedupe(capacity, windowMs);
    const model = new TwoGenerations(capacity, windowMs);
    // At capacity 3000 the table also grows (from 1,024 slots to 8,192): the keys come from a wider range.
    const wide = capacity > 1000;
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      now += next(4);
      const hi = wide && next(2) === 0 ? next(5000) : his[next(his.length)]!;
      const lo = wide && next(2) === 0 ? next(5000) * 2 : los[next(los.length)]!;
      const op = next(3) === 0 ? 'has' : 'admit';
      const got = op === 'has' ? d.has(hi, lo) : d.admit(hi, lo, now);
      const want = op === 'has' ? model.has(hi, lo) : model.admit(hi, lo, now);
      if (got !== want || d.size !== model.size)
        expect({ step, op, hi, lo, now, got, size: d.size }).toEqual({
          step,
          op,
          hi,
          lo,
          now,
          got: want,
          size: model.size,
        });
    }
  });
});

describe('exposure dedupe memory (issue 19)', () => {
  it('holds 8 bytes a slot for keys, 8 more for times only with a window, and starts at 1,024 slots', () => {
    expect(new ExposureDedupe(100_000, undefined).bytes).toBe(1024 * 8);
    expect(new ExposureDedupe(100_000, 1000).bytes).toBe(1024 * 16);
    expect(new ExposureDedupe(128, undefined).bytes).toBe(256 * 8); // a generation of 64 keys: 4 slots a key
  });

  it.each<[number | undefined, number]>([
    [undefined, 8],
    [1000, 16],
  ])('doubles the table when half of it is taken, not before (window %s: %i bytes a slot)', (windowMs, perSlot) => {
    const d = new ExposureDedupe(100_000, windowMs);
    for (let k = 1; k <= 512; k++) d.admit(k, 2 * k, 0);
    expect(d.bytes).toBe(1024 * perSlot);
    d.admit(513, 1026, 0);
    expect(d.bytes).toBe(2048 * perSlot);
  });

  it('turns the generations over without a sweep when every old key came back (units cycling within the capacity)', () => {
    const d = new ExposureDedupe(2048, undefined); // a generation holds 1,024 keys
    for (let k = 1; k <= 1024; k++) d.admit(k, 2 * k, 0); // the first turn: nothing old to drop
    const table = d.bytes;
    expect(table).toBe(2048 * 8); // the table at a load of 1/2, and no sweep spare
    for (let round = 0; round < 3; round++) {
      // Every key comes back (has() moves it to the current generation): each round turns over again.
      for (let k = 1; k <= 1024; k++) expect(d.has(k, 2 * k)).toBe(true);
      expect(d.size).toBe(1024);
      expect(d.bytes).toBe(table);
    }
    // One key does not come back: the next turn drops it, with a sweep.
    for (let k = 2; k <= 1024; k++) expect(d.has(k, 2 * k)).toBe(true);
    expect(d.admit(5000, 10_000, 0)).toBe(true);
    expect(d.bytes).toBe(2 * 4096 * 8); // the 1,025th key grew the table; the sweep made its spare
    expect(d.size).toBe(1024);
    expect(d.has(1, 2)).toBe(false);
    for (let k = 2; k <= 1024; k++) expect(d.has(k, 2 * k)).toBe(true);
    expect(d.has(5000, 10_000)).toBe(true);
  });

  it.each<[number | undefined, number]>([
    [undefined, 8],
    [1000, 16],
  ])(
    'at full size holds the table and the sweep spare, each 4 slots a key of a generation (window %s)',
    (windowMs, perSlot) => {
      const d = new ExposureDedupe(2048, windowMs); // a generation holds 1,024 keys: 4,096 slots
      for (let k = 1; k <= 2100; k++) d.admit(k, 2 * k, 0); // two sweeps
      expect(d.bytes).toBe(2 * 4096 * perSlot);
    },
  );
});
