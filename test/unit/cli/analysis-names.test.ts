/**
 * Names from the data reach the terminal through report's summary, history and plan as
 * they do through analyze: control characters shown as \uXXXX (audit: a variant name with
 * escape sequences cleared the screen, retitled the window and forged an output line).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { generate } from '../../helpers/analysis-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-cli-names-'));
const data = join(dir, 'data');
const HOSTILE = 'T\u001b[2J\u001b]0;pwned\u0007X\nFAKE: ship everything';
const EXPERIMENT = 'e\u001b[31m\nFAKE: exp';
generate(data, {
  experiment: EXPERIMENT,
  start: '2026-10-01T00:00:00Z',
  days: 8,
  units: 22_000,
  weights: { control: 50, treatment: 50 },
  rates: { control: 0.1, treatment: 0.13 },
  variantNames: { treatment: HOSTILE },
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** No raw control character but the newlines that end lines, and no line forged from a name. */
function expectClean(text: string): void {
  expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  expect(text).not.toMatch(/^FAKE/m);
}

describe('names with control characters are escaped on stdout', () => {
  it('report, history and plan print them as \\uXXXX, as analyze does', async () => {
    const a = await cli('analyze', EXPERIMENT, '--data', data, '--metric', 'purchase', '--no-log');
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    expect(a.out).toContain('T\\u001b[2J\\u001b]0;pwned\\u0007X\\u000aFAKE');
    expectClean(a.out);
    const r = await cli(
      'report',
      EXPERIMENT,
      '--data',
      data,
      '--metric',
      'purchase',
      '--format',
      'md',
      '--out',
      join(dir, 'r.md'),
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ship: .*T\\u001b\[2J/);
    expectClean(r.out);
    const h = await cli('history', '--data', data);
    expect(h.code).toBe(0);
    expect(h.out).toContain('T\\u001b[2J');
    expect(h.out).toContain('e\\u001b[31m\\u000aFAKE: exp');
    expectClean(h.out);
    const p = await cli('plan', '--metric', 'purchase', '--daily', '1000', '--baseline', '0.1', '--data', data);
    expect(p.code).toBe(0);
    expect(p.out).toContain('e\\u001b[31m\\u000aFAKE: exp');
    expectClean(p.out);
  }, 120_000);
});
