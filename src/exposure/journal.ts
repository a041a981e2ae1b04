/**
 * The durable log behind the exposure pipeline: segments of lines, cached as bytes, read by each sink from its own cursor.
 *
 * Every flushed batch is appended to the active segment before any sink sees it; each
 * sink reads the log through its own cursor and advances it on acknowledgement; a segment
 * is deleted once every cursor has passed it. So a sink that is down simply falls behind
 * on disk ("spilled"), a restart replays from the saved cursors, and nothing waits in
 * memory for a slow sink.
 *
 * The log is kept as bytes: a flush appends blocks of whole JSON lines in UTF-8 (see
 * event-encoder.ts), the same bytes go to the segment file and to the cache, and a sink
 * reads views of them, so no event is ever a string of its own on the way (the JSONL sink
 * writes the journal's bytes as they are). Block memory comes from a pool (slab-pool.ts);
 * a read lends its blocks until the sink's send settles (see release()).
 *
 * Blocks are written by the segment writer (segment-writer.ts) off the event loop. A block
 * is cached, and readable by sinks, at once; its segment may be evicted from the cache,
 * and its slab reused, only once it is written. Written lines survive the process being
 * killed (the OS has the bytes), not a machine crash (no fsync per batch); written()
 * resolves when everything appended so far is. If a write fails (or a segment or the
 * cursors cannot be written), the segments not fully written stay in memory and the
 * journal goes on in memory-only mode, as when the directory cannot be written at all:
 * then it keeps segments in memory only, up to `memoryLimit` lines, and the pipeline
 * counts what it has to drop beyond that. After a failure mid-run the pipeline has it try
 * the disk again from time to time (recover()): the memory segments are written to their
 * files and the journal is on disk again.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compare, type Cursor, type CursorStore } from './cursor-store.js';
import { adoptStaleJournals } from './adopt.js';
import { claimJournalHome, type DirLock } from './dir-lock.js';
import {
  closeQuietly,
  createSegmentFile,
  listSegmentFiles,
  readSegmentFile,
  removeQuietly,
  type SegmentLines,
} from './segment-files.js';
import { SegmentWriter, writeAllSync } from './segment-writer.js';
import { footprint, footprintOf, SLAB_BYTES, SlabPool, type Block, type Slab } from './slab-pool.js';

export type { Block, Slab } from './slab-pool.js';
export { compare, type Cursor } from './cursor-store.js';

/** What a read hands a sink: views of cached blocks, `count` lines in all. */
export interface Lines {
  parts: Buffer[];
  count: number;
  next: Cursor;
  /** The slabs the parts are views of, lent until release(). */
  lent: Slab[];
}

interface Segment {
  readonly seq: number;
  /** Its file; '' for a segment made in memory-only mode until recover() writes it. */
  file: string;
  /** Cached blocks; undefined when evicted (reloaded from the file on demand). */
  blocks: Block[] | undefined;
  count: number;
  bytes: number;
  persisted: boolean;
  /** Last use, for least-recently-used eviction of cached lines. */
  used: number;
  /** Bytes appended but not yet written to the file; the segment stays cached until 0. */
  unwritten: number;
}

export interface JournalOptions {
  dir: string;
  maxSegmentBytes: number;
  /** Bytes kept cached in memory across segments before older segments are evicted. */
  cacheBytes: number;
  /** Lines kept in memory when the directory cannot be written. */
  memoryLimit: number;
  /** Where the sinks' cursors are saved. */
  cursors: CursorStore;
  /** Called once when the journal fails (a write, a file it cannot create) and goes on in memory only. */
  onFailure?: (error: Error) => void;
  /** Called when a segment's file cannot be read back whole (deleted, replaced or cut short under the process): `lines` are lost. */
  onLost?: (file: string, lines: number, error: Error) => void;
}

export class Journal {
  private readonly segments: Segment[] = [];
  private fd: number | undefined;
  private cached = 0;
  private memoryLines = 0;
  private tick = 0;
  private readonly pool: SlabPool;
  /** Replaced by a new one when the journal recovers (see recover()): a writer stops for good at its first failure. */
  private writer: SegmentWriter;
  private lock: DirLock | undefined;
  /** The directory this process's journal and cursors live in (see claimJournalHome); set by open(). */
  private homeDir: string | undefined;
  /** Why the journal is in memory-only mode, if it is. */
  failure: Error | undefined;
  /** Lines found unreadable (a partial last line after a crash) and skipped. */
  corruptLines = 0;

