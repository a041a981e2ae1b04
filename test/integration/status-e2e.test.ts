/**
 * `switchyard status` against what a running instance really publishes (the two sides
 * were built apart): an instance with a breached and a healthy guardrail checks, trips
 * and publishes (guardrails-status.json beside the state file, or a key in Redis), and
 * the CLI's JSON and text views show each rule's value and sample per arm, statistic,
 * p-value, bound and state, the units per arm, and the kill.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type RuleStatus, type Switchyard } from 'switchyard';
import { cli } from '../helpers/cli.js';
import { SHARED_REDIS, deletePrefix, randomPrefix } from '../helpers/redis.js';
import { privateStateDir } from '../helpers/state-dir.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  OpenFeature.clearHooks();
});

function setup(fleet?: Record<string, unknown>) {
  const dir = privateStateDir();
  const config = {
    feature_flags: { provider: 'memory' },
    exposures: { enabled: false, dir },
    monitoring: { check_interval: '1h' },
    experiments: {
      checkout: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        guardrails: [
          { metric: 'error_rate', max: 0.01, min_sample: 300 },
          { metric: 'page_load_ms', max_relative_increase: 0.5, min_sample: 300 },
        ],
      },
    },
    ...(fleet ? { fleet } : {}),
  };
  const file = join(dir, '..', 'switchyard.yaml');
  writeFileSync(file, JSON.stringify(config));
  return { config, file, dir };
}

/** 2000 units through run(): 10% of the treatment's calls throw; page load is the same in both arms. */
async function traffic(sy: Switchyard): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const ctx = { targetingKey: `u-${i}` };
    const fail = (i * 7919) % 1000 < 100;
    await sy
      .run('checkout', ctx, {
        control: () => 'ok',
        treatment: () => {
          if (fail) throw new Error('boom');
          return 'ok';
        },
        default: () => 'ok',
      })
      .catch(() => undefined);
    sy.observe('checkout', ctx, 'page_load_ms', 200 + (i % 13));
  }
}

const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4));

/** The line the text view must print for a rule, built from the instance's own status. */
function expectedLine(r: RuleStatus): string {
  const arms = Object.entries(r.arms)
    .map(([arm, a]) => `${arm} ${a.value === null ? 'no data' : num(a.value)} (n ${a.n})`)
    .join(', ');
  const parts = [`${r.rule}: ${r.state}`, arms];
  if (r.statistic !== null) parts.push(`statistic ${num(r.statistic)}${r.variant ? ` (${r.variant})` : ''}`);
  if (r.pValue !== null) parts.push(`p ${num(r.pValue)}`);
  if (r.bound)
    parts.push(
      `bound [${r.bound.lower === null ? '-inf' : num(r.bound.lower)}, ${r.bound.upper === null ? 'inf' : num(r.bound.upper)}]`,
    );
  parts.push(`min_sample ${r.minSample}`);
  return `  ${parts.join('  ')}`;
}

async function runAndCheck(fleet?: Record<string, unknown>) {
  const { config, file, dir } = setup(fleet);
  const sy = await createSwitchyard({ config });
  cleanups.push(() => sy.close());
  await traffic(sy);
  await sy.checkGuardrails();
  const status = sy.guardrailStatus().checkout!;
  // The instance's own view: one rule breached (and the rollback it caused), one healthy.
  expect(status.rules.map((r) => [r.rule, r.state])).toEqual([
    ['error_rate max 0.01', 'breached'],
    ['page_load_ms max_relative_increase 0.5', 'healthy'],
  ]);
  expect(sy.killRecord('checkout')).toMatchObject({ killed: true, by: 'guardrails' });
  // The kill happened during the check; the next check publishes it as killed.
  await sy.checkGuardrails();
  return { sy, file, dir, status: sy.guardrailStatus().checkout! };
}

async function expectStatusViews(file: string, status: ReturnType<Switchyard['guardrailStatus']>[string]) {
  const json = await cli('status', 'checkout', '--config', file, '--json');
  expect(json.err).toBe('');
  expect(json.code).toBe(0);
  const row = (JSON.parse(json.out) as { experiments: Record<string, unknown>[] }).experiments[0]!;
  expect(row).toMatchObject({
    experiment: 'checkout',
    killed: true,
    kill: { killed: true, by: 'guardrails', reason: 'guardrail: error_rate max 0.01' },
    units: status.units,
    guardrails: {
      source: status.source,
      checkedAt: status.checkedAt,
      healthy: false,
      srm: JSON.parse(JSON.stringify(status.srm)),
      rules: JSON.parse(JSON.stringify(status.rules)),
    },
  });
  const [breached, healthy] = status.rules;
  // Values and samples per arm, statistic, p-value and bound are there for both rules.
  for (const r of [breached!, healthy!]) {
    expect(r.arms.control!.n).toBeGreaterThan(300);
    expect(r.arms.treatment!.n).toBeGreaterThan(300);
    expect(r.statistic).not.toBeNull();
    expect(r.pValue).not.toBeNull();
  }
  expect(breached!.arms.treatment!.value).toBeGreaterThan(0.05);
  expect(status.units.control! + status.units.treatment!).toBe(2000);

  const text = await cli('status', 'checkout', '--config', file);
  expect(text.code).toBe(0);
  expect(text.out).toMatch(
    /\ncheckout \(flag checkout\): fixed, 100% of traffic; KILLED by guardrails at \S+Z: guardrail: error_rate max 0\.01\n/,
  );
  expect(text.out).toContain(`\n  units: control ${status.units.control}, treatment ${status.units.treatment}\n`);
  expect(text.out).toContain(`\n  guardrails: not healthy (${status.source} numbers, checked ${status.checkedAt})\n`);
  expect(text.out).toContain(`\n${expectedLine(breached!)}\n`);
  expect(text.out).toContain(`\n${expectedLine(healthy!)}\n`);
  expect(text.out).toContain(`\n${expectedLine(status.srm!)}\n`);
  expect(text.out).toContain('error_rate max 0.01: breached  control 0 (n ');
  expect(text.out).toMatch(
    /\n {2}page_load_ms max_relative_increase 0\.5: healthy {2}control 20\d\.\d \(n \d+\), treatment 20\d\.\d \(n \d+\) {2}statistic /,
  );
}

describe('switchyard status shows what a running instance publishes', () => {
  it('without a fleet: guardrails-status.json beside the state file (exposures off)', async () => {
    const { file, status } = await runAndCheck();
    expect(status.source).toBe('local');
    await expectStatusViews(file, status);
  });

  it('with a fleet: the status key in Redis and the kill hash', async () => {
    const prefix = randomPrefix();
    cleanups.push(() => deletePrefix(prefix));
    const { file, status } = await runAndCheck({ redis: SHARED_REDIS, prefix, push_interval: '1h' });
    expect(status.source).toBe('fleet');
    await expectStatusViews(file, status);
  });
});
