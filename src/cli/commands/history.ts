/** `switchyard history`: the learning log, one line per analysed decision. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readLearning, SwitchyardError, terminalSafe as safe } from '../../index.js';
import { logLocation } from './analysis-source.js';
import type { Out } from './shared.js';

export function registerHistory(program: Command, out: Out): void {
  program
    .command('history')
    .argument('[experiment]', 'only this experiment')
    .description('list past decisions from the learning log (beside the JSONL data or in PostgreSQL)')
    .option('--data <dir>', 'the JSONL data directory the log sits in', '.switchyard/exposures')
    .option('--pg <url>', 'PostgreSQL URL (table sy_experiment_log)')
    .option('--json', 'the entries as JSON')
    .action(async (experiment: string | undefined, opts: { data: string; pg?: string; json?: boolean }) => {
      // A directory that is not there is a wrong --data, not an empty log.
      if (!opts.pg && !existsSync(opts.data))
        throw new SwitchyardError(
          'SY_INVALID_ARGUMENT',
          'cli',
          `--data ${opts.data} does not exist (the learning log sits in the JSONL data directory)`,
        );
      const skipped: string[] = [];
      const entries = (await readLearning(logLocation(opts), (where, why) => skipped.push(`${where} (${why})`))).filter(
        (e) => !experiment || e.experiment === experiment,
      );
      const note =
        skipped.length === 0
          ? ''
          : `note: skipped ${skipped.length} line(s) of the learning log that are not entries: ${safe(skipped.slice(0, 5).join(', '))}${skipped.length > 5 ? ', ...' : ''}\n`;
      // --json keeps stdout the entries alone; the note goes to stderr.
      if (opts.json) {
        if (note) process.stderr.write(note);
        return out(JSON.stringify(entries, null, 2) + '\n');
      }
      if (entries.length === 0) return out(`the learning log is empty\n${note}`);
      for (const e of entries) {
        const lift =
          e.relative === null
            ? ''
            : ` ${safe(String(e.primaryMetric))} ${(e.relative * 100).toFixed(2)}% (${safe(String(e.variant))})`;
        out(`${safe(e.ts.slice(0, 10))}  ${safe(e.experiment)}  ${safe(e.decision)}${lift}: ${safe(e.reason)}\n`);
        if (e.hypothesis) out(`    hypothesis: ${safe(e.hypothesis)}${e.owner ? ` (owner ${safe(e.owner)})` : ''}\n`);
      }
      out(note);
    });
}
