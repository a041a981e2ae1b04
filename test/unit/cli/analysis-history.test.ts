/**
 * history on a learning log with lines of the wrong shape (audit: `{"schema":"switchyard.learning/1"}`
 * crashed it with "Cannot read properties of undefined (reading 'slice')"): such lines are
 * skipped and counted, each named by file:line; the entries around them are listed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { appendLearning, readLearning, type LearningEntry } from '../../../src/analysis/index.js';

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

describe('the learning log records the decision statistic of the primary metric', () => {
  it('the result the decision read, not the primary statistic with the smallest p; plan finds its baseline (audit: mean_value logged, plan: no baseline)', async () => {
    // Half the units of each arm buy; treatment's purchases are worth ten times more: the
    // decision (on conversion) sees no effect, mean_value a large one.
    const data = join(dir, 'value-only');
    mkdirSync(data);
    const lines: string[] = [];
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    for (let i = 0; i < 800; i++) {
      const variant = i % 2 === 0 ? 'control' : 'treatment';
      const ts = new Date(t0 + i * 60_000).toISOString();
      lines.push(
        JSON.stringify({ schema: 'switchyard.exposure/1', id: `x${i}`, ts, unit: `u${i}`, experiment: 'exp', variant }),
      );
      if (i % 4 < 2)
        lines.push(
          JSON.stringify({
            schema: 'switchyard.event/1',
            id: `e${i}`,
            ts: new Date(t0 + i * 60_000 + 1000).toISOString(),
            unit: `u${i}`,
            event: 'purchase',
            value: (variant === 'control' ? 10 : 100) + (i % 7),
          }),
        );
    }
    writeFileSync(join(data, 'day.jsonl'), lines.join('\n') + '\n');
    const a = await cli('analyze', 'exp', '--data', data, '--metric', 'purchase', '--json');
    expect(a.code).toBe(0);
    const metrics = (
      JSON.parse(a.out) as { experiments: { metrics: { statistic: string; adjustedPValue: number }[] }[] }
    ).experiments[0]!.metrics;
    const p = (statistic: string) => metrics.find((m) => m.statistic === statistic)!.adjustedPValue;
    expect(p('mean_value')).toBeLessThan(p('conversion'));
    const logged = JSON.parse(readFileSync(join(data, 'learning-log.ndjson'), 'utf8').trim()) as Record<
      string,
      unknown
    >;
    expect(logged.statistic).toBe('conversion');
    expect(logged.control).toBe(0.5);
    const plan = await cli('plan', '--metric', 'purchase', '--daily', '100', '--data', data);
    expect(plan.err).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/from a 50\.00% baseline/);
  }, 30_000);
});

describe('an append to a learning log whose last line has no newline', () => {
  it('starts a line of its own: both entries are read (audit: the new entry was glued to the last line, both lost as "not JSON")', async () => {
    // As an editor that adds no final newline leaves the file, or a write cut short.
    const data = join(dir, 'no-final-newline');
    mkdirSync(data);
    const file = join(data, 'learning-log.ndjson');
    writeFileSync(file, JSON.stringify(entry));
    await appendLearning({ dir: data }, [{ ...entry, experiment: 'search' } as LearningEntry]);
    const skipped: string[] = [];
    const read = await readLearning({ dir: data }, (where) => skipped.push(where));
    expect(skipped).toEqual([]);
    expect(read.map((e) => e.experiment)).toEqual(['checkout', 'search']);
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
  });
});

describe('plan counts past experiments, not analyses', () => {
  it('an experiment analysed again and again is one past result, its latest (audit: "3 past experiments" for one analysed three times)', async () => {
    // analyze and report each append the decision: an experiment analysed daily, as "keep
    // running N more days" asks, is in the log once per run.
    const data = join(dir, 'reanalysed');
    mkdirSync(data);
    const at = (day: number) => `2026-10-${String(day).padStart(2, '0')}T10:00:00.000Z`;
    await appendLearning({ dir: data }, [
      { ...entry, ts: at(1), experiment: 'checkout', relative: 0.4, decision: 'keep_running' },
      { ...entry, ts: at(2), experiment: 'checkout', relative: 0.3, decision: 'keep_running' },
      { ...entry, ts: at(3), experiment: 'checkout', relative: 0.35, decision: 'keep_running' },
      { ...entry, ts: at(4), experiment: 'search', relative: 0.02, decision: 'dont_ship' },
      { ...entry, ts: at(5), experiment: 'checkout', relative: 0.1, decision: 'ship' },
    ] as LearningEntry[]);
    const p = await cli('plan', '--metric', 'purchase', '--daily', '2000', '--data', data, '--json');
    expect(p.err).toBe('');
    expect(p.code).toBe(0);
    const plan = JSON.parse(p.out) as { past: LearningEntry[]; sentences: string[] };
    expect(plan.past.map((e) => [e.experiment, e.relative])).toEqual([
      ['checkout', 0.1],
      ['search', 0.02],
    ]);
    // The median of 0.1 and 0.02 (the upper one of two, as before), not of 0.4, 0.3, 0.35, 0.02, 0.1.
    expect(plan.sentences[1]).toBe(
      '2 past experiments on purchase moved it by 10.0% (median, absolute); the latest: checkout (ship).',
    );
  });
});
