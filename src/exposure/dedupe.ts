/**
 * Bounded LRU of exposures already logged, keyed by (unit, experiment, variant,
 * allocation version): the first evaluation of a unit logs, repeats do not. With a
 * window, an entry older than the window logs again (a daily re-exposure, say).
 * A Map keeps insertion order, so the oldest entry is the first key.
 */
export class ExposureDedupe {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number | undefined,
  ) {}

  /** True when this key should be logged now (and records it). */
  admit(key: string, now: number): boolean {
    const at = this.seen.get(key);
    if (at !== undefined && (this.windowMs === undefined || now - at < this.windowMs)) return false;
    if (at !== undefined) this.seen.delete(key);
    else if (this.seen.size >= this.capacity) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, now);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
