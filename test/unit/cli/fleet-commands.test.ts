/** `switchyard status`, `kill`, `unkill` through main(), on a state file and on Redis. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExperimentStatus } from 'switchyard';
import { cli } from '../../helpers/cli.js';
import { SHARED_REDIS, deletePrefix, randomPrefix } from '../../helpers/redis.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(fleet?: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-fleet-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const events = join(dir, 'events');
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      exposures: { dir: events },
      experiments: {
        checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } },
        ramp: {
          variants: { control: { weight: 50 }, treatment: { weight: 50 } },
          allocation: {
            mode: 'gradual',
            start: new Date(Date.now() - 36 * 3_600_000).toISOString(),
            schedule: [{ percent: 5, dwell: '1d' }, { percent: 25, dwell: '1d' }, { percent: 100 }],
          },
        },
      },
      ...(fleet ? { fleet } : {}),
    }),
  );
  return { file, events };
}

/** What the guardrail monitor publishes for an experiment (its ExperimentStatus). */
const RULES: ExperimentStatus = {
  experiment: 'checkout',
  checkedAt: '2026-12-01T10:00:00.000Z',
  source: 'local',
  killed: false,
  healthy: false,
  units: { treatment: 4990, control: 5012 },
  ramp: null,
  rules: [
    {
      rule: 'error_rate max 0.001',
      metric: 'error_rate',
      state: 'breached',
      arms: { control: { value: 0.001, n: 5012 }, treatment: { value: 0.0031, n: 4990 } },
      variant: 'treatment',
      statistic: 3.2,
      pValue: 0.0014,
      bound: { lower: 0.001, upper: 0.0052 },
      alpha: 0.05,
      minSample: 1000,
      checkedAt: '2026-12-01T10:00:00.000Z',
    },
    {
      rule: 'p95_latency_ms max_relative_increase 0.05',
      metric: 'p95_latency_ms',
      state: 'insufficient',
      arms: { control: { value: null, n: 40 }, treatment: { value: null, n: 38 } },
      variant: null,
      statistic: null,
      pValue: null,
      bound: null,
      alpha: 0.05,
      minSample: 1000,
      checkedAt: '2026-12-01T10:00:00.000Z',
    },
  ],
  srm: null,
  anomalies: [],
};

