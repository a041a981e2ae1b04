/**
 * The kill state on disk, beside the journal (`<exposures dir>/state.json`): the state
 * itself without a fleet, the last fleet state seen with one, so a restart, or a start
 * while Redis is away, serves the kills it knew. Writes are atomic (a temp file renamed
 * over the old one), so a reader sees the old state or the new one, never half of one.
 * Writes are synchronous (a kill is rare): without a fleet the file is the state and is
 * written before `kill()` returns, so a crash cannot lose it; with a fleet Redis holds the
 * state and the store writes its local copy just after the change takes effect.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SwitchyardError } from '../errors.js';
import { holdsLock, isThisHost, lockHolderText, parseLockHolder } from '../ports.js';
import { isNewer, parseKillRecord, stampedAfter, type KillRecord } from './kill-record.js';

export const STATE_SCHEMA = 'switchyard.state/1';
export const STATE_FILE = 'state.json';

let tmpCounter = 0;

export function stateFilePath(exposuresDir: string): string {
  return join(exposuresDir, STATE_FILE);
}

/**
 * Reads the records in a state file; a missing file is an empty state. A file that is
 * not a state file throws SY_STATE_FILE (the caller decides whether to go on without it).
 */
export function readStateFile(file: string): Map<string, KillRecord> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `cannot read the kill state ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `the kill state ${file} is not JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const kills = (doc as { kills?: unknown } | null)?.kills;
  if (typeof kills !== 'object' || kills === null) {
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `the kill state ${file} has no "kills" map (schema ${STATE_SCHEMA})`,
    );
  }
  const out = new Map<string, KillRecord>();
  for (const value of Object.values(kills)) {
    const record = parseKillRecord(value);
    if (record && isNewer(record, out.get(record.experiment))) out.set(record.experiment, record);
  }
  return out;
}

/** Writes the records atomically (temp file in the same directory, then rename). */
export function writeStateFile(file: string, records: Iterable<KillRecord>): void {
  const kills: Record<string, KillRecord> = {};
  for (const r of records) kills[r.experiment] = r;
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, JSON.stringify({ schema: STATE_SCHEMA, kills }, null, 2) + '\n');
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `cannot write the kill state ${file}: ${(error as Error).message}; the change (a kill, unkill, pause or resume) holds in this process only`,
      { cause: error },
    );
  }
}

/**
 * Merges records into the file: reads what is there (another process, or the CLI, may
 * have written since), keeps the newer record per experiment, writes the result, all
 * under the file's lock, so a writer in another process cannot write between the read
 * and the rename and have its records dropped. Returns the merged state.
 */
export function mergeIntoStateFile(file: string, records: Iterable<KillRecord>): Map<string, KillRecord> {
  return withFileLock(file, () => {
    const merged = readForMerge(file);
    for (const r of records) if (isNewer(r, merged.get(r.experiment))) merged.set(r.experiment, r);
    writeStateFile(file, merged.values());
    return merged;
  });
}

/**
 * An operator's overrule (see stampedAfter): writes `record`, stamped just after the record
 * in force when that one is newer, under the file's lock, so the stamp follows the record
 * actually there and not one read before another writer's newer decision. Returns the
 * record written and the one it was stamped after; nothing is written (`written`
 * undefined) only when no stamp can follow the record in force.
 */
export function overruleInStateFile(
  file: string,
  record: KillRecord,
): { written: KillRecord | undefined; current: KillRecord | undefined } {
  return withFileLock(file, () => {
    const merged = readForMerge(file);
    const current = merged.get(record.experiment);
    const written = stampedAfter(record, current);
    if (written) {
      merged.set(record.experiment, written);
      writeStateFile(file, merged.values());
    }
    return { written, current };
  });
}

function readForMerge(file: string): Map<string, KillRecord> {
  try {
    return readStateFile(file);
  } catch {
    return new Map(); // a corrupt file is replaced by what this process knows
  }
}

/** How long a writer waits for another's lock before it gives up. */
const LOCK_WAIT_MS = 5000;
/**
 * A lock whose writer is gone (it died between its read and its rename) is removed: at
 * once when it names a process of this host that is not running, else when it is this old
 * (a merge takes milliseconds; a pid says nothing of another host sharing the directory).
 * Two writers that find it stale at the same moment may both go on: the lost update the
 * lock prevents, once, after a crash.
 */
const LOCK_STALE_MS = 10_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `work` (a read-merge-write of `file`) holding `<file>.lock`, a file created
 * exclusively that names its holder (`pid@host`) from its first moment, so writers in several processes merge one
 * after another. Synchronous like the writes it guards: a waiter sleeps a few ms at a time.
 * Throws SY_STATE_FILE when the lock cannot be made or a live writer holds it LOCK_WAIT_MS.
 */
export function withFileLock<T>(file: string, work: () => T): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  const cannot = (error: unknown, doing: string) =>
    new SwitchyardError('SY_STATE_FILE', 'fleet', `cannot write ${file}: ${(error as Error).message} (${doing})`, {
      cause: error,
    });
  for (let waitMs = 1; ; waitMs = Math.min(2 * waitMs, 32)) {
    // Apart from the lock: mkdir's EEXIST is a file where a directory must be, not a lock held
    // (taken for one, it had this loop spin without end, the lock never there to read).
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      throw cannot(error, 'making its directory');
    }
    try {
      takeLock(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(error, 'taking its lock');
    }
    const holder = lockHolder(lock);
    if (holder?.gone) rmSync(lock, { force: true });
    else if (Date.now() > deadline)
      throw new SwitchyardError(
        'SY_STATE_FILE',
        'fleet',
        `cannot write ${file}: ${holder?.text || 'another writer'} has held ${lock} for more than ${LOCK_WAIT_MS / 1000} s; nothing was written`,
      );
    else if (holder !== undefined) Atomics.wait(sleeper, 0, 0, waitMs);
  }
  try {
    return work();
  } finally {
    rmSync(lock, { force: true });
  }
}

let lockTemps = 0;

/**
 * Creates the lock with its holder's name already in it: the name is written to a file of
 * this process's own, which is then linked as the lock (atomic; EEXIST when the lock is
 * held). A lock created and then written (flag 'wx') was empty for a moment: a writer
 * killed in that moment left a lock that named nobody, which every other writer then
 * waited out, and the CLI's kill or unkill failed after 5 s.
 */
function takeLock(lock: string): void {
  const own = `${lock}.${process.pid}.${++lockTemps}`;
  writeFileSync(own, lockHolderText());
  try {
    linkSync(own, lock);
  } finally {
    rmSync(own, { force: true });
  }
}

/** Who holds a lock file and whether it is gone (see LOCK_STALE_MS); undefined when there is no lock any more. */
function lockHolder(lock: string): { text: string; gone: boolean } | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(lock, 'utf8').trim();
    mtimeMs = statSync(lock).mtimeMs;
  } catch {
    return undefined;
  }
  const holder = parseLockHolder(text);
  if (holder && isThisHost(holder) && !holdsLock(holder.pid, mtimeMs, holder.started)) return { text, gone: true };
  return { text, gone: Date.now() - mtimeMs > LOCK_STALE_MS };
}

/** A cheap change marker for polling: mtime, size and inode ('' when absent). */
export function stateFileStamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return '';
  }
}
