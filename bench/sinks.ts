/**
 * The analytics sinks: events/s delivered by switchyard (createSwitchyard with one
 * platform, new exposures through getVariant, timed until nothing is pending) beside the
 * platform's official SDK driven directly, both to the same kind of local receiver (a
 * process of its own) speaking the platform's API; contenders interleaved in a random
 * order per round, each after a gc and a turn of the event loop. Besides events/s: CPU
 * per event of the sending process and of the receiver (the machine is shared, so
 * events/s follows its load; CPU time much less), the receiver's own ceiling with a
 * trivial client, and a catch-up after an outage.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import { createSwitchyard, type Switchyard } from '../src/index.js';
import type { Platform } from '../test/helpers/platforms.js';
import { median } from './harness.js';

const require = createRequire(import.meta.url);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A receiver in a child process (bench/sinks-receiver.ts). */
export class RemoteReceiver {
  port = 0;
  private child: ChildProcess | undefined;
  private waiting: ((m: { accepted: number; unique: number; cpuMs: number }) => void)[] = [];

  async start(platform: Platform, port = 0): Promise<this> {
    const child = fork(fileURLToPath(new URL('./sinks-receiver.ts', import.meta.url)), [platform, String(port)], {
      execArgv: ['--import', 'tsx'],
    });
    this.child = child;
    this.port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
    child.on('message', (m: { accepted?: number; unique: number; cpuMs: number }) => {
      if (m.accepted !== undefined) this.waiting.shift()?.({ accepted: m.accepted, unique: m.unique, cpuMs: m.cpuMs });
    });
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Events accepted so far, distinct ids among them, and the receiver's CPU time (ms). */
  state(): Promise<{ accepted: number; unique: number; cpuMs: number }> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child!.send('accepted');
    });
  }

  async accepted(): Promise<number> {
    return (await this.state()).accepted;
  }

  /** Stops the receiver process and waits until it has exited (its port is free). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    await exited;
  }
}
type PlatformReceiver = RemoteReceiver;
export const PLATFORMS: Platform[] = ['segment', 'amplitude', 'mixpanel'];
/** Extra analytics.<platform> options for the sink (e.g. {"compress":false}), from SY_BENCH_SINK_TUNING. */
const TUNING = JSON.parse(process.env.SY_BENCH_SINK_TUNING ?? '{}') as Record<string, unknown>;

function analytics(platform: Platform, r: PlatformReceiver): Record<string, unknown> {
  if (platform === 'segment') return { segment: { write_key: 'wk_bench', host: r.url } };
  if (platform === 'amplitude') return { amplitude: { api_key: 'amp_bench', server_url: `${r.url}/2/httpapi` } };
  return { mixpanel: { token: 'mp_bench', host: `127.0.0.1:${r.port}`, protocol: 'http' } };
}

async function switchyardOf(platform: Platform, r: PlatformReceiver, dir: string): Promise<Switchyard> {
  return createSwitchyard({
    config: {
      feature_flags: { provider: 'memory' },
      analytics_platforms: [platform],
      exposures: { dir },
      analytics: { [platform]: { ...(analytics(platform, r)[platform] as object), ...TUNING } },
      experiments: {
        checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, allocation: { mode: 'fixed' } },
      },
    },
  });
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let unit = 0;

/** One contender's batch: events/s, and CPU per event of the sending process and of the receiver (µs). */
export interface Sample {
  rate: number;
  senderUs: number;
  receiverUs: number;
}

/** Runs `work` (n events) after a gc and a loop turn; times it and charges both processes' CPU to it. */
export async function sampled(r: PlatformReceiver, n: number, work: () => Promise<void>): Promise<Sample> {
  gc();
  await turn();
  const before = await r.state();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const after = await r.state();
  if (after.accepted - before.accepted < n) throw new Error(`receiver got ${after.accepted - before.accepted} of ${n}`);
  return {
    rate: n / seconds,
    senderUs: (cpu.user + cpu.system) / n,
    receiverUs: ((after.cpuMs - before.cpuMs) * 1000) / n,
  };
}

