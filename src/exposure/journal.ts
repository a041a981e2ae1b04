/**
 * The durable log behind the exposure pipeline. Every flushed batch is appended to the
 * active segment file before any sink sees it; each sink reads the log through its own
 * cursor and advances it on acknowledgement; a segment is deleted once every cursor has
 * passed it. So a sink that is down simply falls behind on disk ("spilled"), a restart
 * replays from the saved cursors, and nothing waits in memory for a slow sink.
 *
 * The log is kept as bytes: a flush appends blocks of whole JSON lines in UTF-8 (see
 * encoder.ts), the same bytes go to the segment file and to the cache, and a sink reads
 * views of them, so no event is ever a string of its own on the way (the JSONL sink
 * writes the journal's bytes as they are).
 *
 * Block memory is recycled. A block's bytes live outside the JS heap, and V8 answers
 * external memory that comes and goes with full (mark-compact) collections, which run on
 * the callers' time: with a new Buffer per sealed block, logging caused about a dozen of
 * them per million exposures. So blocks are encoded into pooled slabs, and a slab goes
 * back to the pool once it is out of the cache and no sink is still reading it (a read
 * lends its blocks until the sink's send settles; see release()).
 *
 * Appends are written in order by libuv's thread pool, everything queued for a file in
 * one writev, so the event loop never waits for the disk (a synchronous write held it
 * for ~250 ns an event, and for as long as a stalled disk takes) and the journal keeps up
 * with any rate of flushes. A block is cached, and readable by sinks, at once; its
 * segment may be evicted from the cache, and its slab reused, only once it is written.
 * Written lines survive the process being killed (the OS has the bytes), not a machine
 * crash (no fsync per batch); written() resolves when everything appended so far is. If a
 * write fails (or a segment or the cursors cannot be written), the segments not fully
 * written stay in memory and the journal goes on in memory-only mode, as when the
 * directory cannot be written at all.
 *
 * When the directory cannot be written, the journal keeps segments in memory only, up
 * to `memoryLimit` lines, and the pipeline counts what it has to drop beyond that.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
  writev,
} from 'node:fs';
import { join, resolve } from 'node:path';

/** Journal directories held by this process; another process is kept out by the lock file. */
const heldHere = new Set<string>();

export interface Cursor {
  seq: number;
  line: number;
}

/** Whole lines: UTF-8 bytes, each line ending in a newline, and the offset just past each line. */
export interface Block {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
  /** The pooled memory under `bytes` and `ends`, when they are views of a slab. */
  readonly slab?: Slab;
}

/** Reusable memory for one block; free when neither cached nor lent to a reader. */
export interface Slab {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
  /** Reads of this slab's block whose sends have not settled yet. */
  lent: number;
  cached: boolean;
}

/** What a read hands a sink: views of cached blocks, `count` lines in all. */
export interface Lines {
  parts: Buffer[];
  count: number;
  next: Cursor;
  /** The slabs the parts are views of, lent until release(). */
  lent: Slab[];
}

/** A slab's room: a block is sealed past 64 KB, so this leaves 32 KB for its last line (a bigger one gets a buffer of its own). */
const SLAB_BYTES = 96 * 1024;
const SLAB_LINES = 4096;
/** Buffers in one writev (Linux's IOV_MAX). */
const IOV_MAX = 1024;

