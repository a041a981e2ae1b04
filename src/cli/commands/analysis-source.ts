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
  SwitchyardError,
  type Analysis,
  type ValidatedConfig,
} from '../../index.js';

export interface SourceOptions {
  data?: string;
  pg?: string;
  config?: string;
  metric?: string;
  /** commander's --no-log: false skips the learning log. */
  log?: boolean;
}

export function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--data <dir>', 'directory of JSONL files the pipeline wrote (embedded DuckDB)').conflicts('pg'),
    )
    .option('--pg <url>', 'PostgreSQL URL with tables filled by `switchyard load`')
    .option('--config <file>', 'switchyard.yaml (default ./switchyard.yaml when present)')
    .option('--metric <event>', 'primary metric for experiments the config does not describe')
    .option('--no-log', 'do not append the decisions to the learning log');
}

/** A progress line on a TTY (stderr), nothing otherwise. */
function progress(done: number, total: number, experiment: string): void {
  if (!process.stderr.isTTY) return;
  const width = 24;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${experiment.slice(0, 40).replace(/[\u0000-\u001f]/g, '?')}\u001b[K`,
  );
  if (done === total) process.stderr.write('\n');
}

export async function runAnalysis(experiment: string | undefined, opts: SourceOptions): Promise<Analysis> {
  const configFile = opts.config ?? (existsSync('switchyard.yaml') ? 'switchyard.yaml' : undefined);
  const config: ValidatedConfig | undefined = configFile ? loadConfigFile(configFile) : undefined;
  if (!opts.data && !opts.pg && !config)
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'cli',
      'give --data DIR (JSONL files) or --pg URL, or a config whose analytics.jsonl.dir holds the data',
    );
  const store = opts.pg
    ? await openPostgresStore(opts.pg)
    : await openDuckDbStore(opts.data ?? config!.analytics.jsonl.dir);
  try {
    const analysis = await analyze(store, {
      ...(config ? { config } : {}),
      ...(experiment ? { experiments: [experiment] } : {}),
      ...(opts.metric ? { metric: opts.metric } : {}),
      now: Date.now(),
      onProgress: progress,
    });
    if (opts.log !== false) await appendLearning(logLocation(opts, config), learningEntries(analysis));
    return analysis;
  } finally {
    await store.close();
  }
}

/** Where the learning log lives: the PostgreSQL database, or beside the JSONL data. */
export function logLocation(opts: { data?: string; pg?: string }, config?: ValidatedConfig): LogLocation {
  if (opts.pg) return { pg: opts.pg };
  return { dir: opts.data ?? config?.analytics.jsonl.dir ?? '.switchyard/exposures' };
}
