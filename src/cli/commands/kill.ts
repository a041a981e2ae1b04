/**
 * `switchyard kill EXP --reason ...`: every unit of the experiment gets the control, on
 * every running instance: through Redis when the config has `fleet`, otherwise through
 * the state file beside the journal, which running instances poll.
 */
import type { Command } from 'commander';
import { changeKillState, loadConfigFile, SwitchyardError } from '../../index.js';
import { requireExperiment, type Out } from './shared.js';

export function registerKill(program: Command, out: Out): void {
  program
    .command('kill')
    .description('send every unit of an experiment to the control, on every instance (persisted)')
    .argument('<experiment>', 'the experiment key')
    .requiredOption('--reason <text>', 'why (kept with the kill, shown by status)')
    .option('--by <name>', 'who (default cli:<user>@<host>)')
    .option('--config <file>', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .action(async (experiment: string, opts: { reason: string; by?: string; config: string; json?: boolean }) => {
      await changeAndReport(out, opts.config, experiment, true, opts.reason, opts.by, opts.json);
    });
}

/** Shared by kill and unkill: validate, write, print; a newer decision already in force fails (exit 1). */
export async function changeAndReport(
  out: Out,
  file: string,
  experiment: string,
  killed: boolean,
  reason: string,
  by: string | undefined,
  json: boolean | undefined,
): Promise<void> {
  const config = loadConfigFile(file);
  requireExperiment(config, experiment, file);
  const result = await changeKillState(config, { experiment, killed, reason, ...(by ? { by } : {}) });
  if (json) out(JSON.stringify(result) + '\n');
  if (!result.written) {
    const r = result.record;
    throw new SwitchyardError(
      'SY_STALE_DECISION',
      'cli',
      `a newer decision on "${experiment}" is in force (${r.killed ? 'killed' : 'not killed'} by ${r.by} at ${new Date(r.at).toISOString()}: ${r.reason}); nothing changed`,
    );
  }
  if (!json)
    out(`${experiment}: ${killed ? `killed (${reason})` : 'unkilled'}; every instance sharing ${result.where} obeys\n`);
}
