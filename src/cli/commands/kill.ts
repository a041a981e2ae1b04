/**
 * `switchyard kill EXP --reason ...`: every unit of the experiment gets the control, on
 * every running instance: through Redis when the config has `fleet`, otherwise through
 * the state file beside the journal, which running instances poll. With `control_plane`
 * credentials the vendor's flag is turned off too (the same code as `sy.kill()`).
 */
import type { Command } from 'commander';
import {
  changeKillState,
  loadConfigFile,
  flagOnBy,
  readKillRecord,
  switchVendorFlag,
  SwitchyardError,
  terminalSafe as safe,
} from '../../index.js';
import { overruledNote, requireExperiment, staleDecisionHint, type Out } from './shared.js';

export interface KillOptions {
  reason: string;
  by?: string;
  config: string;
  json?: boolean;
  force?: boolean;
}

/** --force's help, for kill, unkill, pause and resume. */
export const FORCE_HELP =
  'overrule a newer record in force (one stamped by a clock running ahead): this one is stamped just after it';

export function registerKill(program: Command, out: Out): void {
  program
    .command('kill')
    .description('send every unit of an experiment to the control, on every instance (persisted)')
    .argument('<experiment>', 'the experiment key')
    .requiredOption('--reason <text>', 'why (kept with the kill, shown by status)')
    .option('--by <name>', 'who (default cli:<user>@<host>)')
    .option('--config <file>', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .option('--force', FORCE_HELP)
    .action(async (experiment: string, opts: KillOptions) => {
      await changeAndReport(out, opts.config, experiment, true, opts);
    });
}

/**
 * Shared by kill and unkill: validate, write the fleet state, then turn the vendor's flag
 * off (kill) or on (unkill) through the control plane when the config has credentials,
 * and print both outcomes. A newer decision already in force fails (exit 1) and touches
 * nothing, unless forced (`--force`: the record is stamped just after the one in force,
 * see KillChange.overrule). A vendor that refuses is reported (its message, never a token) and does not
 * fail the command: switchyard's decision is in force on every instance either way.
 */
export async function changeAndReport(
  out: Out,
  file: string,
  experiment: string,
  killed: boolean,
  opts: Omit<KillOptions, 'config'>,
): Promise<void> {
  const { reason, by, json } = opts;
  const config = loadConfigFile(file);
  requireExperiment(config, experiment, file);
  const result = await changeKillState(config, {
    experiment,
    killed,
    reason,
    ...(by ? { by } : {}),
    ...(opts.force ? { overrule: true } : {}),
  });
  if (!result.written) {
    if (json) out(JSON.stringify(result) + '\n');
    const r = result.record;
    throw new SwitchyardError(
      'SY_STALE_DECISION',
      'cli',
      `a newer decision on "${experiment}" is in force (${r.killed ? 'killed' : 'not killed'} by ${safe(r.by)} at ${new Date(r.at).toISOString()}: ${safe(r.reason)}); nothing changed${staleDecisionHint(r)}`,
    );
  }
  const flag = config.experiments.get(experiment)!.flag;
  // The vendor's flag follows the decision in force if another process's moved it meanwhile.
  const vendor = await switchVendorFlag(
    config,
    flag,
    !killed,
    undefined,
    flagOnBy(() => readKillRecord(config, experiment)),
  );
  if (json) {
    out(JSON.stringify({ ...result, vendor }) + '\n');
    return;
  }
  out(`${experiment}: ${killed ? `killed (${reason})` : 'unkilled'}; every instance sharing ${result.where} obeys\n`);
  out(overruledNote(result, (r) => (r.killed ? 'killed' : 'not killed')));
  const sent = killed ? 'off' : 'on';
  out(
    vendor.scope === 'local'
      ? `vendor: not changed, switchyard only: ${vendor.why}\n`
      : vendor.followed
        ? `vendor: ${vendor.vendor} turned flag "${flag}" ${sent}, then ${vendor.followed.on ? 'on' : 'off'}: another decision was in force by the time it got there\n`
        : `vendor: ${vendor.vendor} turned flag "${flag}" ${sent}\n`,
  );
}
