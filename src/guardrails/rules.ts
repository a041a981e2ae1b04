/**
 * Guardrail rules as pure functions: an experiment's config and its metric numbers (merged
 * across the fleet or local) in, one result per rule out. No clock, no I/O.
 *
 * Every decision is safe under continuous monitoring: a rule is breached only when an
 * always-valid confidence sequence (the normal-mixture boundary of the stats module's
 * mSPRT, `mixtureSequence`) lies wholly on the wrong side of the limit. The boundary holds
 * at every look at once, so checking every few seconds for weeks trips a healthy
 * experiment with probability at most alpha. alpha = 1 - confidence_level, split
 * (Bonferroni) over the experiment's rules and treatment arms, so the experiment as a
 * whole, not each rule, is held to it.
 *
 * What each rule tests, per treatment arm:
 * - a mean or a rate (`error_rate`, `<metric>`, `<metric>_rate`) against `max`/`min`: the
 *   arm's mean minus the limit; a rate's variance is taken at least at the limit's
 *   (p0 (1 - p0)), so a handful of early errors cannot make the boundary tight;
 * - a mean or rate relative to control: t - (1 + margin) c, whose variance is
 *   V_t + (1 + margin)^2 V_c;
 * - a quantile (`p95_latency_ms`, `latency_p95`): the share of the arm's observations
 *   above a threshold is a proportion, so a quantile test is a proportion test. Absolute:
 *   p95 > max exactly when more than 5% of observations are above max. Relative: the
 *   share of treatment observations above (1 + margin) x control's p95 against the share
 *   of control observations above control's p95 (about 5%, with its own sampling noise,
 *   which stands for the noise of control's p95 itself);
 * - a sum per unit exposed (`<event>_per_unit`): sum of the values / units, compound Poisson
 *   variance (sum of squared values / units; for counts, the Poisson variance).
 * The mixing scale tau is a tenth of the per-observation standard deviation, msprt's default.
 */
import { mixtureSequence, sequentialSrm } from '../stats/index.js';
import type { Guardrail, ValidatedExperiment } from '../config/index.js';
import { countAbove, quantileOf, type ArmData, type SeriesData } from './recorder.js';

export type RuleState = 'healthy' | 'breached' | 'insufficient' | 'no-data';

export interface ArmReading {
  /** The metric's value in the arm (mean, rate, quantile, or count per unit); null without data. */
  readonly value: number | null;
  /** Observations (units for per-unit rates). */
  readonly n: number;
}

export interface Comparison {
  readonly variant: string;
  readonly state: RuleState;
  /** The estimate tested against the limit (0 at the limit; > 0 is worse for max and increase rules). */
  readonly statistic: number | null;
  /** 1 / the mixture likelihood ratio at this look, of "the estimate is at the limit". */
  readonly pValue: number | null;
  /** The always-valid confidence sequence of the statistic. */
  readonly bound: { readonly lower: number; readonly upper: number } | null;
}

export interface RuleResult {
  /** e.g. "error_rate max 0.001", "p95_latency_ms max_relative_increase 0.05", "srm". */
  readonly rule: string;
  readonly metric: string;
  readonly kind: 'absolute' | 'relative' | 'srm';
  readonly state: RuleState;
  readonly arms: Readonly<Record<string, ArmReading>>;
  /** The treatment arm the statistic, p-value and bound below are about (the worst one). */
  readonly variant: string | null;
  readonly statistic: number | null;
  readonly pValue: number | null;
  readonly bound: { readonly lower: number; readonly upper: number } | null;
  readonly alpha: number;
  readonly minSample: number;
  readonly comparisons: readonly Comparison[];
  readonly checkedAt: number;
}

export interface ExperimentCheck {
  readonly experiment: string;
  readonly checkedAt: number;
  readonly rules: readonly RuleResult[];
  readonly srm: RuleResult | null;
  /** Every rule healthy (no breach, and each has its sample): a ramp may advance. */
  readonly healthy: boolean;
  readonly breached: readonly RuleResult[];
}