interface Segment {
  readonly seq: number;
  readonly file: string;
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

/** A queued write of a block to a segment file, or the closing of a file that is done. */
interface Write {
  readonly fd: number;
  readonly seg: Segment | undefined;
  readonly bytes: Buffer | undefined;
  /** Where in the file: writes are positional, so their order of execution does not matter. */
  readonly position: number;
  readonly slab: Slab | undefined;
}

/** Bytes queued or in flight past which appends write synchronously (the event loop is not turning). */
const MAX_BACKLOG = 8 * 2 ** 20;

export interface JournalOptions {
  dir: string;
  maxSegmentBytes: number;
  /** Bytes kept cached in memory across segments before older segments are evicted. */
  cacheBytes: number;
  /** Lines kept in memory when the directory cannot be written. */
  memoryLimit: number;
}

const SEGMENT = /^seg-(\d{12})\.jsonl$/;

export class Journal {
  private readonly segments: Segment[] = [];
  private fd: number | undefined;
  private cached = 0;
  private memoryLines = 0;
  private readonly free: Slab[] = [];
  /** Slabs in existence: cached, lent or free. */
  private slabs = 0;
  private tick = 0;
  /** Writes waiting, in order, behind the one in flight. */
  private readonly writes: Write[] = [];
  /** Blocks being written (one writev, one file); empty when no write is in flight. */
  private inFlight: Write[] = [];
  /** The write in flight was also done synchronously by writeNow(): its callback only releases its slabs. */
  private inFlightSettled = false;
  /** Bytes appended and not yet known to be written. */
  private backlog = 0;
  /** Files to close when the write in flight to them is over. */
  private readonly closing = new Set<number>();
  private drained: (() => void)[] = [];
  /** Why the journal is in memory-only mode, if it is. */
  failure: Error | undefined;
  /** Called once when the journal fails (a write, a file it cannot create) and goes on in memory only. */
  onFailure: ((error: Error) => void) | undefined;
  /** Lines found unreadable (a partial last line after a crash) and skipped. */
  corruptLines = 0;

  /**
   * Slabs in use at once: a full cache, the active segment (always cached) and the one
   * before it, and a few lent to sinks; more than that is left to the collector.
   */
  private readonly slabLimit: number;

  constructor(private readonly options: JournalOptions) {
    this.slabLimit = Math.ceil((options.cacheBytes + 2 * options.maxSegmentBytes) / SLAB_BYTES) + 8;
  }

  /** Finds the segments a previous run left; returns false (memory mode) if the dir is unusable. */
  open(): boolean {
    try {
      mkdirSync(this.journalDir, { recursive: true });
      this.lock();
      const files = readdirSync(this.journalDir)
        .filter((f) => SEGMENT.test(f))
        .sort();
      for (const f of files) {
        const seq = Number(SEGMENT.exec(f)![1]);
        this.segments.push({
          seq,
          file: join(this.journalDir, f),
          blocks: undefined,
          count: -1,
          bytes: 0,
          persisted: true,
          used: 0,
          unwritten: 0,
        });
      }
      // Counts are needed to know how far behind each sink is; lines are reloaded as read.
      for (const s of this.segments) {
        this.load(s);
        this.evict(s);
      }
      return true;
    } catch (error) {
      this.failure = error as Error;
      return false;
    }
  }

  get journalDir(): string {
    return join(this.options.dir, 'journal');
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
    // Oldest first: the order costs nothing here, and a slab freed too early is then
    // overwritten soon, where a test sees it, instead of lying at the bottom of a stack.
    let slab = this.free.shift();
    if (slab === undefined) {
      slab = { bytes: Buffer.allocUnsafeSlow(SLAB_BYTES), ends: new Uint32Array(SLAB_LINES), lent: 0, cached: false };
      this.slabs++;
    }
    return slab;
  }

  /** Appends the first `bytes` bytes, `lines` whole lines, of a slab from takeSlab(); returns how many lines could not be kept. */
  appendSlab(slab: Slab, bytes: number, lines: number): number {
    slab.cached = true;
    return this.append({ bytes: slab.bytes.subarray(0, bytes), ends: slab.ends.subarray(0, lines), slab });
  }

  giveBack(slab: Slab): void {
    this.recycle(slab);
  }

