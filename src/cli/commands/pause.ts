/**
 * `switchyard pause EXP --reason ...` / `switchyard resume EXP`: freezes a gradual ramp at
 * its step now, or lets it follow its schedule again, on every running instance: the same
 * fleet state as a kill (Redis with `fleet`, the state file otherwise), so a restart keeps
 * the pause. A resume releases the pause only: the guardrail gate still holds a ramp whose
 * guardrails are not healthy. A kill is undone by `unkill`, a pause by `resume`.
 */
import type { Command } from 'commander';
import {
  changePauseState,
  compilePlan,
  loadConfigFile,
  SwitchyardError,
  terminalSafe as safe,
  trafficAt,
} from '../../index.js';
import { FORCE_HELP } from './kill.js';
import { overruledNote, requireExperiment, staleDecisionHint, type Out } from './shared.js';

interface PauseOptions {
  reason: string;
  by?: string;
  config: string;
  json?: boolean;
  force?: boolean;
}

export function registerPause(program: Command, out: Out): void {
  program
    .command('pause')
    .description('freeze a gradual ramp at its current step, on every instance (persisted; undo with resume)')
    .argument('<experiment>', 'the experiment key')
    .requiredOption('--reason <text>', 'why (kept with the pause, shown by status)')
    .option('--by <name>', 'who (default cli:<user>@<host>)')
    .option('--config <file>', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .option('--force', FORCE_HELP)
    .action(async (experiment: string, opts: PauseOptions) => pauseOrResume(out, experiment, true, opts));
  program
    .command('resume')
    .description('let a paused ramp follow its schedule again, on every instance')
    .argument('<experiment>', 'the experiment key')
    .option('--reason <text>', 'why (kept with the record)', 'resume')
    .option('--by <name>', 'who (default cli:<user>@<host>)')
    .option('--config <file>', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .option('--force', FORCE_HELP)
    .action(async (experiment: string, opts: PauseOptions) => pauseOrResume(out, experiment, false, opts));
}

async function pauseOrResume(out: Out, experiment: string, paused: boolean, opts: PauseOptions): Promise<void> {
  const config = loadConfigFile(opts.config);
  requireExperiment(config, experiment, opts.config);
  const exp = config.experiments.get(experiment)!;
  if (exp.allocation.mode !== 'gradual')
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'cli',
      `experiment "${experiment}" uses ${exp.allocation.mode} allocation; pause and resume act on gradual ramps (a fixed one changes with switchyard ramp, any one stops with switchyard kill)`,
    );
  const result = await changePauseState(config, {
    experiment,
    paused,
    reason: opts.reason,
    ...(opts.by ? { by: opts.by } : {}),
    ...(opts.force ? { overrule: true } : {}),
  });
  if (opts.json) out(JSON.stringify(result) + '\n');
  const r = result.record;
  if (!result.written)
    throw new SwitchyardError(
      'SY_STALE_DECISION',
      'cli',
      `a newer decision on the ramp of "${experiment}" is in force (${r.killed ? 'paused' : 'resumed'} by ${safe(r.by)} at ${new Date(r.at).toISOString()}: ${safe(r.reason)}); nothing changed${staleDecisionHint(r)}`,
    );
  if (opts.json) return;
  const plan = compilePlan(exp);
  const held = trafficAt(plan, Date.now(), paused ? { pausedAt: r.pausedAt ?? r.at } : undefined);
  out(
    paused
      ? `${experiment}: ramp paused (${opts.reason}) at step ${held.step + 1}/${exp.allocation.steps.length}, ${held.percent}% of traffic; every instance sharing ${result.where} holds it\n`
      : `${experiment}: ramp resumed, following its schedule (step ${held.step + 1}/${exp.allocation.steps.length}, ${held.percent}% now unless the guardrail gate holds it); every instance sharing ${result.where} follows\n`,
  );
  out(overruledNote(result, (p) => (p.killed ? 'paused' : 'resumed')));
}
