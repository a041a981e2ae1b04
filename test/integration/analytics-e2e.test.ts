/**
 * End to end, per analytics platform: a config naming the platform, createSwitchyard,
 * getVariant and track, the pipeline and its journal, to a local receiver speaking the
 * platform's batch API. Every exposure arrives with the platform's fields; an event over
 * the platform's size limit is dead-lettered beside the journal and the events behind it
 * still arrive; 429 with Retry-After is waited out; and a catch-up after an outage of
 * 20,000 events takes seconds and loses nothing, also after the process is SIGKILLed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from '../../src/index.js';
import { PlatformReceiver, platformConfig, type Platform } from '../helpers/platforms.js';
import { until } from '../helpers/receiver.js';

const PLATFORMS: Platform[] = ['segment', 'amplitude', 'mixpanel'];
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-e2e-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function receiverFor(platform: Platform): Promise<PlatformReceiver> {
  const r = await new PlatformReceiver(platform).start();
  cleanup.push(() => r.stop());
  return r;
}

async function switchyard(platform: Platform, port: number, dir: string): Promise<Switchyard> {
  const sy = await createSwitchyard({
    config: {
      feature_flags: { provider: 'memory' },
      analytics_platforms: [platform],
      exposures: { dir, flush_interval_ms: 50, attributes: ['country'], service: 'checkout-api' },
      analytics: platformConfig(platform, port),
      experiments: {
        checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, allocation: { mode: 'fixed' } },
      },
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  cleanup.push(() => sy.close());
  return sy;
}

const sinkCounters = (sy: Switchyard, platform: Platform) => sy.counters().exposures.pipeline!.sinks[platform]!;

/** The experiment and variant an event names, in the platform's own fields. */
function experimentOf(platform: Platform, e: Record<string, unknown>): { experiment: unknown; variant: unknown } {
  const p = (e.properties ?? e.event_properties) as Record<string, unknown>;
  if (platform === 'segment') return { experiment: p.experiment_id, variant: p.variation_id };
  if (platform === 'amplitude') return { experiment: p.experiment_key, variant: p.variant };
  return { experiment: p['Experiment name'], variant: p['Variant name'] };
}
const userOf = (platform: Platform, e: Record<string, unknown>) =>
  platform === 'segment'
    ? e.userId
    : platform === 'amplitude'
      ? e.user_id
      : (e.properties as Record<string, unknown>).distinct_id;

