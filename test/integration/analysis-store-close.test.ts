/**
 * Closing the embedded store while it works: a statement running when close() is called is
 * interrupted and rejects, close() resolves once DuckDB has stopped, and nothing is left
 * pending. Closing under a running statement used to leave the statement's promise (and an
 * analysis awaiting it) pending for good, and the process could not exit.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, openDuckDbStore, type AnalysisStore } from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { generate } from '../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-store-close-'));
const data = join(root, 'data');
const temp = join(root, 'spill');

beforeAll(() => {
  generate(data, {
    experiment: 'checkout',
    units: 1500,
    days: 4,
    weights: { control: 50, treatment: 50 },
    rates: { control: 0.3, treatment: 0.36 },
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The store's own directories under the OS temp dir (sy-duckdb-*), to see close() remove its own. */
const ownDirs = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('sy-duckdb-')));

/** What a promise settled to, or 'pending' after ms. */
async function settled<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([
      p.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('closing the DuckDB store while a statement runs', () => {
  it('interrupts the statement, which rejects, and close() resolves', async () => {
    const before = ownDirs();
    const store = await openDuckDbStore(data);
    const own = [...ownDirs()].filter((d) => !before.has(d));
    expect(own).toHaveLength(1);
    // Minutes of work if left to run.
    const running = store.query('SELECT count(*) AS n FROM range(100000000000) a WHERE a.range % 7 = 3');
    await new Promise((r) => setTimeout(r, 300));
    const closed = store.close();
    const outcome = await settled(running, 15_000);
    expect(outcome).not.toBe('pending');
    const error = (outcome as { error?: { code?: string; message?: string } }).error;
    expect(error?.code).toBe('SY_ANALYSIS_STORE');
    expect(error?.message).toMatch(/closed while a statement ran; the statement was interrupted/);
    expect(await settled(closed, 15_000)).toEqual({ value: undefined });
    expect(existsSync(join(tmpdir(), own[0]!))).toBe(false);
    // Closed is closed: a statement after it says so, and closing again is harmless.
    await expect(store.query('SELECT 1 AS one')).rejects.toMatchObject({
      code: 'SY_ANALYSIS_STORE',
      message: expect.stringMatching(/the DuckDB store is closed$/),
    });
    await expect(store.close()).resolves.toBeUndefined();
  }, 40_000);

  it('an analysis under way rejects with the store closed, instead of waiting for good', async () => {
    const store = await openDuckDbStore(data, { tempDirectory: temp });
    // The store closed by someone else right after the analysis's first scan starts.
    let closing: Promise<void> | undefined;
    const racing: AnalysisStore = {
      engine: store.engine,
      quality: (m) => store.quality(m),
      close: () => store.close(),
      query: (sql, params) => {
        const run = store.query(sql, params);
        if (closing === undefined && /CREATE TEMP TABLE sy_fa/.test(sql)) closing = store.close();
        return run;
      },
    };
    const config = validateConfigObject({
      experiments: {
        checkout: {
          variants: { control: { weight: 50 }, treatment: { weight: 50 } },
          primary_metric: 'purchase',
        },
      },
    });
    const outcome = await settled(analyze(racing, { config, experiments: ['checkout'] }), 15_000);
    expect(outcome).not.toBe('pending');
    expect((outcome as { error?: { code?: string; message?: string } }).error).toMatchObject({
      code: 'SY_ANALYSIS_STORE',
      message: expect.stringMatching(/the DuckDB store (was closed while a statement ran|is closed)/),
    });
    expect(closing).toBeDefined();
    expect(await settled(closing!, 15_000)).toEqual({ value: undefined });
  }, 40_000);
});
