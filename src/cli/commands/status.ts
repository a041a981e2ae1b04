/**
 * `switchyard status [EXP]`: per experiment, the allocation mode, the ramp step and
 * traffic share now, units per arm and each guardrail's state and values as the monitor
 * last published them, and the kill state with who, why and when.
 */
import type { Command } from 'commander';
import { compilePlan, loadConfigFile, readOpsState, trafficAt, type KillRecord } from '../../index.js';
import { requireExperiment, type Out } from './shared.js';
import { adaptiveLines, adaptiveView, type AdaptiveView } from './status-adaptive.js';

interface RuleView {
  metric: string;
  state: string;
  values: Record<string, number>;
  n: Record<string, number>;
  statistic: number | undefined;
  bound: number | undefined;
  p: number | undefined;
  checkedAt: string | undefined;
}

export interface ExperimentStatus {
  experiment: string;
  flag: string;
  mode: string;
  rampStep: number;
  rampSteps: number;
  trafficPercent: number;
  killed: boolean;
  kill: KillRecord | null;
  units: Record<string, number> | null;
  guardrails: RuleView[] | null;
  /** Adaptive experiments only: the published allocation version (null: none yet). */
  adaptive?: AdaptiveView | null;
}

export function registerStatus(program: Command, out: Out): void {
  program
    .command('status')
    .description('mode, ramp step, traffic, units, guardrails and kill state per experiment')
    .argument('[experiment]', 'one experiment (default all)')
    .option('--config <file>', 'the config file', 'switchyard.yaml')
    .option('--json', 'machine-readable output')
    .action(async (experiment: string | undefined, opts: { config: string; json?: boolean }) => {
      const config = loadConfigFile(opts.config);
      if (experiment !== undefined) requireExperiment(config, experiment, opts.config);
      const ops = await readOpsState(config);
      const now = Date.now();
      const rows: ExperimentStatus[] = [];
      for (const exp of config.experiments.values()) {
        if (experiment !== undefined && exp.key !== experiment) continue;
        const traffic = trafficAt(compilePlan(exp), now);
        const kill = ops.kills.get(exp.key) ?? null;
        const guardrails = rulesOf(ops.guardrails.get(exp.key));
        rows.push({
          experiment: exp.key,
          flag: exp.flag,
          mode: exp.allocation.mode,
          rampStep: traffic.step,
          rampSteps: exp.allocation.steps.length,
          trafficPercent: traffic.percent,
          killed: kill?.killed ?? false,
          kill,
          units: unitsOf(ops.guardrails.get(exp.key), guardrails),
          guardrails,
          ...(exp.allocation.adaptive ? { adaptive: adaptiveView(ops.allocations.get(exp.key)) } : {}),
        });
      }
      out(
        opts.json ? JSON.stringify({ where: ops.where, experiments: rows }, null, 2) + '\n' : format(rows, ops.where),
      );
    });
}

function format(rows: ExperimentStatus[], where: string): string {
  const lines = [`state: ${where}`];
  if (rows.length === 0) lines.push('no experiments in the config');
  for (const r of rows) {
    const step = r.mode === 'gradual' ? `step ${r.rampStep + 1}/${r.rampSteps}, ` : '';
    const kill = r.kill?.killed
      ? `KILLED by ${r.kill.by} at ${new Date(r.kill.at).toISOString()}: ${r.kill.reason}`
      : r.kill
        ? `live (unkilled by ${r.kill.by} at ${new Date(r.kill.at).toISOString()})`
        : 'live';
    lines.push('', `${r.experiment} (flag ${r.flag}): ${r.mode}, ${step}${num(r.trafficPercent)}% of traffic; ${kill}`);
    lines.push(`  units: ${r.units ? perArm(r.units) : 'unknown (no guardrail status published)'}`);
    if (!r.guardrails) lines.push('  guardrails: no status published yet');
    else if (r.guardrails.length === 0) lines.push('  guardrails: none');
    for (const g of r.guardrails ?? []) {
      const parts = [`  ${g.metric}: ${g.state}`, perArm(g.values)];
      if (g.statistic !== undefined) parts.push(`statistic ${num(g.statistic)}`);
      if (g.bound !== undefined) parts.push(`bound ${num(g.bound)}`);
      if (g.p !== undefined) parts.push(`p ${num(g.p)}`);
      if (Object.keys(g.n).length) parts.push(`n ${perArm(g.n)}`);
      if (g.checkedAt) parts.push(`checked ${g.checkedAt}`);
      lines.push(parts.filter((p) => p.length > 0).join('  '));
    }
    if (r.adaptive !== undefined) lines.push(...adaptiveLines(r.adaptive));
  }
  return lines.join('\n') + '\n';
}

/** The monitor's published rules, read leniently: a field it does not publish shows as absent. */
function rulesOf(doc: unknown): RuleView[] | null {
  if (doc === undefined || doc === null) return null;
  const rules = Array.isArray(doc) ? doc : (doc as { rules?: unknown }).rules;
  if (!Array.isArray(rules)) return [];
  return rules
    .filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null)
    .map((r) => ({
      metric: String(r.metric ?? r.rule ?? '?'),
      state: String(r.state ?? '?'),
      values: numbers(r.values ?? r.value),
      n: numbers(r.n),
      statistic: finite(r.statistic),
      bound: finite(r.bound),
      p: finite(r.p ?? r.pValue),
      checkedAt: typeof r.checkedAt === 'number' ? new Date(r.checkedAt).toISOString() : (r.checkedAt as string),
    }));
}

function unitsOf(doc: unknown, rules: RuleView[] | null): Record<string, number> | null {
  const published = doc && typeof doc === 'object' ? numbers((doc as { units?: unknown }).units) : {};
  if (Object.keys(published).length > 0) return published;
  const units: Record<string, number> = {};
  for (const g of rules ?? []) for (const [arm, n] of Object.entries(g.n)) units[arm] = Math.max(units[arm] ?? 0, n);
  return Object.keys(units).length > 0 ? units : null;
}

function numbers(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
  return out;
}

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4));
const perArm = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(', ');