  /**
   * Lines in one segment in memory-only mode, at most (but a block): an eighth of the limit.
   * One segment taking every line would never be trimmed (the last one never is), and every
   * event after the first `memoryLimit` would be dropped, delivered or not.
   */
  private readonly memorySegmentLines: number;

  constructor(private readonly options: JournalOptions) {
    this.memorySegmentLines = Math.max(1, Math.ceil(options.memoryLimit / 8));
    // Slabs in use at once: a full cache, the active segment (always cached) and the one
    // before it, and a few lent to sinks; more than that is left to the collector.
    this.pool = new SlabPool(Math.ceil((options.cacheBytes + 2 * options.maxSegmentBytes) / SLAB_BYTES) + 8);
    this.writer = new SegmentWriter(this.pool, (error) => this.fail(error));
  }

  /**
   * Claims this process's slot of the directory (see claimJournalHome), finds the segments
   * a previous run left in it, and takes over the undelivered lines of slots whose process
   * is gone (see adoptStaleJournals; `sinks`: this process's sink names). Returns false
   * (memory mode) if the directory is unusable.
   */
  open(sinks: readonly string[] = []): boolean {
    try {
      mkdirSync(this.options.dir, { recursive: true });
      const { home, lock } = claimJournalHome(this.options.dir);
      this.lock = lock;
      this.homeDir = home;
      this.options.cursors.locate(home);
      mkdirSync(this.journalDir, { recursive: true });
      const own = listSegmentFiles(this.journalDir);
      const next = (own[own.length - 1]?.seq ?? 0) + 1;
      const adopted = adoptStaleJournals(this.options.dir, home, this.journalDir, next, sinks);
      this.corruptLines += adopted.corrupt;
      this.adoptedSlots = adopted.slots;
      if (adopted.segments > 0) this.adoptedFrom = next;
      for (const { seq, file } of listSegmentFiles(this.journalDir)) {
        this.segments.push({
          seq,
          file,
          blocks: undefined,
          count: -1,
          bytes: 0,
          persisted: true,
          used: 0,
          unwritten: 0,
        });
      }
      // Counts are needed to know how far behind each sink is; lines are reloaded as read.
      for (const segment of this.segments) {
        this.load(segment);
        this.evict(segment);
      }
      return true;
    } catch (error) {
      this.failure = error as Error;
      // Memory mode keeps nothing on disk: the slot is free for a process that can use it.
      this.segments.length = 0;
      this.lock?.release();
      this.lock = undefined;
      this.homeDir = undefined;
      return false;
    }
  }

  /** The slots whose undelivered lines open() took over (their directories). */
  adoptedSlots: string[] = [];

  /** The first segment open() took over from other slots, after this journal's own; undefined when none. */
  private adoptedFrom: number | undefined;

  /**
   * The end of this journal's own lines, before those open() took over: where a cursor the
   * previous run saved can be at most (one past it was saved for segments since cleared, and
   * would skip the lines taken over in their place).
   */
  ownEnd(): Cursor {
    return this.adoptedFrom === undefined ? this.end() : { seq: this.adoptedFrom, line: 0 };
  }

  /**
   * Where this process journals: `<dir>`, or a worker slot under it (`<dir>/workers/N`) when
   * another live process holds `<dir>`; `<dir>` until open() and in memory-only mode.
   */
  get home(): string {
    return this.homeDir ?? this.options.dir;
  }

  /** The exposures directory, `<dir>`: this process's journal is in it or in one of its worker slots. */
  get root(): string {
    return this.options.dir;
  }

  get journalDir(): string {
    return join(this.home, 'journal');
  }

  get inMemoryOnly(): boolean {
    return this.failure !== undefined;
  }

  /** The position just past the last line. */
  end(): Cursor {
    const last = this.segments[this.segments.length - 1];
    return last ? { seq: last.seq, line: last.count } : { seq: 0, line: 0 };
  }

  start(): Cursor {
    const first = this.segments[0];
    return first ? { seq: first.seq, line: 0 } : { seq: 0, line: 0 };
  }

  /**
   * A slab to encode a block into (its bytes and its line ends); hand it back filled with
   * appendSlab(), or unused with giveBack().
   */
  takeSlab(): Slab {
    return this.pool.take();
  }

