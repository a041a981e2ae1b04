/**
 * At-least-once delivery: the same line (same id) can be written twice, in the same file or
 * in another. The analysis counts it once on both engines: the numbers with repeated lines
 * equal those without, and `load` skips the repeats (and a second load of the same files).
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadJsonlIntoPostgres,
  openDuckDbStore,
  openPostgresStore,
  type Analysis,
  type AnalysisStore,
  type LoadResult,
} from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { analyzeStore, expectSame, privateDatabase } from '../helpers/analysis-db.js';
import { generate } from '../helpers/analysis-data.js';

const database = privateDatabase('sy_dup');
const url = database.url;
const root = mkdtempSync(join(tmpdir(), 'sy-dup-'));
const clean = join(root, 'clean');
const repeated = join(root, 'repeated');

const options = {
  config: validateConfigObject({
    analysis: { segments: ['country'] },
    experiments: {
      checkout: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        primary_metric: 'purchase',
        funnel: ['view', 'purchase'],
        guardrails: [{ metric: 'error_rate', max_relative_increase: 0.5 }],
      },
    },
  }),
  now: Date.parse('2026-12-20T00:00:00Z'),
};

let duckClean: Analysis;
let duckRepeated: Analysis;
let postRepeated: Analysis;
let firstLoad: LoadResult;
let secondLoad: LoadResult;
let repeatedValid = 0;

const run = (open: () => Promise<AnalysisStore>): Promise<Analysis> => analyzeStore(open, options);

beforeAll(async () => {
  generate(clean, {
    experiment: 'checkout',
    units: 4000,
    days: 10,
    weights: { control: 50, treatment: 50 },
    rates: { control: 0.3, treatment: 0.36 },
    segment: { attribute: 'country', values: ['DE', 'FR', 'JP'] },
    funnel: { steps: ['view', 'purchase'], rates: { control: [0.7, 0.5], treatment: [0.7, 0.55] } },
    run: { calls: 2, latency: { control: 50, treatment: 55 }, errors: { control: 0.02, treatment: 0.04 } },
    prePeriod: 0.3,
    crossovers: 10,
  });
  cpSync(clean, repeated, { recursive: true });
  // Every third line again: half in its own file (a retried batch), half in the next day's file
  // (a batch delivered again after a restart), exposures and events alike.
  const files = readdirSync(repeated).sort();
  files.forEach((f, i) => {
    const lines = readFileSync(join(repeated, f), 'utf8').split('\n').filter(Boolean);
    const again = lines.filter((_, k) => k % 3 === 0);
    repeatedValid += again.length;
    const half = Math.ceil(again.length / 2);
    appendFileSync(join(repeated, f), again.slice(0, half).join('\n') + '\n');
    appendFileSync(join(repeated, files[(i + 1) % files.length]!), again.slice(half).join('\n') + '\n');
  });
  duckClean = await run(() => openDuckDbStore(clean));
  duckRepeated = await run(() => openDuckDbStore(repeated));
  await database.create();
  firstLoad = await loadJsonlIntoPostgres(url, repeated);
  secondLoad = await loadJsonlIntoPostgres(url, repeated);
  postRepeated = await run(() => openPostgresStore(url));
}, 180_000);

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await database.drop();
});

describe('repeated lines (at-least-once delivery)', () => {
  it('count once on DuckDB: every number equals the analysis without repeats', () => {
    expect(repeatedValid).toBeGreaterThan(1000);
    const e = duckClean.experiments[0]!;
    // The data exercises what repeats would inflate: conversions, values, errors, the funnel, paths.
    expect(e.metrics.find((m) => m.statistic === 'mean_value')!.control.value).toBeGreaterThan(0);
    expect(e.guardrails[0]!.control).toBeGreaterThan(0);
    expect(e.funnel!.steps[1]!.reached.control).toBeGreaterThan(0);
    expect(Object.keys(e.behaviour.paths)).toEqual(['control', 'treatment']);
    expectSame(duckRepeated.experiments, duckClean.experiments);
    expect(duckRepeated.dataQuality).toEqual({
      ...duckClean.dataQuality,
      lines: duckClean.dataQuality.lines + repeatedValid,
    });
  });

  it('count once on PostgreSQL: load skips them, a second load adds nothing, the numbers equal DuckDB without repeats', () => {
    expect(firstLoad.duplicates).toBe(repeatedValid);
    expect(firstLoad.exposures + firstLoad.events + firstLoad.duplicates).toBe(
      duckClean.dataQuality.lines + repeatedValid,
    );
    expect(secondLoad.exposures).toBe(0);
    expect(secondLoad.events).toBe(0);
    expect(secondLoad.duplicates).toBe(firstLoad.exposures + firstLoad.events + firstLoad.duplicates);
    expectSame(postRepeated.experiments, duckClean.experiments);
  });

  it('rows loaded before ids were kept (NULL id) count once per line: a repeated line collapses, two events do not', async () => {
    // The tables as an older switchyard left them: no ids, and a third of the event lines there twice.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('UPDATE sy_exposures SET id = NULL');
      await client.query('UPDATE sy_events SET id = NULL');
      const again = await client.query(
        `INSERT INTO sy_events (unit, event, value, t, properties)
         SELECT unit, event, value, t, properties FROM sy_events WHERE abs(hashtext(unit || event || t::text)) % 3 = 0`,
      );
      expect(again.rowCount).toBeGreaterThan(1000);
    } finally {
      await client.end();
    }
    // A unit's two run() calls (and any two purchases) are two events, a repeated line is one.
    expectSame((await run(() => openPostgresStore(url))).experiments, duckClean.experiments);
  });
});