/** n new exposures through getVariant at a server's cadence (a turn every 500), then until the sink has nothing pending. */
export async function throughSwitchyard(sy: Switchyard, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (i % 500 === 0) await turn();
    await sy.getVariant('checkout', { targetingKey: `unit-${unit++}` });
  }
  sy.flush();
  await drained(sy);
}

async function drained(sy: Switchyard): Promise<void> {
  for (;;) {
    const sinks = Object.values(sy.counters().exposures.pipeline!.sinks);
    if (sinks.every((s) => s.pending === 0)) return;
    await sleep(2);
  }
}

/** The official SDK, driven directly the way its docs show, tuned as the old sinks tuned it. */
interface RawSdk {
  send(n: number): Promise<void>;
  close(): Promise<void>;
}

function rawSdk(platform: Platform, r: PlatformReceiver): RawSdk {
  const props = (i: number) => ({
    experiment_id: 'checkout',
    variation_id: i & 1 ? 'treatment' : 'control',
    allocation_mode: 'fixed',
    allocation_version: 1,
    reason: 'SPLIT',
    provider: 'memory',
  });
  if (platform === 'segment') {
    const { Analytics } = require('@segment/analytics-node') as {
      Analytics: new (o: Record<string, unknown>) => {
        track(m: Record<string, unknown>, cb: (err?: unknown) => void): void;
        flush(): Promise<void>;
        closeAndFlush(): Promise<void>;
      };
    };
    const a = new Analytics({
      writeKey: 'wk_raw',
      host: r.url,
      flushAt: 500,
      maxRetries: 0,
      flushInterval: 3_600_000,
      httpRequestTimeout: 120_000,
    });
    // Fed with at most 2,000 events outstanding (four of its batches of 500 in flight,
    // as the sinks' default concurrency of 4): all 40,000 at once start 80 requests at
    // once, which time out or get reset.
    return {
      send: (n) =>
        new Promise((resolve, reject) => {
          let sent = 0;
          let done = 0;
          const more = () => {
            const until = Math.min(n, done + 2000);
            for (; sent < until; sent++)
              a.track(
                {
                  userId: `raw-${unit++}`,
                  messageId: `raw-${unit}`,
                  timestamp: new Date().toISOString(),
                  event: 'Experiment Viewed',
                  properties: props(sent),
                },
                (err) => {
                  if (err) return reject(err as Error);
                  if (++done === n) return resolve();
                  if (done % 500 === 0) more();
                },
              );
            // The SDK sends every 500 on its own; flush() would overlap its sends.
            if (sent === n && n % 500 !== 0) void a.flush();
          };
          more();
        }),
      close: () => a.closeAndFlush(),
    };
  }
  if (platform === 'amplitude') {
    const amp = require('@amplitude/analytics-node') as {
      createInstance(): {
        init(k: string, o: Record<string, unknown>): { promise: Promise<void> };
        track(e: Record<string, unknown>): { promise: Promise<{ code: number }> };
        flush(): { promise: Promise<void> };
      };
    };
    const c = amp.createInstance();
    const ready = c.init('amp_raw', {
      serverUrl: `${r.url}/2/httpapi`,
      flushQueueSize: 1000,
      flushIntervalMillis: 3_600_000,
      minIdLength: 1,
      logLevel: 0,
    }).promise;
    return {
      async send(n) {
        await ready;
        const all: Promise<{ code: number }>[] = [];
        for (let i = 0; i < n; i++)
          all.push(
            c.track({
              user_id: `raw-${unit++}`,
              insert_id: `raw-${unit}`,
              time: Date.now(),
              event_type: '$exposure',
              event_properties: props(i),
            }).promise,
          );
        await c.flush().promise;
        for (const x of await Promise.all(all)) if (x.code !== 200) throw new Error(`amplitude ${x.code}`);
      },
      close: async () => {},
    };
  }
  const mp = require('mixpanel') as {
    init(
      t: string,
      o: Record<string, unknown>,
    ): {
      track_batch(e: unknown[], o: Record<string, unknown>, cb: (errs?: Error[]) => void): void;
    };
  };
  const m = mp.init('mp_raw', { host: '127.0.0.1', port: r.port, protocol: 'http', keepAlive: true, verbose: true });
  return {
    send: (n) =>
      new Promise((resolve, reject) => {
        const events = [];
        for (let i = 0; i < n; i++)
          events.push({
            event: '$experiment_started',
            properties: { distinct_id: `raw-${unit++}`, time: Date.now(), $insert_id: `raw-${unit}`, ...props(i) },
          });
        m.track_batch(events, { max_concurrent_requests: 16 }, (errs) =>
          errs && errs.length > 0 ? reject(errs[0]!) : resolve(),
        );
      }),
    close: async () => {},
  };
}

