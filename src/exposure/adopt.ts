/**
 * Adopting journals left behind: when a process stops without delivering everything (a
 * sink down at its close, a crash), its undelivered lines stay in its slot of the exposures
 * directory (the directory itself or `workers/N`, see dir-lock.ts). The next process to
 * take that slot replays them; a slot no process takes again (a cluster that shrank, a
 * deploy's old process) would keep them for good, so a process that opens its journal
 * takes over every other slot no live process holds and moves the slot's undelivered lines
 * into its own journal, after its own.
 *
 * Lines move at the journal's granularity: from the earliest cursor of the adopting
 * process's sinks (a sink the slot has no cursor for gets everything), so a sink that was
 * further on there gets those lines again (at least once, as after any crash; every event
 * has its id for the destination to drop repeats). Whole segments are renamed (one file
 * system operation each); the partly delivered first one is written anew. A crash halfway
 * leaves every line in one of the two journals, some perhaps in both (delivered twice,
 * never lost).
 */
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, CursorStore, isCursor, type Cursor } from './cursor-store.js';
import { DirLock, slotHome, WORKER_SLOTS } from './dir-lock.js';
import { listSegmentFiles, readSegmentFile, removeQuietly, segmentFile } from './segment-files.js';

export interface Adopted {
  /** The slots taken over (their directories), in slot order. */
  readonly slots: string[];
  /** Segment files moved or written into the adopting journal. */
  readonly segments: number;
  /** Lines the slots held that were torn by a crash (skipped, as a journal's own are). */
  readonly corrupt: number;
}

/**
 * Moves the undelivered lines of every slot of `root` other than `home` that no live
 * process holds into the journal directory `journalDir`, as segments numbered from
 * `nextSeq`. `sinks`: the names of the adopting process's sinks.
 */
export function adoptStaleJournals(
  root: string,
  home: string,
  journalDir: string,
  nextSeq: number,
  sinks: readonly string[],
): Adopted {
  const slots: string[] = [];
  let segments = 0;
  let corrupt = 0;
  let seq = nextSeq;
  // A process with no sink would only drop what it took (its journal keeps nothing no sink reads).
  if (sinks.length === 0) return { slots, segments, corrupt };
  for (const slot of slotsOf(root)) {
    if (slot === home || !hasSegments(join(slot, 'journal'))) continue;
    const lock = new DirLock(slot);
    let held: boolean;
    try {
      held = lock.tryAcquire();
    } catch {
      held = false; // another instance of this process holds it: it delivers its own
    }
    if (!held) continue;
    try {
      const files = listSegmentFiles(join(slot, 'journal'));
      let from = earliest(new CursorStore(slot, Date.now).load(), sinks);
      // A cursor past the slot's last segment does not belong to its segments (saved before
      // the journal was cleared, whose new segments start from 1 again): everything is undelivered.
      if (from.seq > files[files.length - 1]!.seq) from = { seq: 0, line: 0 };
      const moved: string[] = [];
      for (const { seq: at, file } of files) {
        if (at < from.seq) {
          moved.push(file); // delivered to every sink: only deleted
          continue;
        }
        const skip = at === from.seq ? from.line : 0;
        if (skip === 0) {
          renameSync(file, segmentFile(journalDir, seq++));
        } else {
          const lines = readSegmentFile(file);
          const ends = lines.ends;
          corrupt += lines.corrupt;
          moved.push(file);
          if (skip >= ends.length) continue;
          writeFileSync(segmentFile(journalDir, seq++), lines.bytes.subarray(ends[skip - 1], ends[ends.length - 1]));
        }
        segments++;
      }
      for (const file of moved) removeQuietly(file);
      removeQuietly(join(slot, 'cursors.json'));
      slots.push(slot);
    } finally {
      lock.release();
    }
  }
  return { slots, segments, corrupt };
}

/** Whether `dir` holds segment files (false when it cannot be read: nothing to take over there). */
function hasSegments(dir: string): boolean {
  try {
    return listSegmentFiles(dir).length > 0;
  } catch {
    return false;
  }
}

/** The slot directories of `root` that exist: the directory itself, then its worker slots in order. */
function slotsOf(root: string): string[] {
  const slots = [slotHome(root, 0)];
  let names: string[];
  try {
    names = readdirSync(join(root, 'workers'));
  } catch {
    return slots;
  }
  const numbers = names
    .filter((name) => /^[1-9]\d*$/.test(name) && Number(name) <= WORKER_SLOTS)
    .map(Number)
    .sort((a, b) => a - b);
  return slots.concat(numbers.map((n) => slotHome(root, n)));
}

/** The earliest of the saved cursors of `sinks`; the start for a sink with none. */
function earliest(saved: Record<string, unknown>, sinks: readonly string[]): Cursor {
  let least: Cursor | undefined;
  for (const name of sinks) {
    const c = saved[name];
    const cursor = isCursor(c) ? c : { seq: 0, line: 0 };
    if (least === undefined || compare(cursor, least) < 0) least = cursor;
  }
  return least ?? { seq: 0, line: 0 };
}
