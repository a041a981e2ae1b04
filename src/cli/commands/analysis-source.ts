/** The options analyze and report share: where the data is, which config, and running the analysis. */
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import {
  analyze,
  appendLearning,
  learningEntries,
  type LogLocation,
  loadConfigFile,
  openDuckDbStore,
  openPostgresStore,
  parseSize,
  SwitchyardError,
  type Analysis,
  type AnalyzeOptions,
  type ValidatedConfig,
} from '../../index.js';
import { whileOpen } from './shared.js';

export interface SourceOptions {
  data?: string;
  pg?: string;
  config?: string;
  metric?: string;
  /** commander's --no-log: false skips the learning log. */
  log?: boolean;
  /** The most DuckDB's memory limit is raised to (e.g. 4GB). */
  maxMemory?: string;
}

export function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--data <dir>', 'directory of JSONL files the pipeline wrote (embedded DuckDB)').conflicts('pg'),
    )
    .option('--pg <url>', 'PostgreSQL URL with tables filled by `switchyard load`')
    .option('--config <file>', 'switchyard.yaml (default ./switchyard.yaml when present)')
    .option('--metric <event>', 'primary metric for experiments the config does not describe')
    .option(
      '--max-memory <size>',
      "DuckDB: the most its memory limit (256MB) is raised to when a statement runs out of it (default: half the machine's memory)",
    )
    .option('--no-log', 'do not append the decisions to the learning log');
}

/** Where the progress bar goes: stderr in the real CLI, a fake terminal in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/**
 * A progress bar redrawn in place on a terminal (the two scans of the data, then each
 * experiment); undefined when the stream is not a TTY, so piped output stays clean.
 */
export function progressBar(stream: ProgressStream): AnalyzeOptions['onProgress'] {
  if (!stream.isTTY) return undefined;
  const columns = stream.columns && stream.columns > 0 ? stream.columns : 80;
  const width = Math.max(10, Math.min(30, columns - 50));
  return (done, total, step) => {
    const filled = Math.round((done / total) * width);
    const head = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} `;
    const label = step.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, Math.max(0, columns - head.length - 1));
    stream.write(`\r${head}${label}\u001b[K`);
    if (done === total) stream.write('\n');
  };
}

export async function runAnalysis(
  experiment: string | undefined,
  opts: SourceOptions,
  progress: ProgressStream = process.stderr,
): Promise<Analysis> {
  const configFile = opts.config ?? (existsSync('switchyard.yaml') ? 'switchyard.yaml' : undefined);
  const config: ValidatedConfig | undefined = configFile ? loadConfigFile(configFile) : undefined;
  if (!opts.data && !opts.pg && !config)
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'cli',
      'give --data DIR (JSONL files) or --pg URL, or a config whose analytics.jsonl.dir holds the data',
    );
  if (opts.maxMemory !== undefined && parseSize(opts.maxMemory) === undefined)
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'cli',
      `--max-memory ${JSON.stringify(opts.maxMemory)} is not a size (e.g. 4GB, 512MiB)`,
    );
  try {
    return await analyseWith(config, experiment, opts, progress);
  } catch (error) {
    throw withoutSecrets(error, config?.secrets ?? []);
  }
}

/**
 * The error with the config's secrets (values interpolated from the environment) blanked:
 * a path or URL in the config built from ${VAR} would otherwise print the variable's value
 * in "cannot read the data directory ...".
 */
function withoutSecrets(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof Error) || secrets.length === 0) return error;
  const scrub = (text: string) => secrets.reduce((t, s) => (s ? t.split(s).join('***') : t), text);
  if (error instanceof SwitchyardError) {
    const what = scrub(error.what);
    return what === error.what ? error : new SwitchyardError(error.code, error.where, what);
  }
  const message = scrub(error.message);
  return message === error.message ? error : new Error(message);
}

async function analyseWith(
  config: ValidatedConfig | undefined,
  experiment: string | undefined,
  opts: SourceOptions,
  progress: ProgressStream,
): Promise<Analysis> {
  const opening = opts.pg
    ? openPostgresStore(opts.pg)
    : openDuckDbStore(opts.data ?? config!.analytics.jsonl.dir, {
        ...(opts.maxMemory !== undefined ? { maxMemoryLimit: opts.maxMemory } : {}),
        onMemoryLimitRaised: (from, to) =>
          progress.write(`note: a DuckDB statement ran out of its ${from} memory limit; it ran again with ${to}\n`),
      });
  return whileOpen(opening, async (store) => {
    const analysis = await analyze(store, {
      ...(config ? { config } : {}),
      ...(experiment ? { experiments: [experiment] } : {}),
      ...(opts.metric ? { metric: opts.metric } : {}),
      now: Date.now(),
      onProgress: progressBar(progress),
    });
    if (opts.log !== false) await appendLearning(logLocation(opts, config), learningEntries(analysis));
    return analysis;
  });
}

/** Where the learning log lives: the PostgreSQL database, or beside the JSONL data. */
export function logLocation(opts: { data?: string; pg?: string }, config?: ValidatedConfig): LogLocation {
  if (opts.pg) return { pg: opts.pg };
  return { dir: opts.data ?? config?.analytics.jsonl.dir ?? '.switchyard/exposures' };
}
