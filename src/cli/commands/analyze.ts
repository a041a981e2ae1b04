/** `switchyard analyze [EXP]`: the decision and its evidence, from JSONL files (DuckDB) or PostgreSQL. */
import type { Command } from 'commander';
import { renderJson, renderTerminal } from '../../index.js';
import { runAnalysis, sourceOptions, type ProgressStream, type SourceOptions } from './analysis-source.js';
import type { Out } from './shared.js';

export function registerAnalyze(program: Command, out: Out, progress?: ProgressStream): void {
  sourceOptions(
    program
      .command('analyze')
      .argument('[experiment]', 'one experiment (default: every experiment in the config and the data)')
      .description("decide ship / don't ship / keep running / stop from the logged exposures and events"),
  )
    .option('--json', 'the analysis as JSON (schema switchyard.analysis/1)')
    .action(async (experiment: string | undefined, opts: SourceOptions & { json?: boolean }) => {
      const analysis = await runAnalysis(experiment, opts, progress);
      out((opts.json ? renderJson(analysis) : renderTerminal(analysis)) + '\n');
    });
}
