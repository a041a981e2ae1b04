/** `switchyard plan`: sample size and runtime for a new test, with the learning log's past results of the metric. */
import { InvalidArgumentError, type Command } from 'commander';
import { planExperiment, readLearning, terminalSafe } from '../../index.js';
import { logLocation } from './analysis-source.js';
import { positiveInt, type Out } from './shared.js';

function fraction(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n >= 1)
      throw new InvalidArgumentError(`${name} must be a number between 0 and 1, found "${value}"`);
    return n;
  };
}

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
    .option('--mde <relative>', 'minimum detectable relative effect', fraction('--mde'), 0.05)
    .option('--alpha <alpha>', 'significance level', fraction('--alpha'), 0.05)
    .option('--power <power>', 'target power', fraction('--power'), 0.8)
    .requiredOption('--daily <units>', 'units a day reaching the experiment', positiveInt('--daily'))
    .option('--arms <n>', 'arms including control', positiveInt('--arms'), 2)
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
