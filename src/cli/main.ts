#!/usr/bin/env node
/**
 * The switchyard CLI: argument parsing and printing only; it calls the public API.
 * Exit codes: 0 success, 1 failure at run time (e.g. Redis unreachable, a newer kill
 * decision already in force), 2 bad arguments, an invalid config or an unknown experiment.
 */
import { Command, CommanderError } from 'commander';
import { fstatSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { SwitchyardError, ConfigError } from '../index.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerDemo } from './commands/demo.js';
import { registerRamp } from './commands/ramp.js';
import { registerHistory } from './commands/history.js';
import { registerInit } from './commands/init.js';
import { registerLoad } from './commands/load.js';
import { registerPlan } from './commands/plan.js';
import { registerReport } from './commands/report.js';
import { registerKill } from './commands/kill.js';
import { registerStatus } from './commands/status.js';
import { registerUnkill } from './commands/unkill.js';
import { registerPause } from './commands/pause.js';
import { onInterrupt, terminalLines, type Out } from './commands/shared.js';
import type { ProgressStream } from './commands/analysis-source.js';
import { registerValidate } from './commands/validate.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Each command lives in its own file under commands/ and registers itself here. */
export function buildProgram(out: Out, progress?: ProgressStream): Command {
  const program = new Command('switchyard')
    .description('OpenFeature-native experimentation: allocation, exposures, guardrails and statistics')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) });
  registerInit(program, out);
  registerValidate(program, out);
  registerDemo(program, out);
  registerRamp(program, out);
  registerAnalyze(program, out, progress);
  registerReport(program, out, progress);
  registerLoad(program, out);
  registerHistory(program, out);
  registerPlan(program, out);
  registerStatus(program, out);
  registerKill(program, out);
  registerUnkill(program, out);
  registerPause(program, out);
  return program;
}

let stdoutIsFile: boolean | undefined;

/**
 * The CLI's output to stdout. Redirected to a file, it is written with writeSync in a loop:
 * a file that cannot grow (a full disk, a file size limit) takes part of a write and refuses
 * the rest, where Node's stdout took the short write for done and the output was cut short
 * with exit 0. The refusal is an error (exit 1), naming it.
 */
function writeStdout(text: string): void {
  stdoutIsFile ??= (() => {
    try {
      return fstatSync(1).isFile();
    } catch {
      return false;
    }
  })();
  if (!stdoutIsFile) {
    process.stdout.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  try {
    for (let at = 0; at < bytes.length;) {
      const n = writeSync(1, bytes, at);
      if (n <= 0) throw new Error('no byte was written');
      at += n;
    }
  } catch (error) {
    throw new Error(`cannot write the output (stdout): ${(error as Error).message}`, { cause: error });
  }
}

export async function main(
  argv: string[],
  out = writeStdout,
  err = (s: string) => void process.stderr.write(s),
  /** Where long runs draw their progress bar, when it is a TTY. */
  progress: ProgressStream = process.stderr,
): Promise<number> {
  const program = buildProgram(out, progress);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const debug = argv.includes('--debug');
    // A message may name text from outside (an experiment from the command line): shown escaped.
    const say = (text: string) => err(terminalLines(text));
    if (error instanceof ConfigError) {
      say(`${error.code}: ${error.what}\n`);
      return EXIT.usage;
    }
    if (error instanceof SwitchyardError) say(`${error.code}: ${error.what}\n`);
    else say(`error: ${(error as Error)?.message ?? String(error)}\n`);
    if (debug) say(`${(error as Error)?.stack ?? ''}\n`);
    return error instanceof SwitchyardError && (error.code === 'SY_CONFIG_READ' || error.code === 'SY_INVALID_ARGUMENT')
      ? EXIT.usage
      : EXIT.failure;
  }
}

const isEntry =
  process.argv[1] &&
  import.meta.url ===
    (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (isEntry) {
  // A reader that stopped early (`| head -1`) closed the pipe: the rest of the output has
  // nobody to read it, which is no failure. Left unhandled, the EPIPE ended the process
  // with Node's stack trace.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') return;
      process.exitCode = EXIT.failure;
      if (stream !== process.stderr) process.stderr.write(`error: cannot write the output: ${error.message}\n`);
    });
  // Ctrl-C or a TERM mid-run: what is open is closed (a DuckDB store's directory under the
  // OS temp dir was left behind), then the exit is the shell's 128 + the signal's number. A
  // second signal while that runs ends the process at once, as it would have.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      // Bounded: a store still opening (a PostgreSQL connect) does not hold the exit for long.
      const late = new Promise((resolve) => setTimeout(resolve, 2000).unref());
      void Promise.race([Promise.allSettled([...onInterrupt].map((abandon) => abandon())), late]).then(() =>
        process.exit(128 + constants.signals[signal]),
      );
    });
  // Not over a failure to write the output that came first.
  const code = await main(process.argv.slice(2));
  process.exitCode ||= code;
}
