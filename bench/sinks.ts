/**
 * The analytics sinks: events/s delivered by switchyard (createSwitchyard with one
 * platform, new exposures through getVariant, timed until nothing is pending) beside the
 * platform's official SDK driven directly, both to the same local receiver speaking the
 * platform's API; contenders interleaved in a random order per round.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSwitchyard, type Switchyard } from '../src/index.js';
import type { Platform } from '../test/helpers/platforms.js';
import { median } from './harness.js';

const require = createRequire(import.meta.url);

/** A receiver in a child process (bench/sinks-receiver.ts). */
class RemoteReceiver {
  port = 0;
  private child: ChildProcess | undefined;
  private waiting: ((n: number) => void)[] = [];

  async start(platform: Platform): Promise<this> {
    const child = fork(fileURLToPath(new URL('./sinks-receiver.ts', import.meta.url)), [platform], {
      execArgv: ['--import', 'tsx'],
    });
    this.child = child;
    this.port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
    child.on('message', (m: { accepted?: number }) => {
      if (m.accepted !== undefined) this.waiting.shift()?.(m.accepted);
    });
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  accepted(): Promise<number> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child!.send('accepted');
    });
  }

  stop(): void {
    this.child?.disconnect();
  }
}
type PlatformReceiver = RemoteReceiver;
const PLATFORMS: Platform[] = ['segment', 'amplitude', 'mixpanel'];

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
      analytics: analytics(platform, r),
      experiments: {
        checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, allocation: { mode: 'fixed' } },
      },
    },
  });
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let unit = 0;
/** n new exposures through getVariant at a server's cadence, then until the sink has nothing pending; events/s. */
async function throughSwitchyard(sy: Switchyard, r: PlatformReceiver, n: number): Promise<number> {
  const before = await r.accepted();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (i % 500 === 0) await turn();
    await sy.getVariant('checkout', { targetingKey: `unit-${unit++}` });
  }
  sy.flush();
  for (;;) {
    const sinks = Object.values(sy.counters().exposures.pipeline!.sinks);
    if (sinks.every((s) => s.pending === 0)) break;
    await sleep(2);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const got = (await r.accepted()) - before;
  if (got < n) throw new Error(`receiver got ${got} of ${n}`);
  return n / seconds;
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
  switchyard: number[];
  sdk: number[];
}

export async function measureSinks(n: number, rounds: number, platforms = PLATFORMS): Promise<SinkRow[]> {
  const rows: SinkRow[] = [];
  for (const platform of platforms) {
    const dir = mkdtempSync(join(tmpdir(), 'sy-bench-sinks-'));
    const forSwitchyard = await new RemoteReceiver().start(platform);
    const forSdk = await new RemoteReceiver().start(platform);
    const sy = await switchyardOf(platform, forSwitchyard, dir);
    const sdk = rawSdk(platform, forSdk);
    const row: SinkRow = { platform, switchyard: [], sdk: [] };
    // Warm-up, untimed.
    await throughSwitchyard(sy, forSwitchyard, 2000);
    await sdk.send(2000);
    for (let round = 0; round < rounds; round++) {
      const order = Math.random() < 0.5;
      for (const first of [order, !order]) {
        if (first) row.switchyard.push(await throughSwitchyard(sy, forSwitchyard, n));
        else {
          const t0 = process.hrtime.bigint();
          await sdk.send(n);
          row.sdk.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
        }
      }
      console.error(
        `${platform} round ${round + 1}: switchyard ${Math.round(row.switchyard.at(-1)!)} /s, sdk ${Math.round(row.sdk.at(-1)!)} /s`,
      );
    }
    await sy.close();
    await sdk.close();
    forSwitchyard.stop();
    forSdk.stop();
    rmSync(dir, { recursive: true, force: true });
    rows.push(row);
  }
  return rows;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en');
const range = (xs: number[]) => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;

export async function benchSinks(): Promise<string> {
  const N = 40_000;
  const ROUNDS = Number(process.env.SY_BENCH_ROUNDS ?? 5);
  const rows = await measureSinks(N, ROUNDS);
  const out = [
    '## Analytics sinks',
    '',
    `${N.toLocaleString('en')} new exposures through \`createSwitchyard\` with one platform, getVariant at a server's cadence`,
    '(a turn of the event loop every 500 calls), timed until the sink has nothing pending; beside it, the platform',
    'official SDK driven directly with the same number of events (Segment flushAt 500, Amplitude flushQueueSize 1000,',
    'Mixpanel track_batch, 16 requests in flight), each to its own local receiver that speaks the platform API and answers its success body.',
    `Contenders interleaved in a random order per round, ${ROUNDS} rounds; events/s as median and range over rounds.`,
    '',
    '| platform | switchyard events/s (median) | range | raw SDK events/s (median) | range | ratio (median of rounds) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ratio = median(r.switchyard.map((s, i) => s / r.sdk[i]!));
    out.push(
      `| ${r.platform} | ${fmt(median(r.switchyard))} | ${range(r.switchyard)} | ${fmt(median(r.sdk))} | ${range(r.sdk)} | ${ratio.toFixed(1)}x |`,
    );
  }
  return out.join('\n') + '\n';
}
