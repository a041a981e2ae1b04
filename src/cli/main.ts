#!/usr/bin/env node
/**
 * The switchyard CLI: argument parsing and printing only; it calls the public API.
 * Exit codes: 0 success, 1 failure at run time, 2 bad arguments or an invalid config.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { loadConfigFile, SwitchyardError, ConfigError } from '../index.js';
import { formatDemo, runDemo } from './demo.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive whole number, found "${value}"`);
    return n;
  };
}

function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, found "${value}"`);
    return n;
  };
}

export function buildProgram(out: (text: string) => void): Command {
  const program = new Command('switchyard')
    .description('OpenFeature-native experimentation: allocation, exposures, guardrails and statistics')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) });

  program
    .command('validate')
    .description('check a config file; prints every problem with file:line:col')
    .argument('[file]', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      const config = loadConfigFile(file);
      const experiments = [...config.experiments.values()].map((e) => ({
        experiment: e.key,
        flag: e.flag,
        mode: e.allocation.mode,
        variants: e.variants.map((v) => v.key),
      }));
      if (opts.json)
        out(JSON.stringify({ valid: true, file, provider: config.featureFlags.provider, experiments }) + '\n');
      else
        out(
          `${file}: valid (provider ${config.featureFlags.provider}, ${experiments.length} experiment${experiments.length === 1 ? '' : 's'})\n`,
        );
    });

  program
    .command('demo')
    .description('synthetic users through a fixed and a gradual experiment on the in-memory provider')
    .option('--users <n>', 'number of synthetic users', positiveInt('--users'), 50_000)
    .option('--ramp-day <days>', 'days since the gradual ramp started', nonNegative('--ramp-day'), 1.5)
    .option('--dir <dir>', 'where the event journal and JSONL exposures go', '.switchyard')
    .option('--json', 'machine-readable output')
    .action(async (opts: { users: number; rampDay: number; dir: string; json?: boolean }) => {
      const reports = await runDemo({ users: opts.users, rampDay: opts.rampDay, dir: opts.dir });
      out((opts.json ? JSON.stringify(reports, null, 2) : formatDemo(reports)) + '\n');
    });

  return program;
}

export async function main(
  argv: string[],
  out = (s: string) => void process.stdout.write(s),
  err = (s: string) => void process.stderr.write(s),
): Promise<number> {
  const program = buildProgram(out);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const debug = argv.includes('--debug');
    if (error instanceof ConfigError) {
      err(`${error.code}: ${error.what}\n`);
      return EXIT.usage;
    }
    if (error instanceof SwitchyardError) err(`${error.code}: ${error.what}\n`);
    else err(`error: ${(error as Error)?.message ?? String(error)}\n`);
    if (debug) err(`${(error as Error)?.stack ?? ''}\n`);
    return error instanceof SwitchyardError && error.code === 'SY_CONFIG_READ' ? EXIT.usage : EXIT.failure;
  }
}

const isEntry =
  process.argv[1] &&
  import.meta.url ===
    (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (isEntry) process.exitCode = await main(process.argv.slice(2));
