/**
 * Sticky assignments in memory: unit -> arm, bounded, for adaptive allocation.
 *
 * Keys are 64-bit fingerprints of the unit id (fingerprint64, seeded per experiment), so
 * the table keeps no strings: an open-addressing table over typed arrays with linear
 * probing at a load factor of at most 1/2, 9 bytes a slot (two int32 halves and one byte
 * for the arm and a converted flag), nothing for the garbage collector to trace. It
 * starts at 4,096 slots and doubles as units arrive (a rehash from the stored
 * fingerprints), so a small experiment's table stays in the CPU's caches; 1,000,000
 * units take 2^21 slots: 18.9 MB. Two units share a fingerprint
 * with probability about n^2 / 2^65 (3e-8 at a million units); the later one would then
 * read the earlier one's arm.
 *
 * Full (capacity units stored): set() stores nothing more and returns false; the caller
 * serves such a unit by hashing under the current weights without remembering it (it
 * may move at the next re-weighting) and counts it.
 */
import { fingerprint64, murmur3 } from './murmur3.js';

/** Arm codes are 0-126; the top bit of a slot's byte is the unit's converted flag. */
export const MAX_ARM_CODE = 126;
const CONVERTED = 0x80;
const INITIAL_SLOTS = 4096;

export class StickyTable {
  private keys: Int32Array;
  /** 0: empty; otherwise (arm code + 1) | converted flag. */
  private values: Uint8Array;
  private mask: number;
  private readonly maxSlots: number;
  private readonly seedHi: number;
  private readonly seedLo: number;
  private readonly fp = new Int32Array(2);
  private count = 0;

  constructor(
    readonly capacity: number,
    salt: string,
  ) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.maxSlots = slots;
    const initial = Math.min(slots, INITIAL_SLOTS);
    this.keys = new Int32Array(initial * 2);
    this.values = new Uint8Array(initial);
    this.mask = initial - 1;
    this.seedHi = murmur3(salt, 0x571c4701) | 0;
    this.seedLo = murmur3(salt, 0x571c4702) | 0;
  }

  get size(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.capacity;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** The unit's arm code, or -1 when the table does not have it. */
  get(unit: string): number {
    const slot = this.find(unit);
    return slot < 0 ? -1 : (this.values[slot]! & ~CONVERTED) - 1;
  }

  /** Stores (or overwrites) the unit's arm; false when the table is full and the unit new. */
  set(unit: string, code: number): boolean {
    const slot = this.probe(unit);
    const v = this.values[slot]!;
    if (v === 0) {
      if (this.count >= this.capacity) return false;
      if ((this.count + 1) * 2 > this.values.length && this.values.length < this.maxSlots) {
        this.grow();
        return this.set(unit, code);
      }
      this.count++;
      this.keys[slot * 2] = this.fp[0]!;
      this.keys[slot * 2 + 1] = this.fp[1]!;
    }
    this.values[slot] = (v & CONVERTED) | (code + 1);
    return true;
  }

  /** Doubles the table, placing every stored fingerprint anew. */
  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    const slots = values.length * 2;
    this.keys = new Int32Array(slots * 2);
    this.values = new Uint8Array(slots);
    this.mask = slots - 1;
    for (let i = 0; i < values.length; i++) {
      if (values[i] === 0) continue;
      const hi = keys[i * 2]!;
      const lo = keys[i * 2 + 1]!;
      let slot = (lo ^ (hi >>> 7)) & this.mask;
      while (this.values[slot] !== 0) slot = (slot + 1) & this.mask;
      this.keys[slot * 2] = hi;
      this.keys[slot * 2 + 1] = lo;
      this.values[slot] = values[i]!;
    }
  }

  /** Marks the unit converted; true only the first time (a unit counts once). False for an unknown unit. */
  markConverted(unit: string): boolean {
    const slot = this.find(unit);
    if (slot < 0 || this.values[slot]! & CONVERTED) return false;
    this.values[slot]! |= CONVERTED;
    return true;
  }

  clear(): void {
    const initial = Math.min(this.maxSlots, INITIAL_SLOTS);
    this.keys = new Int32Array(initial * 2);
    this.values = new Uint8Array(initial);
    this.mask = initial - 1;
    this.count = 0;
  }

  private find(unit: string): number {
    const slot = this.probe(unit);
    return this.values[slot] === 0 ? -1 : slot;
  }

  /** The unit's slot, or the empty slot where it would go; leaves its fingerprint in fp. */
  private probe(unit: string): number {
    const fp = this.fp;
    fingerprint64(unit, this.seedHi, this.seedLo, fp);
    const hi = fp[0]!;
    const lo = fp[1]!;
    const keys = this.keys;
    const values = this.values;
    let slot = (lo ^ (hi >>> 7)) & this.mask;
    while (values[slot] !== 0) {
      if (keys[slot * 2] === hi && keys[slot * 2 + 1] === lo) return slot;
      slot = (slot + 1) & this.mask;
    }
    return slot;
  }
}