/** What a check carries to the next: the running minimum of the SRM p-value. */
export interface CheckMemory {
  srmPValue?: number;
}

type MetricRef =
  | { readonly kind: 'mean'; readonly series: string }
  | { readonly kind: 'quantile'; readonly series: string; readonly q: number }
  | { readonly kind: 'per_unit'; readonly series: string };

const SERIES_ALIASES: Readonly<Record<string, string>> = { latency: 'latency_ms', errors: 'error' };

/**
 * How a guardrail's metric name maps onto recorded series:
 * `error_rate` -> mean of `error` (run() records 1 when the handler threw, else 0);
 * `p95_<m>` or `<m>_p95` -> the 0.95 quantile of <m> (`latency` stands for latency_ms);
 * `<m>_per_unit` -> sum of <m> / units exposed; `<m>_rate` -> mean of <m>; else mean of the name.
 */
export function resolveMetric(name: string): MetricRef {
  let ref = resolved.get(name);
  if (ref === undefined) {
    if (resolved.size > 10_000) resolved.clear();
    resolved.set(name, (ref = parseMetric(name)));
  }
  return ref;
}

const resolved = new Map<string, MetricRef>();

function parseMetric(name: string): MetricRef {
  const series = (s: string) => SERIES_ALIASES[s] ?? s;
  const quantile = (p: string) => Number((Number(p) / 100).toPrecision(12));
  let m = /^p(\d{1,2}(?:\.\d+)?)_(.+)$/.exec(name);
  if (m) return { kind: 'quantile', series: series(m[2]!), q: quantile(m[1]!) };
  m = /^(.+)_p(\d{1,2}(?:\.\d+)?)$/.exec(name);
  if (m) return { kind: 'quantile', series: series(m[1]!), q: quantile(m[2]!) };
  m = /^(.+)_per_unit$/.exec(name);
  if (m) return { kind: 'per_unit', series: series(m[1]!) };
  m = /^(.+)_rate$/.exec(name);
  if (m) return { kind: 'mean', series: series(m[1]!) };
  return { kind: 'mean', series: series(name) };
}

interface Moments {
  readonly n: number;
  readonly mean: number;
  /** Per-observation variance. */
  readonly variance: number;
  /** All observations are 0 or 1: a rate. */
  readonly binary: boolean;
}

function moments(s: SeriesData | undefined): Moments | undefined {
  if (s === undefined || s.n <= 0) return undefined;
  const mean = s.sum / s.n;
  const binary = s.min >= 0 && s.max <= 1 && Math.abs(s.sumSq - s.sum) < 1e-9 * Math.max(1, s.sum);
  const variance = binary ? mean * (1 - mean) : s.n > 1 ? Math.max(0, s.sumSq - s.sum * mean) / (s.n - 1) : 0;
  return { n: s.n, mean, variance, binary };
}

function reading(ref: MetricRef, arm: ArmData | undefined): ArmReading {
  const s = arm?.metrics[ref.series];
  if (ref.kind === 'per_unit') {
    const units = arm?.units ?? 0;
    return { value: units > 0 && s ? s.sum / units : null, n: units };
  }
  if (s === undefined || s.n <= 0) return { value: null, n: 0 };
  return { value: ref.kind === 'quantile' ? quantileOf(s, ref.q) : s.sum / s.n, n: s.n };
}

