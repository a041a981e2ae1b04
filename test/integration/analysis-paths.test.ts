/**
 * The per-unit parts of the analysis that the SQL computes without per-unit lists (event
 * paths from a rank per event, the funnel, bots, time to first conversion, latency p95),
 * checked against the same quantities computed here from the lines, on data made to trip
 * them: events at the same instant (ties broken by name; the same name twice at one instant
 * counts twice), repeated lines (same id, counted once), events before exposure and after
 * the attribution window, units that saw both variants, bot-like units. DuckDB and
 * PostgreSQL must both equal the independent numbers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadJsonlIntoPostgres,
  openDuckDbStore,
  openPostgresStore,
  type Analysis,
  type AnalysisStore,
} from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { analyzeStore, privateDatabase } from '../helpers/analysis-db.js';

const database = privateDatabase('sy_paths');
const url = database.url;
const dir = mkdtempSync(join(tmpdir(), 'sy-paths-'));
const DAY = 86_400_000;
const WINDOW_DAYS = 3;
const CAP = 4;
const NAMES = ['a', 'b', 'c', 'purchase', 'switchyard.run'];

const options = {
  config: validateConfigObject({
    analysis: { attribution_window: `${WINDOW_DAYS}d`, bot_max_events_per_day: CAP },
    experiments: {
      paths: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        primary_metric: 'purchase',
        funnel: ['a', 'b', 'c'],
        guardrails: [{ metric: 'latency_p95', max_relative_increase: 0.05 }],
      },
    },
  }),
  now: Date.parse('2026-12-20T00:00:00Z'),
};

interface Line {
  schema: string;
  id: string;
  ts: string;
  unit: string;
  experiment?: string;
  variant?: string;
  event?: string;
  value?: number;
  properties?: Record<string, unknown>;
}
const lines: Line[] = [];
let duck: Analysis;
let post: Analysis;

const run = (open: () => Promise<AnalysisStore>): Promise<Analysis> => analyzeStore(open, options);

beforeAll(async () => {
  let seed = 11; // mulberry32
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const t0 = Date.parse('2026-12-01T00:00:00Z');
  let n = 0;
  const iso = (ms: number) => new Date(ms).toISOString();
  for (let u = 0; u < 1500; u++) {
    const unit = `u${u}`;
    const variant = rnd() < 0.5 ? 'control' : 'treatment';
    const te = t0 + Math.floor(rnd() * 6) * DAY + Math.floor(rnd() * 1000) * 1000;
    lines.push({ schema: 'switchyard.exposure/1', id: `x${n++}`, ts: iso(te), unit, experiment: 'paths', variant });
    // A later exposure: the same variant (t0 stays the first), or, for a few units, the other one.
    if (rnd() < 0.1)
      lines.push({
        schema: 'switchyard.exposure/1',
        id: `x${n++}`,
        ts: iso(te + 5000),
        unit,
        experiment: 'paths',
        variant: u % 50 === 0 ? (variant === 'control' ? 'treatment' : 'control') : variant,
      });
    const k = u % 97 === 0 ? 40 : Math.floor(rnd() * 7); // a few bot-like units
    for (let j = 0; j < k; j++) {
      // Few distinct instants, so that many events share one; some before exposure, some after the window.
      const dt = Math.floor(rnd() * 4) * 1000 + (rnd() < 0.1 ? -DAY : 0) + (rnd() < 0.05 ? (WINDOW_DAYS + 1) * DAY : 0);
      const event = NAMES[Math.floor(rnd() * NAMES.length)]!;
      const line: Line = {
        schema: 'switchyard.event/1',
        id: `e${n++}`,
        ts: iso(te + dt),
        unit,
        event,
        ...(event === 'c' ? {} : { value: Math.round(rnd() * 1e6) / 1e4 + (variant === 'treatment' ? 7 : 0) }),
        properties: { error: rnd() < 0.1 },
      };
      lines.push(line);
      if (rnd() < 0.15) lines.push(line); // at-least-once delivery: the same line again
    }
  }
  writeFileSync(join(dir, 'events.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  duck = await run(() => openDuckDbStore(dir));
  await database.create();
  await loadJsonlIntoPostgres(url, dir);
  post = await run(() => openPostgresStore(url));
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database.drop();
});

/** The same quantities, from the lines: first exposure, one variant, events deduplicated by id, in the window. */
function independent() {
  const units = new Map<string, { variants: Set<string>; t0: number }>();
  for (const l of lines) {
    if (l.schema !== 'switchyard.exposure/1') continue;
    const x = units.get(l.unit) ?? { variants: new Set<string>(), t0: Infinity };
    x.variants.add(l.variant!);
    x.t0 = Math.min(x.t0, Date.parse(l.ts) / 1000);
    units.set(l.unit, x);
  }
  const seen = new Set<string>();
  const events = new Map<string, { event: string; t: number; value?: number }[]>();
  for (const l of lines) {
    if (l.schema !== 'switchyard.event/1' || seen.has(l.id)) continue;
    seen.add(l.id);
    const x = units.get(l.unit);
    const t = Date.parse(l.ts) / 1000;
    if (!x || x.variants.size > 1 || t < x.t0 || t >= x.t0 + WINDOW_DAYS * 86400) continue;
    const list = events.get(l.unit) ?? [];
    list.push({ event: l.event!, t, ...(l.value === undefined ? {} : { value: l.value }) });
    events.set(l.unit, list);
  }
  const armOf = (unit: string) => [...units.get(unit)!.variants][0]!;
  const last = Math.max(...[...units.values()].filter((x) => x.variants.size === 1).map((x) => x.t0));
  const paths = new Map<string, Map<string, number>>();
  const ttf = new Map<string, { units: number; sum: number }>();
  const bots = new Map<string, number>();
  const reached = new Map<string, number[]>();
  const latencies = new Map<string, number[]>();
  for (const [unit, list] of events) {
    const v = armOf(unit);
    const x = units.get(unit)!;
    list.sort((p, q) => p.t - q.t || (p.event < q.event ? -1 : p.event > q.event ? 1 : 0));
    const path = list
      .slice(0, 3)
      .map((e) => e.event)
      .join('\u001f');
    const byPath = paths.get(v) ?? new Map<string, number>();
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    paths.set(v, byPath);
    const first = list.find((e) => e.event === 'purchase');
    if (first) {
      const a = ttf.get(v) ?? { units: 0, sum: 0 };
      a.units++;
      a.sum += first.t - x.t0;
      ttf.set(v, a);
    }
    if (list.length > CAP * Math.max(1, Math.min(WINDOW_DAYS * 86400, last - x.t0) / 86400))
      bots.set(v, (bots.get(v) ?? 0) + 1);
    const at = (name: string) => list.find((e) => e.event === name)?.t;
    const [sa, sb, sc] = [at('a'), at('b'), at('c')];
    const r = reached.get(v) ?? [0, 0, 0];
    if (sa !== undefined) r[0]!++;
    if (sa !== undefined && sb !== undefined && sb >= sa) r[1]!++;
    if (sa !== undefined && sb !== undefined && sc !== undefined && sb >= sa && sc >= sb) r[2]!++;
    reached.set(v, r);
    for (const e of list)
      if (e.event === 'switchyard.run' && e.value !== undefined)
        latencies.set(v, [...(latencies.get(v) ?? []), e.value]);
  }
  // percentile_cont(0.95): linear interpolation between the order statistics around 0.95 (n - 1).
  const p95 = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const h = 0.95 * (s.length - 1);
    const lo = Math.floor(h);
    return s[lo]! + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]!) - s[lo]!);
  };
  return { paths, ttf, bots, reached, p95: new Map([...latencies].map(([v, xs]) => [v, p95(xs)])) };
}

