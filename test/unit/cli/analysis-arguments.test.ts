/**
 * Bad arguments to the analysis commands are usage errors (exit 2) with an SY code, found
 * before anything is written: report --out that cannot be written (audit: raw EISDIR after
 * the learning log was appended), plan values that mean nothing (audit: --arms 1 exit 1,
 * --daily 1e300, --power 1e-300 and --arms 1e9 accepted), an unreadable --pg URL; and an
 * error never prints a secret the config interpolated from the environment.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { generate } from '../../helpers/analysis-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-cli-arguments-'));
const data = join(dir, 'data');
generate(data, {
  experiment: 'exp',
  start: '2026-10-01T00:00:00Z',
  days: 2,
  units: 400,
  weights: { control: 1, treatment: 1 },
  rates: { control: 0.1, treatment: 0.12 },
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('analysis command arguments', () => {
  it('report --out a directory or in a missing directory: exit 2 before the analysis logs anything', async () => {
    mkdirSync(join(dir, 'a-dir'));
    for (const [out, why] of [
      [join(dir, 'a-dir'), /is a directory/],
      [join(dir, 'missing', 'r.html'), /which is not a directory that exists/],
    ] as const) {
      const r = await cli('report', 'exp', '--data', data, '--metric', 'purchase', '--out', out);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^SY_INVALID_ARGUMENT: --out /);
      expect(r.err).toMatch(why);
      expect(existsSync(join(data, 'learning-log.ndjson'))).toBe(false);
    }
  }, 60_000);

  it.each([
    ['--arms', '1'],
    ['--arms', '1e9'],
    ['--daily', '1e300'],
    ['--power', '1e-300'],
    ['--mde', '1e-300'],
    ['--alpha', '0.9'],
    ['--baseline', '1e-300'],
    // Not decimal numbers (audit: read by Number() as 16 units a day, 3 arms, a 5% MDE).
    ['--daily', '0x10'],
    ['--arms', '0o3'],
    ['--arms', '0b11'],
    ['--mde', '0x0.05'],
    ['--daily', '1_000'],
  ])('plan %s %s: exit 2 with a message', async (option, value) => {
    const args = ['plan', '--metric', 'purchase', '--daily', '1000', '--baseline', '0.1', option, value];
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  it('a --pg URL that is not a URL: SY_INVALID_ARGUMENT, exit 2, no password', async () => {
    const r = await cli('analyze', 'exp', '--no-log', '--pg', 'postgres://u:pw-secret@[bad/x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^SY_INVALID_ARGUMENT: the PostgreSQL URL cannot be read/);
    expect(r.err).not.toContain('pw-secret');
  });

  it("an error naming a path built from the environment shows *** for the variable's value", async () => {
    const config = join(dir, 'switchyard.yaml');
    writeFileSync(config, 'analytics:\n  jsonl: { dir: "/nonexistent/${SY_TEST_DATA_TOKEN}" }\n');
    process.env.SY_TEST_DATA_TOKEN = 'tok_SUPERSECRET123';
    try {
      const r = await cli('analyze', '--no-log', '--config', config);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^SY_ANALYSIS_NO_DATA: cannot read the data directory \/nonexistent\/\*\*\*/);
      expect(r.err).not.toContain('tok_SUPERSECRET123');
    } finally {
      delete process.env.SY_TEST_DATA_TOKEN;
    }
  });
});
