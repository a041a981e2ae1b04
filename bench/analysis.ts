/**
 * `switchyard analyze` on generated exposures + events: the full analysis's time as a ratio
 * to the bare GROUP BY of the same aggregation (variant x event counts and sums over the same
 * data), each timed from opening the store to closing it, each in a fresh process (started
 * with --expose-gc: a gc and a loop turn before the timer starts) whose peak RSS is that
 * contender's alone. A round runs both in random order; the ratio is taken per round.
 * Data: bench/analysis-data.ts, generated once per size under /tmp and reused.
 * Sizes: SY_BENCH_ANALYSIS_SIZES (default "100000,1000000"), rounds SY_BENCH_ANALYSIS_ROUNDS
 * (default 3), PostgreSQL size SY_BENCH_ANALYSIS_PG (default 1000000, 0 = skip).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadJsonlIntoPostgres } from '../src/analysis/index.js';
import { benchData } from './analysis-data.js';
import { shuffled } from './harness.js';

interface Run {
  ms: number;
  decision: string;
  maxRssMiB: number;
}
type Which = 'analysis' | 'baseline' | 'attributed';
const CONTENDERS: readonly Which[] = ['analysis', 'baseline', 'attributed'];
interface Round {
  analysis: Run;
  baseline: Run;
  attributed: Run;
  load: number;
}

function child(engine: string, source: string, which: Which): Run {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', new URL('./analysis-child.ts', import.meta.url).pathname, engine, source, which],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

function rounds(engine: string, source: string, n: number, label: string): Round[] {
  const out: Round[] = [];
  for (let r = 0; r < n; r++) {
    const order = shuffled(CONTENDERS.length).map((i) => CONTENDERS[i]!);
    const load = loadavg()[0]!;
    const runs = Object.fromEntries(order.map((w) => [w, child(engine, source, w)])) as Record<Which, Run>;
    const round = { ...runs, load: Math.max(load, loadavg()[0]!) };
    console.error(
      `${label} round ${r + 1}: analysis ${(round.analysis.ms / 1000).toFixed(1)} s (${round.analysis.maxRssMiB.toFixed(0)} MiB), ` +
        `baseline ${(round.baseline.ms / 1000).toFixed(1)} s (${round.baseline.maxRssMiB.toFixed(0)} MiB), ` +
        `attributed ${(round.attributed.ms / 1000).toFixed(1)} s (${round.attributed.maxRssMiB.toFixed(0)} MiB), load ${round.load.toFixed(1)}`,
    );
    out.push(round);
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const span = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;

function row(label: string, lines: number, rs: Round[]): string {
  const a = rs.map((r) => r.analysis.ms / 1000);
  const b = rs.map((r) => r.baseline.ms / 1000);
  const c = rs.map((r) => r.attributed.ms / 1000);
  const ratios = rs.map((r) => r.analysis.ms / r.baseline.ms);
  const attributedRatios = rs.map((r) => r.analysis.ms / r.attributed.ms);
  const rssA = rs.map((r) => r.analysis.maxRssMiB);
  const rssB = rs.map((r) => r.baseline.maxRssMiB);
  const decisions = [...new Set(rs.map((r) => r.analysis.decision))].join(', ');
  return (
    `| ${label} | ${lines.toLocaleString('en')} | ${rs.length} | ${median(a).toFixed(1)} s (${span(a, 1)}) | ` +
    `${median(b).toFixed(1)} s (${span(b, 1)}) | **${median(ratios).toFixed(2)}x** (${span(ratios, 2)}) | ` +
    `${median(c).toFixed(1)} s (${span(c, 1)}) | ${median(attributedRatios).toFixed(2)}x (${span(attributedRatios, 2)}) | ` +
    `${median(rssA).toFixed(0)} MiB (${span(rssA, 0)}) | ${median(rssB).toFixed(0)} MiB (${span(rssB, 0)}) | ` +
    `${span(
      rs.map((r) => r.load),
      1,
    )} | ${decisions} |`
  );
}

export async function benchAnalysis(): Promise<string> {
  const sizes = (process.env.SY_BENCH_ANALYSIS_SIZES ?? '100000,1000000').split(',').map(Number);
  const n = Number(process.env.SY_BENCH_ANALYSIS_ROUNDS ?? 3);
  const pgSize = Number(process.env.SY_BENCH_ANALYSIS_PG ?? 1_000_000);
  const rows: string[] = [];
  for (const size of sizes) {
    const { dir, lines } = await benchData(size);
    const data = join(dir, 'jsonl');
    rows.push(
      row(`DuckDB, ${size.toLocaleString('en')} exposures`, lines, rounds('duckdb', data, n, `duckdb ${size}`)),
    );
    if (size === pgSize) {
      const db = `sy_bench_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      try {
        const url = `postgres://postgres@127.0.0.1:5432/${db}`;
        const t = performance.now();
        await loadJsonlIntoPostgres(url, data);
        const loadS = (performance.now() - t) / 1000;
        const pgRounds = rounds('postgres', url, Math.min(n, 2), `postgres ${size}`);
        rows.push(
          row(`PostgreSQL, ${size.toLocaleString('en')} exposures (load ${loadS.toFixed(0)} s)`, lines, pgRounds),
        );
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await admin.end();
      }
    }
  }
  return [
    '## Analysis (`switchyard analyze`)',
    '',
    'Full analysis of one experiment (SRM, three statistics of the primary metric with Bayesian and corrections, a country',
    'segment and exposure weeks, a two-step funnel, event paths, bots, data-quality counts, deduplication by id) against',
    'the bare GROUP BY of the same aggregation (variant x event counts and sums over the same data, no attribution), and',
    "against the primary metric's aggregation with the analysis's attribution as one bare GROUP BY (each event id once,",
    "a unit's first exposure, one-variant units, events within the window after it; per variant and event the converted",
    "units, counts and sums with squares: `ATTRIBUTED_BASELINE_SQL`, tested equal to the analysis's own sums), each",
    'timed from opening the store to closing it in a fresh process (`--expose-gc`, a gc and a loop turn first). A round',
    'runs all three, in a random order; ratio = the median of per-round ratios (range). Peak RSS is each contender process',
    "(Node + DuckDB, `process.resourceUsage().maxRSS`); DuckDB's memory limit is 256 MB. Load = the 1-minute load",
    'average at the start and end of each round (the range over rounds).',
    '',
    '| engine, size | lines | rounds | analysis | bare GROUP BY | ratio | attributed GROUP BY | ratio to it | analysis peak RSS | GROUP BY peak RSS | load | decision |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
}
