/**
 * `switchyard status [EXP]`: per experiment, the allocation mode, the ramp step and
 * traffic share now, units per arm and each guardrail's state and values as the monitor
 * last published them, and the kill state with who, why and when.
 */
import type { Command } from 'commander';
import {
  compilePlan,
  loadConfigFile,
  readOpsState,
  terminalSafe as safe,
  trafficAt,
  type ExperimentStatus as GuardrailStatus,
  type KillRecord,
  type RuleStatus,
} from '../../index.js';
import { requireExperiment, type Out } from './shared.js';
import { adaptiveLines, adaptiveView, type AdaptiveView } from './status-adaptive.js';

/** What the monitor last published for an experiment (its ExperimentStatus), as status shows it. */
export interface GuardrailView {
  /** fleet: merged from Redis; stale: Redis did not answer; local: one instance, no fleet. */
  source: string;
  checkedAt: string;
  healthy: boolean;
  rules: readonly RuleStatus[];
  srm: RuleStatus | null;
  ramp: GuardrailStatus['ramp'];
  /** This interval's anomalies (as GuardrailStatus publishes them). */
  anomalies: GuardrailStatus['anomalies'];
}

export interface StatusRow {
  experiment: string;
  flag: string;
  mode: string;
  rampStep: number;
  rampSteps: number;
  trafficPercent: number;
  killed: boolean;
  kill: KillRecord | null;
  /** A ramp pause in force (everyone holds the step active at its pausedAt). */
  paused: boolean;
  /** The latest pause record (pause or resume); its `experiment` is `pause:<experiment>`. */
  pause: KillRecord | null;
  units: Record<string, number> | null;
  guardrails: GuardrailView | null;
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
      const rows: StatusRow[] = [];
      for (const exp of config.experiments.values()) {
        if (experiment !== undefined && exp.key !== experiment) continue;
        const kill = ops.kills.get(exp.key) ?? null;
        const pause = ops.pauses.get(exp.key) ?? null;
        const paused = pause?.killed ?? false;
        const traffic = trafficAt(
          compilePlan(exp),
          now,
          paused ? { pausedAt: pause!.pausedAt ?? pause!.at } : undefined,
        );
        const published = guardrailStatusOf(ops.guardrails.get(exp.key));
        rows.push({
          experiment: exp.key,
          flag: exp.flag,
          mode: exp.allocation.mode,
          rampStep: traffic.step,
          rampSteps: exp.allocation.steps.length,
          trafficPercent: traffic.percent,
          killed: kill?.killed ?? false,
          kill,
          paused,
          pause,
          units:
            published && Object.keys(published.units).length > 0
              ? inOrder(
                  published.units,
                  exp.variants.map((v) => v.key),
                )
              : null,
          guardrails: published
            ? {
                source: published.source,
                checkedAt: published.checkedAt,
                healthy: published.healthy,
                rules: published.rules,
                srm: published.srm,
                ramp: published.ramp,
                anomalies: published.anomalies,
              }
            : null,
          ...(exp.allocation.adaptive ? { adaptive: adaptiveView(ops.allocations.get(exp.key)) } : {}),
        });
      }
      out(
        opts.json ? JSON.stringify({ where: ops.where, experiments: rows }, null, 2) + '\n' : format(rows, ops.where),
      );
    });
}

/**
 * The rows for a terminal. Every name and text here came from outside this process (the
 * config, a kill record, a published status): shown through safe(), so control characters
 * read as \uXXXX and cannot drive the terminal or forge a line.
 */
function format(rows: StatusRow[], where: string): string {
  const lines = [`state: ${safe(where)}`];
  if (rows.length === 0) lines.push('no experiments in the config');
  for (const r of rows) {
    const step = r.mode === 'gradual' ? `step ${r.rampStep + 1}/${r.rampSteps}, ` : '';
    const kill = r.kill?.killed
      ? `KILLED by ${safe(r.kill.by)} at ${new Date(r.kill.at).toISOString()}: ${safe(r.kill.reason)}`
      : r.kill
        ? `live (unkilled by ${safe(r.kill.by)} at ${new Date(r.kill.at).toISOString()})`
        : 'live';
    const pause = r.pause?.killed
      ? `; ramp PAUSED by ${safe(r.pause.by)} at ${new Date(r.pause.at).toISOString()}: ${safe(r.pause.reason)} (resume with switchyard resume ${safe(r.experiment)})`
      : '';
    lines.push(
      '',
      `${safe(r.experiment)} (flag ${safe(r.flag)}): ${r.mode}, ${step}${num(r.trafficPercent)}% of traffic; ${kill}${pause}`,
    );
    lines.push(`  units: ${r.units ? perArm(r.units) : 'unknown (no guardrail status published)'}`);
    if (r.adaptive !== undefined) lines.push(...adaptiveLines(r.adaptive));
    const g = r.guardrails;
    if (!g) {
      lines.push('  guardrails: no status published yet');
      continue;
    }
    lines.push(
      `  guardrails: ${g.healthy ? 'healthy' : 'not healthy'} (${g.source} numbers, checked ${safe(g.checkedAt)}` +
        (g.anomalies.length > 0 ? `, anomalies this interval: ${g.anomalies.length}` : '') +
        ')',
    );
    if (g.rules.length === 0) lines.push('  (no guardrail rules)');
    for (const rule of [...g.rules, ...(g.srm ? [g.srm] : [])]) lines.push(`  ${ruleLine(rule)}`);
    if (g.ramp)
      lines.push(
        `  ramp gate: ${g.ramp.held ? 'HELD' : 'following the schedule'} at step ${g.ramp.allowedStep + 1}/${r.rampSteps}` +
          (g.ramp.held ? ` (the schedule says ${g.ramp.clockStep + 1})` : ''),
      );
  }
  return lines.join('\n') + '\n';
}