/** A test of `estimate` (0 at the limit) with per-look variance `V`: breached when the sequence is wholly on the bad side. */
function decide(
  variant: string,
  estimate: number,
  V: number,
  perObservationSd: number,
  alpha: number,
  badSide: 1 | -1,
): Comparison {
  if (!Number.isFinite(estimate) || !Number.isFinite(V)) {
    return { variant, state: 'insufficient', statistic: null, pValue: null, bound: null };
  }
  if (V === 0) {
    // No noise at all (every observation the same): the estimate is exact and the sequence
    // is that point. The mixture has no scale here and would give (-inf, inf), so a metric
    // stuck far over its limit would read healthy.
    const breached = badSide === 1 ? estimate > 0 : estimate < 0;
    return {
      variant,
      state: breached ? 'breached' : 'healthy',
      statistic: estimate,
      pValue: estimate === 0 ? 1 : 0,
      bound: { lower: estimate, upper: estimate },
    };
  }
  const m = mixtureSequence(estimate, V, 0.1 * perObservationSd, alpha);
  const { lower, upper } = m.confidenceSequence;
  const breached = badSide === 1 ? lower > 0 : upper < 0;
  return {
    variant,
    state: breached ? 'breached' : 'healthy',
    statistic: estimate,
    pValue: m.pValue,
    bound: { lower, upper },
  };
}

/** Which limit a guardrail sets, as (kind, key, value); the first of max, min, increase, decrease. */
export function limitsOf(g: Guardrail): { kind: 'absolute' | 'relative'; key: string; value: number }[] {
  const out: { kind: 'absolute' | 'relative'; key: string; value: number }[] = [];
  if (g.max !== undefined) out.push({ kind: 'absolute', key: 'max', value: g.max });
  if (g.min !== undefined) out.push({ kind: 'absolute', key: 'min', value: g.min });
  if (g.max_relative_increase !== undefined)
    out.push({ kind: 'relative', key: 'max_relative_increase', value: g.max_relative_increase });
  if (g.max_relative_decrease !== undefined)
    out.push({ kind: 'relative', key: 'max_relative_decrease', value: g.max_relative_decrease });
  return out;
}

function compareAbsolute(
  ref: MetricRef,
  key: string,
  limit: number,
  variant: string,
  arm: ArmData | undefined,
  alpha: number,
): Comparison {
  const badSide = key === 'max' ? 1 : -1;
  const s = arm?.metrics[ref.series];
  if (ref.kind === 'quantile') {
    if (s === undefined || s.n <= 0) return noData(variant);
    // p_q > max  <=>  more than (1 - q) of the observations are above max.
    const p0 = 1 - ref.q;
    const share = countAbove(s, limit) / s.n;
    const variance = Math.max(share * (1 - share), p0 * (1 - p0));
    return decide(variant, share - p0, variance / s.n, Math.sqrt(variance), alpha, badSide);
  }
  if (ref.kind === 'per_unit') {
    const units = arm?.units ?? 0;
    if (units <= 0 || s === undefined) return noData(variant);
    const rate = s.sum / units;
    // At least the variance a per-unit sum at the limit has (the same values, fewer or more of them).
    const atLimit = Math.abs(limit) * (s.sum !== 0 ? s.sumSq / Math.abs(s.sum) : 1);
    const variance = Math.max(perUnitVariance(s, units), atLimit);
    return decide(variant, rate - limit, variance / units, Math.sqrt(variance), alpha, badSide);
  }
  const mo = moments(s);
  if (mo === undefined) return noData(variant);
  const variance = mo.binary && limit > 0 && limit < 1 ? Math.max(mo.variance, limit * (1 - limit)) : mo.variance;
  return decide(variant, mo.mean - limit, variance / mo.n, Math.sqrt(variance), alpha, badSide);
}