export interface SinkRow {
  platform: Platform;
  switchyard: Sample[];
  sdk: Sample[];
  /** The receiver's own ceiling: events/s from a trivial client, and its CPU µs per event. */
  ceiling: { rate: number; receiverUs: number };
  load: [number, number];
}

/** A platform's body of `n` events much like the sinks' (for the receiver's ceiling). */
function sampleBody(platform: Platform, n: number): { path: string; body: Buffer } {
  const props = {
    flag: 'checkout',
    allocation_mode: 'fixed',
    allocation_version: 1,
    reason: 'SPLIT',
    provider: 'memory',
  };
  const events = Array.from({ length: n }, (_, i) => {
    const id = `01KB2Y9Q4M6Q8W0Z3T${String(i).padStart(8, '0')}`;
    if (platform === 'segment')
      return {
        type: 'track',
        event: 'Experiment Viewed',
        userId: `unit-${i}`,
        messageId: id,
        timestamp: new Date().toISOString(),
        properties: { experiment_id: 'checkout', variation_id: 'control', ...props },
        context: { library: { name: 'switchyard' } },
      };
    if (platform === 'amplitude')
      return {
        event_type: '$exposure',
        user_id: `unit-${i}`,
        insert_id: id,
        time: Date.now(),
        event_properties: { flag_key: 'checkout', variant: 'control', ...props },
      };
    return {
      event: '$experiment_started',
      properties: {
        distinct_id: `unit-${i}`,
        time: Date.now(),
        $insert_id: id,
        'Experiment name': 'checkout',
        ...props,
      },
    };
  });
  const json =
    platform === 'segment'
      ? { batch: events, sentAt: new Date().toISOString() }
      : platform === 'amplitude'
        ? { api_key: 'k', events }
        : events;
  const path = platform === 'segment' ? '/v1/batch' : platform === 'amplitude' ? '/2/httpapi' : '/import?strict=1';
  return { path, body: gzipSync(JSON.stringify(json), { level: 1 }) };
}

/** The receiver's events/s with a trivial client: one prebuilt gzipped body of 1,000 events, 4 requests in flight, 3 s. */
async function receiverCeiling(platform: Platform): Promise<{ rate: number; receiverUs: number }> {
  const r = await new RemoteReceiver().start(platform);
  const { path, body } = sampleBody(platform, 1000);
  const pool = new Pool(r.url, { connections: 4 });
  const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
  const before = await r.state();
  const t0 = Date.now();
  let events = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() - t0 < 3000) {
        const res = await pool.request({ path, method: 'POST', headers, body });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
        events += 1000;
      }
    }),
  );
  const seconds = (Date.now() - t0) / 1000;
  const after = await r.state();
  await pool.close();
  await r.stop();
  return { rate: events / seconds, receiverUs: ((after.cpuMs - before.cpuMs) * 1000) / events };
}