describe('status, kill and unkill on the state file (no fleet)', () => {
  it('status shows mode, ramp step, traffic, guardrails as published, and the kill with who and why', async () => {
    const { file, events } = setup();
    const before = await cli('status', '--config', file);
    expect(before.code).toBe(0);
    expect(before.out).toContain(`state: file ${join(events, 'state.json')}`);
    expect(before.out).toContain('checkout (flag checkout): fixed, 100% of traffic; live');
    expect(before.out).toContain('ramp (flag ramp): gradual, step 2/3, 25% of traffic; live');
    expect(before.out).toContain('guardrails: no status published yet');

    mkdirSync(events, { recursive: true });
    writeFileSync(join(events, 'guardrails-status.json'), JSON.stringify({ checkout: RULES }));
    expect((await cli('kill', 'checkout', '--reason', 'error rate', '--by', 'bob', '--config', file)).code).toBe(0);
    const after = await cli('status', 'checkout', '--config', file);
    expect(after.out).toMatch(/checkout \(flag checkout\): fixed, 100% of traffic; KILLED by bob at \S+Z: error rate/);
    expect(after.out).toContain('units: control 5012, treatment 4990');
    expect(after.out).toContain('guardrails: not healthy (local numbers, checked 2026-12-01T10:00:00.000Z)');
    expect(after.out).toContain(
      '  error_rate max 0.001: breached  control 0.001000 (n 5012), treatment 0.003100 (n 4990)  statistic 3.200 (treatment)  p 0.001400  bound [0.001000, 0.005200]  min_sample 1000\n',
    );
    expect(after.out).toContain(
      '  p95_latency_ms max_relative_increase 0.05: insufficient  control no data (n 40), treatment no data (n 38)  min_sample 1000\n',
    );
    expect(after.out).not.toContain('ramp');

    const json = JSON.parse((await cli('status', '--config', file, '--json')).out) as {
      experiments: Record<string, unknown>[];
    };
    expect(json.experiments.map((e) => [e.experiment, e.mode, e.rampStep, e.trafficPercent, e.killed])).toEqual([
      ['checkout', 'fixed', -1, 100, true],
      ['ramp', 'gradual', 1, 25, false],
    ]);
    expect(json.experiments[0]).toMatchObject({
      kill: { by: 'bob', reason: 'error rate' },
      units: { control: 5012, treatment: 4990 },
      guardrails: { rules: RULES.rules },
    });

    expect((await cli('unkill', 'checkout', '--config', file)).code).toBe(0);
    expect((await cli('status', 'checkout', '--config', file)).out).toMatch(/live \(unkilled by cli:\S+ at /);
  });

  it('exit codes: 2 for an unknown experiment or a missing --reason, 2 for a missing config', async () => {
    const { file } = setup();
    const unknown = await cli('status', 'nope', '--config', file);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('SY_INVALID_ARGUMENT: no experiment "nope"');
    expect((await cli('unkill', 'nope', '--config', file)).code).toBe(2);
    expect((await cli('kill', 'checkout', '--config', file)).code).toBe(2);
    expect((await cli('kill', 'checkout', '--reason', 'x', '--config', '/no/such.yaml')).code).toBe(2);
  });
});

describe('status on state another writer left behind', () => {
  it('an allocation version stamped beyond the Date range shows without its time, instead of failing status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cli-adaptive-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const events = join(dir, 'events');
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        exposures: { dir: events },
        experiments: {
          hero: {
            variants: { control: {}, b: {} },
            primary_metric: 'signup',
            allocation: { mode: 'adaptive', min_sample: 5 },
          },
        },
      }),
    );
    mkdirSync(events, { recursive: true });
    writeFileSync(
      join(events, 'allocation-state.json'),
      JSON.stringify({
        schema: 'switchyard.allocation-state/1',
        experiments: { hero: { version: 3, weights: { control: 0.5, b: 0.5 }, phase: 'thompson', at: 1e300 } },
      }),
    );
    const status = await cli('status', '--config', file);
    expect(status.err).toBe('');
    expect(status.code).toBe(0);
    expect(status.out).toContain('  adaptive: allocation version 3 (thompson)\n');
    expect(status.out).toContain('    b: weight 50.0%');
  });
});

