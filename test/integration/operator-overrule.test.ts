/**
 * An operator can overrule a decision stamped by a clock that runs ahead: kill, unkill,
 * pause and resume are last-writer-wins by their stamp, so an instance whose clock is 1 h
 * ahead leaves a record no plain CLI call can replace for that hour. Without --force the
 * CLI refuses (SY_STALE_DECISION, saying the record is stamped ahead and naming --force) and
 * the store is unchanged; with --force the record is stamped just after the one in force
 * and wins on the state file and on Redis, so running instances obey it.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { changeKillState, createSwitchyard, loadConfigFile, readOpsState, type Switchyard } from 'switchyard';
import { LAST_TIME } from '../../src/fleet/index.js';
import { cli } from '../helpers/cli.js';
import { SHARED_REDIS, deletePrefix, randomPrefix, waitFor } from '../helpers/redis.js';
import { privateStateDir } from '../helpers/state-dir.js';
import { rampConfig } from '../helpers/ramp-config.js';

const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

class FakeClock {
  constructor(public t: number) {}
  now = () => this.t;
}

const open: Switchyard[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  for (const c of cleanups.splice(0).reverse()) await c();
  OpenFeature.clearHooks();
});

/** The ramp's config, started 36 h ago: at its second step. */
const config = (dir: string, fleet?: Record<string, unknown>) => rampConfig(dir, Date.now() - 36 * HOUR, fleet);

/** The fleet section of a store (a Redis prefix of its own, deleted after the test), or none for the state file. */
function fleetFor(store: 'file' | 'redis'): Record<string, unknown> | undefined {
  if (store === 'file') return undefined;
  const prefix = randomPrefix();
  cleanups.push(() => deletePrefix(prefix));
  return { redis: SHARED_REDIS, prefix };
}

/** A config file for the CLI on a store of its own: its state dir, fleet and path. */
function configFile(store: 'file' | 'redis') {
  const dir = privateStateDir();
  const fleet = fleetFor(store);
  const file = join(mkdtempSync(join(tmpdir(), 'sy-overrule-')), 'switchyard.yaml');
  writeFileSync(file, JSON.stringify(config(dir, fleet)));
  return { dir, fleet, file };
}

/** Two running instances sharing one store (one with a clock 1 h ahead) and a config file for the CLI. */
async function fleetOf(store: 'file' | 'redis') {
  const fleet = fleetFor(store);
  const dir = privateStateDir();
  const cfg = config(dir, fleet);
  const make = async (clock: FakeClock, stateDir: string) => {
    const sy = await createSwitchyard({
      config: config(stateDir, fleet),
      clock,
      statePollIntervalMs: 50,
      fleetConnectTimeoutMs: 5000,
    });
    open.push(sy);
    return sy;
  };
  // Without a fleet the state file is the shared state: both instances use the CLI's dir.
  const ahead = new FakeClock(Date.now() + HOUR);
  const skewed = await make(ahead, store === 'file' ? dir : privateStateDir());
  const other = await make(new FakeClock(Date.now()), store === 'file' ? dir : privateStateDir());
  const file = join(dir, '..', 'switchyard.yaml');
  writeFileSync(file, JSON.stringify(cfg));
  const ops = async () => readOpsState(loadConfigFile(file));
  return { ahead, skewed, other, file, ops };
}

