/**
 * A ramp pause lasts and travels like a kill: persisted in the state file (no fleet) or the
 * Redis hash with a message (fleet), so a restarted instance keeps it and every instance
 * holds the same step; `switchyard status` shows it, `switchyard pause` / `resume` set it
 * from a shell; a breach with ramp_breach_action: pause pauses the fleet the same way.
 * Instances run in this process on a shared fake clock (the ramp's schedule is what moves).
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { cli } from '../helpers/cli.js';
import { SHARED_REDIS, deletePrefix, randomPrefix, waitFor } from '../helpers/redis.js';
import { privateStateDir } from '../helpers/state-dir.js';
import { rampConfig } from '../helpers/ramp-config.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The ramp began 36 h before the real now, so the CLI (on the real clock) sees step 2 of 3 unless paused. */
const START = Date.now() - 36 * HOUR;

class FakeClock {
  constructor(public t: number) {}
  now = () => this.t;
}

const open: Switchyard[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
  for (const c of cleanups.splice(0).reverse()) await c();
  OpenFeature.clearHooks();
});

const config = (dir: string, fleet?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  rampConfig(dir, START, fleet, extra);

async function make(cfg: Record<string, unknown>, clock: FakeClock): Promise<Switchyard> {
  const sy = await createSwitchyard({ config: cfg, clock, statePollIntervalMs: 50, fleetConnectTimeoutMs: 5000 });
  open.push(sy);
  return sy;
}

const traffic = async (sy: Switchyard) => (await sy.getVariant('ramp', { targetingKey: 'x' })).trafficPercent;

function configFile(cfg: Record<string, unknown>): string {
  const file = join(privateStateDir(), '..', 'switchyard.yaml');
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

describe('a ramp pause without a fleet (state file)', () => {
  it('a restarted instance keeps the pause; status shows it; switchyard resume releases the running instance', async () => {
    const dir = privateStateDir();
    const cfg = config(dir);
    const clock = new FakeClock(START + HOUR);
    const first = await make(cfg, clock);
    expect(await traffic(first)).toBe(5);
    const record = first.pause('ramp', true, 'checkout errors under review', 'alice');
    expect(record).toMatchObject({ experiment: 'pause:ramp', killed: true, pausedAt: START + HOUR, by: 'alice' });
    await first.close();

    clock.t = START + 5 * DAY; // the schedule says 100% by now
    const restarted = await make(cfg, clock);
    expect(await traffic(restarted)).toBe(5);
    expect(restarted.pauseRecord('ramp')).toMatchObject({ killed: true, reason: 'checkout errors under review' });

    const file = configFile(cfg);
    const status = await cli('status', 'ramp', '--config', file, '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out).experiments[0]).toMatchObject({
      paused: true,
      pause: { by: 'alice', reason: 'checkout errors under review', pausedAt: START + HOUR },
      rampStep: 0,
      trafficPercent: 5,
      killed: false,
    });
    expect((await cli('status', 'ramp', '--config', file)).out).toMatch(
      /ramp \(flag ramp\): gradual, step 1\/3, 5% of traffic; live; ramp PAUSED by alice at \S+Z: checkout errors under review \(resume with switchyard resume ramp\)\n/,
    );

    const resumed = await cli('resume', 'ramp', '--config', file);
    expect(resumed.err).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/^ramp: ramp resumed, following its schedule \(step 2\/3, 25% now/);
    await waitFor(async () => (await traffic(restarted)) === 100, 10_000, 'the running instance to resume');
    expect(restarted.pauseRecord('ramp')).toMatchObject({ killed: false });
    const after = JSON.parse((await cli('status', 'ramp', '--config', file, '--json')).out).experiments[0];
    expect(after).toMatchObject({ paused: false, rampStep: 1, trafficPercent: 25 });
  });

  it('pause and resume refuse a fixed experiment and an unknown one', async () => {
    const cfg = config(privateStateDir());
    (cfg.experiments as Record<string, unknown>).fixed = {
      variants: { control: { weight: 50 }, treatment: { weight: 50 } },
    };
    const file = configFile(cfg);
    const fixed = await cli('pause', 'fixed', '--reason', 'x', '--config', file);
    expect(fixed.code).toBe(2);
    expect(fixed.err).toMatch(
      /SY_INVALID_ARGUMENT: experiment "fixed" uses fixed allocation; pause and resume act on gradual ramps/,
    );
    expect((await cli('resume', 'nope', '--config', file)).code).toBe(2);
    expect((await cli('pause', 'ramp', '--config', file)).code).toBe(2); // --reason is required
  });
});

describe('a ramp pause across a fleet (Redis)', () => {
  it('every instance holds the same step; a restart with a fresh disk keeps it; switchyard resume releases them all', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const fleet = { redis: SHARED_REDIS, prefix };
    const clock = new FakeClock(START + HOUR);
    const a = await make(config(privateStateDir(), fleet), clock);
    const b = await make(config(privateStateDir(), fleet), clock);
    a.pause('ramp', true, 'hold');
    await waitFor(async () => b.pauseRecord('ramp')?.killed === true, 10_000, 'the pause to reach b');
    clock.t = START + 5 * DAY;
    expect(await traffic(a)).toBe(5);
    expect(await traffic(b)).toBe(5);

    // b restarts on a fresh disk: the pause comes from Redis.
    await b.close();
    const b2 = await make(config(privateStateDir(), fleet), clock);
    expect(await traffic(b2)).toBe(5);

    const file = configFile(config(privateStateDir(), fleet));
    const status = JSON.parse((await cli('status', 'ramp', '--config', file, '--json')).out).experiments[0];
    expect(status).toMatchObject({ paused: true, pause: { reason: 'hold', by: 'api' }, trafficPercent: 5 });
    expect((await cli('resume', 'ramp', '--config', file, '--by', 'bob')).code).toBe(0);
    for (const sy of [a, b2]) await waitFor(async () => (await traffic(sy)) === 100, 10_000, 'the resume');
    expect(a.pauseRecord('ramp')).toMatchObject({ killed: false, by: 'bob' });
  });

  it('a breach with ramp_breach_action: pause pauses every instance, persisted, until resumed', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const fleet = { redis: SHARED_REDIS, prefix, push_interval: '1h' };
    const guardrails = { guardrails: [{ metric: 'error_rate', max: 0.01, min_sample: 100 }] };
    const clock = new FakeClock(START + HOUR);
    const cfg = () => ({
      ...config(privateStateDir(), fleet, guardrails),
      monitoring: { check_interval: '1h', ramp_breach_action: 'pause' },
    });
    const a = await make(cfg(), clock);
    const b = await make(cfg(), clock);
    // 5% of units are in the ramp: run enough units that both arms pass min_sample; treatment fails 20%.
    for (let i = 0; i < 8000; i++) {
      const fail = (i * 7919) % 1000 < 200;
      await a
        .run(
          'ramp',
          { targetingKey: `u-${i}` },
          {
            control: () => 'ok',
            treatment: () => {
              if (fail) throw new Error('boom');
              return 'ok';
            },
            default: () => 'ok',
          },
        )
        .catch(() => undefined);
    }
    await a.checkGuardrails();
    expect(a.guardrailStatus().ramp!.rules[0]!.state).toBe('breached');
    expect(a.pauseRecord('ramp')).toMatchObject({
      killed: true,
      by: 'guardrails',
      reason: 'guardrail: error_rate max 0.01',
    });
    expect(a.killRecord('ramp')).toBeUndefined();
    await waitFor(async () => b.pauseRecord('ramp')?.killed === true, 10_000, 'the pause to reach b');
    b.resume('ramp');
    await waitFor(async () => a.pauseRecord('ramp')?.killed === false, 10_000, 'the resume to reach a');
  });
});
