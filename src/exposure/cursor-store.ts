/**
 * Each sink's place in the journal: the cursor type, its file (saved atomically) and the throttle on saving it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeQuietly } from './segment-files.js';

export interface Cursor {
  seq: number;
  line: number;
}

export function compare(a: Cursor, b: Cursor): number {
  return a.seq - b.seq || a.line - b.line;
}

/**
 * Whether a saved value is a place in a journal: a segment and a line, whole numbers from 0.
 * A negative line (a damaged cursors.json) read the lines before a segment's first as its
 * whole first block, again at every read, and counted them delivered each time.
 */
export function isCursor(v: unknown): v is Cursor {
  return typeof v === 'object' && v !== null && isPlace((v as Cursor).seq) && isPlace((v as Cursor).line);
}

function isPlace(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

/** Least time between two saves while sinks advance: a save is a file write and a rename. */
const SAVE_INTERVAL_MS = 200;

export class CursorStore {
  private file: string;
  private dirty = false;
  private lastSave = -Infinity;

  /** @param now the time, in ms, for the throttle on saves */
  constructor(
    dir: string,
    private readonly now: () => number,
  ) {
    this.file = join(dir, 'cursors.json');
  }

  /** Keeps the cursors in `dir` from now on: the journal's home once it has claimed one (a worker slot, say). */
  locate(dir: string): void {
    this.file = join(dir, 'cursors.json');
  }

  /** The cursors saved by a previous run, by sink name; none when there is no readable file. */
  load(): Record<string, unknown> {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, unknown>;
      return typeof parsed === 'object' && parsed !== null ? parsed : {};
    } catch {
      return {};
    }
  }

  /** Writes the cursors atomically (a temp file, then a rename); throws when the file cannot be written. */
  write(cursors: Record<string, Cursor>): void {
    writeFileSync(this.file + '.tmp', JSON.stringify(cursors));
    renameSync(this.file + '.tmp', this.file);
  }

  /** Deletes the file if it can (a file left behind only replays what was delivered at the next start). */
  remove(): void {
    removeQuietly(this.file);
  }

  /**
   * A cursor moved; returns whether a save is due now: the last one is old enough, or the
   * clock went back past it (an NTP step, a resumed VM), which would otherwise hold every
   * save, and the deletion of delivered segments that comes with it, until the clock caught up.
   */
  advanced(): boolean {
    this.dirty = true;
    const since = this.now() - this.lastSave;
    return since >= SAVE_INTERVAL_MS || since < 0;
  }

  /** Whether there is anything to save (a cursor moved since the last save, or `force`); if so, the save starts now. */
  claimSave(force = false): boolean {
    if (!this.dirty && !force) return false;
    this.dirty = false;
    this.lastSave = this.now();
    return true;
  }
}