  /** Resolves when every block appended so far is written to its file (or the journal failed). */
  written(): Promise<void> {
    if (this.writes.length === 0 && this.inFlight.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** The sink's send for `lines` has settled: their slabs may be reused once out of the cache. */
  release(lines: Lines): void {
    for (const slab of lines.lent) this.returned(slab);
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
        seg.unwritten += block.bytes.length;
        seg.used = ++this.tick;
        if (block.slab) block.slab.lent++; // until written
        this.writes.push({ fd: this.fd!, seg, bytes: block.bytes, position: seg.bytes, slab: block.slab });
        seg.bytes += block.bytes.length;
        this.backlog += block.bytes.length;
        if (this.backlog > MAX_BACKLOG) this.writeNow();
        else this.pump();
        this.evict(seg);
        return 0;
      }
    }
    const room = Math.max(0, this.options.memoryLimit - this.memoryLines);
    const kept = Math.min(room, count);
    if (kept > 0) {
      let seg = this.segments[this.segments.length - 1];
      if (!seg || seg.persisted) {
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
    let i = this.segments.findIndex((s) => s.seq >= cursor.seq);
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
    if (this.failure || this.writes.length > 0 || this.inFlight.length > 0 || cursors.some((c) => compare(c, end) < 0))
      return false;
    this.closeFd();
    for (const s of this.segments.splice(0)) {
      if (s.file) rmSync(s.file, { force: true });
      if (s.blocks) this.uncache(s.blocks);
    }
    this.cached = 0;
    this.memoryLines = 0;
    rmSync(join(this.options.dir, 'cursors.json'), { force: true });
    return true;
  }

  /** Deletes segments every cursor has passed (never the active one). */
  trim(cursors: Cursor[]): void {
    const min = cursors.reduce((a, c) => (compare(c, a) < 0 ? c : a), this.end());
    while (this.segments.length > 1) {
      const first = this.segments[0]!;
      const passed = first.seq < min.seq || (first.seq === min.seq && min.line >= first.count);
      if (!passed || first.unwritten > 0) break;
      this.segments.shift();
      if (first.blocks && first.persisted) this.cached -= bytesOf(first.blocks);
      if (first.blocks) this.uncache(first.blocks);
      if (!first.persisted) this.memoryLines -= first.count;
      // A segment whose write failed keeps a partial file; its lines were delivered from memory.
      if (first.file) removeQuietly(first.file);
    }
  }

  /** Lines on record that `cursor` has not yet passed. */
  behind(cursor: Cursor): number {
    let n = 0;
    for (const s of this.segments) {
      if (s.seq > cursor.seq) n += s.count;
      else if (s.seq === cursor.seq) n += Math.max(0, s.count - cursor.line);
    }
    return n;
  }

  /** Closes the file (after written(): a write still queued then is abandoned). */
  close(): void {
    this.abandonWrites();
    if (this.locked) {
      rmSync(join(this.options.dir, 'lock'), { force: true });
      heldHere.delete(resolve(this.options.dir));
      this.locked = false;
    }
  }

  private locked = false;

  /**
   * One writer per journal: a lock file holding the owner's pid. A lock whose process is
   * gone (a crash) is taken over, so the next start replays what that process left.
   */
  private lock(): void {
    const dir = resolve(this.options.dir);
    const file = join(dir, 'lock');
    if (heldHere.has(dir))
      throw new Error(
        `the journal in ${dir} is already used by another switchyard instance in this process; give each instance its own exposures.dir`,
      );
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `the journal in ${dir} is locked by process ${owner}; give each instance its own exposures.dir`,
        );
      }
      writeFileSync(file, String(process.pid));
    }
    heldHere.add(dir);
    this.locked = true;
  }

  /** Saves cursors atomically next to the journal (write to a temp file, rename). */
  saveCursors(cursors: Record<string, Cursor>): void {
    if (this.failure) return;
    const file = join(this.options.dir, 'cursors.json');
    try {
      writeFileSync(file + '.tmp', JSON.stringify(cursors));
      renameSync(file + '.tmp', file);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  loadCursors(): Record<string, Cursor> {
    try {
      const parsed = JSON.parse(readFileSync(join(this.options.dir, 'cursors.json'), 'utf8')) as Record<string, Cursor>;
      return typeof parsed === 'object' && parsed !== null ? parsed : {};
    } catch {
      return {};
    }
  }

  private activeSegment(): Segment {
    let seg = this.segments[this.segments.length - 1];
    if (!seg || !seg.persisted || seg.bytes >= this.options.maxSegmentBytes || this.fd === undefined) {
      // The old file is closed in turn, after the writes queued for it.
      if (this.fd !== undefined)
        this.writes.push({ fd: this.fd, seg: undefined, bytes: undefined, position: 0, slab: undefined });
      this.fd = undefined;
      const seq = (seg?.seq ?? 0) + 1;
      const file = join(this.journalDir, `seg-${String(seq).padStart(12, '0')}.jsonl`);
      // Not O_APPEND: positional writes (Linux appends at the end regardless under O_APPEND).
      this.fd = openSync(file, 'w');
      seg = { seq, file, blocks: [], count: 0, bytes: 0, persisted: true, used: 0, unwritten: 0 };
      this.segments.push(seg);
    }
    return seg;
  }

  private load(seg: Segment): Block[] {
    seg.used = ++this.tick;
    if (seg.blocks) return seg.blocks;
    const bytes = withoutHoles(readFileSync(seg.file), () => this.corruptLines++);
    const ends: number[] = [];
    for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, at + 1)) ends.push(at + 1);
    // Appends are whole blocks, and a restart starts a new segment, so a write torn by a
    // crash can only be the end of a segment: bytes after the last newline.
    if (bytes.length > (ends[ends.length - 1] ?? 0)) this.corruptLines++;
    if (seg.count >= 0 && seg.count < ends.length) ends.length = seg.count;
    const end = ends[ends.length - 1] ?? 0;
    seg.blocks = [{ bytes: bytes.subarray(0, end), ends: Uint32Array.from(ends) }];
    seg.count = ends.length;
    seg.bytes = bytes.length;
    this.cached += end;
    return seg.blocks;
  }

