/**
 * The exposure rule's memory: which (unit, experiment, variant, allocation version) keys
 * were already logged, bounded, optionally for a time window only.
 *
 * Keys arrive as 64-bit fingerprints (two independent 32-bit hashes, computed by the
 * caller), kept in open-addressing tables of typed arrays, so a check allocates nothing
 * and the garbage collector has nothing to trace. A false "already logged" needs both
 * hashes of two different keys to collide: about 1e-14 per check at 100,000 keys.
 * Two generations bound the size (the scheme of the quick-lru package): when the current
 * table holds half the capacity it becomes the old one and the previous old one is
 * cleared; a key found in the old table moves to the current one, so recently seen keys
 * survive. (A Map with string keys cost about 1.2 µs a check here, mostly hashing fresh
 * strings and collecting dropped Maps.)
 */
class Table {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly at: Float64Array;
  count = 0;
  readonly mask: number;

  constructor(slots: number) {
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.at = new Float64Array(slots);
    this.mask = slots - 1;
  }

  /** Slot of the key, or of the empty slot where it would go (negative: -(slot + 1)). */
  find(hi: number, lo: number): number {
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = this.hi[i]!;
      const l = this.lo[i]!;
      if (h === 0 && l === 0) return -(i + 1);
      if (h === hi && l === lo) return i;
      i = (i + 1) & this.mask;
    }
  }

  clear(): void {
    this.hi.fill(0);
    this.lo.fill(0);
    this.count = 0;
  }
}

export class ExposureDedupe {
  private current: Table;
  private old: Table;
  private readonly half: number;

  constructor(
    capacity: number,
    private readonly windowMs: number | undefined,
  ) {
    this.half = Math.max(1, Math.floor(capacity / 2));
    // Load factor at most 1/2 keeps linear probing short.
    let slots = 2;
    while (slots < this.half * 2) slots *= 2;
    this.current = new Table(slots);
    this.old = new Table(slots);
  }

  /** True when the key (hi, lo) should be logged now; records it. */
  admit(hi: number, lo: number, now: number): boolean {
    if (hi === 0 && lo === 0) lo = 1; // (0, 0) marks an empty slot
    const window = this.windowMs;
    let slot = this.current.find(hi, lo);
    if (slot >= 0) {
      if (window === undefined || now - this.current.at[slot]! < window) return false;
      this.current.at[slot] = now;
      return true;
    }
    const inOld = this.old.find(hi, lo);
    const seenAt = inOld >= 0 ? this.old.at[inOld]! : undefined;
    const fresh = seenAt === undefined || (window !== undefined && now - seenAt >= window);
    if (this.current.count >= this.half) {
      const cleared = this.old;
      cleared.clear();
      this.old = this.current;
      this.current = cleared;
      slot = this.current.find(hi, lo);
    }
    const i = -slot - 1;
    this.current.hi[i] = hi;
    this.current.lo[i] = lo;
    this.current.at[i] = fresh ? now : seenAt!;
    this.current.count++;
    return fresh;
  }

  get size(): number {
    return this.current.count + this.old.count;
  }
}
