/**
 * The same data on embedded DuckDB (JSONL in place) and PostgreSQL (after `load`): the
 * same numbers; those numbers equal switchyard/stats on sufficient statistics the test
 * computes itself from the lines; hostile names pass through SQL as data; bad lines are
 * counted. PostgreSQL work happens in a randomly named database, dropped afterwards.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyze,
  loadJsonlIntoPostgres,
  openDuckDbStore,
  openPostgresStore,
  ATTRIBUTED_BASELINE_SQL,
  type Analysis,
  type AnalysisStore,
  type LoadResult,
} from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { expectSame, privateDatabase } from '../helpers/analysis-db.js';
import { meanTest, proportionTest, srmTest } from '../../src/stats/index.js';
import { generate } from '../helpers/analysis-data.js';

const database = privateDatabase('sy_analysis');
const url = database.url;
const dir = mkdtempSync(join(tmpdir(), 'sy-engines-'));

const EXPERIMENT = `x'); DROP TABLE sy_events; -- <script>alert("exp")</script> ü`;
const TREATMENT = `tréatment "<img src=x onerror=alert(1)>" '; DELETE FROM sy_f; --`;
const PURCHASE = `pur'chase"); DROP TABLE sy_ue; -- 🛒`;
const COUNTRIES = [`O'Brien <b>`, 'DE', `"; DROP TABLE sy_exposures; --`, '日本'];

let duck: Analysis;
let post: Analysis;
let loaded: LoadResult;

beforeAll(async () => {
  generate(dir, {
    experiment: EXPERIMENT,
    units: 8000,
    days: 10,
    weights: { control: 50, treatment: 50 },
    rates: { control: 0.3, treatment: 0.36 },
    primary: 'purchase',
    eventNames: { purchase: PURCHASE },
    variantNames: { treatment: TREATMENT },
    segment: { attribute: 'country', values: COUNTRIES },
    run: { calls: 1, latency: { control: 50, treatment: 52 }, errors: { control: 0.01, treatment: 0.01 } },
    prePeriod: 0.3,
    crossovers: 25,
    junk: { empty: 3, truncated: 2, malformed: 4 },
  });
  await database.create();
  const options = {
    config: validateConfigObject({ analysis: { segments: ['country'], corrections: 'holm' } }),
    metric: PURCHASE,
    now: Date.parse('2026-12-20T00:00:00Z'),
  };
  const d = await openDuckDbStore(dir);
  try {
    duck = await analyze(d, options);
  } finally {
    await d.close();
  }
  loaded = await loadJsonlIntoPostgres(url, dir);
  expect(loaded.malformed).toBe(6);
  const p = await openPostgresStore(url);
  try {
    post = await analyze(p, options);
  } finally {
    await p.close();
  }
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database.drop();
});

/** Independent aggregation: first exposure per unit, purchases within 14 days after it, per arm. */
function independentArms() {
  const exposures = new Map<string, { variants: Set<string>; t0: number }>();
  const purchases: { unit: string; t: number; value: number }[] = [];
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const t = Date.parse(String(r.ts)) / 1000;
      if (r.schema === 'switchyard.exposure/1' && r.experiment === EXPERIMENT) {
        const x = exposures.get(String(r.unit)) ?? { variants: new Set<string>(), t0: Infinity };
        x.variants.add(String(r.variant));
        x.t0 = Math.min(x.t0, t);
        exposures.set(String(r.unit), x);
      } else if (r.schema === 'switchyard.event/1' && r.event === PURCHASE)
        purchases.push({ unit: String(r.unit), t, value: Number(r.value) });
    }
  }
  const perUnit = new Map<string, number>();
  for (const p of purchases) {
    const x = exposures.get(p.unit);
    if (!x || x.variants.size > 1 || p.t < x.t0 || p.t >= x.t0 + 14 * 86400) continue;
    perUnit.set(p.unit, (perUnit.get(p.unit) ?? 0) + p.value);
  }
  const arm = (variant: string) => {
    let n = 0,
      conversions = 0,
      sum = 0,
      sumSq = 0;
    for (const [unit, x] of exposures) {
      if (x.variants.size > 1 || [...x.variants][0] !== variant) continue;
      n++;
      const v = perUnit.get(unit);
      if (v !== undefined) {
        conversions++;
        sum += v;
        sumSq += v * v;
      }
    }
    return { n, conversions, sum, sumSq };
  };
  return { c: arm('control'), t: arm(TREATMENT) };
}

