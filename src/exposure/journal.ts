/**
 * The durable log behind the exposure pipeline. Every flushed batch is appended to the
 * active segment file before any sink sees it; each sink reads the log through its own
 * cursor and advances it on acknowledgement; a segment is deleted once every cursor has
 * passed it. So a sink that is down simply falls behind on disk ("spilled"), a restart
 * replays from the saved cursors, and nothing waits in memory for a slow sink.
 *
 * Appends are synchronous writes to one file descriptor: they run in the flush (never on
 * the caller's path) and keep the log strictly ordered. They survive the process being
 * killed (the OS has the bytes), not a machine crash (no fsync per batch).
 *
 * When the directory cannot be written, the journal keeps segments in memory only, up
 * to `memoryLimit` lines, and the pipeline counts what it has to drop beyond that.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Journal directories held by this process; another process is kept out by the lock file. */
const heldHere = new Set<string>();

export interface Cursor {
  seq: number;
  line: number;
}

interface Segment {
  readonly seq: number;
  readonly file: string;
  /** Cached lines; undefined when evicted (reloaded from the file on demand). */
  lines: string[] | undefined;
  count: number;
  bytes: number;
  persisted: boolean;
  /** Last use, for least-recently-used eviction of cached lines. */
  used: number;
}

export interface JournalOptions {
  dir: string;
  maxSegmentBytes: number;
  /** Lines kept cached in memory across segments before older segments are evicted. */
  cacheLines: number;
  /** Lines kept in memory when the directory cannot be written. */
  memoryLimit: number;
}

const SEGMENT = /^seg-(\d{12})\.jsonl$/;

export class Journal {
  private readonly segments: Segment[] = [];
  private fd: number | undefined;
  private cached = 0;
  private memoryLines = 0;
  private tick = 0;
  /** Why the journal is in memory-only mode, if it is. */
  failure: Error | undefined;
  /** Lines found unreadable (a partial last line after a crash) and skipped. */
  corruptLines = 0;

  constructor(private readonly options: JournalOptions) {}