describe.each(['file', 'redis'] as const)('overruling a decision stamped 1 h ahead (%s)', (store) => {
  it('a kill stamped ahead blocks a plain unkill (store unchanged); unkill --force wins and every instance is unkilled', async () => {
    const { ahead, skewed, other, file, ops } = await fleetOf(store);
    ahead.t = Date.now() + HOUR;
    const kill = skewed.kill('ramp', 'skewed breach');
    expect(kill.at).toBe(ahead.t);
    await waitFor(() => other.killRecord('ramp')?.killed === true, 10_000, 'the kill to reach the other instance');

    const refused = await cli('unkill', 'ramp', '--config', file);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err).toMatch(
      /^SY_STALE_DECISION: a newer decision on "ramp" is in force \(killed by api at \S+Z: skewed breach\); nothing changed: it is stamped 3\d{3} s ahead of this machine's clock \(a clock running ahead\?\); --force writes this decision stamped just after it, so that it wins\n$/,
    );
    expect((await ops()).kills.get('ramp')).toMatchObject({ killed: true, at: kill.at, reason: 'skewed breach' });

    const forced = await cli('unkill', 'ramp', '--config', file, '--force');
    expect(forced.err).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('ramp: unkilled; every instance sharing');
    expect(forced.out).toMatch(
      new RegExp(
        `\\nstamped ${iso(kill.at + 1).replace(/\./g, '\\.')}, just after the record in force \\(killed by api at ${iso(kill.at).replace(/\./g, '\\.')}, 3\\d{3} s ahead of this machine's clock\\); decided at \\S+Z\\nvendor: `,
      ),
    );
    const decidedAt = Date.parse(/decided at (\S+Z)/.exec(forced.out)![1]!);
    expect(Math.abs(decidedAt - Date.now())).toBeLessThan(60_000);
    expect((await ops()).kills.get('ramp')).toMatchObject({ killed: false, at: kill.at + 1, reason: 'unkill' });
    for (const sy of [skewed, other])
      await waitFor(() => sy.killRecord('ramp')?.killed === false, 10_000, 'the forced unkill to reach an instance');
    expect(other.killRecord('ramp')).toMatchObject({ killed: false, at: kill.at + 1 });
  });

  it('a pause stamped ahead blocks a plain resume; resume --force wins; pause --force over a resume ahead freezes at now', async () => {
    const { ahead, skewed, other, file, ops } = await fleetOf(store);
    ahead.t = Date.now() + HOUR;
    const pause = skewed.pause('ramp', true, 'skewed hold');
    await waitFor(() => other.pauseRecord('ramp')?.killed === true, 10_000, 'the pause to reach the other instance');

    const refused = await cli('resume', 'ramp', '--config', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /^SY_STALE_DECISION: a newer decision on the ramp of "ramp" is in force \(paused by api at \S+Z: skewed hold\); nothing changed: it is stamped 3\d{3} s ahead of this machine's clock .*--force/,
    );
    expect((await ops()).pauses.get('ramp')).toMatchObject({ killed: true, at: pause.at });

    const resumed = await cli('resume', 'ramp', '--config', file, '--force');
    expect(resumed.err).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain(`stamped ${iso(pause.at + 1)}, just after the record in force (paused by api at`);
    expect((await ops()).pauses.get('ramp')).toMatchObject({ killed: false, at: pause.at + 1 });
    for (const sy of [skewed, other])
      await waitFor(() => sy.pauseRecord('ramp')?.killed === false, 10_000, 'the forced resume to reach an instance');

    // The skewed instance resumes again, still 1 h ahead; a forced pause freezes the ramp at
    // the operator's now, not at the skewed stamp it is written after.
    ahead.t += 1000;
    const resume = skewed.pause('ramp', false);
    await waitFor(() => other.pauseRecord('ramp')?.at === resume.at, 10_000, 'the resume to reach the other instance');
    expect((await cli('pause', 'ramp', '--reason', 'hold', '--config', file)).code).toBe(1);
    const before = Date.now();
    const paused = await cli('pause', 'ramp', '--reason', 'hold', '--config', file, '--force');
    expect(paused.err).toBe('');
    expect(paused.code).toBe(0);
    const record = (await ops()).pauses.get('ramp')!;
    expect(record).toMatchObject({ killed: true, at: resume.at + 1, reason: 'hold' });
    expect(record.pausedAt).toBeGreaterThanOrEqual(before);
    expect(record.pausedAt).toBeLessThanOrEqual(Date.now());
    for (const sy of [skewed, other])
      await waitFor(() => sy.pauseRecord('ramp')?.killed === true, 10_000, 'the forced pause to reach an instance');
  });

  it('a record that is newer without being ahead: the refusal says nothing of clocks; --force still wins', async () => {
    const { dir, fleet, file } = configFile(store);
    // The CLI's clock stands still at T, so the record in force, stamped T by an origin that
    // sorts after the CLI's, is newer than the CLI's decision and not ahead of its clock.
    const T = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: T });
    const kill = { experiment: 'ramp', killed: true, reason: 'breach', by: 'guardrails', at: T, origin: 'zzz' };
    if (fleet) {
      const redis = new Redis(SHARED_REDIS);
      cleanups.push(() => void redis.disconnect());
      await redis.hset(`${String(fleet.prefix)}:kills`, 'ramp', JSON.stringify(kill));
    } else {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'state.json'), JSON.stringify({ schema: 'switchyard.state/1', kills: { ramp: kill } }));
    }
    const ops = async () => readOpsState(loadConfigFile(file));

    const refused = await cli('unkill', 'ramp', '--config', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(
      `SY_STALE_DECISION: a newer decision on "ramp" is in force (killed by guardrails at ${iso(T)}: breach); nothing changed\n`,
    );
    expect((await ops()).kills.get('ramp')).toEqual(kill);

    const forced = await cli('unkill', 'ramp', '--config', file, '--force');
    expect(forced.code).toBe(0);
    expect(forced.out).toContain(
      `stamped ${iso(T + 1)}, just after the record in force (killed by guardrails at ${iso(T)}); decided at ${iso(T)}\n`,
    );
    expect((await ops()).kills.get('ramp')).toMatchObject({ killed: false, at: T + 1, reason: 'unkill' });
  });
});

