import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exposureEventSchema, trackedEventSchema } from '../../../src/exposure/index.js';
import { cli } from '../../helpers/cli.js';
import { runDemo } from '../../../src/cli/demo.js';
import { MAX_CONFIG_BYTES } from '../../../src/config/index.js';

describe('switchyard validate', () => {
  it('accepts the annotated example config', async () => {
    const r = await cli('validate', 'examples/switchyard.yaml', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      valid: true,
      provider: 'memory',
      experiments: [
        { experiment: 'checkout-redesign', mode: 'gradual' },
        { experiment: 'new-search', mode: 'fixed' },
      ],
    });
  });

  it('prints located problems and exits 2 for an invalid config', async () => {
    const r = await cli('validate', 'test/fixtures/config/invalid.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^SY_CONFIG_INVALID: 2 problems in test\/fixtures\/config\/invalid.yaml/);
    expect(r.err).toContain(
      'invalid.yaml:6:7 experiments.search.variants: variant weights must add up to exactly 100 (they are percentages), found 80',
    );
    expect(r.err).toContain('unknown key "mod"; did you mean "mode"?');
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('--json on an invalid or unreadable config: the problems as JSON on stdout too, located, exit 2', async () => {
    const r = await cli('validate', 'test/fixtures/config/invalid.yaml', '--json');
    expect(r.code).toBe(2);
    const body = JSON.parse(r.out) as {
      valid: boolean;
      file: string;
      code: string;
      problems: Record<string, unknown>[];
    };
    expect(body).toMatchObject({ valid: false, file: 'test/fixtures/config/invalid.yaml', code: 'SY_CONFIG_INVALID' });
    expect(body.problems).toHaveLength(2);
    expect(body.problems).toContainEqual({
      line: 6,
      column: 7,
      path: 'experiments.search.variants',
      message: 'variant weights must add up to exactly 100 (they are percentages), found 80',
    });
    expect(r.err).toMatch(/^SY_CONFIG_INVALID: 2 problems/);
    const missing = await cli('validate', 'no/such/file.yaml', '--json');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.out)).toMatchObject({
      valid: false,
      file: 'no/such/file.yaml',
      code: 'SY_CONFIG_READ',
      problems: [{ line: 0, column: 0, path: '', message: expect.stringMatching(/cannot read config file/) }],
    });
  });

  it('exits 2 at once for a config path that is a pipe, and for one over 4 MB (the real CLI: a pipe hung it for good)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fifo-'));
    const fifo = join(dir, 'switchyard.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    for (const [file, why] of [
      [fifo, 'it is not a regular file (a pipe, socket or device)'],
      [huge, `it has ${MAX_CONFIG_BYTES + 3} bytes, over the ${MAX_CONFIG_BYTES} a config file may have`],
    ] as const) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'validate', file], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect({ status: child.status, signal: child.signal, stdout: child.stdout }).toEqual({
        status: 2,
        signal: null,
        stdout: '',
      });
      expect(child.stderr).toBe(`SY_CONFIG_READ: cannot read config file ${file}: ${why}\n`);
    }
  }, 60_000);

  it('exits 2 for a config that is not UTF-8, naming the first bad byte, where its bytes became U+FFFD', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-latin1-'));
    const file = join(dir, 'switchyard.yaml');
    // Saved as Latin-1: the payload's "é" is the single byte 0xe9.
    const yaml =
      'experiments:\n  checkout:\n    variants:\n      control: { weight: 50 }\n      treatment: { weight: 50, payload: { title: "Caf\u00e9" } }\n';
    writeFileSync(file, Buffer.from(yaml, 'latin1'));
    const r = await cli('validate', file);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `SY_CONFIG_READ: cannot read config file ${file}: it is not UTF-8 text (byte 0xe9 at line 5, column 54); save it as UTF-8\n`,
    );
    // A UTF-8 file, byte order mark and all, reads as before.
    writeFileSync(file, `\ufeff${yaml}`);
    expect((await cli('validate', file)).code).toBe(0);
  });

  it('exits 2 with a clear message for a missing file', async () => {
    const r = await cli('validate', 'no/such/file.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^SY_CONFIG_READ: cannot read config file no\/such\/file.yaml/);
  });
});

