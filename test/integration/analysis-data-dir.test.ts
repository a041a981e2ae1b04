/**
 * The data directory's links (audit: `ln -s . self` aborted with a raw ELOOP, a dangling
 * link with a raw ENOENT, for analyze and load alike): a dangling link or a loop of links
 * is skipped, a directory reached again is not entered twice, a file reached twice is read
 * once. (What cannot be read is an SY-coded error naming its path; an unreadable directory
 * cannot be made for root, which these tests run as, so that case is not tested here.)
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonlFiles, openDuckDbStore, type Analysis } from '../../src/analysis/index.js';
import { analyzeStore, expectSame } from '../helpers/analysis-db.js';
import { generate } from '../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-data-dir-'));
const data = join(root, 'data');
const options = { metric: 'purchase', now: Date.parse('2026-10-05T00:00:00Z') };
let expected: Analysis;
let files: string[];

beforeAll(async () => {
  generate(data, {
    experiment: 'exp',
    units: 800,
    days: 2,
    start: '2026-10-01T00:00:00Z',
    weights: { control: 1, treatment: 1 },
    rates: { control: 0.1, treatment: 0.12 },
  });
  files = jsonlFiles(data);
  expected = await analyzeStore(() => openDuckDbStore(data), options);
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('links under the data directory', () => {
  it('loops, dangling links and a second way to the same file: the same files, the same analysis', async () => {
    const first = readdirSync(data).sort()[0]!;
    symlinkSync('.', join(data, 'self'));
    symlinkSync('..', join(data, 'parent-of-self'));
    symlinkSync(join(root, 'nowhere'), join(data, 'gone'));
    symlinkSync(join(root, 'nowhere.jsonl'), join(data, 'gone.jsonl'));
    symlinkSync('loop.jsonl', join(data, 'loop.jsonl'));
    symlinkSync(first, join(data, 'zz-again.jsonl'));
    expect(jsonlFiles(data)).toEqual(files);
    expectSame((await analyzeStore(() => openDuckDbStore(data), options)).experiments, expected.experiments);
  }, 60_000);
});
