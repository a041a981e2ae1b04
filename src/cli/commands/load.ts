/** `switchyard load --data DIR --pg URL`: COPY the pipeline's JSONL files into PostgreSQL for `analyze --pg`. */
import type { Command } from 'commander';
import { loadJsonlIntoPostgres, terminalSafe as safe } from '../../index.js';
import type { Out } from './shared.js';

export function registerLoad(program: Command, out: Out): void {
  program
    .command('load')
    .description('copy JSONL exposure and event files into PostgreSQL tables (sy_exposures, sy_events)')
    .requiredOption('--data <dir>', 'directory of JSONL files')
    .requiredOption('--pg <url>', 'PostgreSQL URL')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data: string; pg: string; json?: boolean }) => {
      const r = await loadJsonlIntoPostgres(opts.pg, opts.data);
      out(
        opts.json
          ? JSON.stringify(r) + '\n'
          : `loaded ${r.files} file(s): ${r.exposures} exposures, ${r.events} events; ${r.empty} empty and ${r.malformed} malformed lines skipped, ${r.duplicates} repeated lines (an id already loaded) skipped\n` +
              r.incomplete.map((l) => `  not a JSON object: ${safe(l.file)}:${l.line}\n`).join(''),
      );
    });
}
