/**
 * The progress bar of long runs (analyze, report): drawn on a terminal, never on anything
 * else, so piped output stays clean JSON or text. A fake terminal is a stream with isTTY and
 * columns, passed to main() where the real CLI passes process.stderr.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { progressBar, type ProgressStream } from '../../../src/cli/commands/analysis-source.js';
import { main } from '../../../src/cli/main.js';
import { generate } from '../../helpers/analysis-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-progress-'));
const EXPERIMENT = 'check\u001b[31mout\u0007';
generate(dir, {
  experiment: EXPERIMENT,
  units: 2000,
  weights: { control: 50, treatment: 50 },
  rates: { control: 0.3, treatment: 0.33 },
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeStream(isTTY: boolean, columns?: number): ProgressStream & { written: string[] } {
  const written: string[] = [];
  return { isTTY, ...(columns ? { columns } : {}), written, write: (s: string) => written.push(s) };
}

async function run(progress: ProgressStream, ...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(
    args,
    (s) => void (out += s),
    (s) => void (err += s),
    progress,
  );
  return { code, out, err };
}

describe('the progress bar', () => {
  it('is drawn in place on a terminal: every step, the last one full, then a newline; the output stays clean', async () => {
    const tty = fakeStream(true, 100);
    const r = await run(tty, 'analyze', EXPERIMENT, '--data', dir, '--metric', 'purchase', '--json', '--no-log');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).experiments[0].experiment).toBe(EXPERIMENT);
    const frames = tty.written.filter((s) => s !== '\n');
    // Two scans of the data, then the one experiment: 0/3 .. 3/3 (the exposure scan starts at 0/2).
    expect(frames.map((f) => /\] (\d+\/\d+) /.exec(f)?.[1])).toEqual(['0/2', '1/3', '2/3', '3/3']);
    for (const f of frames) {
      expect(f.startsWith('\r[')).toBe(true);
      expect(f.endsWith('\u001b[K')).toBe(true);
      expect(f.length).toBeLessThanOrEqual(100 + '\r\u001b[K'.length);
    }
    expect(frames.at(-1)).toContain(`[${'#'.repeat(30)}] 3/3 check?[31mout?`);
    // The name's control characters are not written raw: the only escape is the line clear.
    expect(frames.join('').replaceAll('\u001b[K', '').replaceAll('\r', '')).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    expect(tty.written.at(-1)).toBe('\n');
  }, 60_000);

  it('fits a narrow terminal', () => {
    const tty = fakeStream(true, 40);
    progressBar(tty)!(1, 4, 'a very long experiment name that cannot fit');
    expect(tty.written[0]!.replace('\r', '').replace('\u001b[K', '').length).toBeLessThanOrEqual(39);
    expect(tty.written[0]).toMatch(/^\r\[###\.{7}\] 1\/4 a very/);
  });

  it('is never drawn when the stream is not a terminal', async () => {
    expect(progressBar(fakeStream(false, 100))).toBeUndefined();
    const piped = fakeStream(false, 100);
    const r = await run(piped, 'analyze', EXPERIMENT, '--data', dir, '--metric', 'purchase', '--no-log');
    expect(r.code).toBe(0);
    expect(piped.written).toEqual([]);
    expect(r.out).toContain('[');
  }, 60_000);

  it('leaves piped stdout and stderr of the real CLI clean', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'analyze',
        EXPERIMENT,
        '--data',
        dir,
        '--metric',
        'purchase',
        '--json',
        '--no-log',
      ],
      { encoding: 'utf8' },
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout).experiments[0].experiment).toBe(EXPERIMENT);
  }, 60_000);
});
