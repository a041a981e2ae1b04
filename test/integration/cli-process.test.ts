/**
 * The CLI as a separate process, as a shell runs it: a reader that closes the pipe early,
 * and signals in the middle of a run.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

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
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], {
    stdio: 'pipe',
    env: { ...process.env, ...env },
  });
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
});
