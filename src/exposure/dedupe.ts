/**
 * The exposure rule's memory: which (unit, experiment, variant, allocation version) keys
 * were already logged, bounded, optionally for a time window only.
 *
 * Keys are 64-bit fingerprints of the key that the caller computes (the client takes the
 * unit's allocation hash and a second hash of the unit id: allocation's exposureKey, seeded per experiment variant and allocation
 * version), stored with 63 of their bits in one open-addressing table over a typed array (8 bytes a
 * key, plus 8 for the time only when there is a window), so a check allocates nothing,
 * leaves the garbage collector nothing to trace, and costs one probe: one cache line
 * touched, which is most of the cost of a first exposure. A false "already logged" needs
 * two keys to share all 63 bits: about 1e-14 per check at 100,000 keys.
 *
 * Two generations bound the size (the scheme of the quick-lru package), told apart by
 * the key's lowest bit: when the current generation holds half the capacity it becomes
 * the old one and the previous old one is dropped (a sweep that rebuilds the table in
 * slot order, so nearly sequential; none when every old key came back, as units cycling
 * within the capacity do); a key found in the old generation moves to the
 * current one, so recently seen keys survive. (A Map with string keys cost about 1.2 µs
 * a check here, mostly hashing fresh strings and collecting dropped Maps; two tables, one
 * per generation, cost a second cache miss on every first exposure.)
 */

/** The table's first size, in slots (8 KB of keys): a rule grows from here as keys arrive. */
const MIN_SLOTS = 1024;

export class ExposureDedupe {
  /** Slot i's key: hi at word 2i, lo at word 2i+1, whose lowest bit is its generation. */
  private words: Int32Array;
  private spare: Int32Array | undefined;
  /** When slot i's key was last logged; kept only when the rule has a time window. */
  private at: Float64Array;
  private spareAt: Float64Array | undefined;
  private mask: number;
  /** The table's size once the rule holds its capacity; it starts small and doubles up to it. */
  private readonly maxSlots: number;
  private generation = 0;
  private currentCount = 0;
  private oldCount = 0;
  private readonly half: number;

  constructor(
    capacity: number,
    private readonly windowMs: number | undefined,
  ) {
    this.half = Math.max(1, Math.floor(capacity / 2));
    // Load factor at most 1/2 keeps linear probing short.
    let slots = 4;
    while (slots < this.half * 4) slots *= 2;
    this.maxSlots = slots;
    // The table grows with the keys it holds (doubling when its load passes 1/2, the load it
    // has at full size), so the keys of a service with fewer units than the capacity sit in
    // fewer cache lines: 10,000 units cycling probe a 256 KB table, not the 2 MB one the
    // default capacity needs.
    slots = Math.min(slots, MIN_SLOTS);
    this.words = new Int32Array(slots * 2);
    this.at = new Float64Array(windowMs === undefined ? 0 : slots);
    this.mask = slots - 1;
  }

  /**
   * The caller's-path check for rules without a time window, in front of admit() at flush
   * (the event pipeline admits queued exposures then): true when the key is logged
   * already, at any distance since its last visit while the rule still holds it (a key
   * found in the old generation moves to the current one, as in admit); false when it is
   * not in the table, which is left untouched: the caller queues the exposure and admit()
   * decides at flush, so two calls for a new key before a flush are settled there. One
   * probe, no allocation, nothing queued for a repeat (issue 18).
   */
  has(hi: number, lo: number): boolean {
    hi |= 0;
    lo &= ~1;
    if (hi === 0 && lo === 0) hi = 1;
    const i = this.find(hi, lo);
    if (i < 0) return false;
    if ((this.words[i * 2 + 1]! & 1) !== this.generation) this.promote(i, lo);
    return true;
  }

  /** Whether admit() reads `now` (only a rule with a time window does). */
  get timed(): boolean {
    return this.windowMs !== undefined;
  }

