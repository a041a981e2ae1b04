/** `switchyard unkill EXP`: undoes a kill (manual or automatic) on every instance. */
import type { Command } from 'commander';
import { changeAndReport, FORCE_HELP, type KillOptions } from './kill.js';
import type { Out } from './shared.js';

export function registerUnkill(program: Command, out: Out): void {
  program
    .command('unkill')
    .description('undo a kill: the experiment allocates again, on every instance')
    .argument('<experiment>', 'the experiment key')
    .option('--reason <text>', 'why (kept with the record)', 'unkill')
    .option('--by <name>', 'who (default cli:<user>@<host>)')
    .option('--config <file>', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .option('--force', FORCE_HELP)
    .action(async (experiment: string, opts: KillOptions) => {
      await changeAndReport(out, opts.config, experiment, false, opts);
    });
}