  /** Drops cached blocks, least recently used segment first, never of `keep` or the active segment. */
  private evict(keep: Segment): void {
    if (this.cached <= this.options.cacheBytes) return;
    const active = this.segments[this.segments.length - 1];
    const candidates = this.segments
      .filter((s) => s !== keep && s !== active && s.persisted && s.unwritten === 0 && s.blocks)
      .sort((a, b) => a.used - b.used);
    for (const seg of candidates) {
      if (this.cached <= this.options.cacheBytes) break;
      this.cached -= bytesOf(seg.blocks!);
      this.uncache(seg.blocks!);
      seg.blocks = undefined;
    }
  }

  /** Blocks leave the cache: their slabs go back to the pool unless a read still has them. */
  private uncache(blocks: readonly Block[]): void {
    for (const b of blocks) {
      if (b.slab === undefined || !b.slab.cached) continue;
      b.slab.cached = false;
      this.recycle(b.slab);
    }
  }

  /** A read or a write that had the slab is over. */
  private returned(slab: Slab): void {
    slab.lent--;
    this.recycle(slab);
  }

  private recycle(slab: Slab): void {
    if (slab.cached || slab.lent > 0) return;
    if (this.slabs > this.slabLimit) this.slabs--;
    else this.free.push(slab);
  }

  /**
   * Starts writing what is queued for one file, if no write is in flight: all of it in
   * one writev, so the journal keeps up with any rate of flushes (one write completes per
   * turn of the event loop at most).
   */
  private pump(): void {
    if (this.inFlight.length > 0) return;
    while (this.writes.length > 0 && this.writes[0]!.bytes === undefined) this.retire(this.writes.shift()!.fd);
    if (this.writes.length === 0) {
      for (const resolve of this.drained.splice(0)) resolve();
      return;
    }
    const first = this.writes[0]!;
    let n = 1;
    let end = first.position + first.bytes!.length;
    for (; n < this.writes.length && n < IOV_MAX; n++) {
      const w = this.writes[n]!;
      if (w.fd !== first.fd || w.bytes === undefined || w.position !== end) break;
      end += w.bytes.length;
    }
    this.inFlight = this.writes.splice(0, n);
    this.inFlightSettled = false;
    this.writeGroup(this.inFlight, 0);
  }