  /** Appends the first `bytes` bytes, `lines` whole lines, of a slab from takeSlab(); returns how many lines could not be kept. */
  appendSlab(slab: Slab, bytes: number, lines: number): number {
    slab.cached = true;
    return this.append({ bytes: slab.bytes.subarray(0, bytes), ends: slab.ends.subarray(0, lines), slab });
  }

  giveBack(slab: Slab): void {
    this.pool.recycle(slab);
  }

  /** Resolves when every block appended so far is written to its file (or the journal failed). */
  written(): Promise<void> {
    return this.writer.written();
  }

  /** The sink's send for `lines` has settled: their slabs may be reused once out of the cache. */
  release(lines: Lines): void {
    for (const slab of lines.lent) this.pool.returned(slab);
    lines.lent.length = 0;
  }

  /** Appends a block; returns how many of its lines could not be kept (memory mode over its limit). */
  append(block: Block): number {
    const count = block.ends.length;
    if (count === 0) return 0;
    if (!this.failure) {
      let seg: Segment | undefined;
      try {
        seg = this.activeSegment();
      } catch (error) {
        this.fail(error as Error);
      }
      if (seg) {
        seg.blocks!.push(block);
        this.cached += footprint(block);
        seg.count += count;
        seg.used = ++this.tick;
        const position = seg.bytes;
        seg.bytes += block.bytes.length;
        this.writer.write(this.fd!, seg, block.bytes, position, block.slab);
        this.evict(seg);
        return 0;
      }
    }
    const room = Math.max(0, this.options.memoryLimit - this.memoryLines);
    const kept = Math.min(room, count);
    if (kept > 0) {
      let seg = this.segments[this.segments.length - 1];
      // Memory segments are kept small, so trim() frees those every sink has passed (never the last).
      if (!seg || seg.persisted || seg.count >= this.memorySegmentLines) {
        seg = {
          seq: (seg?.seq ?? 0) + 1,
          file: '',
          blocks: [],
          count: 0,
          bytes: 0,
          persisted: false,
          used: 0,
          unwritten: 0,
        };
        this.segments.push(seg);
      }
      seg.blocks!.push(
        kept === count
          ? block
          : {
              bytes: block.bytes.subarray(0, block.ends[kept - 1]),
              ends: block.ends.subarray(0, kept),
              slab: block.slab,
            },
      );
      seg.count += kept;
      this.memoryLines += kept;
    } else this.uncache([block]);
    return count - kept;
  }

  /** Up to `max` lines from the cursor, moving it to the next segment when one is used up. */
  read(cursor: Cursor, max: number): Lines {
    let i = this.segments.findIndex((segment) => segment.seq >= cursor.seq);
    let line = i >= 0 && this.segments[i]!.seq === cursor.seq ? cursor.line : 0;
    while (i >= 0 && i < this.segments.length) {
      const seg = this.segments[i]!;
      if (line < seg.count) {
        const lent: Slab[] = [];
        const parts = viewLines(this.load(seg), line, max, lent);
        this.evict(seg);
        return {
          parts,
          count: Math.min(max, seg.count - line),
          next: { seq: seg.seq, line: Math.min(seg.count, line + max) },
          lent,
        };
      }
      if (i === this.segments.length - 1) return { parts: [], count: 0, next: { seq: seg.seq, line }, lent: [] };
      i++;
      line = 0;
    }
    return { parts: [], count: 0, next: cursor, lent: [] };
  }

  /**
   * Deletes everything when every cursor is at the end (a clean close), so a finished
   * run leaves no delivered segment behind; returns whether it did.
   */
  clearIfDelivered(cursors: Cursor[]): boolean {
    const end = this.end();
    if (this.failure || !this.writer.idle || cursors.some((c) => compare(c, end) < 0)) return false;
    this.closeFd();
    for (const segment of this.segments.splice(0)) {
      // A file that cannot be removed is replayed at the next start (delivered twice, never lost): close() goes on.
      if (segment.file) removeQuietly(segment.file);
      if (segment.blocks) this.uncache(segment.blocks);
    }
    this.cached = 0;
    this.memoryLines = 0;
    this.options.cursors.remove();
    return true;
  }