describe('switchyard init', () => {
  it('writes the annotated reference config, which validates and points editors at the schema (DESIGN: CLI init; it did not exist)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-init-'));
    const file = join(dir, 'switchyard.yaml');
    const r = await cli('init', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote ${file}: the annotated reference config; edit it, then: switchyard validate ${file}\n`);
    const written = readFileSync(file, 'utf8');
    const reference = readFileSync('examples/switchyard.yaml', 'utf8');
    const schemaLine = /^# yaml-language-server: \$schema=(.*)$/m;
    expect(written.replace(schemaLine, '')).toBe(reference.replace(schemaLine, ''));
    expect(resolve(dirname(file), schemaLine.exec(written)![1]!)).toBe(resolve('schema/switchyard.schema.json'));
    expect(await cli('validate', file)).toMatchObject({
      code: 0,
      out: `${file}: valid (provider memory, 2 experiments)\n`,
    });
  });

  it('never overwrites a file: exit 2, the file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-init-'));
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, 'experiments: {}\n');
    const r = await cli('init', file);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`SY_INVALID_ARGUMENT: ${file} already exists; init writes a new config only\n`);
    expect(readFileSync(file, 'utf8')).toBe('experiments: {}\n');
    const missing = join(dir, 'no-such-dir', 'switchyard.yaml');
    const m = await cli('init', missing);
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/^SY_INVALID_ARGUMENT: cannot write .*no-such-dir\/switchyard\.yaml: ENOENT/);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('switchyard demo', () => {
  it('rejects bad arguments with exit code 2', async () => {
    expect((await cli('demo', '--users', 'many')).code).toBe(2);
    expect((await cli('no-such-command')).code).toBe(2);
  });

  it.each([
    ['--users', '0x10'],
    ['--users', '0b11'],
    ['--users', ' '],
    ['--ramp-day', '0o7'],
    ['--ramp-day', ''],
  ])('%s %j: a usage error (not read as 16, 3, 0 or 7), nothing run', async (option, value) => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-demo-'));
    const r = await cli('demo', '--users', '10', option, value, '--dir', dir);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each(['1e300', '1e8', '1e6', '36501'])(
    '--ramp-day %s (beyond a century): exit 2 as a usage error, not a failed run (Invalid time value) or an invalid demo config',
    async (days) => {
      const dir = mkdtempSync(join(tmpdir(), 'sy-demo-'));
      const r = await cli('demo', '--users', '10', '--ramp-day', days, '--dir', dir);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(''); // commander printed the usage error; nothing ran
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  it('--dir that cannot be a directory: exit 2 naming it, before anything runs (the real CLI; it exited 13, silently)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'sy-demo-'));
    const file = join(parent, 'a-file');
    writeFileSync(file, 'not a directory');
    for (const dir of [file, join(file, 'sub')]) {
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--users', '10', '--dir', dir],
        { encoding: 'utf8', timeout: 50_000 },
      );
      expect({ status: child.status, stdout: child.stdout }).toEqual({ status: 2, stdout: '' });
      expect(child.stderr).toMatch(/^SY_INVALID_ARGUMENT: --dir /);
      expect(child.stderr).toContain(`${dir} cannot be a directory for the demo's events: ENOTDIR`);
    }
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  }, 60_000);

  it('splits users by weight and reports the ramp step from the clock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-demo-'));
    const report = await runDemo({ users: 20_000, rampDay: 1.5, now: Date.parse('2026-12-03T00:00:00Z'), dir });
    const [fixed, gradual] = report.experiments;
    expect(fixed).toMatchObject({ experiment: 'new-search', mode: 'fixed', inExperiment: 20_000, trafficPercent: 100 });
    for (const v of Object.values(fixed!.variants)) expect(Math.abs(v.share - v.expectedShare)).toBeLessThan(0.02);
    expect(gradual).toMatchObject({
      experiment: 'checkout-redesign',
      mode: 'gradual',
      rampStep: 1,
      trafficPercent: 10,
    });
    expect(Math.abs(gradual!.inExperiment / 20_000 - 0.1)).toBeLessThan(0.01);

    // Every exposure and event went through the pipeline into the JSONL files, schema-valid.
    expect(report.events.exposures).toBe(fixed!.inExperiment + gradual!.inExperiment);
    expect(report.events).toMatchObject({
      delivered: report.events.exposures + report.events.events,
      pending: 0,
      dropped: 0,
    });
    const lines = readdirSync(join(dir, 'exposures')).flatMap((f) =>
      readFileSync(join(dir, 'exposures', f), 'utf8')
        .trim()
        .split('\n'),
    );
    expect(lines).toHaveLength(report.events.delivered);
    const records = lines.map((l) => JSON.parse(l));
    for (const r of records) {
      const schema = r.schema === 'switchyard.exposure/1' ? exposureEventSchema : trackedEventSchema;
      expect(schema.safeParse(r).success).toBe(true);
    }
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    expect(records.find((r) => r.schema === 'switchyard.exposure/1').attributes).toHaveProperty('country');
  });

  it('prints a readable table', async () => {
    const r = await cli('demo', '--users', '2000', '--ramp-day', '4', '--dir', mkdtempSync(join(tmpdir(), 'sy-demo-')));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/new-search \(fixed, 100% of traffic\): 2,000 of 2,000 users in the experiment/);
    expect(r.out).toMatch(/checkout-redesign \(gradual, ramp step 3 at 50% of traffic\)/);
    expect(r.out).toMatch(/treatment\s+\d+\s+\d+\.\d\d%\s+50\.00%/);
    expect(r.out).toMatch(
      /events: [\d,]+ exposures and [\d,]+ tracked events logged; [\d,]+ delivered to JSONL in .*, 0 pending, 0 dropped/,
    );
    // The demo ends with an analysis of its own data and the path of its HTML report.
    expect(r.out).toMatch(/analysis: checkout-redesign: (ship|dont_ship|keep_running|stop) - /);
    const html = /HTML report: (.*report\.html)/.exec(r.out)?.[1];
    expect(html && readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/);
  });
});