describe('text another writer left in the shared state reaches the terminal escaped', () => {
  const HOSTILE = 'x\u001b[2J\u001b]0;pwned\u0007\u009b31m\nFAKE: all clear';
  /** No raw control character but the newlines that end lines, and no line forged from the state. */
  function expectClean(text: string): void {
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text).not.toMatch(/^FAKE/m);
  }

  it('status shows who, why and the published rules with control characters as \\uXXXX; a refused kill names the newer one the same way', async () => {
    const { file, events } = setup();
    mkdirSync(events, { recursive: true });
    const record = (at: number) => ({
      experiment: 'checkout',
      killed: true,
      reason: HOSTILE,
      by: HOSTILE,
      at,
      origin: 'other',
    });
    writeFileSync(
      join(events, 'state.json'),
      JSON.stringify({ schema: 'switchyard.state/1', kills: { checkout: record(Date.now()) } }),
    );
    const rule = RULES.rules[0]!;
    writeFileSync(
      join(events, 'guardrails-status.json'),
      JSON.stringify({
        checkout: {
          ...RULES,
          checkedAt: HOSTILE,
          units: { [HOSTILE]: 7 },
          rules: [{ ...rule, rule: HOSTILE, arms: { [HOSTILE]: { value: 0.5, n: 7 } }, variant: HOSTILE }],
        },
      }),
    );
    const status = await cli('status', 'checkout', '--config', file);
    expect(status.err).toBe('');
    expect(status.code).toBe(0);
    expectClean(status.out);
    expect(status.out).toContain('KILLED by x\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m\\u000aFAKE: all clear at ');

    writeFileSync(
      join(events, 'state.json'),
      JSON.stringify({ schema: 'switchyard.state/1', kills: { checkout: record(Date.now() + 3_600_000) } }),
    );
    const refused = await cli('kill', 'checkout', '--reason', 'x', '--config', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^SY_STALE_DECISION: a newer decision on "checkout" is in force \(killed by x\\u001b/);
    expectClean(refused.err);

    const unknown = await cli('status', 'no\u001b[2Jpe', '--config', file);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^SY_INVALID_ARGUMENT: no experiment "no\\u001b\[2Jpe" in /);
    expectClean(unknown.err);
  });

  it("an adaptive experiment's published phase and arm names show escaped", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cli-adaptive-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const events = join(dir, 'events');
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        exposures: { dir: events },
        experiments: {
          hero: { variants: { control: {}, b: {} }, primary_metric: 'signup', allocation: { mode: 'adaptive' } },
        },
      }),
    );
    mkdirSync(events, { recursive: true });
    writeFileSync(
      join(events, 'allocation-state.json'),
      JSON.stringify({
        schema: 'switchyard.allocation-state/1',
        experiments: { hero: { version: 2, phase: HOSTILE, weights: { control: 0.5, [HOSTILE]: 0.5 } } },
      }),
    );
    const status = await cli('status', '--config', file);
    expect(status.err).toBe('');
    expect(status.code).toBe(0);
    expectClean(status.out);
    expect(status.out).toContain('  adaptive: allocation version 2 (x\\u001b[2J');
    expect(status.out).toContain('    x\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m\\u000aFAKE: all clear: weight 50.0%');
  });
});

describe('status, kill and unkill on Redis (fleet)', () => {
  it('reads the kill hash and the published guardrail status of each experiment', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const { file } = setup({ redis: SHARED_REDIS, prefix });
    const redis = new Redis(SHARED_REDIS);
    cleanups.push(() => void redis.disconnect());
    await redis.set(`${prefix}:status:checkout`, JSON.stringify(RULES));
    expect((await cli('kill', 'checkout', '--reason', 'breach', '--config', file)).code).toBe(0);
    const status = await cli('status', 'checkout', '--config', file);
    expect(status.out).toContain('state: redis redis://127.0.0.1:6379');
    expect(status.out).toMatch(/KILLED by cli:\S+ at \S+: breach/);
    expect(status.out).toContain('error_rate max 0.001: breached');
    const record = JSON.parse((await redis.hget(`${prefix}:kills`, 'checkout'))!) as { killed: boolean };
    expect(record.killed).toBe(true);
  });

  it('a key of another type under the prefix fails the command with exit 1, saying Redis refused it, not that it is unreachable', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const { file } = setup({ redis: SHARED_REDIS, prefix });
    const redis = new Redis(SHARED_REDIS);
    cleanups.push(() => void redis.disconnect());
    await redis.set(`${prefix}:kills`, 'not a hash');
    for (const args of [['status'], ['kill', 'checkout', '--reason', 'x']]) {
      const result = await cli(...args, '--config', file);
      expect(result.code).toBe(1);
      expect(result.err).toMatch(
        new RegExp(
          `^SY_FLEET_UNAVAILABLE: Redis at redis://127\\.0\\.0\\.1:6379 refused a command on the keys under "${prefix}:" \\(WRONGTYPE`,
        ),
      );
    }
    expect(await redis.get(`${prefix}:kills`)).toBe('not a hash');
  });

  it('an unreachable Redis fails the command with exit 1 and says so', async () => {
    const { file } = setup({ redis: 'redis://127.0.0.1:1' });
    const result = await cli('kill', 'checkout', '--reason', 'x', '--config', file);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /^SY_FLEET_UNAVAILABLE: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*\); nothing was changed/,
    );
  });
});
