/**
 * The splice A/B (src/exposure/sinks/line-splice.ts): the same platform sink with events
 * spliced from the journal's bytes (`splice`, the default) and with every event built
 * from the parsed record by JSON.stringify (`reference`, what the sinks did before), in the
 * same process, interleaved in a random order per round, each with its own receiver
 * process. Two measures: the whole sending path (new exposures through getVariant, the
 * journal and the sink, as bench/sinks.ts), and the sink alone (prebuilt journal lines
 * handed to send() in batches of 1,000). CPU µs per event of the sending process; the
 * ratio splice/reference per round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard, type Switchyard } from '../src/index.js';
import { amplitudeSink, mixpanelSink, segmentSink, type Sink } from '../src/exposure/index.js';
import { batchOf } from '../src/exposure/sink.js';
import type { Platform } from '../test/helpers/platforms.js';
import { median } from './harness.js';
import { PLATFORMS, RemoteReceiver, sampled, throughSwitchyard, type Sample } from './sinks.js';

type Variant = 'splice' | 'reference';

function sinkFor(platform: Platform, r: RemoteReceiver, variant: Variant): Promise<Sink> {
  const splice = variant === 'splice';
  if (platform === 'segment') return segmentSink({ writeKey: 'wk_bench', host: r.url, splice });
  if (platform === 'amplitude') return amplitudeSink({ apiKey: 'amp_bench', serverUrl: `${r.url}/2/httpapi`, splice });
  return mixpanelSink({ token: 'mp_bench', host: `127.0.0.1:${r.port}`, protocol: 'http', splice });
}

async function switchyardWith(sink: Sink, dir: string): Promise<Switchyard> {
  return createSwitchyard({
    config: {
      feature_flags: { provider: 'memory' },
      analytics_platforms: [],
      exposures: { dir },
      experiments: {
        checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, allocation: { mode: 'fixed' } },
      },
    },
    sinks: [sink],
  });
}

/** `n` journal lines as the encoder writes them (exposures of one experiment, a country attribute on every other one). */
function journalLines(n: number): Buffer[] {
  const chunks: Buffer[] = [];
  const t0 = Date.now();
  for (let c = 0; c < n / 1000; c++) {
    let text = '';
    for (let i = c * 1000; i < (c + 1) * 1000; i++)
      text += `${JSON.stringify({
        schema: 'switchyard.exposure/1',
        id: `01KB2Y9Q4M6Q8W0Z3T${String(i).padStart(8, '0')}`,
        ts: new Date(t0 + i).toISOString(),
        unit: `unit-${i}`,
        experiment: 'checkout',
        flag: 'checkout',
        variant: i & 1 ? 'treatment' : 'control',
        allocation: { mode: 'fixed', version: 1, step: -1, percent: 100 },
        reason: 'SPLIT',
        provider: 'memory',
        attributes: i & 1 ? { country: 'DE' } : {},
      })}\n`;
    chunks.push(Buffer.from(text));
  }
  return chunks;
}

async function sinkAlone(sink: Sink, chunks: Buffer[]): Promise<void> {
  // Four sends in flight, as the channel's default concurrency.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < chunks.length) await sink.send(batchOf([chunks[next++]!], 1000));
    }),
  );
}

interface Row {
  platform: Platform;
  whole: Record<Variant, Sample[]>;
  alone: Record<Variant, Sample[]>;
  load: [number, number];
}

