/** The analysis commands through main(): analyze, report, load, and demo ending with its own analysis. */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { parseConfig } from '../../../src/config/index.js';
import { generate } from '../../helpers/analysis-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-cli-analysis-'));
const data = join(dir, 'data');
// Dated in the past: the CLI analyses at the real time, and leaves out exposures more than a day after it.
generate(data, {
  experiment: 'checkout',
  start: '2026-10-01T00:00:00Z',
  units: 30_000,
  weights: { control: 50, treatment: 50 },
  rates: { control: 0.4, treatment: 0.43 },
  segment: { attribute: 'country', values: ['DE', 'FR'] },
});
const config = join(dir, 'switchyard.yaml');
writeFileSync(
  config,
  [
    'experiment_config: { min_sample_size: 5000 }',
    'analysis: { segments: [country] }',
    'experiments:',
    '  checkout:',
    '    hypothesis: One-page checkout sells more.',
    '    owner: team-checkout',
    '    variants: { control: { weight: 50 }, treatment: { weight: 50 } }',
    '    primary_metric: purchase',
  ].join('\n'),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('switchyard analyze / report / load', () => {
  it('an OS temp dir where DuckDB cannot make its directory is a located SY_ANALYSIS_STORE, exit 1', async () => {
    const before = process.env.TMPDIR;
    process.env.TMPDIR = join(dir, 'no-such-tmp');
    try {
      const r = await cli('analyze', '--data', data, '--no-log');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /^SY_ANALYSIS_STORE: cannot make DuckDB's directory in the OS temp dir .*no-such-tmp .*TMPDIR/,
      );
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });

  it('analyze prints the decision; --json gives the documented schema', async () => {
    const r = await cli('analyze', 'checkout', '--data', data, '--config', config);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/== checkout {2}\[SHIP\]/);
    expect(r.out).toMatch(/primary {3}purchase conversion treatment: \d\d\.\d\d% -> \d\d\.\d\d%, \d+\.\d\d% \[/);
    const j = await cli('analyze', 'checkout', '--data', data, '--config', config, '--json');
    const parsed = JSON.parse(j.out) as {
      schema: string;
      experiments: { decision: { decision: string }; hypothesis: string }[];
    };
    expect(parsed.schema).toBe('switchyard.analysis/1');
    expect(parsed.experiments[0]!.decision.decision).toBe('ship');
    expect(parsed.experiments[0]!.hypothesis).toBe('One-page checkout sells more.');
  }, 60_000);

  it('report writes HTML, Markdown and JSON files; follow-up configs validate', async () => {
    for (const format of ['html', 'md', 'json']) {
      const out = join(dir, `report.${format}`);
      const r = await cli('report', 'checkout', '--data', data, '--config', config, '--format', format, '--out', out);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`report written to ${out}`);
      expect(existsSync(out)).toBe(true);
    }
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('**Decision: SHIP**');
    const a = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      experiments: { followUps: { config: string }[] }[];
    };
    for (const f of a.experiments[0]!.followUps) expect(() => parseConfig(f.config)).not.toThrow();
  }, 90_000);

  it('history lists the decisions analyze appended; plan reads the baseline from the log', async () => {
    const h = await cli('history', 'checkout', '--data', data);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/ {2}checkout {2}ship purchase \d+\.\d\d% \(treatment\): Ship treatment/);
    expect(h.out).toContain('hypothesis: One-page checkout sells more. (owner team-checkout)');
    const p = await cli('plan', '--metric', 'purchase', '--daily', '2000', '--mde', '0.05', '--data', data, '--json');
    expect(p.code).toBe(0);
    const plan = JSON.parse(p.out) as {
      baseline: number;
      baselineFrom: string;
      design: { perArm: number };
      sentences: string[];
    };
    expect(plan.baselineFrom).toBe('log');
    expect(plan.baseline).toBeGreaterThan(0.38);
    expect(plan.baseline).toBeLessThan(0.42);
    expect(plan.design.perArm).toBeGreaterThan(5000);
    expect(plan.sentences[1]).toMatch(/past experiments? on purchase moved it by/);
    const none = await cli('plan', '--metric', 'never-seen', '--daily', '100', '--data', data);
    expect(none.code).toBe(2); // SY_INVALID_ARGUMENT is a usage error (main.ts): give --baseline
    expect(none.err).toMatch(/no baseline for "never-seen"/);
    expect((await cli('plan', '--metric', 'x', '--daily', '100', '--mde', '3')).code).toBe(2);
  });

  it('exits with a clear error for a missing data directory or an unknown experiment', async () => {
    const r = await cli('analyze', '--data', join(dir, 'nope'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^SY_ANALYSIS_NO_DATA: cannot read the data directory/);
    const u = await cli('analyze', 'no-such', '--data', data);
    expect(u.code).toBe(1);
    expect(u.err).toMatch(/^SY_ANALYSIS_NO_DATA: no exposures of "no-such"/);
  }, 30_000);

  it('an experiment with one arm to compare says so, not that it has no exposures', async () => {
    const solo = join(dir, 'solo');
    generate(solo, {
      experiment: 'solo',
      start: '2026-10-01T00:00:00Z',
      units: 300,
      days: 2,
      weights: { control: 1 },
      rates: { control: 0.4 },
    });
    // Data of one variant, no config: nothing to compare it with.
    const d = await cli('analyze', 'solo', '--data', solo, '--no-log');
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/^SY_ANALYSIS_NO_DATA: "solo" has exposures of one variant only \(control 300 units\)/);
    // A config that weights one variant (treatment at 0, as when an arm is switched off).
    const soloConfig = join(dir, 'solo.yaml');
    writeFileSync(
      soloConfig,
      [
        'experiments:',
        '  solo:',
        '    variants: { control: { weight: 100 }, treatment: { weight: 0 } }',
        '    primary_metric: purchase',
      ].join('\n'),
    );
    const c = await cli('analyze', 'solo', '--data', solo, '--config', soloConfig, '--no-log');
    expect(c.code).toBe(1);
    expect(c.err).toMatch(
      /^SY_ANALYSIS_NO_DATA: "solo" has one variant with a weight in the config \(control\): nothing to compare \(units: control 300, treatment 0\)/,
    );
    // Not named, beside an experiment that is analysed: listed as not analysed, not dropped in silence.
    const both = join(dir, 'solo-and-exp');
    cpSync(solo, join(both, 'solo'), { recursive: true });
    cpSync(data, join(both, 'exp'), { recursive: true });
    const all = await cli('analyze', '--data', both, '--metric', 'purchase', '--no-log', '--json');
    expect(all.code).toBe(0);
    const a = JSON.parse(all.out) as { experiments: { experiment: string }[]; notAnalysed: unknown[] };
    expect(a.experiments.map((e) => e.experiment)).toEqual(['checkout']);
    expect(a.notAnalysed).toEqual([
      { experiment: 'solo', reason: 'has exposures of one variant only (control 300 units): nothing to compare' },
    ]);
    const text = await cli('analyze', '--data', both, '--metric', 'purchase', '--no-log');
    expect(text.out).toContain(
      'Not analysed: solo has exposures of one variant only (control 300 units): nothing to compare.',
    );
  }, 30_000);

  it('load copies the files into PostgreSQL and analyze --pg gives the same decision', async () => {
    const db = `sy_cli_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    try {
      const url = `postgres://postgres@127.0.0.1:5432/${db}`;
      const l = await cli('load', '--data', data, '--pg', url);
      expect(l.code).toBe(0);
      expect(l.out).toMatch(
        /^loaded \d+ file\(s\): 30000 exposures, \d+ events; 0 empty and 0 malformed lines skipped/,
      );
      const r = await cli('analyze', 'checkout', '--pg', url, '--config', config);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/switchyard analysis \(postgres\)/);
      expect(r.out).toMatch(/== checkout {2}\[SHIP\]/);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  }, 90_000);
});