  /** Deletes segments every cursor has passed (never the active one). */
  trim(cursors: Cursor[]): void {
    const min = cursors.reduce((least, cursor) => (compare(cursor, least) < 0 ? cursor : least), this.end());
    while (this.segments.length > 1) {
      const first = this.segments[0]!;
      const passed = first.seq < min.seq || (first.seq === min.seq && min.line >= first.count);
      if (!passed || first.unwritten > 0) break;
      this.segments.shift();
      if (first.blocks && first.persisted) this.cached -= footprintOf(first.blocks);
      if (first.blocks) this.uncache(first.blocks);
      if (!first.persisted) this.memoryLines -= first.count;
      // A segment whose write failed keeps a partial file; its lines were delivered from memory.
      if (first.file) removeQuietly(first.file);
    }
  }

  /** Lines on record that `cursor` has not yet passed. */
  behind(cursor: Cursor): number {
    let lines = 0;
    for (const segment of this.segments) {
      if (segment.seq > cursor.seq) lines += segment.count;
      else if (segment.seq === cursor.seq) lines += Math.max(0, segment.count - cursor.line);
    }
    return lines;
  }

  /** Lines that `cursor` has not yet passed and that are kept in memory only (gone when the process ends). */
  behindInMemory(cursor: Cursor): number {
    let lines = 0;
    for (const segment of this.segments) {
      if (segment.persisted) continue;
      if (segment.seq > cursor.seq) lines += segment.count;
      else if (segment.seq === cursor.seq) lines += Math.max(0, segment.count - cursor.line);
    }
    return lines;
  }

  /** Closes the file (after written(): a write still queued then is abandoned). */
  close(): void {
    this.abandonWrites();
    this.lock?.release();
  }

