/** `switchyard demo`: synthetic users through the embedded defaults (in-memory provider, JSONL). */
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { SwitchyardError } from '../../index.js';
import { demoConfig, formatDemo, runDemo } from '../demo.js';
import { nonNegative, positiveInt, type Out } from './shared.js';

export function registerDemo(program: Command, out: Out): void {
  program
    .command('demo')
    .description('synthetic users through a fixed and a gradual experiment on the in-memory provider')
    .option('--users <n>', 'number of synthetic users', positiveInt('--users'), 50_000)
    // A century at most: the demo's ramp is at 100% from day 6, and a start some million
    // days back is no date the config can hold (1e300 made the run fail with "Invalid time value").
    .option(
      '--ramp-day <days>',
      'days since the gradual ramp started (0 to 36500)',
      nonNegative('--ramp-day', 36_500),
      1.5,
    )
    .option('--dir <dir>', 'where the event journal and JSONL exposures go', '.switchyard')
    .option('--json', 'machine-readable output')
    .action(async (opts: { users: number; rampDay: number; dir: string; json?: boolean }) => {
      makeDirs(opts.dir);
      const reports = await runDemo({ users: opts.users, rampDay: opts.rampDay, dir: opts.dir });
      out((opts.json ? JSON.stringify(reports, null, 2) : formatDemo(reports)) + '\n');
    });
}

/**
 * The demo's directories, made before it runs: a --dir that cannot hold them (a file on the
 * path) is a bad argument, exit 2. Left to the run, the journal fell back to memory, the
 * JSONL sink failed, and the process exited 13 without a word while close() waited for it.
 */
function makeDirs(dir: string): void {
  const config = demoConfig(new Date(), dir);
  for (const sub of [config.exposures.dir, config.analytics.jsonl.dir]) {
    try {
      mkdirSync(sub, { recursive: true });
    } catch (error) {
      throw new SwitchyardError(
        'SY_INVALID_ARGUMENT',
        'demo',
        `--dir ${dir} cannot be a directory for the demo's events: ${(error as Error).message}`,
      );
    }
  }
}