  /** Finds the segments a previous run left; returns false (memory mode) if the dir is unusable. */
  open(): boolean {
    try {
      mkdirSync(this.journalDir, { recursive: true });
      this.lock();
      const files = readdirSync(this.journalDir).filter((f) => SEGMENT.test(f)).sort();
      for (const f of files) {
        const seq = Number(SEGMENT.exec(f)![1]);
        this.segments.push({ seq, file: join(this.journalDir, f), lines: undefined, count: -1, bytes: 0, persisted: true, used: 0 });
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

  /** Appends lines; returns how many could not be kept (memory mode over its limit). */
  append(lines: string[]): number {
    if (lines.length === 0) return 0;
    if (!this.failure) {
      let seg: Segment | undefined;
      let bytes = 0;
      try {
        seg = this.activeSegment();
        for (const text of chunks(lines)) {
          writeSync(this.fd!, text);
          bytes += Buffer.byteLength(text);
        }
      } catch (error) {
        this.failure = error as Error;
        this.closeFd();
        seg = undefined;
      }
      if (seg) {
        if (seg.lines) {
          appendAll(seg.lines, lines);
          this.cached += lines.length;
        }
        seg.count += lines.length;
        seg.bytes += bytes;
        seg.used = ++this.tick;
        this.evict(seg);
        return 0;
      }
    }
    const room = Math.max(0, this.options.memoryLimit - this.memoryLines);
    const kept = lines.length <= room ? lines : lines.slice(0, room);
    if (kept.length > 0) {
      let seg = this.segments[this.segments.length - 1];
      if (!seg || seg.persisted) {
        seg = { seq: (seg?.seq ?? 0) + 1, file: '', lines: [], count: 0, bytes: 0, persisted: false, used: 0 };
        this.segments.push(seg);
      }
      appendAll(seg.lines!, kept);
      seg.count += kept.length;
      this.memoryLines += kept.length;
    }
    return lines.length - kept.length;
  }

  /** Up to `max` lines from the cursor, moving it to the next segment when one is used up. */
  read(cursor: Cursor, max: number): { lines: string[]; next: Cursor } {
    let i = this.segments.findIndex((s) => s.seq >= cursor.seq);
    let line = i >= 0 && this.segments[i]!.seq === cursor.seq ? cursor.line : 0;
    while (i >= 0 && i < this.segments.length) {
      const seg = this.segments[i]!;
      if (line < seg.count) {
        const lines = this.load(seg).slice(line, line + max);
        this.evict(seg);
        return { lines, next: { seq: seg.seq, line: line + lines.length } };
      }
      if (i === this.segments.length - 1) return { lines: [], next: { seq: seg.seq, line } };
      i++;
      line = 0;
    }
    return { lines: [], next: cursor };
  }

  /**
   * Deletes everything when every cursor is at the end (a clean close), so a finished
   * run leaves no delivered segment behind; returns whether it did.
   */
  clearIfDelivered(cursors: Cursor[]): boolean {
    const end = this.end();
    if (this.failure || cursors.some((c) => compare(c, end) < 0)) return false;
    this.closeFd();
    for (const s of this.segments.splice(0)) if (s.persisted) rmSync(s.file, { force: true });
    this.cached = 0;
    rmSync(join(this.options.dir, 'cursors.json'), { force: true });
    return true;
  }

  /** Deletes segments every cursor has passed (never the active one). */
  trim(cursors: Cursor[]): void {
    const min = cursors.reduce((a, c) => (compare(c, a) < 0 ? c : a), this.end());
    while (this.segments.length > 1) {
      const first = this.segments[0]!;
      const passed = first.seq < min.seq || (first.seq === min.seq && min.line >= first.count);
      if (!passed) break;
      this.segments.shift();
      if (first.lines) this.cached -= first.lines.length;
      if (!first.persisted) this.memoryLines -= first.count;
      else rmSync(first.file, { force: true });
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

  close(): void {
    this.closeFd();
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
    if (heldHere.has(dir)) throw new Error(`the journal in ${dir} is already used by another switchyard instance in this process; give each instance its own exposures.dir`);
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`the journal in ${dir} is locked by process ${owner}; give each instance its own exposures.dir`);
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
      this.failure = error as Error;
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
      this.closeFd();
      const seq = (seg?.seq ?? 0) + 1;
      const file = join(this.journalDir, `seg-${String(seq).padStart(12, '0')}.jsonl`);
      this.fd = openSync(file, 'a');
      seg = { seq, file, lines: [], count: 0, bytes: 0, persisted: true, used: 0 };
      this.segments.push(seg);
    }
    return seg;
  }

  private load(seg: Segment): string[] {
    seg.used = ++this.tick;
    if (seg.lines) return seg.lines;
    const text = readFileSync(seg.file, 'utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // Appends are whole batches, and a restart starts a new segment, so a write torn by a
    // crash can only be a segment's last line.
    const last = lines[lines.length - 1];
    if (last !== undefined) {
      try {
        JSON.parse(last);
      } catch {
        lines.pop();
        this.corruptLines++;
      }
    }
    if (seg.count >= 0 && seg.count < lines.length) lines.length = seg.count;
    seg.lines = lines;
    seg.count = lines.length;
    seg.bytes = Buffer.byteLength(text);
    this.cached += lines.length;
    return lines;
  }

  /** Drops cached lines, least recently used first, never of `keep` or the active segment. */
  private evict(keep: Segment): void {
    if (this.cached <= this.options.cacheLines) return;
    const active = this.segments[this.segments.length - 1];
    const candidates = this.segments.filter((s) => s !== keep && s !== active && s.persisted && s.lines).sort((a, b) => a.used - b.used);
    for (const seg of candidates) {
      if (this.cached <= this.options.cacheLines) break;
      this.cached -= seg.lines!.length;
      seg.lines = undefined;
    }
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

/**
 * Newline-terminated text of the lines, in pieces of about 64 KB. Larger strings and
 * buffers land in freshly mapped memory (V8's large-object space, malloc's mmap
 * threshold), and first-touch page faults made writing a 16 MB flush run at ~230 MB/s on
 * the benchmark machine; pieces this size reuse memory that is already mapped.
 */
export function* chunks(lines: readonly string[], limit = 65_536): Generator<string> {
  let start = 0;
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    size += lines[i]!.length + 1;
    if (size >= limit || i === lines.length - 1) {
      yield lines.slice(start, i + 1).join('\n') + '\n';
      start = i + 1;
      size = 0;
    }
  }
}

/** push(...items) overflows the stack for very large batches; a loop does not. */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) target.push(items[i]!);
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