  /** Saves the sinks' cursors; a failure to write them sends the journal to memory only. */
  saveCursors(cursors: Record<string, Cursor>): void {
    if (this.failure) return;
    try {
      this.options.cursors.write(cursors);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /**
   * The cursors a previous run of this journal saved; none in memory-only mode, whose
   * journal starts empty (the directory's saved cursors, of another process or of segments
   * this journal cannot read, would place the sinks past lines they never got).
   */
  loadCursors(): Record<string, unknown> {
    if (this.homeDir === undefined) return {};
    return this.options.cursors.load();
  }

  private activeSegment(): Segment {
    let seg = this.segments[this.segments.length - 1];
    if (!seg || !seg.persisted || seg.bytes >= this.options.maxSegmentBytes || this.fd === undefined) {
      // The old file is closed in turn, after the writes queued for it.
      if (this.fd !== undefined) this.writer.closeAfterWrites(this.fd);
      this.fd = undefined;
      const seq = (seg?.seq ?? 0) + 1;
      const created = createSegmentFile(this.journalDir, seq);
      this.fd = created.fd;
      seg = { seq, file: created.file, blocks: [], count: 0, bytes: 0, persisted: true, used: 0, unwritten: 0 };
      this.segments.push(seg);
    }
    return seg;
  }

  private load(seg: Segment): Block[] {
    seg.used = ++this.tick;
    if (seg.blocks) return seg.blocks;
    let read: SegmentLines;
    let unreadable: Error | undefined;
    try {
      read = readSegmentFile(seg.file);
    } catch (error) {
      unreadable = error as Error;
      read = { bytes: Buffer.alloc(0), ends: [], corrupt: 0 };
    }
    const { bytes, ends, corrupt } = read;
    if (seg.count >= 0 && seg.count < ends.length) ends.length = seg.count;
    // Deleted, replaced by a directory or cut short under the process: the lines it no longer
    // holds are gone. They are counted and reported, and the sinks go on with the rest. A
    // segment of known length counts exactly those (a torn or missing line is one of them);
    // one of unknown length (a previous run's) counts the torn lines and holes the read found.
    const lost = Math.max(0, seg.count - ends.length);
    this.corruptLines += seg.count >= 0 ? lost : corrupt;
    if (unreadable !== undefined || lost > 0) {
      this.options.onLost?.(
        seg.file,
        lost,
        unreadable ?? new Error(`it holds ${ends.length} of its ${seg.count} lines`),
      );
    }
    const end = ends[ends.length - 1] ?? 0;
    seg.blocks = [{ bytes: bytes.subarray(0, end), ends: Uint32Array.from(ends) }];
    seg.count = ends.length;
    seg.bytes = bytes.length;
    this.cached += end;
    return seg.blocks;
  }

  /**
   * Leaves memory-only mode after a failure mid-run, once the disk takes writes again (a full
   * disk with room again, a transient I/O error): every segment kept in memory is written
   * whole to its file (the same sequence number, so the sinks' cursors stay valid; a partial
   * file a failed write left is replaced), synchronously, then appends go to disk again
   * through a new writer. Until then a crash loses the lines kept in memory, so the journal
   * must not stay in memory for good after a moment's failure. A journal that never opened
   * its directory, or whose directory is gone (removed under the process: another process
   * may have claimed the slot since), stays in memory. `cursors` (the sinks' cursors now) are
   * written last: a journal whose cursors cannot be written is not on disk again (it would
   * fail at the next save, and log it, every retry). Returns whether it is on disk again; a
   * segment written before a later one fails stays on disk (the journal stays in memory).
   */
  recover(cursors: Record<string, Cursor>): boolean {
    if (!this.failure || this.homeDir === undefined || !existsSync(this.journalDir)) return false;
    for (const seg of this.segments) {
      if (seg.persisted) continue;
      let bytes = 0;
      try {
        const created = createSegmentFile(this.journalDir, seg.seq);
        // Its file from now on, even if a write below fails: trim() and a clean close remove
        // the partial file with the segment, and a later recover() writes it again. Left
        // unnamed, it outlived the segment and a later start replayed lines already delivered.
        seg.file = created.file;
        try {
          for (const block of seg.blocks!) {
            writeAllSync(created.fd, block.bytes, bytes);
            bytes += block.bytes.length;
          }
        } finally {
          closeQuietly(created.fd);
        }
      } catch {
        return false;
      }
      seg.persisted = true;
      seg.bytes = bytes;
      seg.unwritten = 0;
      this.memoryLines -= seg.count;
      this.cached += footprintOf(seg.blocks!);
    }
    try {
      this.options.cursors.write(cursors);
    } catch {
      return false;
    }
    this.failure = undefined;
    this.writer = new SegmentWriter(this.pool, (error) => this.fail(error));
    return true;
  }

  /** Drops cached blocks, least recently used segment first, never of `keep` or the active segment. */
  private evict(keep: Segment): void {
    if (this.cached <= this.options.cacheBytes) return;
    const active = this.segments[this.segments.length - 1];
    const candidates = this.segments
      .filter(
        (segment) =>
          segment !== keep && segment !== active && segment.persisted && segment.unwritten === 0 && segment.blocks,
      )
      .sort((a, b) => a.used - b.used);
    for (const seg of candidates) {
      if (this.cached <= this.options.cacheBytes) break;
      this.cached -= footprintOf(seg.blocks!);
      this.uncache(seg.blocks!);
      seg.blocks = undefined;
    }
  }

  /** Blocks leave the cache: their slabs go back to the pool unless a read still has them. */
  private uncache(blocks: readonly Block[]): void {
    for (const block of blocks) {
      if (block.slab === undefined || !block.slab.cached) continue;
      this.pool.uncached(block.slab);
    }
  }

  /** Drops the queued writes (not the one in flight) and closes the files. */
  private abandonWrites(): void {
    this.writer.abandon();
    if (this.fd !== undefined) this.writer.retire(this.fd);
    this.fd = undefined;
  }

  /**
   * The journal cannot be written: from now on it keeps lines in memory only. Segments
   * not fully written become memory segments (their lines are still cached), so none of
   * their lines is lost while the process lives.
   */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.writer.stop();
    this.abandonWrites();
    for (const seg of this.segments) {
      if (seg.unwritten === 0 || !seg.persisted) continue;
      seg.persisted = false;
      seg.unwritten = 0;
      this.cached -= footprintOf(seg.blocks!);
      this.memoryLines += seg.count;
    }
    this.options.onFailure?.(error);
  }

  private closeFd(): void {
    if (this.fd !== undefined) closeQuietly(this.fd);
    this.fd = undefined;
  }
}

/** Views of `max` lines from line `from` on, across the blocks (no copy); the slabs they are views of are lent. */
function viewLines(blocks: readonly Block[], from: number, max: number, lent: Slab[]): Buffer[] {
  const parts: Buffer[] = [];
  let skip = from;
  let want = max;
  for (const block of blocks) {
    const count = block.ends.length;
    if (skip >= count) {
      skip -= count;
      continue;
    }
    const take = Math.min(want, count - skip);
    const start = skip === 0 ? 0 : block.ends[skip - 1]!;
    parts.push(block.bytes.subarray(start, block.ends[skip + take - 1]));
    if (block.slab !== undefined) {
      block.slab.lent++;
      lent.push(block.slab);
    }
    want -= take;
    skip = 0;
    if (want === 0) break;
  }
  return parts;
}
