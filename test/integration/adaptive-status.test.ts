/**
 * `switchyard status` for adaptive experiments, end to end: a running instance re-weights,
 * the CLI (in-process, a separate reader of the published state) shows the version it
 * serves, the weights per arm and the posterior summaries, from allocation-state.json
 * without a fleet and from Redis with one.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type AllocationVersion, type Switchyard } from 'switchyard';
import type { AdaptiveView } from '../../src/cli/commands/status-adaptive.js';
import { cli } from '../helpers/cli.js';
import { privateStateDir } from '../helpers/state-dir.js';

const SHARED = 'redis://127.0.0.1:6379';
const admin = new Redis(SHARED, { lazyConnect: true });
const prefixes: string[] = [];
const open: Switchyard[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((sy) => sy.close()));
});
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await admin.keys(`${p}:*`);
    if (keys.length) await admin.del(...keys);
  }
  admin.disconnect();
});

function configFile(fleet?: { redis: string; prefix: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-adaptive-status-'));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(
    file,
    [
      'feature_flags: { provider: memory }',
      `exposures: { enabled: false, dir: ${JSON.stringify(privateStateDir())} }`,
      ...(fleet ? [`fleet: { redis: ${JSON.stringify(fleet.redis)}, prefix: ${JSON.stringify(fleet.prefix)} }`] : []),
      'experiments:',
      '  hero:',
      '    primary_metric: signup',
      '    variants: { control: {}, b: {}, c: {} }',
      '    allocation: { mode: adaptive, min_sample: 20, max_step: 15, draws: 2000, seed: 3, reweight_every: 1d }',
      '  plain:',
      '    variants: { control: { weight: 50 }, treatment: { weight: 50 } }',
      '',
    ].join('\n'),
  );
  return file;
}

/** 600 units; those on c convert, a few on b. */
async function traffic(sy: Switchyard) {
  for (let i = 0; i < 600; i++) {
    const ctx = { targetingKey: `u${i}` };
    const v = (await sy.getVariant('hero', ctx)).variant;
    if (v === 'c' || (v === 'b' && i % 10 === 0)) sy.track('signup', ctx);
  }
}

interface StatusJson {
  experiments: { experiment: string; adaptive?: AdaptiveView | null }[];
}

function expectSameAsPublished(view: AdaptiveView, version: AllocationVersion) {
  expect(view.version).toBe(version.version);
  expect(view.phase).toBe(version.phase);
  expect(view.reweightedAt).toBe(new Date(version.at).toISOString());
  expect(view.arms.map((a) => a.variant)).toEqual(['control', 'b', 'c']);
  for (const a of view.arms) {
    const arm = version.arms!.find((x) => x.variant === a.variant)!;
    expect(a.weight).toBe(version.weights[a.variant]);
    expect(a.units).toBe(arm.units);
    expect(a.posteriorMean).toBe(arm.posteriorMean);
    expect(a.credibleInterval).toEqual(arm.credibleInterval);
    expect(a.credibleInterval!.lower).toBeLessThan(a.posteriorMean!);
    expect(a.credibleInterval!.upper).toBeGreaterThan(a.posteriorMean!);
    expect(a.probabilityBest).toBe(arm.probabilityBest);
  }
  expect(view.arms.reduce((s, a) => s + a.probabilityBest!, 0)).toBeCloseTo(1, 9);
  expect(view.arms.find((a) => a.variant === 'c')!.probabilityBest).toBeGreaterThan(0.99);
}

async function statusOf(file: string): Promise<{ text: string; json: StatusJson }> {
  const text = await cli('status', '--config', file);
  const json = await cli('status', '--config', file, '--json');
  expect(text.code).toBe(0);
  expect(json.code).toBe(0);
  return { text: text.out, json: JSON.parse(json.out) as StatusJson };
}

describe('switchyard status for adaptive experiments', () => {
  it('without a fleet: shows the version, weights and posteriors from allocation-state.json', async () => {
    const file = configFile();
    const sy = await createSwitchyard({ config: file, watch: false });
    open.push(sy);
    const before = await statusOf(file);
    expect(before.text).toContain('adaptive: no allocation version published yet');
    expect(before.json.experiments.find((e) => e.experiment === 'hero')!.adaptive).toBeNull();
    // A fixed experiment has no adaptive section.
    expect(before.json.experiments.find((e) => e.experiment === 'plain')!).not.toHaveProperty('adaptive');

    await traffic(sy);
    await sy.reweight('hero');
    const version = (await sy.reweight('hero'))!;
    const { text, json } = await statusOf(file);
    expectSameAsPublished(json.experiments.find((e) => e.experiment === 'hero')!.adaptive!, version);
    expect(text).toContain(`adaptive: allocation version ${version.version} (thompson, re-weighted `);
    expect(text).toMatch(
      /\n {4}c: weight \d+\.\d%, units \d+, observed [\d.]+, posterior [\d.]+ \[[\d.]+, [\d.]+\], P\(best\) [\d.]+/,
    );
    // The instance's own view agrees with what the CLI read.
    const live = sy.allocationStatus('hero')[0]!;
    expect(live.version).toBe(version.version);
    for (const a of live.arms)
      expect(a.probabilityBest).toBe(version.arms!.find((x) => x.variant === a.variant)!.probabilityBest);
  });

  it('with a fleet: shows what the leader published to Redis with the version', async () => {
    const prefix = `sy-test-${randomUUID()}`;
    prefixes.push(prefix);
    const file = configFile({ redis: SHARED, prefix });
    const leader = await createSwitchyard({ config: file, watch: false, adaptive: { pollMs: 50 } });
    const follower = await createSwitchyard({ config: file, watch: false, adaptive: { pollMs: 50 } });
    open.push(leader, follower);
    await traffic(leader);
    const version = (await leader.reweight('hero'))!;
    const { text, json } = await statusOf(file);
    expect(text).toContain('state: redis redis://127.0.0.1:6379');
    expectSameAsPublished(json.experiments.find((e) => e.experiment === 'hero')!.adaptive!, version);
    // The follower serves the leader's version and shows its P(best).
    for (let i = 0; i < 100 && follower.allocationStatus('hero')[0]!.version !== version.version; i++)
      await new Promise((r) => setTimeout(r, 20));
    const c = follower.allocationStatus('hero')[0]!.arms.find((a) => a.variant === 'c')!;
    expect(c.probabilityBest).toBe(version.arms!.find((a) => a.variant === 'c')!.probabilityBest);
  });
});