export async function measureSinks(n: number, rounds: number, platforms = PLATFORMS): Promise<SinkRow[]> {
  const rows: SinkRow[] = [];
  for (const platform of platforms) {
    const load0 = loadavg()[0]!;
    const ceiling = await receiverCeiling(platform);
    const dir = mkdtempSync(join(tmpdir(), 'sy-bench-sinks-'));
    const forSwitchyard = await new RemoteReceiver().start(platform);
    const forSdk = await new RemoteReceiver().start(platform);
    const sy = await switchyardOf(platform, forSwitchyard, dir);
    const sdk = rawSdk(platform, forSdk);
    const row: SinkRow = { platform, switchyard: [], sdk: [], ceiling, load: [load0, 0] };
    // Warm-up, untimed.
    await throughSwitchyard(sy, 2000);
    await sdk.send(2000);
    for (let round = 0; round < rounds; round++) {
      const order = Math.random() < 0.5;
      for (const first of [order, !order]) {
        if (first) row.switchyard.push(await sampled(forSwitchyard, n, () => throughSwitchyard(sy, n)));
        else row.sdk.push(await sampled(forSdk, n, () => sdk.send(n)));
      }
      const s = row.switchyard.at(-1)!;
      const k = row.sdk.at(-1)!;
      console.error(
        `${platform} round ${round + 1} (load ${loadavg()[0]!.toFixed(1)}): switchyard ${fmt(s.rate)} /s (cpu ${s.senderUs.toFixed(1)} + receiver ${s.receiverUs.toFixed(1)} µs/event), sdk ${fmt(k.rate)} /s (cpu ${k.senderUs.toFixed(1)} + receiver ${k.receiverUs.toFixed(1)} µs/event)`,
      );
    }
    row.load[1] = loadavg()[0]!;
    await sy.close();
    await sdk.close();
    await forSwitchyard.stop();
    await forSdk.stop();
    rmSync(dir, { recursive: true, force: true });
    rows.push(row);
  }
  return rows;
}

export interface CatchUp {
  platform: Platform;
  n: number;
  /** Seconds from the receiver's return until its first event accepted (the sink's back-off still running). */
  waitSeconds: number;
  /** Seconds from the first event accepted until the last. */
  deliverSeconds: number;
  lost: number;
  duplicates: number;
  load: number;
}

/**
 * A catch-up after an outage: the receiver is down while n new exposures are journaled,
 * then comes back on the same port; timed until the sink has nothing pending, and counted
 * by distinct id at the receiver (none may be missing).
 */
export async function measureCatchUp(platform: Platform, n: number): Promise<CatchUp> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-catchup-'));
  const first = await new RemoteReceiver().start(platform);
  const port = first.port;
  const sy = await switchyardOf(platform, first, dir);
  await first.stop();
  const ids0 = unit;
  for (let i = 0; i < n; i++) {
    if (i % 500 === 0) await turn();
    await sy.getVariant('checkout', { targetingKey: `unit-${unit++}` });
  }
  sy.flush();
  const back = await new RemoteReceiver().start(platform, port);
  const t0 = process.hrtime.bigint();
  let firstAt: bigint | undefined;
  for (;;) {
    const sinks = Object.values(sy.counters().exposures.pipeline!.sinks);
    if (firstAt === undefined && (await back.accepted()) > 0) firstAt = process.hrtime.bigint();
    if (sinks.every((s) => s.pending === 0)) break;
    await sleep(5);
  }
  const t1 = process.hrtime.bigint();
  firstAt ??= t1;
  const state = await back.state();
  await sy.close();
  await back.stop();
  rmSync(dir, { recursive: true, force: true });
  if (unit - ids0 !== n) throw new Error('unit count drifted');
  return {
    platform,
    n,
    waitSeconds: Number(firstAt - t0) / 1e9,
    deliverSeconds: Number(t1 - firstAt) / 1e9,
    lost: n - state.unique,
    duplicates: state.accepted - state.unique,
    load: loadavg()[0]!,
  };
}

