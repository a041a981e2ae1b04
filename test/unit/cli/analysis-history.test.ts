/**
 * history on a learning log with lines of the wrong shape (audit: `{"schema":"switchyard.learning/1"}`
 * crashed it with "Cannot read properties of undefined (reading 'slice')"): such lines are
 * skipped and counted, each named by file:line; the entries around them are listed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-cli-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = {
  schema: 'switchyard.learning/1',
  ts: '2026-10-09T10:00:00.000Z',
  experiment: 'checkout',
  hypothesis: null,
  owner: null,
  primaryMetric: 'purchase',
  statistic: 'conversion',
  control: 0.1,
  variant: 'treatment',
  treatment: 0.11,
  relative: 0.1,
  relativeCi: { lower: 0.05, upper: 0.15 },
  adjustedPValue: 0.001,
  units: 20000,
  days: 8,
  decision: 'ship',
  reason: 'Ship treatment.',
  insights: [],
};

describe('history skips learning-log lines that are not entries', () => {
  it('names each by file:line and lists the rest', async () => {
    const file = join(dir, 'learning-log.ndjson');
    writeFileSync(
      file,
      [
        JSON.stringify(entry),
        '{"schema":"switchyard.learning/1"}',
        'not json',
        JSON.stringify({ ...entry, relative: '10%' }),
        '',
        JSON.stringify({ ...entry, experiment: 'search', relative: null }),
        '[1,2]',
      ].join('\n') + '\n',
    );
    const h = await cli('history', '--data', dir);
    expect(h.err).toBe('');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^2026-10-09 {2}checkout {2}ship purchase 10\.00% \(treatment\): Ship treatment\.$/m);
    expect(h.out).toMatch(/^2026-10-09 {2}search {2}ship: Ship treatment\.$/m);
    expect(h.out).toContain(
      `note: skipped 4 line(s) of the learning log that are not entries: ${file}:2 (not a switchyard.learning/1 entry with its fields), ${file}:3 (not JSON), ${file}:4 (`,
    );
    expect(h.out).toContain(`${file}:7 (`);
    const j = await cli('history', '--data', dir, '--json');
    expect(j.code).toBe(0);
    expect((JSON.parse(j.out) as unknown[]).length).toBe(2);
    const p = await cli('plan', '--metric', 'purchase', '--daily', '1000', '--data', dir, '--json');
    expect(p.code).toBe(0);
    expect((JSON.parse(p.out) as { baseline: number }).baseline).toBe(0.1);
  });
});

describe('history --data a directory that does not exist', () => {
  it('is a usage error naming it, not an empty log (audit: exit 0, "the learning log is empty")', async () => {
    const h = await cli('history', '--data', join(dir, 'nope'));
    expect(h.code).toBe(2);
    expect(h.err).toBe(
      `SY_INVALID_ARGUMENT: --data ${join(dir, 'nope')} does not exist (the learning log sits in the JSONL data directory)\n`,
    );
    const there = join(dir, 'no-log-yet');
    mkdirSync(there);
    const empty = await cli('history', '--data', there);
    expect(empty.code).toBe(0);
    expect(empty.out).toBe('the learning log is empty\n');
  });
});