export async function measureSplice(n: number, rounds: number, platforms = PLATFORMS): Promise<Row[]> {
  const rows: Row[] = [];
  const chunks = journalLines(n);
  for (const platform of platforms) {
    const row: Row = {
      platform,
      whole: { splice: [], reference: [] },
      alone: { splice: [], reference: [] },
      load: [loadavg()[0]!, 0],
    };
    const parts = {} as Record<Variant, { r: RemoteReceiver; sy: Switchyard; sink: Sink; dir: string }>;
    for (const variant of ['splice', 'reference'] as const) {
      const r = await new RemoteReceiver().start(platform);
      const dir = mkdtempSync(join(tmpdir(), 'sy-bench-splice-'));
      // One sink for the whole path (inside its switchyard) and one for the sink alone.
      const sy = await switchyardWith(await sinkFor(platform, r, variant), dir);
      parts[variant] = { r, sy, sink: await sinkFor(platform, r, variant), dir };
      await throughSwitchyard(sy, 2000);
      await sinkAlone(parts[variant].sink, chunks.slice(0, 2));
    }
    for (let round = 0; round < rounds; round++) {
      const order: Variant[] = Math.random() < 0.5 ? ['splice', 'reference'] : ['reference', 'splice'];
      for (const v of order) row.whole[v].push(await sampled(parts[v].r, n, () => throughSwitchyard(parts[v].sy, n)));
      for (const v of [...order].reverse())
        row.alone[v].push(await sampled(parts[v].r, n, () => sinkAlone(parts[v].sink, chunks)));
      console.error(
        `${platform} round ${round + 1} (load ${loadavg()[0]!.toFixed(1)}): whole path splice ${row.whole.splice.at(-1)!.senderUs.toFixed(2)} / reference ${row.whole.reference.at(-1)!.senderUs.toFixed(2)} µs/event; sink alone ${row.alone.splice.at(-1)!.senderUs.toFixed(2)} / ${row.alone.reference.at(-1)!.senderUs.toFixed(2)}`,
      );
    }
    row.load[1] = loadavg()[0]!;
    for (const v of ['splice', 'reference'] as const) {
      await parts[v].sy.close();
      await parts[v].sink.close?.();
      await parts[v].r.stop();
      rmSync(parts[v].dir, { recursive: true, force: true });
    }
    rows.push(row);
  }
  return rows;
}

const f2 = (x: number) => x.toFixed(2);
const ratios = (a: Sample[], b: Sample[]) => a.map((s, i) => s.senderUs / b[i]!.senderUs);
const span = (xs: number[]) => `${f2(Math.min(...xs))}-${f2(Math.max(...xs))} (${f2(median(xs))})`;

export async function benchSinksSplice(): Promise<string> {
  const N = 40_000;
  const ROUNDS = Number(process.env.SY_BENCH_ROUNDS ?? 5);
  const rows = await measureSplice(N, ROUNDS);
  const out = [
    '### The splice A/B: sender CPU per event',
    '',
    `Same process, each variant with its own receiver process, ${ROUNDS} rounds in a random order, ${N.toLocaleString('en')} events a`,
    'batch (`node --expose-gc --import tsx bench/run.ts sinks-splice`). splice: events spliced from the journal bytes (the',
    'default); reference: every event from JSON.parse of the line, the platform object and JSON.stringify (as before).',
    'Whole path: new exposures through getVariant, the journal and the sink; sink alone: journal lines (exposures, a',
    'country attribute on every other one) handed to send() in batches of 1,000, 4 in flight. Sender CPU µs/event,',
    'median over rounds; ratio splice/reference per round, range (median).',
    '',
    '| platform | whole path µs/event (splice / reference) | ratio | sink alone µs/event (splice / reference) | ratio | load avg |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    out.push(
      `| ${r.platform} | ${f2(median(r.whole.splice.map((s) => s.senderUs)))} / ${f2(median(r.whole.reference.map((s) => s.senderUs)))} | ${span(ratios(r.whole.splice, r.whole.reference))} | ${f2(median(r.alone.splice.map((s) => s.senderUs)))} / ${f2(median(r.alone.reference.map((s) => s.senderUs)))} | ${span(ratios(r.alone.splice, r.alone.reference))} | ${r.load[0].toFixed(0)}-${r.load[1].toFixed(0)} |`,
    );
  return out.join('\n') + '\n';
}
