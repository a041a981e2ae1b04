/**
 * The kill store against real Redis and real files: persistence, propagation between
 * stores, convergence after a missed message and after Redis restarts, and the state
 * file without a fleet.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { ValidatedFleet } from '../../src/config/index.js';
import { SwitchyardError } from '../../src/errors.js';
import {
  KillStore,
  changeKillState,
  mergeIntoStateFile,
  fleetKeys,
  readAllocationState,
  readOpsState,
  readStateFile,
  stateFilePath,
  type KillRecord,
} from '../../src/fleet/index.js';
import { processStartTicks, type Logger } from '../../src/ports.js';
import { validateConfigObject } from '../../src/config/index.js';
import { PrivateRedis, SHARED_REDIS, deletePrefix, randomPrefix, waitFor } from '../helpers/redis.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-kill-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Logged {
  level: string;
  msg: string;
}
function recordingLogger(): Logger & { lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function kill(experiment: string, origin: string, at = Date.now(), killed = true): KillRecord {
  return { experiment, killed, reason: killed ? 'breach' : 'unkill', by: 'test', at, origin, evidence: { p: 0.001 } };
}

async function openStore(fleet: ValidatedFleet | undefined, instance: string, dir = tempDir()) {
  const changes: KillRecord[] = [];
  const logger = recordingLogger();
  const store = new KillStore({
    file: stateFilePath(dir),
    fleet,
    instance,
    logger,
    onChange: (r) => changes.push(r),
    pollIntervalMs: 20,
    connectTimeoutMs: 1000,
  });
  store.loadLocal();
  await store.start();
  cleanups.push(() => store.close());
  return { store, changes, logger, dir };
}

describe('kill store, fleet mode (Redis)', () => {
  it('a kill recorded in one store reaches another by message, with its record, and lands in the hash', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const fleet = { redis: SHARED_REDIS, prefix, pushIntervalMs: 60_000 };
    const a = await openStore(fleet, 'a');
    const b = await openStore(fleet, 'b');
    const record = kill('exp', 'a');
    a.store.record(record);
    await waitFor(() => b.changes.length === 1, 2000, 'the message');
    expect(b.changes[0]).toEqual(record);
    expect(b.store.get('exp')).toEqual(record);
    expect(a.changes).toEqual([]); // its own echo is not news
    const redis = new Redis(SHARED_REDIS);
    cleanups.push(() => void redis.disconnect());
    expect(JSON.parse((await redis.hget(fleetKeys(prefix).kills, 'exp'))!)).toEqual(record);
    // and b keeps a local copy of the fleet state, written just after the change took effect
    await waitFor(() => readStateFile(stateFilePath(b.dir)).get('exp') !== undefined, 2000, 'the local copy');
    expect(readStateFile(stateFilePath(b.dir)).get('exp')).toEqual(record);
  });

  it('an instance that missed the message converges at the next read of the hash', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const redis = new Redis(SHARED_REDIS);
    cleanups.push(() => void redis.disconnect());
    const record = kill('exp', 'elsewhere');
    await redis.hset(fleetKeys(prefix).kills, 'exp', JSON.stringify(record)); // no PUBLISH
    const b = await openStore({ redis: SHARED_REDIS, prefix, pushIntervalMs: 50 }, 'b');
    expect(b.store.get('exp')).toEqual(record); // read at start
    const unkill = kill('exp', 'elsewhere', record.at + 1, false);
    await redis.hset(fleetKeys(prefix).kills, 'exp', JSON.stringify(unkill));
    await waitFor(() => b.store.get('exp')?.killed === false, 2000, 'the periodic read');
    expect(b.changes.at(-1)).toEqual(unkill);
  });

  it('an older record never overwrites a newer one in Redis', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const config = validateConfigObject({
      experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
      exposures: { dir: tempDir() },
      fleet: { redis: SHARED_REDIS, prefix },
    });
    const newer = await changeKillState(config, { experiment: 'exp', killed: false, reason: 'fixed', at: 2000 });
    expect(newer.written).toBe(true);
    const older = await changeKillState(config, { experiment: 'exp', killed: true, reason: 'late', at: 1000 });
    expect(older.written).toBe(false);
    expect(older.record.reason).toBe('fixed');
    const state = await readOpsState(config);
    expect(state.kills.get('exp')?.killed).toBe(false);
  });

  it('Redis stopped and restarted: nothing throws, decisions made meanwhile are pushed, the rest is taken', async () => {
    const server = await PrivateRedis.create();
    await server.start();
    cleanups.push(() => server.stop());
    const fleet = { redis: server.url, prefix: 'p', pushIntervalMs: 100 };
    const a = await openStore(fleet, 'a');
    const b = await openStore(fleet, 'b');
    await server.stop();
    const during = kill('exp', 'a');
    a.store.record(during); // Redis is down: kept locally, no throw
    expect(a.store.get('exp')).toEqual(during);
    await waitFor(() => a.logger.lines.some((l) => l.msg.includes('SY_FLEET_UNAVAILABLE')), 3000, 'the outage log');
    expect(a.logger.lines.filter((l) => l.msg.includes('SY_FLEET_UNAVAILABLE'))).toHaveLength(1);
    expect(b.store.get('exp')).toBeUndefined();
    await server.start(); // empty: no persistence
    await waitFor(() => b.store.get('exp')?.killed === true, 5000, 'b to converge after the restart');
    expect(b.store.get('exp')).toEqual(during);
    expect(a.logger.lines.some((l) => l.level === 'info' && l.msg.includes('reachable again'))).toBe(true);
  });

  it('an unreachable Redis at start: a clear error, the local state is served', async () => {
    const dir = tempDir();
    const record = kill('exp', 'before');
    writeFileSync(stateFilePath(dir), JSON.stringify({ schema: 'switchyard.state/1', kills: { exp: record } }));
    const started = Date.now();
    const s = await openStore({ redis: 'redis://127.0.0.1:1', prefix: 'p', pushIntervalMs: 1000 }, 'a', dir);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(s.store.get('exp')).toEqual(record);
    const errors = s.logger.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/SY_FLEET_UNAVAILABLE: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*1 killed/);
  });

  it('a kills key of another type: the error says Redis refused the commands on the prefix, not that it cannot be reached', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const redis = new Redis(SHARED_REDIS);
    cleanups.push(() => void redis.disconnect());
    await redis.set(`${prefix}:kills`, 'not a hash');
    const s = await openStore({ redis: SHARED_REDIS, prefix, pushIntervalMs: 100 }, 'a');
    await waitFor(() => s.logger.lines.some((l) => l.level === 'error'), 3000, 'the error');
    const errors = s.logger.lines.filter((l) => l.level === 'error');
    for (const e of errors)
      expect(e.msg).toContain(
        `SY_FLEET_UNAVAILABLE: Redis at redis://127.0.0.1:6379 refused a command on the keys under "${prefix}:" (WRONGTYPE`,
      );
  });

  it('after a refusal (a kills key of another type, then fixed), a real outage is still logged, and its end', async () => {
    const server = await PrivateRedis.create();
    await server.start();
    cleanups.push(() => server.stop());
    const redis = new Redis(server.url);
    cleanups.push(() => void redis.disconnect());
    await redis.set('p:kills', 'not a hash');
    const s = await openStore({ redis: server.url, prefix: 'p', pushIntervalMs: 100 }, 'a');
    const errors = () => s.logger.lines.filter((l) => l.level === 'error').map((l) => l.msg);
    await waitFor(() => errors().some((m) => m.includes('refused a command')), 3000, 'the refusal');
    await redis.del('p:kills');
    redis.disconnect();
    await server.stop();
    await waitFor(() => errors().some((m) => m.includes('cannot reach Redis')), 5000, 'the outage after the refusal');
    await server.start();
    await waitFor(
      () => s.logger.lines.some((l) => l.level === 'info' && l.msg.includes('reachable again')),
      5000,
      'the end of the outage',
    );
  });

  it('a password in the URL never reaches a message', async () => {
    const s = await openStore({ redis: 'redis://user:hunter22@127.0.0.1:1', prefix: 'p', pushIntervalMs: 1000 }, 'a');
    expect(s.logger.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(s.logger.lines)).not.toContain('hunter22');
    const config = validateConfigObject({ fleet: { redis: 'redis://user:hunter22@127.0.0.1:1' } });
    const error = await readOpsState(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchyardError);
    expect((error as SwitchyardError).code).toBe('SY_FLEET_UNAVAILABLE');
    expect((error as SwitchyardError).message).not.toContain('hunter22');
  });
});

describe('kill store, file mode (no fleet)', () => {
  it('a state file that cannot be written: SY_STATE_FILE naming it, and that the change holds in this process only', () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    mkdirSync(join(dir, 'state.json'), { recursive: true }); // a directory where the file goes
    const unkill = { ...kill('exp', 'ops'), killed: false };
    let error: unknown;
    try {
      mergeIntoStateFile(file, [unkill]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SwitchyardError);
    expect((error as SwitchyardError).code).toBe('SY_STATE_FILE');
    expect((error as SwitchyardError).what.startsWith(`cannot write the kill state ${file}: EISDIR`)).toBe(true);
    expect((error as SwitchyardError).what).toMatch(
      /; the change \(a kill, unkill, pause or resume\) holds in this process only$/,
    );
  });

  it('a state file whose directory is a file: SY_STATE_FILE at once, where the lock loop spun without end', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'events'), 'a file where the exposures directory should be');
    const file = join(dir, 'events', 'state.json');
    const started = Date.now();
    let error: unknown;
    try {
      mergeIntoStateFile(file, [kill('exp', 'ops')]);
    } catch (e) {
      error = e;
    }
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(SwitchyardError);
    expect((error as SwitchyardError).what).toMatch(
      new RegExp(`^cannot write ${file.replace(/[.*+?^\${}()|[\]\\]/g, '\\$&')}: EEXIST.*\\(making its directory\\)$`),
    );
  });

  it('persists kills, and picks up a change the CLI writes to the file', async () => {
    const dir = tempDir();
    const a = await openStore(undefined, 'a', dir);
    const record = kill('exp', 'a');
    a.store.record(record);
    expect(readStateFile(stateFilePath(dir)).get('exp')).toEqual(record);
    // a restart reads it back synchronously
    const again = new KillStore({
      file: stateFilePath(dir),
      fleet: undefined,
      instance: 'a2',
      logger: recordingLogger(),
      onChange: () => {},
    });
    expect(again.loadLocal()).toEqual([record]);
    const config = validateConfigObject({
      experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
      exposures: { dir },
    });
    const result = await changeKillState(config, { experiment: 'exp', killed: false, reason: 'fixed', by: 'ops' });
    expect(result.where).toBe(`file ${stateFilePath(dir)}`);
    await waitFor(() => a.store.get('exp')?.killed === false, 2000, 'the poll');
    expect(a.changes.at(-1)).toMatchObject({ killed: false, by: 'ops', reason: 'fixed' });
  });

  it("takes a record the CLI wrote while the store's own write was pending (the merge found it)", async () => {
    const dir = tempDir();
    const file = stateFilePath(dir);
    const a = await openStore(undefined, 'a', dir);
    const store = a.store as unknown as { accept(records: KillRecord[]): void; persistPending: unknown };
    // A record from elsewhere (a poll, a message) is taken; the local copy is written on the next turn...
    store.accept([kill('other', 'b', 1000)]);
    expect(store.persistPending).toBeDefined();
    // ...and before that, the shell kills exp: the store's write merges the kill into the file.
    const fromShell = kill('exp', 'cli');
    mergeIntoStateFile(file, [fromShell]);
    await waitFor(() => store.persistPending === undefined, 2000, 'the write');
    expect(readStateFile(file).get('exp')).toEqual(fromShell);
    expect(readStateFile(file).get('other')).toMatchObject({ origin: 'b' });
    // That write's stamp covers the shell's record, so polling would not read it again: taken at the merge.
    expect(a.store.get('exp')).toEqual(fromShell);
    expect(a.changes.at(-1)).toEqual(fromShell);
  });

  it.each([
    ['kill records into state.json', 'kill', (dir: string) => [...readStateFile(stateFilePath(dir)).keys()]],
    [
      'allocation versions into allocation-state.json',
      'allocation',
      (dir: string) => [...readAllocationState(dir).keys()],
    ],
  ] as const)(
    'writers in three processes merging %s at once lose nothing (each read-merge-write holds a lock)',
    async (_what, kind, read) => {
      const dir = tempDir();
      const start = String(Date.now() + 1500);
      const writers = ['a', 'b', 'c'].map((tag) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/state-file-child.ts'], {
          env: { ...process.env, DIR: dir, KIND: kind, TAG: tag, COUNT: '150', START: start },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        cleanups.push(() => void child.kill('SIGKILL'));
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        return new Promise<{ code: number | null; err: string }>((resolve) =>
          child.on('exit', (code) => resolve({ code, err })),
        );
      });
      expect(await Promise.all(writers)).toEqual([0, 1, 2].map(() => ({ code: 0, err: '' })));
      expect(read(dir).sort()).toEqual(
        ['a', 'b', 'c'].flatMap((tag) => Array.from({ length: 150 }, (_, i) => `${tag}-${i}`)).sort(),
      );
      expect(readdirSync(dir)).toHaveLength(1); // no lock or temp file left behind
    },
    60_000,
  );

  it('the lock names its holder from its first moment: a writer killed at any point leaves a lock others can tell is gone', async () => {
    // Created and then written, the lock was empty for a moment (seen thousands of times in a
    // run like this one); a writer killed then left a lock naming nobody, waited out for 10 s.
    const dir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/state-file-child.ts'], {
      env: { ...process.env, DIR: dir, KIND: 'kill', TAG: 'a', COUNT: '1500', START: String(Date.now()) },
      stdio: 'ignore',
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    let exited = false;
    child.on('exit', () => (exited = true));
    const lock = `${stateFilePath(dir)}.lock`;
    let seen = 0;
    let nameless = 0;
    while (!exited) {
      try {
        const text = readFileSync(lock, 'utf8');
        seen++;
        if (text === '') nameless++;
      } catch {
        // not held this moment
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen).toBeGreaterThan(100);
    expect(nameless).toBe(0);
  }, 60_000);

  it('a lock left by a writer that died is taken over (at once when its pid is gone); one a live writer holds fails the write after 5 s, naming it', async () => {
    const file = stateFilePath(tempDir());
    mergeIntoStateFile(file, [kill('a', 'i1')]);
    // Killed mid-merge (SIGKILL): its pid, on this host, runs no more.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(`${file}.lock`, `${dead}@${hostname()}`);
    let started = Date.now();
    mergeIntoStateFile(file, [kill('b', 'i1')]);
    expect(Date.now() - started).toBeLessThan(1000);
    // Its pid reused by a live process that started at another time than the writer: taken at once too.
    writeFileSync(`${file}.lock`, `${process.ppid}@${hostname()}/${processStartTicks(process.ppid)! + 1}`);
    started = Date.now();
    mergeIntoStateFile(file, [kill('b2', 'i1')]);
    expect(Date.now() - started).toBeLessThan(1000);
    // A holder that left no pid (or one of another host): taken once the lock is 10 s old.
    writeFileSync(`${file}.lock`, '');
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, longAgo, longAgo);
    mergeIntoStateFile(file, [kill('c', 'i1')]);
    expect([...readStateFile(file).keys()].sort()).toEqual(['a', 'b', 'b2', 'c']);
    expect(existsSync(`${file}.lock`)).toBe(false);

    writeFileSync(`${file}.lock`, `${process.ppid}@${hostname()}`);
    started = Date.now();
    expect(() => mergeIntoStateFile(file, [kill('d', 'i1')])).toThrow(
      `SY_STATE_FILE in fleet: cannot write ${file}: ${process.ppid}@${hostname()} has held ${file}.lock for more than 5 s; nothing was written`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
    expect([...readStateFile(file).keys()].sort()).toEqual(['a', 'b', 'b2', 'c']);
  }, 20_000);

  it('a corrupt state file is reported and replaced, not trusted', async () => {
    const dir = tempDir();
    writeFileSync(stateFilePath(dir), '{not json');
    const a = await openStore(undefined, 'a', dir);
    expect(a.logger.lines.some((l) => l.level === 'error' && l.msg.includes('SY_STATE_FILE'))).toBe(true);
    a.store.record(kill('exp', 'a'));
    expect(readStateFile(stateFilePath(dir)).get('exp')?.killed).toBe(true);
  });
});