describe.each(['file', 'redis'] as const)('changeKillState with overrule (%s)', (store) => {
  async function setup() {
    return loadConfigFile(configFile(store).file);
  }

  it('a delayed older decision stays out by default; with overrule it is stamped after the newer one, its evidence intact', async () => {
    const cfg = await setup();
    const T = Date.now() - 60_000;
    const newer = await changeKillState(cfg, { experiment: 'ramp', killed: true, reason: 'breach', by: 'g', at: T });
    expect(newer.written).toBe(true);
    // Numbers cjson would round and an empty array it would turn into an object.
    const evidence = { values: [], big: 12345678901234567, small: 0.1 + 0.2, nested: { at: 5, list: [[], {}] } };
    const late = { experiment: 'ramp', killed: false, reason: 'late', by: 'ops', at: T - 5000, evidence };
    const refused = await changeKillState(cfg, late);
    expect(refused).toMatchObject({ written: false, record: { killed: true, at: T } });
    expect(refused.overruled).toBeUndefined();
    expect((await readOpsState(cfg)).kills.get('ramp')).toMatchObject({ killed: true, at: T, reason: 'breach' });

    const forced = await changeKillState(cfg, { ...late, overrule: true });
    expect(forced.written).toBe(true);
    expect(forced.record).toMatchObject({ killed: false, at: T + 1, reason: 'late', by: 'ops', evidence });
    expect(forced.overruled).toEqual({ record: newer.record, decidedAt: T - 5000 });
    const stored = (await readOpsState(cfg)).kills.get('ramp')!;
    expect(stored).toEqual(forced.record);
    expect(stored.evidence).toEqual(evidence);

    // A decision newer than the one in force is written as is, overrule or not.
    const plain = await changeKillState(cfg, {
      experiment: 'ramp',
      killed: true,
      reason: 'again',
      at: T + 10,
      overrule: true,
    });
    expect(plain).toMatchObject({ written: true, record: { at: T + 10, reason: 'again' } });
    expect(plain.overruled).toBeUndefined();
  });

  it('a record stamped at the end of the Date range cannot be followed: nothing is written', async () => {
    const cfg = await setup();
    const last = await changeKillState(cfg, { experiment: 'ramp', killed: true, reason: 'end', at: LAST_TIME });
    expect(last.written).toBe(true);
    const forced = await changeKillState(cfg, { experiment: 'ramp', killed: false, reason: 'x', overrule: true });
    expect(forced).toMatchObject({ written: false, record: { killed: true, at: LAST_TIME } });
    expect((await readOpsState(cfg)).kills.get('ramp')).toMatchObject({ killed: true, at: LAST_TIME });
  });
});