function compareRelative(
  ref: MetricRef,
  key: string,
  margin: number,
  variant: string,
  control: ArmData | undefined,
  treatment: ArmData | undefined,
  alpha: number,
): Comparison {
  const badSide = key === 'max_relative_increase' ? 1 : -1;
  const factor = badSide === 1 ? 1 + margin : 1 - margin;
  const sc = control?.metrics[ref.series];
  const st = treatment?.metrics[ref.series];
  if (ref.kind === 'quantile') {
    if (sc === undefined || st === undefined || sc.n <= 0 || st.n <= 0) return noData(variant);
    const qc = quantileOf(sc, ref.q);
    const pt = countAbove(st, factor * qc) / st.n;
    const pc = countAbove(sc, qc) / sc.n;
    const V = (pt * (1 - pt)) / st.n + (pc * (1 - pc)) / sc.n;
    const sd = Math.sqrt((pt * (1 - pt) * st.n + pc * (1 - pc) * sc.n) / (st.n + sc.n));
    return decide(variant, pt - pc, V, sd, alpha, badSide);
  }
  if (ref.kind === 'per_unit') {
    const nc = control?.units ?? 0;
    const nt = treatment?.units ?? 0;
    if (nc <= 0 || nt <= 0 || sc === undefined || st === undefined) return noData(variant);
    const rc = sc.sum / nc;
    const rt = st.sum / nt;
    const vc = perUnitVariance(sc, nc);
    const vt = perUnitVariance(st, nt);
    const V = vt / nt + (factor * factor * vc) / nc;
    return decide(variant, rt - factor * rc, V, Math.sqrt((vt * nt + vc * nc) / (nt + nc)), alpha, badSide);
  }
  const c = moments(sc);
  const t = moments(st);
  if (c === undefined || t === undefined) return noData(variant);
  const V = t.variance / t.n + (factor * factor * c.variance) / c.n;
  const sd = Math.sqrt((t.variance * t.n + c.variance * c.n) / (t.n + c.n));
  return decide(variant, t.mean - factor * c.mean, V, sd, alpha, badSide);
}

/**
 * The variance of one unit's sum of a series (`<m>_per_unit`): compound Poisson, events at a
 * Poisson rate with the values recorded, so sum of squared values / units; for counts (every
 * value 1) that is the Poisson variance, the rate. A tracked event's value (a price of 50) makes
 * the sum vary far more than its mean: taken as Poisson, an A/A experiment tripped most times.
 */
function perUnitVariance(s: SeriesData, units: number): number {
  return s.sumSq / units;
}

function noData(variant: string): Comparison {
  return { variant, state: 'no-data', statistic: null, pValue: null, bound: null };
}

/** The rule's label: metric and its limits, e.g. "error_rate max 0.001". */
export function ruleLabel(g: Guardrail): string {
  return [g.metric, ...limitsOf(g).map((l) => `${l.key} ${l.value}`)].join(' ');
}

/**
 * Checks every guardrail of an experiment, and the built-in sample-ratio-mismatch rule
 * (not for an adaptive experiment), on the experiment's numbers. `memory` carries the SRM
 * p-value's running minimum from one check to the next (kept by the caller).
 */