describe('analysis on DuckDB and PostgreSQL', () => {
  it('finds the experiment with its hostile name, variants and event name intact', () => {
    expect(duck.experiments.map((e) => e.experiment)).toEqual([EXPERIMENT]);
    const e = duck.experiments[0]!;
    expect(e.variants).toEqual(['control', TREATMENT]);
    expect(e.metrics.find((m) => m.role === 'primary')!.metric).toBe(PURCHASE);
    expect(new Set(e.segments.filter((s) => s.attribute === 'country').map((s) => s.value))).toEqual(
      new Set(COUNTRIES),
    );
    expect(e.excluded.multipleVariants).toBe(25);
  });

  it('gives the same numbers on both engines', () => {
    const strip = (a: Analysis) => ({ ...a, engine: undefined });
    expectSame(strip(duck), strip(post));
    expect(post.experiments[0]!.metrics.length).toBeGreaterThanOrEqual(3);
  });

  it('counts empty, truncated and malformed lines on both engines', () => {
    expect(duck.dataQuality.empty).toBe(3);
    expect(duck.dataQuality.malformed).toBe(6);
    expect(post.dataQuality.empty).toBe(3);
    expect(post.dataQuality.malformed).toBe(6);
    expect(duck.dataQuality.lines).toBe(post.dataQuality.lines);
  });

  it('names the file and line of each truncated line, the same on both engines and in the load', () => {
    // The junk is at the end of the first day's file: the cut-short lines are found here by their text.
    const first = readdirSync(dir).sort()[0]!;
    const lines = readFileSync(join(dir, first), 'utf8').split('\n');
    const cut = lines.flatMap((l, i) =>
      (l.includes('"ev') && !l.endsWith('}')) || l.includes('"trunc') ? [i + 1] : [],
    );
    expect(cut).toHaveLength(2);
    const where = cut.map((line) => ({ file: join(dir, first), line }));
    // `{not json}` has its braces: malformed, counted, not located.
    expect(duck.dataQuality.incomplete).toEqual(where);
    expect(post.dataQuality.incomplete).toEqual(where);
    expect(loaded.incomplete).toEqual(where);
  });

  it('equals switchyard/stats on sufficient statistics computed here from the lines', () => {
    const { c, t } = independentArms();
    const e = duck.experiments[0]!;
    const conv = e.metrics.find((m) => m.statistic === 'conversion')!;
    const expected = proportionTest(c, t, { alpha: 0.05 });
    expect(conv.pValue).toBe(expected.pValue);
    expect(conv.absolute).toBe(expected.difference);
    expect(conv.absoluteCi).toEqual(expected.differenceCI);
    expect(conv.relative).toBe(expected.relativeLift.lift);
    const mean = e.metrics.find((m) => m.statistic === 'mean_value')!;
    const m = meanTest(c, t, { alpha: 0.05 });
    expect(mean.pValue).toBe(m.pValue);
    expect(mean.absoluteCi).toEqual(m.differenceCI);
    expect(e.srm.pValue).toBe(srmTest([c.n, t.n], [1, 1]).pValue);
    expect(e.units).toEqual({ control: c.n, [TREATMENT]: t.n });
    // CUPED ran: there were purchases before exposure.
    expect(conv.cuped).toBeDefined();
  });

  it("the benchmark's attributed GROUP BY is the primary metric's aggregation: the same sums on both engines", async () => {
    const { c, t } = independentArms();
    const rows = async (store: AnalysisStore) => {
      try {
        return await store.query(ATTRIBUTED_BASELINE_SQL, [EXPERIMENT, 14 * 86400]);
      } finally {
        await store.close();
      }
    };
    for (const found of [await rows(await openDuckDbStore(dir)), await rows(await openPostgresStore(url))]) {
      for (const [variant, arm] of [
        ['control', c],
        [TREATMENT, t],
      ] as const) {
        const row = found.find((r) => r.variant === variant && r.event === PURCHASE)!;
        expect(Number(row.converted)).toBe(arm.conversions);
        expect(Number(row.s)).toBeCloseTo(arm.sum, 6);
        expect(Number(row.s2)).toBeCloseTo(arm.sumSq, 6);
      }
    }
  });
});
