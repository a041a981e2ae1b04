/**
 * One writer per journal directory: a lock file holding the owner's pid, and a set of the directories this process holds.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SwitchyardError } from '../errors.js';

/** Journal directories held by this process; another process is kept out by the lock file. */
const heldHere = new Set<string>();

/** Whether an instance in this process holds the journal directory `dir`. */
export function isHeldInThisProcess(dir: string): boolean {
  return heldHere.has(resolve(dir));
}

/** The error for a journal directory another instance of this process holds. */
export function heldHereError(dir: string): SwitchyardError {
  return new SwitchyardError(
    'SY_JOURNAL_LOCKED',
    'exposures.dir',
    `the journal in ${resolve(dir)} is already used by another switchyard instance in this process; give each instance its own exposures.dir`,
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
    const file = join(this.dir, 'lock');
    if (heldHere.has(this.dir)) throw heldHereError(this.dir);
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new SwitchyardError(
          'SY_JOURNAL_LOCKED',
          'exposures.dir',
          `the journal in ${this.dir} is locked by process ${owner}; give each instance its own exposures.dir`,
        );
      }
      writeFileSync(file, String(process.pid));
    }
    heldHere.add(this.dir);
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    rmSync(join(this.dir, 'lock'), { force: true });
    heldHere.delete(this.dir);
    this.held = false;
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
