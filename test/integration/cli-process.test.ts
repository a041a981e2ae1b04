/**
 * The CLI as a separate process, as a shell runs it: a reader that closes the pipe early,
 * and signals in the middle of a run.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generate } from '../helpers/analysis-data.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-process-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], {
    stdio: 'pipe',
    env: { ...process.env, ...env },
  });
  // A test that fails or times out leaves no CLI running behind it (one did, for half an hour).
  cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  return child;
}

async function ended(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  return { code, signal, err };
}

describe('the CLI as a process', { timeout: 60_000 }, () => {
  it('a reader that closed its end of the pipe (| head -1) ends nothing with a stack trace', async () => {
    for (const argv of [['--help'], ['demo', '--users', '200', '--dir', join(scratch(), 'demo')]]) {
      const child = start(argv);
      // Closed before the CLI writes a byte: every write to stdout fails with EPIPE.
      child.stdout.destroy();
      const { code, err } = await ended(child);
      expect(err, argv.join(' ')).toBe('');
      expect(code, argv.join(' ')).toBe(0);
    }
  });

  it('stdout a file that cannot grow (a full disk, a file size limit): exit 1 saying so, not the output cut short with exit 0', async () => {
    const dir = scratch();
    const file = join(dir, 'out.json');
    const fd = openSync(file, 'w');
    try {
      // RLIMIT_FSIZE 100 bytes: the 300-byte answer is written in part, then refused (EFBIG).
      const child = spawn(
        'prlimit',
        [
          '--fsize=100',
          process.execPath,
          '--import',
          'tsx',
          'src/cli/main.ts',
          'validate',
          'examples/switchyard.yaml',
          '--json',
        ],
        { stdio: ['ignore', fd, 'pipe'] },
      );
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(readFileSync(file, 'utf8').length).toBeLessThanOrEqual(100);
      expect(code).toBe(1);
      expect(err).toMatch(/^error: cannot write the output \(stdout\): EFBIG/);
    } finally {
      closeSync(fd);
    }
  });

  it('SIGINT or SIGTERM in the middle of analyze and report leaves no DuckDB directory behind', async () => {
    const dir = scratch();
    const data = join(dir, 'data');
    generate(data, {
      experiment: 'checkout',
      units: 200_000,
      weights: { control: 0.5, treatment: 0.5 },
      rates: { control: 0.1, treatment: 0.12 },
      start: '2026-10-01',
    });
    const runs: [string[], NodeJS.Signals][] = [
      [['analyze', '--data', data, '--metric', 'purchase'], 'SIGINT'],
      [['report', 'checkout', '--data', data, '--metric', 'purchase', '--out', join(dir, 'r.html')], 'SIGTERM'],
    ];
    for (const [argv, signal] of runs) {
      // A TMPDIR of the test's own: the store's sy-duckdb-* directory is made there.
      const tmp = join(dir, `tmp-${signal}`);
      mkdirSync(tmp);
      const child = start(argv, { TMPDIR: tmp });
      const exit = ended(child);
      const own = () => readdirSync(tmp).filter((name) => name.startsWith('sy-duckdb-'));
      while (own().length === 0) await new Promise((r) => setTimeout(r, 10));
      child.kill(signal);
      const { code, err } = await exit;
      expect(own(), `${argv[0]} after ${signal}`).toEqual([]);
      expect(code, `${argv[0]} after ${signal}`).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(err, `${argv[0]} after ${signal}`).toBe('');
      expect(existsSync(join(dir, 'r.html'))).toBe(false);
    }
  });
});