/** `rule: state  arm value (n), ...  statistic  p  bound`; absent numbers are left out. */
function ruleLine(rule: RuleStatus): string {
  const parts = [`${safe(rule.rule)}: ${safe(rule.state)}`];
  const arms = Object.entries(rule.arms)
    .map(([arm, a]) => `${safe(arm)} ${a.value === null ? 'no data' : num(a.value)} (n ${a.n})`)
    .join(', ');
  if (arms) parts.push(arms);
  if (rule.statistic !== null)
    parts.push(`statistic ${num(rule.statistic)}${rule.variant ? ` (${safe(rule.variant)})` : ''}`);
  if (rule.pValue !== null) parts.push(`p ${num(rule.pValue)}`);
  if (rule.bound && (rule.bound.lower !== null || rule.bound.upper !== null))
    parts.push(`bound [${bound(rule.bound.lower, '-inf')}, ${bound(rule.bound.upper, 'inf')}]`);
  parts.push(`min_sample ${rule.minSample}`);
  return parts.join('  ');
}

/**
 * The monitor's published ExperimentStatus, checked field by field: whatever the instance
 * wrote (another version, a hand-edited file), status shows what it can read and never
 * throws on it.
 */
function guardrailStatusOf(doc: unknown): GuardrailStatus | undefined {
  if (!isObject(doc)) return undefined;
  const rules = Array.isArray(doc.rules) ? doc.rules.map(ruleOf).filter((r): r is RuleStatus => r !== undefined) : [];
  const ramp = isObject(doc.ramp)
    ? {
        clockStep: finite(doc.ramp.clockStep) ?? -1,
        allowedStep: finite(doc.ramp.allowedStep) ?? -1,
        held: doc.ramp.held === true,
      }
    : null;
  return {
    experiment: String(doc.experiment ?? ''),
    checkedAt: typeof doc.checkedAt === 'string' ? doc.checkedAt : '?',
    source: doc.source === 'fleet' || doc.source === 'stale' ? doc.source : 'local',
    killed: doc.killed === true,
    healthy: doc.healthy === true,
    units: numbers(doc.units),
    ramp,
    rules,
    srm: ruleOf(doc.srm) ?? null,
    anomalies: Array.isArray(doc.anomalies) ? doc.anomalies : [],
  } as GuardrailStatus;
}

function ruleOf(doc: unknown): RuleStatus | undefined {
  if (!isObject(doc) || typeof doc.rule !== 'string' || typeof doc.state !== 'string') return undefined;
  const arms: Record<string, { value: number | null; n: number }> = {};
  if (isObject(doc.arms))
    for (const [arm, a] of Object.entries(doc.arms))
      if (isObject(a)) arms[arm] = { value: finite(a.value) ?? null, n: finite(a.n) ?? 0 };
  const b = isObject(doc.bound) ? doc.bound : undefined;
  return {
    rule: doc.rule,
    metric: typeof doc.metric === 'string' ? doc.metric : doc.rule,
    state: doc.state as RuleStatus['state'],
    arms,
    variant: typeof doc.variant === 'string' ? doc.variant : null,
    statistic: finite(doc.statistic) ?? null,
    pValue: finite(doc.pValue) ?? null,
    bound: b ? { lower: finite(b.lower) ?? null, upper: finite(b.upper) ?? null } : null,
    alpha: finite(doc.alpha) ?? 0,
    minSample: finite(doc.minSample) ?? 0,
    checkedAt: typeof doc.checkedAt === 'string' ? doc.checkedAt : '?',
  };
}

/** The arms in the config's variant order (an instance publishes them in the order it saw them), others after. */
function inOrder(m: Record<string, number>, variants: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of variants) if (v in m) out[v] = m[v]!;
  for (const [k, v] of Object.entries(m)) if (!(k in out)) out[k] = v;
  return out;
}

function numbers(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (finite(x) !== undefined) out[k] = x as number;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4));
const bound = (x: number | null, open: string): string => (x === null ? open : num(x));
const perArm = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${safe(k)} ${num(v)}`)
    .join(', ');
