/**
 * DuckDB's memory limit: not every operator spills (a hash aggregate over many groups, the
 * JSON reader's 32 MiB buffer), so a statement can run out of the limit however the data
 * is read. The store then runs it again with the limit doubled, up to its maximum, and
 * says so; the numbers are the same as with room to spare; past the maximum the error
 * stands and says which limit it hit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDbStore, parseSize, type Analysis } from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { analyzeStore, expectSame } from '../helpers/analysis-db.js';
import { generate } from '../helpers/analysis-data.js';
import { cli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'sy-memory-'));
const data = join(root, 'data');
const options = {
  config: validateConfigObject({
    analysis: { segments: ['country'] },
    experiments: {
      checkout: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        primary_metric: 'purchase',
        funnel: ['view', 'purchase'],
      },
    },
  }),
  now: Date.parse('2026-12-20T00:00:00Z'),
};

let roomy: Analysis;

beforeAll(async () => {
  generate(data, {
    experiment: 'checkout',
    units: 3000,
    days: 8,
    weights: { control: 50, treatment: 50 },
    rates: { control: 0.3, treatment: 0.36 },
    segment: { attribute: 'country', values: ['DE', 'FR'] },
    funnel: { steps: ['view', 'purchase'], rates: { control: [0.7, 0.5], treatment: [0.7, 0.55] } },
  });
  roomy = await analyzeStore(() => openDuckDbStore(data), options);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('DuckDB memory limit (issue 14)', () => {
  it('runs a statement that ran out of the limit again with the limit doubled, and gets the same numbers', async () => {
    const raised: [string, string][] = [];
    // 16MB is below the JSON reader's 32 MiB buffer: the first scan cannot run until the limit passes it.
    const tight = await analyzeStore(
      () => openDuckDbStore(data, { memoryLimit: '16MB', onMemoryLimitRaised: (from, to) => raised.push([from, to]) }),
      options,
    );
    expect(raised[0]).toEqual(['15.2 MiB', '30.4 MiB']); // DuckDB prints 16MB (16e6 bytes) as 15.2 MiB
    expect(raised.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < raised.length; i++) expect(raised[i]![0]).toBe(raised[i - 1]![1]);
    expectSame(tight, roomy);
  }, 60_000);

  it('stops raising at its maximum: the error names the limit it hit', async () => {
    const raised: string[] = [];
    const failed = analyzeStore(
      () =>
        openDuckDbStore(data, {
          memoryLimit: '16MB',
          maxMemoryLimit: '20MB',
          onMemoryLimitRaised: (_, to) => raised.push(to),
        }),
      options,
    );
    await expect(failed).rejects.toMatchObject({ code: 'SY_ANALYSIS_STORE' });
    await expect(failed).rejects.toThrow(/Out of Memory Error.*at the most this store raises it to, 19\.1 MiB/s);
    expect(raised).toEqual(['19.1 MiB']); // 16MB doubled, capped at the maximum, then no further
  }, 60_000);

  it('reads sizes as DuckDB writes them, and refuses what is not one', async () => {
    expect(parseSize('256MB')).toBe(256e6);
    expect(parseSize('244.1 MiB')).toBe(Math.round(244.1 * 2 ** 20));
    expect(parseSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('512 bytes')).toBe(512);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('2tb')).toBe(2e12);
    for (const bad of ['lots', '-1MB', '1 XB', '', '1e9', 'MB']) expect(parseSize(bad), bad).toBeUndefined();
    await expect(openDuckDbStore(data, { maxMemoryLimit: 'lots' })).rejects.toThrow(
      /maxMemoryLimit "lots" is not a size \(e\.g\. 4GB, 512MiB\)/,
    );
  });

  it('the CLI takes --max-memory and refuses a value that is not a size', async () => {
    const bad = await cli('analyze', 'checkout', '--data', data, '--max-memory', 'plenty', '--no-log');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--max-memory "plenty" is not a size (e.g. 4GB, 512MiB)');
    const plain = await cli('analyze', 'checkout', '--data', data, '--no-log', '--json');
    const ok = await cli('analyze', 'checkout', '--data', data, '--max-memory', '2GB', '--no-log', '--json');
    expect(ok.code).toBe(0);
    const decision = (out: string) => (JSON.parse(out) as Analysis).experiments[0]!.decision;
    expect(decision(ok.out)).toEqual(decision(plain.out));
  }, 60_000);
});
