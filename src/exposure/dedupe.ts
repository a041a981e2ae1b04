/**
 * Bounded LRU of exposures already logged, keyed by (unit, experiment, variant,
 * allocation version): the first evaluation of a unit logs, repeats do not. With a
 * window, an entry older than the window logs again (a daily re-exposure, say).
 *
 * Two generations of Maps (the scheme of the quick-lru package): new keys go into the
 * current generation; when it holds half the capacity it becomes the old one and the
 * previous old one is dropped whole. A key found in the old generation moves to the
 * current one, so recently seen keys survive. Every operation is O(1). (Evicting the
 * first key of one Map with keys().next() is not: V8 walks the deleted entries left at
 * the front, which made each call O(n) once the cache was full.)
 */
export class ExposureDedupe {
  private current = new Map<string, number>();
  private old = new Map<string, number>();
  private readonly half: number;

  constructor(
    capacity: number,
    private readonly windowMs: number | undefined,
  ) {
    this.half = Math.max(1, Math.floor(capacity / 2));
  }

  /** True when this key should be logged now (and records it). */
  admit(key: string, now: number): boolean {
    let at = this.current.get(key);
    if (at === undefined) {
      at = this.old.get(key);
      if (at !== undefined) {
        this.old.delete(key);
        this.insert(key, at);
      }
    }
    if (at !== undefined && (this.windowMs === undefined || now - at < this.windowMs)) return false;
    this.insert(key, now);
    return true;
  }

  get size(): number {
    return this.current.size + this.old.size;
  }

  private insert(key: string, at: number): void {
    if (!this.current.has(key) && this.current.size >= this.half) {
      this.old = this.current;
      this.current = new Map();
    }
    this.current.set(key, at);
  }
}
