/** The options analyze and report share: where the data is, which config, and running the analysis. */
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import {
  analyze,
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
}

export function sourceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--data <dir>', 'directory of JSONL files the pipeline wrote (embedded DuckDB)').conflicts('pg'),
    )
    .option('--pg <url>', 'PostgreSQL URL with tables filled by `switchyard load`')
    .option('--config <file>', 'switchyard.yaml (default ./switchyard.yaml when present)')
    .option('--metric <event>', 'primary metric for experiments the config does not describe');
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
    return await analyze(store, {
      ...(config ? { config } : {}),
      ...(experiment ? { experiments: [experiment] } : {}),
      ...(opts.metric ? { metric: opts.metric } : {}),
      now: Date.now(),
      onProgress: progress,
    });
  } finally {
    await store.close();
  }
}
