import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { claimJournalHome, DirLock, HEARTBEAT_MS, STALE_REMOTE_MS } from '../../../src/exposure/dir-lock.js';
import { lockHolderText, processStartTicks } from '../../../src/ports.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sy-lock-'));
/** What this process writes in a lock it holds: its pid, host and start. */
const me = lockHolderText();
const held: DirLock[] = [];
afterEach(() => held.splice(0).forEach((lock) => lock.release()));

/** The pid of a process that has exited (a lock it left is stale). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function take(dir: string): boolean {
  const lock = new DirLock(dir);
  const ok = lock.tryAcquire();
  if (ok) held.push(lock);
  return ok;
}

/**
 * Backdates a file well past every staleness limit. Exactly STALE_REMOTE_MS ago was not
 * enough: mtime is stored to the microsecond, so a take in the same millisecond read an
 * age a fraction below the limit (CI failed on it once).
 */
const longAgo = (file: string) => {
  const then = new Date(Date.now() - 2 * STALE_REMOTE_MS);
  utimesSync(file, then, then);
};

describe('DirLock', () => {
  it('takes a free directory and writes its pid; release removes the file', () => {
    const dir = tmp();
    expect(take(dir)).toBe(true);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(me);
    held.pop()!.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('takes over the lock of a process that is gone, and not that of a live one', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    expect(take(dir)).toBe(false);
    writeFileSync(join(dir, 'lock'), String(deadPid()));
    expect(take(dir)).toBe(true);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(me);
  });

  it('takes over a lock whose pid now belongs to a process started after the lock was last written (a pid reused after a reboot or a crash), and not one its live holder wrote', async () => {
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const dir = tmp();
      // Written (and last touched) by the holder well before this process started: not its lock.
      writeFileSync(join(dir, 'lock'), `${other.pid}@${hostname()}`);
      longAgo(join(dir, 'lock'));
      expect(take(dir)).toBe(true);
      expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(me);
      // Written after the process started: it may be the holder, so the lock stays held.
      const live = tmp();
      writeFileSync(join(live, 'lock'), `${other.pid}@${hostname()}`);
      expect(take(live)).toBe(false);
    } finally {
      other.kill();
    }
  });

  it("tells its live holder from a process reusing its pid by the start the lock names, whatever the clocks say: a lock naming another start is taken over however fresh, one naming the holder's start is held however old", async () => {
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const started = processStartTicks(other.pid!);
      expect(started).toBeGreaterThan(0);
      expect(lockHolderText()).toBe(`${process.pid}@${hostname()}/${processStartTicks(process.pid)}`);
      // The pid's process started at another time than the lock's writer: not its holder, though the lock was just touched.
      const reused = tmp();
      writeFileSync(join(reused, 'lock'), `${other.pid}@${hostname()}/${started! - 1}`);
      expect(take(reused)).toBe(true);
      expect(readFileSync(join(reused, 'lock'), 'utf8')).toBe(me);
      // Its holder, though the lock's mtime says it was last touched long before it started (a clock stepped back).
      const held = tmp();
      writeFileSync(join(held, 'lock'), `${other.pid}@${hostname()}/${started!}`);
      longAgo(join(held, 'lock'));
      expect(take(held)).toBe(false);
    } finally {
      other.kill();
    }
  });

  it('counts a lock file with no pid yet as held (another process is writing it), until it is old', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), '');
    expect(take(dir)).toBe(false);
    longAgo(join(dir, 'lock'));
    expect(take(dir)).toBe(true);
  });

  it('lets one process at a time take over a stale lock: a fresh takeover file means another is doing it', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), String(deadPid()));
    writeFileSync(join(dir, 'lock.takeover'), String(process.ppid));
    expect(take(dir)).toBe(false);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).not.toBe(me);
    // A takeover file left by a process that died taking over is cleared once old.
    longAgo(join(dir, 'lock.takeover'));
    expect(take(dir)).toBe(false);
    expect(existsSync(join(dir, 'lock.takeover'))).toBe(false);
    expect(take(dir)).toBe(true);
    expect(existsSync(join(dir, 'lock.takeover'))).toBe(false);
  });

  it('holds a lock of another host while its holder touches it, and takes it over once untouched for a minute (a pid says nothing across hosts: two containers on one volume are both pid 1)', () => {
    const dir = tmp();
    // This very pid, on another host: not this process's lock.
    writeFileSync(join(dir, 'lock'), `${process.pid}@another-host`);
    expect(take(dir)).toBe(false);
    writeFileSync(join(dir, 'lock'), `${deadPid()}@another-host`);
    expect(take(dir)).toBe(false);
    longAgo(join(dir, 'lock'));
    expect(take(dir)).toBe(true);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(me);
  });

  it('keeps touching the lock it holds, so processes on other hosts see it alive', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const dir = tmp();
      expect(take(dir)).toBe(true);
      longAgo(join(dir, 'lock'));
      expect(Date.now() - statSync(join(dir, 'lock')).mtimeMs).toBeGreaterThan(50_000);
      vi.advanceTimersByTime(HEARTBEAT_MS);
      expect(Date.now() - statSync(join(dir, 'lock')).mtimeMs).toBeLessThan(5_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads a lock written before hosts were (a bare pid) as one of this host', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    expect(take(dir)).toBe(false);
    writeFileSync(join(dir, 'lock'), String(deadPid()));
    expect(take(dir)).toBe(true);
  });

  it('acquire() names the live owner in SY_JOURNAL_LOCKED', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    expect(() => new DirLock(dir).acquire()).toThrow(`the journal in ${dir} is locked by process ${process.ppid}`);
  });
});

describe('claimJournalHome', () => {
  it('gives the directory itself, then the first worker slot no live process holds', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), String(process.ppid));
    const first = claimJournalHome(dir);
    held.push(first.lock);
    expect(first.home).toBe(join(dir, 'workers', '1'));
    // Slot 1 is this process's now; a second claim in this process is refused, as for the directory.
    expect(() => claimJournalHome(join(dir, 'workers', '1'))).toThrow(/already used by another switchyard instance/);
    // Another live process holds slot 1 next: the following claim gets slot 2.
    held.pop()!.release();
    writeFileSync(join(dir, 'workers', '1', 'lock'), String(process.ppid));
    const second = claimJournalHome(dir);
    held.push(second.lock);
    expect(second.home).toBe(join(dir, 'workers', '2'));
  });

  it('gives a stale slot back to the next process: the directory first', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), String(deadPid()));
    const claim = claimJournalHome(dir);
    held.push(claim.lock);
    expect(claim.home).toBe(dir);
  });
});
