/**
 * Pooled memory for journal blocks, with reference counts: a slab is free when it is neither cached nor lent.
 *
 * A block's bytes live outside the JS heap, and V8 answers external memory that comes and
 * goes with full (mark-compact) collections, which run on the callers' time: with a new
 * Buffer per sealed block, logging caused about a dozen of them per million exposures. So
 * blocks are encoded into pooled slabs, and a slab goes back to the pool once it is out of
 * the cache, written to its file, and no sink is still reading it.
 */

/** Whole lines: UTF-8 bytes, each line ending in a newline, and the offset just past each line. */
export interface Block {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
  /** The pooled memory under `bytes` and `ends`, when they are views of a slab. */
  readonly slab?: Slab;
}

/** Reusable memory for one block; free when neither cached nor lent to a reader or a write. */
export interface Slab {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
  /** Reads of this slab's block whose sends have not settled yet, and writes of it not yet over. */
  lent: number;
  cached: boolean;
}

/** A slab's room: a block is sealed past 64 KB, so this leaves 32 KB for its last line (a bigger one gets a buffer of its own). */
export const SLAB_BYTES = 96 * 1024;
const SLAB_LINES = 4096;

export class SlabPool {
  private readonly free: Slab[] = [];
  /** Slabs in existence: cached, lent or free. */
  private slabs = 0;

  /** @param limit slabs kept for reuse; past it, a slab coming back is left to the collector */
  constructor(private readonly limit: number) {}

  /** A slab to encode a block into; it comes back through recycle() (unused) or once uncached and no longer lent. */
  take(): Slab {
    // Oldest first: the order costs nothing here, and a slab freed too early is then
    // overwritten soon, where a test sees it, instead of lying at the bottom of a stack.
    let slab = this.free.shift();
    if (slab === undefined) {
      slab = { bytes: Buffer.allocUnsafeSlow(SLAB_BYTES), ends: new Uint32Array(SLAB_LINES), lent: 0, cached: false };
      this.slabs++;
    }
    return slab;
  }

  /** A read or a write that had the slab is over. */
  returned(slab: Slab): void {
    slab.lent--;
    this.recycle(slab);
  }

  /** The slab's block left the cache. */
  uncached(slab: Slab): void {
    slab.cached = false;
    this.recycle(slab);
  }

  /** Puts the slab back in the pool if nothing holds it any more. */
  recycle(slab: Slab): void {
    if (slab.cached || slab.lent > 0) return;
    if (this.slabs > this.limit) this.slabs--;
    else this.free.push(slab);
  }
}

/** Memory a cached block holds: its slab's room, or its bytes when it has no slab. */
export function footprint(block: Block): number {
  return block.slab === undefined ? block.bytes.length : SLAB_BYTES;
}

export function footprintOf(blocks: readonly Block[]): number {
  let bytes = 0;
  for (const block of blocks) bytes += footprint(block);
  return bytes;
}
