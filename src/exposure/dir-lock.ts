/**
 * One writer per journal directory: a lock file holding the owner's pid, and a set of the
 * directories this process holds. Processes beyond the first that share one exposures.dir
 * (a cluster's workers, the old and new process of a deploy) each get a journal of their
 * own in a numbered slot under it (claimJournalHome).
 */
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwitchyardError } from '../errors.js';
import { holdsLock, isThisHost, lockHolderText, parseLockHolder } from '../ports.js';

/** Journal directories held by this process; another process is kept out by the lock file. */
const heldHere = new Set<string>();

/** Journal directories an instance of this process is being created on, until its journal holds them. */
const starting = new Set<string>();

/**
 * Keeps the journal directory `dir` for an instance being created, from the check until its
 * journal holds the directory (or has failed to): throws SY_JOURNAL_LOCKED when another
 * instance in this process holds it or is being created on it. Returns the release.
 */
export function reserveInThisProcess(dir: string): () => void {
  const home = resolve(dir);
  if (heldHere.has(home) || starting.has(home)) throw heldHereError(home);
  starting.add(home);
  return () => void starting.delete(home);
}

/** The error for a journal directory another instance of this process holds. */
export function heldHereError(dir: string): SwitchyardError {
  return new SwitchyardError(
    'SY_JOURNAL_LOCKED',
    'exposures.dir',
    `the journal in ${resolve(dir)} is already used by another switchyard instance in this process; give each instance its own exposures.dir`,
  );
}

/**
 * Slots beyond the directory itself: `<dir>/workers/1` .. `<dir>/workers/256`, one per
 * process sharing the directory at once. A slot is reused by the next process that finds it
 * free, which then replays what the slot's last owner left undelivered, as the directory
 * itself does after a crash.
 */
export const WORKER_SLOTS = 256;

/** A lock file with no pid yet older than this was left by a process that died while creating it. */
const STALE_EMPTY_MS = 10_000;

/**
 * How often a holder touches its lock file, and how old the touch of a holder on another
 * host may be before its lock counts as left behind. A pid says nothing across hosts (two
 * containers sharing a volume are both pid 1), so a lock names its host, and a lock of
 * another host is alive while its holder keeps touching it.
 */
export const HEARTBEAT_MS = 10_000;
export const STALE_REMOTE_MS = 60_000;

/** What a lock file holds: the owner's pid, host and start, `pid@host/start` (see lockHolderText). */
const ownerText = lockHolderText;

/** The directory a slot's journal lives in: `root` itself (slot 0) or `root/workers/<slot>`. */
export function slotHome(root: string, slot: number): string {
  return slot === 0 ? resolve(root) : join(resolve(root), 'workers', String(slot));
}

/**
 * Takes the first free slot of `root` for this process's journal: the directory itself
 * when no other live process holds it, else the first worker slot no live process holds.
 * Throws SY_JOURNAL_LOCKED when another instance in this process holds `root` (two
 * instances of one process share state by mistake; say so) or every slot is held.
 */
export function claimJournalHome(root: string): { home: string; lock: DirLock } {
  for (let slot = 0; slot <= WORKER_SLOTS; slot++) {
    const home = slotHome(root, slot);
    if (slot > 0) mkdirSync(home, { recursive: true });
    const lock = new DirLock(home);
    if (lock.tryAcquire()) return { home, lock };
  }
  throw new SwitchyardError(
    'SY_JOURNAL_LOCKED',
    'exposures.dir',
    `the journal in ${resolve(root)} and all its ${WORKER_SLOTS} worker slots are locked by live processes`,
  );
}

export class DirLock {
  private held = false;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /**
   * Takes the lock, or throws when another instance in this process or a live process
   * holds it. A lock whose process is gone (a crash) is taken over, so the next start
   * replays what that process left.
   */
  acquire(): void {
    if (this.tryAcquire()) return;
    throw new SwitchyardError(
      'SY_JOURNAL_LOCKED',
      'exposures.dir',
      `the journal in ${this.dir} is locked by process ${this.owner() ?? '(starting)'}; give each instance its own exposures.dir`,
    );
  }

  /**
   * Takes the lock; false when a live process holds it (or is taking it at this moment).
   * Throws when another instance in this process holds it. Two processes that find the
   * same dead owner's lock take it over one at a time: only the one that creates the
   * `lock.takeover` file (exclusively) may replace the lock.
   */
  tryAcquire(): boolean {
    const file = join(this.dir, 'lock');
    if (heldHere.has(this.dir)) throw heldHereError(this.dir);
    if (!this.create(file)) {
      if (!this.stale(file)) return false;
      const takeover = `${file}.takeover`;
      if (!this.create(takeover)) {
        // Another process is taking it over; one that died doing so left a file that goes stale.
        if (ageMs(takeover) > STALE_EMPTY_MS) rmSync(takeover, { force: true });
        return false;
      }
      try {
        if (!this.stale(file)) return false;
        writeFileSync(file, ownerText());
      } finally {
        rmSync(takeover, { force: true });
      }
    }
    heldHere.add(this.dir);
    this.held = true;
    this.heartbeat = setInterval(() => this.touch(file), HEARTBEAT_MS);
    this.heartbeat.unref();
    return true;
  }

  release(): void {
    if (!this.held) return;
    clearInterval(this.heartbeat);
    rmSync(join(this.dir, 'lock'), { force: true });
    heldHere.delete(this.dir);
    this.held = false;
  }

  private heartbeat: NodeJS.Timeout | undefined;

  /** Tells processes on other hosts that the holder is alive (see STALE_REMOTE_MS). */
  private touch(file: string): void {
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // The file is gone (the directory removed under the process): nothing to keep alive.
    }
  }

  /** Creates `file` holding this process's pid and host, if no file of that name exists; false if one does. */
  private create(file: string): boolean {
    try {
      writeFileSync(file, ownerText(), { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  /** The owner the lock file names (`pid` or `pid@host`); undefined when it names none (being written, or garbage). */
  private owner(): string | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'lock'), 'utf8');
    } catch {
      return undefined;
    }
    return parseLockHolder(text) ? text.trim() : undefined;
  }

  /**
   * Whether the lock file at `file` was left by a process that is gone. On this host (or a
   * lock that names no host, as before hosts were written): its pid is not a live process
   * that started before the lock was last written (see holdsLock; nor this one, whose own
   * lock is in heldHere). On another host: its holder has not
   * touched it for STALE_REMOTE_MS. A file that names no owner is being written by a
   * process taking the lock this moment, unless it is older than that takes. A file that
   * vanished is stale (its owner released it).
   */
  private stale(file: string): boolean {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
    const owner = parseLockHolder(text);
    if (owner === undefined) return ageMs(file) > STALE_EMPTY_MS;
    if (!isThisHost(owner)) return ageMs(file) > STALE_REMOTE_MS;
    return owner.pid === process.pid || !holdsLock(owner.pid, Date.now() - ageMs(file), owner.started);
  }
}

/** How long ago the file was last written; Infinity when it is gone. */
function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}