  /** Writes a group of contiguous blocks to one file from byte `done` of the group on; a short write goes on from where it stopped. */
  private writeGroup(group: Write[], done: number): void {
    const fd = group[0]!.fd;
    const buffers: Buffer[] = [];
    let size = 0;
    let skip = done;
    for (const w of group) {
      const b = w.bytes!;
      size += b.length;
      if (skip >= b.length) skip -= b.length;
      else {
        buffers.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    writev(fd, buffers, group[0]!.position + done, (error, n) => {
      const settled = this.inFlightSettled;
      if (!settled && !error && n > 0 && done + n < size && !this.closing.has(fd)) {
        this.writeGroup(group, done + n);
        return;
      }
      // The write is over: only now may its slabs be reused and its file closed.
      this.inFlight = [];
      this.inFlightSettled = false;
      for (const w of group) {
        if (w.slab !== undefined) this.returned(w.slab);
      }
      if (this.closing.delete(fd)) closeQuietly(fd);
      else if (settled || this.failure) {
        // writeNow() wrote these bytes already, or the journal failed meanwhile and their
        // segments are memory segments now.
      } else if (error || n <= 0)
        this.fail(error ?? new Error(`the journal write stopped after ${done} of ${size} bytes`));
      else this.markWritten(group);
      this.pump();
    });
  }

  /** Bookkeeping for blocks known to be in their files. */
  private markWritten(group: readonly Write[]): void {
    for (const w of group) {
      w.seg!.unwritten -= w.bytes!.length;
      this.backlog -= w.bytes!.length;
    }
  }

  /**
   * Writes everything queued, and again what is in flight, synchronously: callbacks of
   * writes only run when the event loop turns, and a caller that does not let it turn (a
   * loop of awaited getVariant calls) would otherwise pile up unwritten blocks without
   * bound. Positional writes make the order, and writing the same bytes twice, harmless.
   */
  private writeNow(): void {
    try {
      for (const w of this.inFlightSettled ? [] : this.inFlight) writeAllSync(w.fd, w.bytes!, w.position);
      for (const w of this.writes) if (w.bytes !== undefined) writeAllSync(w.fd, w.bytes, w.position);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!this.inFlightSettled) {
      this.markWritten(this.inFlight);
      this.inFlightSettled = true;
    }
    const queued = this.writes.splice(0);
    for (const w of queued) {
      if (w.bytes === undefined) {
        this.retire(w.fd);
        continue;
      }
      this.markWritten([w]);
      if (w.slab !== undefined) this.returned(w.slab);
    }
  }

  /** Closes a file now, or after the write in flight to it is over (its number must not be reused under that write). */
  private retire(fd: number): void {
    if (this.inFlight.length > 0 && this.inFlight[0]!.fd === fd) this.closing.add(fd);
    else closeQuietly(fd);
  }

  /** Drops the queued writes (not the one in flight) and closes their files. */
  private abandonWrites(): void {
    for (const w of this.writes.splice(0)) {
      if (w.slab !== undefined) this.returned(w.slab);
      if (w.bytes === undefined) this.retire(w.fd);
    }
    if (this.fd !== undefined) this.retire(this.fd);
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
    this.abandonWrites();
    this.backlog = 0;
    for (const seg of this.segments) {
      if (seg.unwritten === 0 || !seg.persisted) continue;
      seg.persisted = false;
      seg.unwritten = 0;
      this.cached -= bytesOf(seg.blocks!);
      this.memoryLines += seg.count;
    }
    for (const resolve of this.drained.splice(0)) resolve();
    this.onFailure?.(error);
  }

  private closeFd(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
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

/** Memory a cached block holds: its slab's room, or its bytes when it has no slab. */
function footprint(block: Block): number {
  return block.slab === undefined ? block.bytes.length : SLAB_BYTES;
}

function bytesOf(blocks: readonly Block[]): number {
  let n = 0;
  for (const b of blocks) n += footprint(b);
  return n;
}

function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // a file that cannot be removed is replayed at the next start: delivered twice, never lost
  }
}

/**
 * A segment's bytes without the holes a crash can leave: blocks are written at their
 * positions, so a later block may reach the file while an earlier one, still in flight,
 * never does; the gap reads as zero bytes. A zero byte is never part of a line (JSON
 * escapes U+0000, and UTF-8 uses no zero byte for anything else), so dropping every run
 * of them leaves the lines that were written, in order. Each hole counts as a corrupt line.
 */
function withoutHoles(bytes: Buffer, hole: () => void): Buffer {
  let at = bytes.indexOf(0);
  if (at < 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  let from = 0;
  while (at >= 0) {
    n += bytes.copy(out, n, from, at);
    hole();
    from = at;
    while (from < bytes.length && bytes[from] === 0) from++;
    at = bytes.indexOf(0, from);
  }
  n += bytes.copy(out, n, from);
  return out.subarray(0, n);
}

/** writeSync at a position; it may write less than asked (a signal), then the rest follows, or it throws. */
function writeAllSync(fd: number, bytes: Buffer, position: number): void {
  for (let done = 0; done < bytes.length;) {
    const n = writeSync(fd, bytes, done, bytes.length - done, position + done);
    if (n <= 0) throw new Error(`the journal write stopped after ${done} of ${bytes.length} bytes`);
    done += n;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function compare(a: Cursor, b: Cursor): number {
  return a.seq - b.seq || a.line - b.line;
}