export function checkExperiment(
  exp: ValidatedExperiment,
  data: Readonly<Record<string, ArmData>> | undefined,
  checkedAt: number,
  memory: CheckMemory = {},
  options: { srmThreshold?: number } = {},
): ExperimentCheck {
  const treatments = exp.variants.map((v) => v.key).filter((v) => v !== exp.control);
  const tests = exp.guardrails.reduce((k, g) => k + limitsOf(g).length, 0) * Math.max(1, treatments.length);
  const alpha = (1 - exp.confidenceLevel) / Math.max(1, tests);
  const rules: RuleResult[] = [];
  for (const g of exp.guardrails) {
    const ref = resolveMetric(g.metric);
    const minSample = g.min_sample ?? exp.minSampleSize;
    const arms: Record<string, ArmReading> = {};
    for (const v of exp.variants) arms[v.key] = reading(ref, data?.[v.key]);
    for (const limit of limitsOf(g)) {
      const involved = limit.kind === 'relative' ? [exp.control, ...treatments] : treatments;
      const comparisons = treatments.map((variant) =>
        limit.kind === 'absolute'
          ? compareAbsolute(ref, limit.key, limit.value, variant, data?.[variant], alpha)
          : compareRelative(ref, limit.key, limit.value, variant, data?.[exp.control], data?.[variant], alpha),
      );
      let state: RuleState;
      if (involved.every((v) => arms[v]!.n === 0)) state = 'no-data';
      else if (involved.some((v) => arms[v]!.n < minSample)) state = 'insufficient';
      else if (comparisons.some((c) => c.state === 'breached')) state = 'breached';
      else if (comparisons.some((c) => c.state === 'no-data')) state = 'no-data';
      else if (comparisons.some((c) => c.state === 'insufficient')) state = 'insufficient';
      else state = 'healthy';
      const worst =
        comparisons.find((c) => c.state === 'breached') ??
        [...comparisons]
          .filter((c) => c.pValue !== null)
          .sort((a, b) => (a.pValue ?? 1) - (b.pValue ?? 1) || (b.statistic ?? 0) - (a.statistic ?? 0))[0];
      rules.push({
        rule: `${g.metric} ${limit.key} ${limit.value}`,
        metric: g.metric,
        kind: limit.kind,
        state,
        arms,
        variant: worst?.variant ?? null,
        statistic: worst?.statistic ?? null,
        pValue: worst?.pValue ?? null,
        bound: worst?.bound ?? null,
        alpha,
        minSample,
        comparisons,
        checkedAt,
      });
    }
  }
  // An adaptive experiment's split moves with every re-weighting, away from the configured
  // weights (its burn-in split) by design: tested against them, the bandit doing its job is
  // a mismatch, and with srm_action: rollback it killed the experiment. It has no SRM rule.
  const srm =
    exp.allocation.mode === 'adaptive' ? null : checkSrm(exp, data, checkedAt, memory, options.srmThreshold ?? 0.001);
  const breached = rules.filter((r) => r.state === 'breached');
  return {
    experiment: exp.key,
    checkedAt,
    rules,
    srm,
    healthy: rules.every((r) => r.state === 'healthy'),
    breached,
  };
}

/** SRM needs this many units in all before it decides anything. */
const SRM_MIN_UNITS = 100;

function checkSrm(
  exp: ValidatedExperiment,
  data: Readonly<Record<string, ArmData>> | undefined,
  checkedAt: number,
  memory: CheckMemory,
  threshold: number,
): RuleResult | null {
  const n = exp.variants.length;
  const counts = new Array<number>(n);
  const weights = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    counts[i] = data?.[exp.variants[i]!.key]?.units ?? 0;
    weights[i] = exp.variants[i]!.weight;
    total += counts[i]!;
  }
  const arms: Record<string, ArmReading> = {};
  for (let i = 0; i < n; i++)
    arms[exp.variants[i]!.key] = { value: total > 0 ? counts[i]! / total : null, n: counts[i]! };
  let state: RuleState = total === 0 ? 'no-data' : 'insufficient';
  let statistic: number | null = null;
  let pValue: number | null = null;
  if (total >= SRM_MIN_UNITS) {
    const r = sequentialSrm(counts, weights, { threshold, previousPValue: memory.srmPValue });
    memory.srmPValue = r.pValue;
    state = r.mismatch ? 'breached' : 'healthy';
    statistic = Math.log(r.bayesFactor);
    pValue = r.pValue;
  }
  return {
    rule: 'srm',
    metric: 'units',
    kind: 'srm',
    state,
    arms,
    variant: null,
    statistic,
    pValue,
    bound: null,
    alpha: threshold,
    minSample: SRM_MIN_UNITS,
    comparisons: [],
    checkedAt,
  };
}

/**
 * The sample at which a mean (or rate) that sits `effect` beyond its limit is expected to
 * trip: the n where the always-valid boundary's half-width equals the effect, for a
 * per-observation standard deviation `sd`, tau = sd / 10 and alpha. Half the experiments
 * with that effect trip by about this n; nearly all by twice it.
 */
export function expectedTripSample(effect: number, sd: number, alpha: number): number {
  let lo = 1;
  let hi = 1;
  const half = (n: number) => mixtureSequence(0, (sd * sd) / n, 0.1 * sd, alpha).confidenceSequence.upper;
  while (half(hi) > effect) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (half(mid) > effect) lo = mid;
    else hi = mid;
  }
  return hi;
}