const fmt = (x: number) => Math.round(x).toLocaleString('en');
const range = (xs: number[]) => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
const us = (xs: number[]) => median(xs).toFixed(1);

export async function benchSinks(): Promise<string> {
  const N = 40_000;
  const ROUNDS = Number(process.env.SY_BENCH_ROUNDS ?? 4);
  const CATCH_UP = (process.env.SY_BENCH_CATCHUP ?? '20000,100000').split(',').map(Number);
  const rows = await measureSinks(N, ROUNDS);
  const catchUps: CatchUp[] = [];
  for (const platform of PLATFORMS)
    for (const n of CATCH_UP) {
      const c = await measureCatchUp(platform, n);
      console.error(
        `${platform} catch-up of ${n} (load ${c.load.toFixed(1)}): wait ${c.waitSeconds.toFixed(2)} s, deliver ${c.deliverSeconds.toFixed(2)} s, lost ${c.lost}`,
      );
      catchUps.push(c);
    }
  const out = [
    '## Analytics sinks',
    '',
    `${N.toLocaleString('en')} new exposures through \`createSwitchyard\` with one platform, getVariant at a server's cadence`,
    '(a turn of the event loop every 500 calls), timed until the sink has nothing pending; beside it, the platform',
    'official SDK driven directly with the same number of events (Segment flushAt 500, Amplitude flushQueueSize 1000,',
    'Mixpanel track_batch, 16 requests in flight), each to its own local receiver (a process of its own) that speaks the',
    `platform API and answers its success body. Contenders interleaved in a random order per round, ${ROUNDS} rounds, each`,
    'batch after a gc and a loop turn; events/s as median and range over rounds, ratio per round. CPU µs/event: the',
    'sending process (for switchyard this includes getVariant, the journal and the sink) and the receiver, medians.',
    "Receiver ceiling: the receiver's events/s with a trivial client (one prebuilt gzipped body of 1,000 events, 4 in flight).",
    '',
    '| platform | switchyard events/s | range | raw SDK events/s | range | ratio (range, median) | sender CPU µs/event (switchyard / SDK) | receiver CPU µs/event (switchyard / SDK) | receiver ceiling events/s | load avg |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ratios = r.switchyard.map((s, i) => s.rate / r.sdk[i]!.rate);
    out.push(
      `| ${r.platform} | ${fmt(median(r.switchyard.map((s) => s.rate)))} | ${range(r.switchyard.map((s) => s.rate))} | ${fmt(median(r.sdk.map((s) => s.rate)))} | ${range(r.sdk.map((s) => s.rate))} | ${Math.min(...ratios).toFixed(1)}x-${Math.max(...ratios).toFixed(1)}x (${median(ratios).toFixed(1)}x) | ${us(r.switchyard.map((s) => s.senderUs))} / ${us(r.sdk.map((s) => s.senderUs))} | ${us(r.switchyard.map((s) => s.receiverUs))} / ${us(r.sdk.map((s) => s.receiverUs))} | ${fmt(r.ceiling.rate)} | ${r.load[0].toFixed(0)}-${r.load[1].toFixed(0)} |`,
    );
  }
  out.push(
    '',
    'Catch-up after an outage: the receiver down while N new exposures are journaled, then back on the same port;',
    "wait = from its return to the first event accepted (the sink's back-off still running), deliver = from then until",
    'nothing is pending; lost = N minus the distinct ids the receiver got.',
    '',
    '| platform | N | wait s | deliver s | delivered events/s | lost | duplicates | load avg |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const c of catchUps)
    out.push(
      `| ${c.platform} | ${c.n.toLocaleString('en')} | ${c.waitSeconds.toFixed(2)} | ${c.deliverSeconds.toFixed(2)} | ${fmt(c.n / c.deliverSeconds)} | ${c.lost} | ${c.duplicates} | ${c.load.toFixed(0)} |`,
    );
  return out.join('\n') + '\n';
}
