/**
 * Opening the embedded store: file and directory names that DuckDB would read as glob
 * patterns are read as the files they are (each once), and a store that cannot open says
 * why and leaves nothing open or on disk behind it.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDbStore, type Analysis } from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { analyzeStore, expectSame } from '../helpers/analysis-db.js';
import { generate } from '../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-store-open-'));
const plain = join(root, 'plain');
const options = {
  config: validateConfigObject({ analysis: { segments: ['country'] } }),
  metric: 'purchase',
  now: Date.parse('2026-12-20T00:00:00Z'),
};
let expected: Analysis;

beforeAll(async () => {
  generate(plain, {
    experiment: 'checkout',
    units: 1500,
    days: 4,
    weights: { control: 50, treatment: 50 },
    rates: { control: 0.3, treatment: 0.36 },
    segment: { attribute: 'country', values: ['DE', 'FR'] },
  });
  expected = await analyzeStore(() => openDuckDbStore(plain), options);
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The lines DuckDB reads from a directory's files (sy_lines: every line, valid or not). */
async function linesRead(dir: string): Promise<number> {
  const store = await openDuckDbStore(dir);
  try {
    return Number((await store.query('SELECT count(*) AS n FROM sy_lines'))[0]!.n);
  } finally {
    await store.close();
  }
}

/** A copy of the plain data under `dir`, its first file renamed to `first`. */
function copyWithFirstNamed(dir: string, first: string): string {
  cpSync(plain, dir, { recursive: true });
  renameSync(join(dir, readdirSync(dir).sort()[0]!), join(dir, first));
  return dir;
}

describe('the DuckDB store opens the files it lists, and only those', () => {
  it('reads a file named like a glob pattern once, and its neighbours once', async () => {
    // `*.jsonl` as a pattern matches every file of the directory: each would be read twice.
    const dir = copyWithFirstNamed(join(root, 'star'), '*.jsonl');
    expect(await linesRead(dir)).toBe(expected.dataQuality.lines - expected.dataQuality.empty);
    const found = await analyzeStore(() => openDuckDbStore(dir), options);
    expect(found.experiments[0]!.units).toEqual(expected.experiments[0]!.units);
    expectSame(found.experiments[0]!.metrics, expected.experiments[0]!.metrics);
    expect(found.dataQuality).toEqual(expected.dataQuality);
  });

  it('reads files under a directory whose name holds glob characters, not those its pattern matches', async () => {
    const dir = copyWithFirstNamed(join(root, 'd[1]'), 'exposures-[0-9].jsonl');
    // As a pattern, d[1]/exposures-[0-9].jsonl names d1/exposures-1.jsonl: ten other lines.
    mkdirSync(join(root, 'd1'));
    const first = readdirSync(plain).sort()[0]!;
    const ten = readFileSync(join(plain, first), 'utf8').split('\n').slice(0, 10).join('\n') + '\n';
    writeFileSync(join(root, 'd1', 'exposures-1.jsonl'), ten);
    expect(await linesRead(dir)).toBe(expected.dataQuality.lines - expected.dataQuality.empty);
    const found = await analyzeStore(() => openDuckDbStore(dir), options);
    expect(found.experiments[0]!.units).toEqual(expected.experiments[0]!.units);
    expectSame(found.experiments[0]!.metrics, expected.experiments[0]!.metrics);
  });
});

describe('a DuckDB store that cannot open', () => {
  let scratch: string;
  let tmp: string | undefined;
  beforeAll(() => {
    // The store's private directories go under TMPDIR: a directory of this test's own, to see them go.
    scratch = mkdtempSync(join(root, 'tmp-'));
    tmp = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
  });
  afterAll(() => {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  });

  it('refuses a memory limit or thread count that is not one, before making anything', async () => {
    await expect(openDuckDbStore(plain, { memoryLimit: 'lots' })).rejects.toThrow(
      'SY_INVALID_ARGUMENT in analysis: memoryLimit "lots" is not a size (e.g. 4GB, 512MiB)',
    );
    await expect(openDuckDbStore(plain, { threads: -1 })).rejects.toThrow(
      'threads -1 is not a whole number of at least 1',
    );
    await expect(openDuckDbStore(plain, { threads: 1.5 })).rejects.toThrow('threads 1.5 is not a whole number');
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('says why when DuckDB fails after it started, and removes its directory', async () => {
    // One byte of memory: DuckDB starts, then cannot define the views over the files.
    const error = await openDuckDbStore(plain, { memoryLimit: '1B' }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      new RegExp(
        `^SY_ANALYSIS_STORE in analysis: cannot open the JSONL files of ${plain} in DuckDB: Out of Memory Error`,
      ),
    );
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('removes its directory, with the links it made, on close', async () => {
    const dir = copyWithFirstNamed(join(root, 'star-close'), '*.jsonl');
    const store = await openDuckDbStore(dir);
    expect(readdirSync(scratch)).toHaveLength(1);
    expect(readdirSync(join(scratch, readdirSync(scratch)[0]!))).toContain('files');
    await store.close();
    expect(readdirSync(scratch)).toEqual([]);
  });
});
