/**
 * Proposed next experiments, derived from an analysis: a targeted test on a segment whose
 * effect stands out, the sample and runtime an underpowered test needs, a test on the
 * funnel step that got worse, what to watch on a guardrail near its limit. Each carries an
 * `experiments:` entry (YAML) that passes switchyard's validator (tested).
 */
import { stringify } from 'yaml';
import type { ValidatedExperiment } from '../config/index.js';
import type { ExperimentAnalysis, FollowUp } from './types.js';

/** A config key from any text: the identifier rule of the config (letters, digits, _ . -). */
function keyOf(...parts: string[]): string {
  const slug = parts
    .join('-')
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z_]+/, '')
    .replace(/-+/g, '-')
    .slice(0, 60);
  return slug.length > 0 ? slug : 'follow-up';
}

/**
 * Text from the data (experiment, variant, event and segment names) as the config loader
 * reads it back: the loader replaces `${NAME}` with the environment variable NAME, and `$${`
 * is its escape for a literal `${`. Unescaped, a name like `exp${SY_TOKEN}` pasted into a
 * config would put the variable's value into reports and the learning log. Each `${NAME}`
 * gets one more `$` (so `$${NAME}` in a name becomes `$$${NAME}` and reads back as itself).
 */
function literalForConfig(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, (m) => `$${m}`);
  if (Array.isArray(value)) return value.map(literalForConfig);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [literalForConfig(k), literalForConfig(v)]));
  return value;
}

function snippet(key: string, body: Record<string, unknown>): string {
  return stringify({ experiments: { [key]: literalForConfig(body) } });
}

export function followUps(a: ExperimentAnalysis, exp: ValidatedExperiment | undefined): FollowUp[] {
  const out: FollowUp[] = [];
  const metric = a.primaryMetric ?? undefined;
  const base = (hypothesis: string) => ({
    hypothesis,
    ...(a.owner ? { owner: a.owner } : {}),
    variants: { control: { weight: 50 }, treatment: { weight: 50 } },
    allocation: { mode: 'fixed' },
    ...(metric ? { primary_metric: metric } : {}),
    ...(exp && exp.guardrails.length > 0 ? { guardrails: exp.guardrails.map((g) => ({ ...g })) } : {}),
  });
  for (const s of a.segments.filter((s) => s.differs && s.attribute !== 'exposure_week').slice(0, 2)) {
    const key = keyOf(a.experiment, s.attribute, s.value);
    out.push({
      title: `Targeted test for ${s.attribute} = ${s.value}`,
      why: `${s.variant}'s effect in ${s.attribute} = ${s.value} differs significantly from the rest (corrected p = ${s.differsAdjustedPValue.toPrecision(2)}); confirm it in a test aimed at that segment.`,
      config: snippet(key, base(`${s.variant} of ${a.experiment} works differently for ${s.attribute} = ${s.value}.`)),
    });
  }
  if (a.power && a.decision.decision === 'keep_running' && a.power.power < a.power.targetPower) {
    out.push({
      title: `Give ${a.experiment} the sample it needs`,
      why: `At ${Math.round(a.power.dailyUnitsPerArm)} units per arm per day it needs ${a.power.neededPerArm} per arm for a ${(a.power.mde * 100).toFixed(1)}% MDE: about ${a.power.daysToSample} more days, or more traffic.`,
      config: snippet(keyOf(a.experiment, 'rerun'), {
        ...base(exp?.hypothesis ?? `A rerun of ${a.experiment} with enough sample.`),
        min_sample_size: Math.max(1, a.power.neededPerArm),
        runtime_days: Math.max(1, Math.ceil(a.power.elapsedDays + a.power.daysToSample)),
      }),
    });
  }
  if (a.funnel?.frictionPoint) {
    const f = a.funnel.frictionPoint;
    out.push({
      title: `Fix the ${f.event} step`,
      why: `Fewer ${f.variant} units go on to ${f.event} than ${a.control} units (${(f.absolute * 100).toFixed(1)} points): test a change to that step alone.`,
      config: snippet(keyOf(a.experiment, f.event, 'step'), {
        ...base(`A redesigned ${f.event} step recovers the drop seen in ${a.experiment}.`),
        primary_metric: f.event,
        ...(exp && exp.funnel.length >= 2 ? { funnel: [...exp.funnel] } : {}),
      }),
    });
  }
  for (const g of a.guardrails.filter((g) => g.status === 'near').slice(0, 2)) {
    out.push({
      title: `Watch ${g.metric}`,
      why: `${g.sentence} Keep the guardrail and give it a minimum sample before the next ramp.`,
      config: snippet(keyOf(a.experiment, 'watch', g.metric), {
        ...base(`${a.experiment}'s treatment holds ${g.metric} within ${g.rule}.`),
        guardrails: [...(exp?.guardrails ?? []).map((x) => ({ ...x, min_sample: x.min_sample ?? 1000 }))],
      }),
    });
  }
  return out;
}