describe.each(PLATFORMS)('%s, from config to the platform API', (platform) => {
  it('every exposure of 3,000 units arrives once, with the variant getVariant answered, and the tracked event', async () => {
    const receiver = await receiverFor(platform);
    const sy = await switchyard(platform, receiver.port, temp());
    const answered = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const unit = `user-${i}`;
      const v = await sy.getVariant('checkout', { targetingKey: unit, country: 'DE' });
      answered.set(unit, v.variant!);
    }
    expect(sy.track('purchase', { targetingKey: 'user-7' }, { value: 42.5, sku: 'A-1' })).toBe(true);
    sy.flush();
    await until(
      () => receiver.accepted >= 3001 && sinkCounters(sy, platform).pending === 0,
      30_000,
      'every event at the receiver, acknowledged',
    );
    const events = receiver.requests.flatMap((r) => r.events);
    expect(events).toHaveLength(3001);
    expect(receiver.duplicates).toBe(0);
    const exposures = events.filter((e) => experimentOf(platform, e).experiment === 'checkout');
    expect(exposures).toHaveLength(3000);
    for (const e of exposures) {
      const user = userOf(platform, e) as string;
      expect(experimentOf(platform, e).variant).toBe(answered.get(user));
      const props = (e.properties ?? e.event_properties) as Record<string, unknown>;
      expect(props).toMatchObject({ country: 'DE', service: 'checkout-api', allocation_mode: 'fixed' });
    }
    const purchase = events.find((e) => (e.event ?? e.event_type) === 'purchase')!;
    expect(userOf(platform, purchase)).toBe('user-7');
    // The key is on the wire only where the platform wants it, never in the counters.
    expect(JSON.stringify(sy.counters())).not.toMatch(/e2e_secret/);
    expect(sinkCounters(sy, platform)).toMatchObject({ delivered: 3001, deadLettered: 0, pending: 0 });
  });

  it('an event over the platform limit is dead-lettered beside the journal, counted, and the events behind it arrive', async () => {
    const receiver = await receiverFor(platform);
    const dir = temp();
    const sy = await switchyard(platform, receiver.port, dir);
    // Segment takes events of 32 KB; the pipeline takes properties of 32 KB: one fits the
    // pipeline and not Segment. For the others (1 MB), the test's point is the path.
    const big = platform === 'segment' ? 'x'.repeat(31_900) : 'x'.repeat(1_000);
    for (let i = 0; i < 100; i++) await sy.getVariant('checkout', { targetingKey: `u-${i}` });
    expect(sy.track('upload', { targetingKey: 'u-big' }, { blob: big })).toBe(true);
    for (let i = 100; i < 200; i++) await sy.getVariant('checkout', { targetingKey: `u-${i}` });
    sy.flush();
    if (platform !== 'segment') {
      await until(() => receiver.accepted >= 201, 20_000, 'every event');
      expect(sinkCounters(sy, platform).deadLettered).toBe(0);
      return;
    }
    await until(() => receiver.accepted >= 200 && sinkCounters(sy, platform).pending === 0, 20_000, 'the rest');
    expect(receiver.accepted).toBe(200);
    expect(sinkCounters(sy, platform)).toMatchObject({ delivered: 200, deadLettered: 1 });
    const letters = readFileSync(join(dir, 'dead-letters', 'segment.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(letters).toHaveLength(1);
    const letter = JSON.parse(letters[0]!) as { reason: string; event: { event: string; unit: string } };
    expect(letter.reason).toMatch(/segment takes events of at most 32000 bytes/);
    expect(letter.event).toMatchObject({ event: 'upload', unit: 'u-big' });
  });

  it('429 with Retry-After: 1 is waited out, then everything arrives', async () => {
    const receiver = await receiverFor(platform);
    const refusedAt: number[] = [];
    let acceptedAt = 0;
    receiver.fault = () => {
      if (refusedAt.length < 2) {
        refusedAt.push(Date.now());
        return { status: 429, headers: { 'retry-after': '1' }, body: '{"code":429,"error":"Too many requests"}' };
      }
      acceptedAt ||= Date.now();
      return undefined;
    };
    const sy = await switchyard(platform, receiver.port, temp());
    for (let i = 0; i < 500; i++) await sy.getVariant('checkout', { targetingKey: `u-${i}` });
    sy.flush();
    await until(() => receiver.accepted >= 500, 20_000, 'every event');
    expect(refusedAt).toHaveLength(2);
    expect(acceptedAt - refusedAt[0]!).toBeGreaterThanOrEqual(990);
    expect(sinkCounters(sy, platform).failures).toBeGreaterThanOrEqual(1);
  });

  it('a catch-up after an outage of 20,000 events takes seconds and loses nothing', { timeout: 90_000 }, async () => {
    const receiver = await receiverFor(platform);
    const port = receiver.port;
    await receiver.stop();
    const sy = await switchyard(platform, port, temp());
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      await sy.getVariant('checkout', { targetingKey: `down-${i}` });
    }
    sy.flush();
    await until(() => sinkCounters(sy, platform).failures >= 1, 10_000, 'a failed send');
    expect(sinkCounters(sy, platform).pending).toBe(N);
    await receiver.start(port);
    const t0 = Date.now();
    // The back-off has grown to at most a few seconds by now; delivery then takes the rest.
    await until(() => sinkCounters(sy, platform).pending === 0, 60_000, 'the catch-up');
    const seconds = (Date.now() - t0) / 1000;
    expect(receiver.ids.size).toBe(N);
    expect(receiver.accepted).toBeGreaterThanOrEqual(N);
    expect(seconds).toBeLessThan(30);
  });
});

describe('SIGKILL with the platform down, then a restart', () => {
  it.each(PLATFORMS)(
    '%s: the events journaled before the kill all arrive after the restart',
    { timeout: 120_000 },
    async (platform) => {
      const receiver = await receiverFor(platform);
      const port = receiver.port;
      await receiver.stop();
      const dir = temp();
      const N = 20_000;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '../fixtures/platform-child.ts')],
        {
          env: { ...process.env, DIR: dir, PLATFORM: platform, PORT: String(port), N: String(N) },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await until(() => out.includes('journaled'), 60_000, 'the child journaling');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      await receiver.start(port);
      const t0 = Date.now();
      const sy = await switchyard(platform, port, dir);
      await until(() => receiver.ids.size >= N, 60_000, 'every event journaled before the kill');
      const seconds = (Date.now() - t0) / 1000;
      expect(receiver.ids.size).toBe(N);
      const ids = [...receiver.ids.keys()];
      expect(ids.every((id) => typeof id === 'string' && id.length === 26)).toBe(true);
      expect(seconds).toBeLessThan(30);
      await sy.close();
    },
  );
});
