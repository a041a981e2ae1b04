/**
 * `switchyard analyze` on generated exposures + events: the full analysis's time as a
 * ratio to the bare GROUP BY of the same aggregation (variant x event counts and sums over
 * the same files), in the same process, interleaved in random order per round; peak RSS of
 * that process at each size (it should stay flat: DuckDB streams the files and spills past
 * its memory limit). PostgreSQL at 1M after `load`. Data files go to a temp dir and are deleted.
 * Sizes: SY_BENCH_ANALYSIS_SIZES (default "100000,1000000"), PostgreSQL SY_BENCH_ANALYSIS_PG (default 1000000, 0 = skip).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import { loadJsonlIntoPostgres } from '../src/analysis/index.js';

/** Writes n exposures and about n events (purchase 40/42%, view 60%), 14 days, in daily files. */
async function generate(dir: string, n: number): Promise<number> {
  const t0 = Date.parse('2026-12-01T00:00:00Z');
  const streams = new Map<string, ReturnType<typeof createWriteStream>>();
  const buffers = new Map<string, string[]>();
  let seed = 12345;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let lines = 0;
  const put = async (ts: number, line: string) => {
    const day = new Date(ts).toISOString().slice(0, 10);
    let buf = buffers.get(day);
    if (!buf) {
      buffers.set(day, (buf = []));
      streams.set(day, createWriteStream(join(dir, `exposures-${day}.jsonl`)));
    }
    buf.push(line);
    lines++;
    if (buf.length >= 5000) {
      const s = streams.get(day)!;
      if (!s.write(buf.join('\n') + '\n')) await once(s, 'drain');
      buf.length = 0;
    }
  };
  const id = '0'.repeat(26);
  for (let i = 0; i < n; i++) {
    const variant = rnd() < 0.5 ? 'control' : 'treatment';
    const ts = t0 + Math.floor(rnd() * 14 * 86_400_000);
    const unit = `u${i}`;
    await put(
      ts,
      `{"schema":"switchyard.exposure/1","id":"${id}","ts":"${new Date(ts).toISOString()}","unit":"${unit}","experiment":"bench","flag":"bench","variant":"${variant}","allocation":{"mode":"fixed","version":0,"step":-1,"percent":100},"reason":"SPLIT","provider":"memory","attributes":{"country":"${['DE', 'FR', 'US', 'JP'][i & 3]}"}}`,
    );
    if (rnd() < 0.6) {
      const tv = ts + 1000 + Math.floor(rnd() * 600_000);
      await put(
        tv,
        `{"schema":"switchyard.event/1","id":"${id}","ts":"${new Date(tv).toISOString()}","unit":"${unit}","event":"view","properties":{}}`,
      );
      if (rnd() < (variant === 'control' ? 0.4 : 0.42) / 0.6) {
        const tp = tv + 1000 + Math.floor(rnd() * 3_600_000);
        await put(
          tp,
          `{"schema":"switchyard.event/1","id":"${id}","ts":"${new Date(tp).toISOString()}","unit":"${unit}","event":"purchase","value":${10 + Math.floor(rnd() * 90)},"properties":{}}`,
        );
      }
    }
  }
  for (const [day, s] of streams) {
    const buf = buffers.get(day)!;
    if (buf.length) s.write(buf.join('\n') + '\n');
    s.end();
    await once(s, 'finish');
  }
  return lines;
}

interface ChildResult {
  analysis: number[];
  baseline: number[];
  decision: string;
  maxRssMiB: number;
}

function child(engine: string, source: string, rounds: number): ChildResult {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', new URL('./analysis-child.ts', import.meta.url).pathname, engine, source, String(rounds)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

function row(label: string, lines: number, r: ChildResult): string {
  const ratios = r.analysis.map((a, i) => a / r.baseline[i]!);
  return `| ${label} | ${lines.toLocaleString('en')} | ${(median(r.analysis) / 1000).toFixed(2)} s | ${(median(r.baseline) / 1000).toFixed(2)} s | ${median(ratios).toFixed(2)}x (${range(ratios)}) | ${r.maxRssMiB.toFixed(0)} MiB | ${r.decision} |`;
}

export async function benchAnalysis(): Promise<string> {
  const sizes = (process.env.SY_BENCH_ANALYSIS_SIZES ?? '100000,1000000').split(',').map(Number);
  const pgSize = Number(process.env.SY_BENCH_ANALYSIS_PG ?? 1_000_000);
  const rows: string[] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'sy-bench-analysis-'));
    try {
      const lines = await generate(dir, n);
      rows.push(row(`DuckDB, ${n.toLocaleString('en')} exposures`, lines, child('duckdb', dir, 3)));
      if (n === pgSize) {
        const db = `sy_bench_${randomBytes(5).toString('hex')}`;
        const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${db}`);
        try {
          const url = `postgres://postgres@127.0.0.1:5432/${db}`;
          const t = performance.now();
          await loadJsonlIntoPostgres(url, dir);
          const loadS = (performance.now() - t) / 1000;
          rows.push(
            row(
              `PostgreSQL, ${n.toLocaleString('en')} exposures (load ${loadS.toFixed(0)} s)`,
              lines,
              child('postgres', url, 2),
            ),
          );
        } finally {
          await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
          await admin.end();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    '## Analysis (`switchyard analyze`)',
    '',
    'Full analysis of one experiment (SRM, three statistics of the primary metric with Bayesian and corrections, a country',
    'segment and exposure weeks, a two-step funnel, event paths, bots, data-quality counts) against the bare GROUP BY of',
    'the same aggregation (variant x event counts and sums over the same data), timed in the same process in random order',
    'per round (DuckDB 3 rounds, PostgreSQL 2); ratio = median of per-round ratios (range). Peak RSS is the whole',
    'measuring process (Node + DuckDB), in a fresh process per size.',
    '',
    '| engine, size | lines | analysis | bare GROUP BY | ratio | peak RSS | decision |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
}
