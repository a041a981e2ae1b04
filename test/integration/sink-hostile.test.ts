/**
 * The analytics sinks and the pipeline against a hostile world: a journal damaged on disk
 * by a previous run, and local receivers that answer the way a broken or malicious
 * endpoint could (absurd Retry-After, endless or huge bodies, keys echoed back). Nothing
 * may stall delivery for good, grow memory without bound, hang close(), or leak a key.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  amplitudeSink,
  EventPipeline,
  mixpanelSink,
  segmentSink,
  type ExposureDescriptor,
  type Sink,
} from '../../src/exposure/index.js';
import { batchOfLines } from '../../src/exposure/sink.js';
import { PlatformReceiver, type Platform } from '../helpers/platforms.js';
import { until } from '../helpers/receiver.js';

const PLATFORMS: Platform[] = ['segment', 'amplitude', 'mixpanel'];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-hostile-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function receiverFor(platform: Platform): Promise<PlatformReceiver> {
  const r = await new PlatformReceiver(platform).start();
  cleanup.push(() => r.stop());
  return r;
}

function sinkFor(platform: Platform, port: number): Promise<Sink> {
  const url = `http://127.0.0.1:${port}`;
  if (platform === 'segment') return segmentSink({ writeKey: 'wk_hostile', host: url });
  if (platform === 'amplitude') return amplitudeSink({ apiKey: 'amp_hostile', serverUrl: `${url}/2/httpapi` });
  return mixpanelSink({ token: 'mp_hostile', host: `127.0.0.1:${port}`, protocol: 'http' });
}

function pipeline(dir: string, sink: Sink): EventPipeline {
  const p = new EventPipeline({
    dir,
    sinks: [sink],
    clock: { now: Date.now },
    logger: quiet,
    provider: 'memory',
    backoffBaseMs: 5,
    backoffMaxMs: 50,
  });
  p.start();
  cleanup.push(() => p.close(100));
  return p;
}

const descriptor: ExposureDescriptor = {
  experiment: 'checkout',
  flag: 'checkout',
  variant: 'treatment',
  mode: 'fixed',
  version: 1,
};
const line = JSON.stringify({
  schema: 'switchyard.exposure/1',
  id: '01KB2Y9Q4M6Q8W0Z3T5V7X9B1D',
  ts: '2026-12-01T09:00:00.123Z',
  unit: 'user-42',
  experiment: 'checkout',
  flag: 'checkout',
  variant: 'treatment',
  allocation: { mode: 'fixed', version: 1, step: 0, percent: 100 },
  reason: 'SPLIT',
  provider: 'memory',
  attributes: {},
});
const recordExposures = (p: EventPipeline, n: number) => {
  for (let i = 0; i < n; i++) p.recordExposure(descriptor, `user-${i}`, Date.now(), 0, 100, 'SPLIT', undefined);
};

describe.each(PLATFORMS)('%s sink, a journal line damaged on disk', (platform) => {
  it('is dead-lettered as it was found, and the events around it are delivered (it never blocks the sink)', async () => {
    const dir = temp();
    const receiver = await receiverFor(platform);
    receiver.fault = () => ({ status: 503 });
    const first = pipeline(dir, await sinkFor(platform, receiver.port));
    recordExposures(first, 10);
    await first.close(50);
    const [segment] = readdirSync(join(dir, 'journal'));
    const file = join(dir, 'journal', segment!);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[3] = '{"schema":"switchyard.exposure/1","id":\u0001garbage';
    writeFileSync(file, lines.join('\n'));

    receiver.fault = undefined;
    const second = pipeline(dir, await sinkFor(platform, receiver.port));
    await until(() => second.counters().sinks[platform]!.pending === 0, 10_000, 'the journal delivered');
    expect(receiver.accepted).toBe(9);
    expect(second.counters().sinks[platform]).toMatchObject({ delivered: 9, deadLettered: 1 });
    const letters = readFileSync(join(dir, 'dead-letters', `${platform}.jsonl`), 'utf8')
      .trim()
      .split('\n');
    expect(letters).toHaveLength(1);
    const letter = JSON.parse(letters[0]!) as { reason: string; line: string };
    expect(letter.reason).toMatch(/not valid JSON/);
    expect(letter.line).toBe(lines[3]);
  });
});

describe('Retry-After beyond what a timer can wait', () => {
  it.each([
    ['delay-seconds of 1e12', '1000000000000'],
    ['an HTTP-date in the year 9999', 'Fri, 31 Dec 9999 23:59:59 GMT'],
  ])('%s: the sink waits instead of retrying at once, and close() still returns', async (_what, retryAfter) => {
    const receiver = await receiverFor('segment');
    receiver.fault = () => ({ status: 429, headers: { 'retry-after': retryAfter } });
    const p = pipeline(temp(), await sinkFor('segment', receiver.port));
    recordExposures(p, 3);
    p.flush();
    await until(() => receiver.received >= 1, 5000, 'the first attempt');
    await new Promise((resolve) => setTimeout(resolve, 500));
    // A timer of more than 2^31-1 ms fires after 1 ms: the sink retried hundreds of times a second.
    expect(receiver.received).toBe(1);
    const report = await p.close(50);
    expect(report.sinks.segment).toMatchObject({ delivered: 0, pending: 3 });
  });
});

describe.each(PLATFORMS)('%s sink, a receiver that echoes the credentials back', (platform) => {
  const key = 'k_LEAKY_4f9c2e7a1b3d5f60';
  const make = (port: number): Promise<Sink> => {
    const url = `http://127.0.0.1:${port}`;
    if (platform === 'segment') return segmentSink({ writeKey: key, host: url });
    if (platform === 'amplitude') return amplitudeSink({ apiKey: key, serverUrl: `${url}/2/httpapi` });
    return mixpanelSink({ token: key, host: `127.0.0.1:${port}`, protocol: 'http' });
  };
  const base64 = Buffer.from(`${key}:`).toString('base64');

  it('keeps the key out of the message when it straddles the cut of the answer shown', async () => {
    const receiver = await receiverFor(platform);
    // The message shows the first 300 characters of the answer: the key starts at 295.
    receiver.fault = () => ({ status: 401, body: `${'x'.repeat(290)} key=${key} is not valid` });
    const sink = await make(receiver.port);
    cleanup.push(() => sink.close?.());
    const error = (await sink.send(batchOfLines([line])).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/answered 401/);
    expect(error.message).not.toContain(key.slice(0, 4));
  });

  it('keeps the Authorization header (the key in base64) and the body echoed back out of the message', async () => {
    const receiver = await receiverFor(platform);
    receiver.fault = (req) => ({
      status: 403,
      body: JSON.stringify({
        error: `refused: authorization=${req.headers.authorization} body=${req.body.slice(0, 80)}`,
      }),
    });
    const sink = await make(receiver.port);
    cleanup.push(() => sink.close?.());
    const error = (await sink.send(batchOfLines([line])).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/answered 403: refused/);
    expect(error.message).not.toContain(key);
    expect(error.message).not.toContain(base64);
    expect(error.message).not.toContain(base64.slice(0, 16));
  });
});

describe('answers that never end', () => {
  /** A loopback server whose every answer `answer` writes by hand. */
  async function server(answer: (res: ServerResponse) => void): Promise<number> {
    const s = createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(res));
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    });
    return (s.address() as AddressInfo).port;
  }

  /** The promise's outcome, or 'pending' if it has not settled within `ms` (the test's guard against a hang). */
  const within = <T>(promise: Promise<T>, ms: number) =>
    Promise.race([
      promise.then(
        (value) => ({ settled: 'resolved' as const, value }),
        (error: unknown) => ({ settled: 'rejected' as const, error: error as Error }),
      ),
      new Promise<{ settled: 'pending' }>((resolve) => setTimeout(() => resolve({ settled: 'pending' }), ms)),
    ]);

  it('a 64 MB error body is not read to its end: the sink hangs up after the first MB and retries later', async () => {
    let finished = false;
    const port = await server((res) => {
      res.writeHead(500);
      const chunk = Buffer.alloc(1 << 20, 0x78);
      let n = 0;
      const more = () => {
        while (n < 64) {
          n++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end(() => (finished = true));
      };
      more();
    });
    const sink = await segmentSink({ writeKey: 'wk_hostile', host: `http://127.0.0.1:${port}` });
    cleanup.push(() => sink.close?.());
    const outcome = await within(sink.send(batchOfLines([line])), 20_000);
    expect(outcome).toMatchObject({ settled: 'rejected', error: { name: 'SinkSendError' } });
    expect((outcome as { error: Error }).error.message).toMatch(/^segment answered 500: x{300}$/);
    expect(finished).toBe(false);
  });

  it('a body that trickles forever fails the send once the timeout has passed', async () => {
    const port = await server((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    });
    const sink = await segmentSink({ writeKey: 'wk_hostile', host: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    cleanup.push(() => sink.close?.());
    const outcome = await within(sink.send(batchOfLines([line])), 20_000);
    expect(outcome).toMatchObject({ settled: 'rejected', error: { name: 'SinkSendError' } });
  });

  it('close() returns while a request hangs (the events stay pending in the journal)', async () => {
    const port = await server(() => {});
    const dir = temp();
    const sink = await segmentSink({ writeKey: 'wk_hostile', host: `http://127.0.0.1:${port}`, timeoutMs: 60_000 });
    const p = new EventPipeline({ dir, sinks: [sink], clock: { now: Date.now }, logger: quiet, provider: 'memory' });
    p.start();
    recordExposures(p, 5);
    p.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const outcome = await within(p.close(100), 20_000);
    expect(outcome).toMatchObject({ settled: 'resolved', value: { sinks: { segment: { delivered: 0, pending: 5 } } } });
  });
});