  /** True when the key (hi, lo) should be logged now; records it. */
  admit(hi: number, lo: number, now: number): boolean {
    hi |= 0;
    lo &= ~1;
    if (hi === 0 && lo === 0) hi = 1; // (0, 0) marks an empty slot
    const window = this.windowMs;
    const i = this.find(hi, lo);
    if (i >= 0) {
      if ((this.words[i * 2 + 1]! & 1) === this.generation) {
        if (window === undefined || now - this.at[i]! < window) return false;
        this.at[i] = now;
        return true;
      }
      // Seen in the old generation: it moves to the current one, keeping its time.
      const fresh = window !== undefined && now - this.at[i]! >= window;
      if (fresh) this.at[i] = now;
      this.promote(i, lo);
      return fresh;
    }
    const empty = ~i;
    this.words[empty * 2] = hi;
    this.words[empty * 2 + 1] = lo | this.generation;
    if (window !== undefined) this.at[empty] = now;
    this.added();
    return true;
  }

  /** The slot holding key (hi, lo), or ~slot of the empty slot where it would go. */
  private find(hi: number, lo: number): number {
    const words = this.words;
    const mask = this.mask;
    let i = ((lo >>> 1) ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const h = words[i * 2]!;
      const l = words[i * 2 + 1]!;
      if (h === 0 && l === 0) return ~i;
      if (h === hi && ((l ^ lo) & ~1) === 0) return i;
      i = (i + 1) & mask;
    }
  }

  /** Moves slot i's key from the old generation to the current one. */
  private promote(i: number, lo: number): void {
    this.words[i * 2 + 1] = lo | this.generation;
    this.oldCount--;
    this.added();
  }

  get size(): number {
    return this.currentCount + this.oldCount;
  }

  /** Bytes the rule's tables hold now (the table, its times, and the sweep's spares). */
  get bytes(): number {
    return this.words.byteLength + this.at.byteLength + (this.spare?.byteLength ?? 0) + (this.spareAt?.byteLength ?? 0);
  }

  private added(): void {
    ++this.currentCount;
    if (this.mask + 1 < this.maxSlots && (this.currentCount + this.oldCount) * 2 > this.mask + 1) this.grow();
    if (this.currentCount < this.half) return;
    // The current generation is full: drop the old one, the current one becomes old.
    if (this.oldCount === 0) {
      // Nothing to drop (every key came back since the last turn, as units cycling within
      // the capacity do): the generations turn over without a sweep of the table.
      this.generation ^= 1;
      this.oldCount = this.currentCount;
      this.currentCount = 0;
      return;
    }
    const from = this.words;
    const to = (this.spare ??= new Int32Array(from.length));
    const fromAt = this.at;
    const toAt = (this.spareAt ??= new Float64Array(fromAt.length));
    to.fill(0);
    copyKeys(from, fromAt, to, toAt, this.mask, this.generation);
    this.spare = from;
    this.words = to;
    this.spareAt = fromAt;
    this.at = toAt;
    this.generation ^= 1;
    this.oldCount = this.currentCount;
    this.currentCount = 0;
  }
  /** Doubles the table, keeping every key of both generations and its time. */
  private grow(): void {
    const fromAt = this.at;
    const slots = (this.mask + 1) * 2;
    const mask = slots - 1;
    const to = new Int32Array(slots * 2);
    const toAt = new Float64Array(fromAt.length === 0 ? 0 : slots);
    copyKeys(this.words, fromAt, to, toAt, mask, ALL_GENERATIONS);
    this.words = to;
    this.at = toAt;
    this.mask = mask;
    // The sweep's spare tables are made again at the new size when next needed.
    this.spare = undefined;
    this.spareAt = undefined;
  }
}

const ALL_GENERATIONS = -1;

/**
 * Puts the keys of table `from` (every key, or only those of `generation`) into the empty
 * table `to` of mask `mask`, each with its time when the rule keeps times.
 */
function copyKeys(
  from: Int32Array,
  fromAt: Float64Array,
  to: Int32Array,
  toAt: Float64Array,
  mask: number,
  generation: number,
): void {
  const slots = from.length / 2;
  for (let j = 0; j < slots; j++) {
    const h = from[j * 2]!;
    const l = from[j * 2 + 1]!;
    if ((h === 0 && l === 0) || (generation !== ALL_GENERATIONS && (l & 1) !== generation)) continue;
    let i = ((l >>> 1) ^ Math.imul(h, 0x9e3779b1)) & mask;
    while (to[i * 2] !== 0 || to[i * 2 + 1] !== 0) i = (i + 1) & mask;
    to[i * 2] = h;
    to[i * 2 + 1] = l;
    if (toAt.length > 0) toAt[i] = fromAt[j]!;
  }
}