describe('paths, funnel, bots, time to conversion and p95 without per-unit lists', () => {
  let truth: ReturnType<typeof independent>;
  beforeAll(() => {
    truth = independent();
  });

  it.each([
    ['DuckDB', () => duck],
    ['PostgreSQL', () => post],
  ])('%s: the most common paths are the top of the independent counts', (_, get) => {
    const e = get().experiments[0]!;
    for (const v of ['control', 'treatment']) {
      const counts = truth.paths.get(v)!;
      const top = e.behaviour.paths[v]!;
      expect(top.length).toBe(5);
      for (const p of top) expect(p.units, p.path.join(' > ')).toBe(counts.get(p.path.join('\u001f')));
      for (let i = 1; i < top.length; i++) expect(top[i]!.units).toBeLessThanOrEqual(top[i - 1]!.units);
      const shown = new Set(top.map((p) => p.path.join('\u001f')));
      const rest = [...counts].filter(([path]) => !shown.has(path)).map(([, c]) => c);
      expect(Math.max(...rest)).toBeLessThanOrEqual(top[top.length - 1]!.units);
      // The data has paths of one, two and three events, and paths that repeat a name (ties at one instant).
      expect(new Set([...counts.keys()].map((p) => p.split('\u001f').length))).toEqual(new Set([1, 2, 3]));
      expect([...counts.keys()].some((p) => new Set(p.split('\u001f')).size < p.split('\u001f').length)).toBe(true);
    }
  });

  it.each([
    ['DuckDB', () => duck],
    ['PostgreSQL', () => post],
  ])('%s: funnel, bots, time to first conversion and p95 equal the independent numbers', (_, get) => {
    const e = get().experiments[0]!;
    expect(e.excluded.multipleVariants).toBeGreaterThan(0);
    for (const v of ['control', 'treatment']) {
      expect(e.funnel!.steps.map((s) => s.reached[v])).toEqual(truth.reached.get(v));
      expect(e.excluded.botLike[v]).toBe(truth.bots.get(v));
      const t = truth.ttf.get(v)!;
      expect(e.behaviour.timeToConversion[v]!.units).toBe(t.units);
      expect(e.behaviour.timeToConversion[v]!.meanSeconds).toBeCloseTo(t.sum / t.units, 6);
      const g = e.guardrails.find((x) => x.metric === 'latency_p95')!;
      expect(v === 'control' ? g.control : g.treatment).toBeCloseTo(truth.p95.get(v)!, 9);
    }
    expect(truth.bots.get('control')! + truth.bots.get('treatment')!).toBeGreaterThan(0);
  });
});
