/** `switchyard plan`: sample size and runtime for a new test, with the learning log's past results of the metric. */
import { InvalidArgumentError, type Command } from 'commander';
import { planExperiment, readLearning, terminalSafe } from '../../index.js';
import { logLocation } from './analysis-source.js';
import { decimal, type Out } from './shared.js';

/** A number with lo < n < hi (lo <= n with `from`), for an option whose other values mean nothing. */
function between(name: string, lo: number, hi: number, from = false) {
  return (value: string): number => {
    const n = decimal(value);
    if (!Number.isFinite(n) || (from ? n < lo : n <= lo) || n >= hi)
      throw new InvalidArgumentError(
        `${name} must be a number ${from ? `from ${lo} to` : `above ${lo} and`} below ${hi}, found "${value}"`,
      );
    return n;
  };
}

/** A whole number from lo to hi. */
function wholeBetween(name: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = decimal(value);
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new InvalidArgumentError(`${name} must be a whole number from ${lo} to ${hi}, found "${value}"`);
    return n;
  };
}

const fraction = (name: string) => between(name, 0, 1);

export function registerPlan(program: Command, out: Out): void {
  program
    .command('plan')
    .description(
      'units and days a new test needs (conversion metric), reading past results of the metric from the learning log',
    )
    .requiredOption('--metric <event>', 'the primary metric')
    .option(
      '--baseline <rate>',
      'baseline conversion rate (default: the latest logged control rate)',
      fraction('--baseline'),
    )
    .option(
      '--mde <relative>',
      'minimum detectable relative effect (0.0001 to below 1)',
      between('--mde', 0.0001, 1, true),
      0.05,
    )
    .option('--alpha <alpha>', 'significance level (below 0.5)', between('--alpha', 0, 0.5), 0.05)
    .option('--power <power>', 'target power (0.5 to below 1)', between('--power', 0.5, 1, true), 0.8)
    .requiredOption(
      '--daily <units>',
      'units a day reaching the experiment (at most 10^10)',
      wholeBetween('--daily', 1, 1e10),
    )
    .option('--arms <n>', 'arms including control (2 to 100)', wholeBetween('--arms', 2, 100), 2)
    .option('--data <dir>', 'the JSONL data directory the learning log sits in', '.switchyard/exposures')
    .option('--pg <url>', 'PostgreSQL URL (table sy_experiment_log)')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        metric: string;
        baseline?: number;
        mde: number;
        alpha: number;
        power: number;
        daily: number;
        arms: number;
        data: string;
        pg?: string;
        json?: boolean;
      }) => {
        const plan = planExperiment(
          {
            metric: opts.metric,
            ...(opts.baseline !== undefined ? { baseline: opts.baseline } : {}),
            mde: opts.mde,
            alpha: opts.alpha,
            power: opts.power,
            dailyUnits: opts.daily,
            arms: opts.arms,
          },
          await readLearning(logLocation(opts)),
        );
        out(opts.json ? JSON.stringify(plan, null, 2) + '\n' : plan.sentences.map(terminalSafe).join('\n') + '\n');
      },
    );
}
