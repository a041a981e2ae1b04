/**
 * Segment files on disk: their names, finding the ones a previous run left, and reading one back with torn lines and holes repaired.
 */
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT = /^seg-(\d{12})\.jsonl$/;

export interface SegmentFile {
  readonly seq: number;
  readonly file: string;
}

/** The file of segment `seq` in `dir`. */
export function segmentFile(dir: string, seq: number): string {
  return join(dir, `seg-${String(seq).padStart(12, '0')}.jsonl`);
}

/** Creates segment `seq`'s file for writing and returns its descriptor. */
export function createSegmentFile(dir: string, seq: number): { file: string; fd: number } {
  const file = segmentFile(dir, seq);
  // Not O_APPEND: writes are positional (Linux appends at the end regardless under O_APPEND).
  return { file, fd: openSync(file, 'w') };
}

/** The segment files in `dir`, oldest first. */
export function listSegmentFiles(dir: string): SegmentFile[] {
  return readdirSync(dir)
    .filter((name) => SEGMENT.test(name))
    .sort()
    .map((name) => ({ seq: Number(SEGMENT.exec(name)![1]), file: join(dir, name) }));
}

/** A segment file read back: its whole lines, and how many unreadable stretches were skipped. */
export interface SegmentLines {
  /** The file's bytes with holes removed (a torn last line included: it lies past the last end). */
  readonly bytes: Buffer;
  /** The offset just past each whole line. */
  readonly ends: number[];
  readonly corrupt: number;
}

/**
 * Reads a segment file's lines. Appends are whole blocks, and a restart starts a new
 * segment, so a write torn by a crash can only be the end of a segment: bytes after the
 * last newline, counted as one corrupt line. Holes (see withoutHoles) count one each.
 */
export function readSegmentFile(file: string): SegmentLines {
  let corrupt = 0;
  const bytes = withoutHoles(readFileSync(file), () => corrupt++);
  const ends: number[] = [];
  for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, at + 1)) ends.push(at + 1);
  if (bytes.length > (ends[ends.length - 1] ?? 0)) corrupt++;
  return { bytes, ends, corrupt };
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
  let length = 0;
  let from = 0;
  while (at >= 0) {
    length += bytes.copy(out, length, from, at);
    hole();
    from = at;
    while (from < bytes.length && bytes[from] === 0) from++;
    at = bytes.indexOf(0, from);
  }
  length += bytes.copy(out, length, from);
  return out.subarray(0, length);
}

export function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // a file that cannot be removed is replayed at the next start: delivered twice, never lost
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
