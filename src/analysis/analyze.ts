/**
 * The analysis entry point: runs the shared SQL through a store, turns the sufficient
 * statistics into effects with switchyard/stats, and decides. Nothing here holds rows of
 * the data: every query returns aggregates (per variant, event name, segment value, day).
 */
import {
  power as powerOf,
  sampleSize,
  srmTest,
  meanTest,
  proportionTest,
  cuped,
  twoSidedNormalP,
} from '../stats/index.js';
import type { CorrectionSetting, ValidatedAnalysis, ValidatedConfig, ValidatedExperiment } from '../config/index.js';
import { SwitchyardError } from '../errors.js';
import { decide, describeEffect } from './decide.js';
import { correct, emptyStats, testStatistic, toEffect, tryStatistic, type EventStats } from './effects.js';
import { followUps } from './follow-ups.js';
import * as Q from './sql.js';
import { Strata, type StratifiedEstimate } from './strata.js';
import type { AnalysisStore, Row, SqlValue } from './store.js';
import {
  ANALYSIS_SCHEMA,
  type Analysis,
  type Behaviour,
  type DailyPoint,
  type Effect,
  type ExperimentAnalysis,
  type Funnel,
  type GuardrailResult,
  type PowerCheck,
  type SegmentRow,
  type SrmCheck,
  type NotAnalysed,
  type Statistic,
} from './types.js';

/** The tracked event run() records (value: latency ms; properties.error). */
export const RUN_EVENT = 'switchyard.run';

export interface AnalyzeOptions {
  /** Only these experiments (default: every experiment in the config and in the data). */
  readonly experiments?: readonly string[];
  readonly config?: ValidatedConfig;
  /**
   * When the analysis ran (ms since epoch): stamped into the result, and records more than a
   * day later than it are left out (dataQuality.outOfRange); without it, no upper bound.
   */
  readonly now?: number;
  /** Primary metric (and funnel) for experiments the config does not describe. */
  readonly metric?: string;
  readonly funnel?: readonly string[];
  /** Called after each experiment, for a progress bar. */
  readonly onProgress?: (done: number, total: number, experiment: string) => void;
}

export const DEFAULT_ANALYSIS: ValidatedAnalysis = {
  corrections: 'holm',
  attributionWindowMs: 14 * 86_400_000,
  segments: [],
  botMaxEventsPerDay: 500,
  srmThreshold: 0.001,
  mde: 0.05,
  power: 0.8,
  decision: {
    minRuntimeDays: 7,
    requireMinSample: true,
    primaryStatistic: 'conversion',
    guardrailRequiresSignificance: true,
  },
};

const num = (v: SqlValue | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const str = (v: SqlValue | undefined): string => (v === null || v === undefined ? '' : String(v));

async function q(store: AnalysisStore, sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
  try {
    return await store.query(sql, params);
  } catch (cause) {
    // The store's own errors (closed, say) say what happened already.
    if (cause instanceof SwitchyardError) throw cause;
    throw new SwitchyardError(
      'SY_ANALYSIS_STORE',
      'analysis',
      `the ${store.engine} query failed: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/** Analyses the experiments in the store; see README: Analysis for what each part means. */
export async function analyze(store: AnalysisStore, options: AnalyzeOptions = {}): Promise<Analysis> {
  const config = options.config;
  const settings = config?.analysis ?? DEFAULT_ANALYSIS;
  const methods = config?.statisticalMethods ?? ['frequentist', 'bayesian'];
  const requested = options.experiments ? [...new Set(options.experiments)] : [];
  const segAttrs = settings.segments;
  const windowS = settings.attributionWindowMs / 1000;
  const times = [Q.EARLIEST_T, options.now === undefined ? null : options.now / 1000 + Q.CLOCK_SKEW_S];
  let outOfRange = 0;
  let outOfRangeEvents = 0;
  // The two scans of the data (see sql.ts), then per experiment only small tables.
  let scanned!: (malformed: number) => void;
  const quality = store.quality(new Promise<number>((resolve) => (scanned = resolve)));
  quality.catch(() => undefined); // awaited below; this only keeps a failure during the scans from going unhandled
  const experiments: ExperimentAnalysis[] = [];
  /** Experiments with exposures that were not analysed, and why (one arm to compare). */
  const notAnalysed: NotAnalysed[] = [];
  for (const s of Q.DROP_TABLES) await q(store, s);
  try {
    options.onProgress?.(0, 2, 'reading exposures');
    // Allocation versions are read only for adaptive experiments (their strata).
    const versions = [...(config?.experiments.entries() ?? [])].some(
      ([k, e]) => e.allocation.mode === 'adaptive' && (requested.length === 0 || requested.includes(k)),
    );
    await q(store, Q.fillAllUnits(segAttrs.length, requested.length, versions), [...segAttrs, ...requested, ...times]);
    // Planner statistics for PostgreSQL (it gathers none for temp tables by itself); DuckDB keeps its own.
    if (store.engine === 'postgres') await q(store, Q.ANALYZE_UNITS);
    const counted = (await q(store, Q.MALFORMED))[0];
    outOfRange = num(counted?.out_of_range);
    outOfRangeEvents = num(counted?.out_of_range_events);
    scanned(num(counted?.malformed));
    let keys = options.experiments ? requested : undefined;
    if (!keys) {
      const found = (await q(store, Q.EXPERIMENTS)).map((r) => str(r.experiment));
      const configured = [...(config?.experiments.keys() ?? [])];
      keys = [...configured.filter((k) => found.includes(k)), ...found.filter((k) => !configured.includes(k))];
    }
    const steps = keys.length + 2;
    options.onProgress?.(1, steps, 'reading events');
    await q(store, Q.FILL_ALL_UNIT_EVENTS, [windowS, ...times]);
    if (store.engine === 'postgres') await q(store, Q.ANALYZE_UNIT_EVENTS);
    for (const s of Q.experimentViews(segAttrs.length)) await q(store, s);
    options.onProgress?.(2, steps, 'events read');
    for (const [i, key] of keys.entries()) {
      const result = await analyzeExperiment(
        store,
        key,
        config?.experiments.get(key),
        settings,
        methods,
        config,
        options,
        times,
      );
      if (typeof result === 'string') notAnalysed.push({ experiment: key, reason: result });
      else if (result) experiments.push(result);
      options.onProgress?.(i + 3, steps, key);
    }
  } finally {
    for (const s of Q.DROP_TABLES) await q(store, s).catch(() => undefined);
  }
  if (options.experiments && experiments.length === 0)
    throw new SwitchyardError(
      'SY_ANALYSIS_NO_DATA',
      'analysis',
      notAnalysed.length > 0
        ? notAnalysed.map((n) => `${JSON.stringify(n.experiment)} ${n.reason}`).join('; ')
        : `no exposures of ${options.experiments.map((k) => JSON.stringify(k)).join(', ')} in the data`,
    );
  return {
    schema: ANALYSIS_SCHEMA,
    generatedAt: new Date(options.now ?? 0).toISOString(),
    engine: store.engine,
    settings: {
      corrections: settings.corrections,
      attributionWindowSeconds: settings.attributionWindowMs / 1000,
      confidenceLevel: config?.defaults.confidenceLevel ?? 0.95,
      methods,
    },
    dataQuality: { ...(await quality), outOfRange, outOfRangeEvents },
    experiments,
    notAnalysed,
  };
}

function toStats(rows: Row[], units: Map<string, number>): Map<string, Map<string, EventStats>> {
  const out = new Map<string, Map<string, EventStats>>();
  for (const r of rows) {
    const v = str(r.variant);
    const byEvent = out.get(v) ?? new Map<string, EventStats>();
    out.set(v, byEvent);
    byEvent.set(str(r.event), {
      n: units.get(v) ?? 0,
      converted: num(r.converted),
      cnt: num(r.cnt),
      cnt2: num(r.cnt2),
      val: num(r.val),
      valUnit2: num(r.val_unit2),
      valEvent2: num(r.val_event2),
      err: num(r.err),
      ttf: num(r.ttf),
      ttf2: num(r.ttf2),
      preUnits: num(r.pre_units),
    });
  }
  return out;
}

async function analyzeExperiment(
  store: AnalysisStore,
  key: string,
  exp: ValidatedExperiment | undefined,
  settings: ValidatedAnalysis,
  methods: readonly string[],
  config: ValidatedConfig | undefined,
  options: AnalyzeOptions,
  times: readonly SqlValue[],
): Promise<ExperimentAnalysis | string | null> {
  const windowS = settings.attributionWindowMs / 1000;
  const segAttrs = settings.segments;
  await q(store, Q.SET_EXPERIMENT[0]!);
  await q(store, Q.SET_EXPERIMENT[1]!, [key]);
  {
    const arms = await q(store, Q.ARMS);
    if (arms.length === 0) return null;
    const units = new Map(arms.map((r) => [str(r.variant), num(r.units)]));
    const start = Math.min(...arms.map((r) => num(r.start)));
    const last = Math.max(...arms.map((r) => num(r.last)));
    const elapsedDays = (last - start) / 86400;
    const multiple = num((await q(store, Q.MULTIPLE))[0]?.units);

    const configured = exp?.variants.map((v) => v.key) ?? [];
    const observed = [...units.keys()].sort();
    const variants = exp ? [...configured, ...observed.filter((v) => !configured.includes(v))] : observed;
    const control = exp?.control ?? (observed.includes('control') ? 'control' : observed[0]!);
    const treatments = variants.filter((v) => v !== control);
    const alpha = 1 - (exp?.confidenceLevel ?? config?.defaults.confidenceLevel ?? 0.95);
    const bayesian = methods.includes('bayesian');

    // SRM: observed units against the configured weights (equal weights without a config).
    const weights = variants.map((v) => exp?.variants.find((x) => x.key === v)?.weight ?? (exp ? 0 : 1));
    const counts = variants.map((v) => units.get(v) ?? 0);
    const srmVariants = variants.filter((_, i) => weights[i]! > 0);
    // One arm (data of an experiment outside the config that only ever served one variant,
    // or a config with a single weighted variant): nothing to compare, so nothing to analyse;
    // said, for a caller who asked for it (it was "no exposures of" it).
    const unitsText = variants.map((v) => `${v} ${(units.get(v) ?? 0).toLocaleString('en')}`).join(', ');
    if (treatments.length === 0) return `has exposures of one variant only (${unitsText} units): nothing to compare`;
    if (srmVariants.length < 2)
      return `has one variant with a weight in the config (${srmVariants.join('')}): nothing to compare (units: ${unitsText})`;
    const srmRaw = srmTest(
      counts.filter((_, i) => weights[i]! > 0),
      weights.filter((w) => w > 0),
      { threshold: settings.srmThreshold },
    );
    const totalW = weights.reduce((a, b) => a + b, 0);
    const unexpected = variants.filter((_, i) => weights[i] === 0 && counts[i]! > 0);
    // An adaptive experiment's split moves with each re-weighting, away from the configured
    // weights (its burn-in split) by design: tested against them, the bandit doing its job
    // read as a mismatch and stopped the experiment. (The guardrail monitor skips it too.)
    const adaptive = exp?.allocation.mode === 'adaptive';
    const srm: SrmCheck = {
      variants: variants.map((v, i) => ({ variant: v, units: counts[i]!, expectedShare: weights[i]! / totalW })),
      chiSquare: srmRaw.chiSquare,
      pValue: unexpected.length > 0 ? 0 : srmRaw.pValue,
      threshold: settings.srmThreshold,
      mismatch: (srmRaw.mismatch && !adaptive) || unexpected.length > 0,
      ...(adaptive
        ? {
            notTested:
              "an adaptive experiment's split follows the bandit; the configured weights are only its burn-in split",
          }
        : {}),
    };
    void srmVariants;

    const stats = toStats(await q(store, Q.PER_EVENT), units);
    const get = (variant: string, event: string) =>
      stats.get(variant)?.get(event) ?? emptyStats(units.get(variant) ?? 0);

    // Metrics: primary and secondary, three statistics each; the decision statistic of each
    // metric forms one correction family, the other statistics another.
    const primaryMetric = exp ? (exp.primaryMetric ?? null) : (options.metric ?? null);
    const decisionStat = settings.decision.primaryStatistic;
    const metricNames = [...(primaryMetric ? [primaryMetric] : []), ...(exp?.secondaryMetrics ?? [])];
    type Pending = {
      metric: string;
      role: Effect['role'];
      statistic: Statistic;
      variant: string;
      raw: NonNullable<ReturnType<typeof testStatistic>>;
      family: number;
    };
    const pending: Pending[] = [];
    const notComputed: string[] = [];
    // A metric no unit ever triggered is most often a misspelt name: its "no effect" is not a result.
    const seen = [...new Set([...stats.values()].flatMap((m) => [...m.keys()]))].sort();
    for (const metric of metricNames)
      if (!seen.includes(metric))
        notComputed.push(
          `No exposed unit has a ${metric} event in its attribution window: check the metric's name${seen.length > 0 ? ` (events seen: ${seen.slice(0, 8).join(', ')}${seen.length > 8 ? ', ...' : ''})` : ''}.`,
        );
    for (const metric of metricNames) {
      for (const statistic of ['conversion', 'mean_value', 'events_per_unit'] as const) {
        for (const variant of treatments) {
          const raw = tryStatistic(statistic, get(control, metric), get(variant, metric), alpha, bayesian);
          if (raw === 'not_finite')
            notComputed.push(
              `The ${statistic} of ${metric} for ${variant} could not be computed (its sums are not finite numbers); it is left out.`,
            );
          else if (raw)
            pending.push({
              metric,
              role: metric === primaryMetric ? 'primary' : 'secondary',
              statistic,
              variant,
              raw,
              family: statistic === decisionStat ? 0 : 1,
            });
        }
      }
    }
    // An adaptive experiment's effects stratified by allocation version (strata.ts): its
    // pooled comparison credits a drift in the metric to the arm the bandit moved traffic to.
    const stratifiedBy = new Map<Pending, StratifiedEstimate>();
    if (adaptive && pending.length > 0) {
      const strata = new Strata(await q(store, Q.STRATA_UNITS), await q(store, Q.STRATA_EVENTS));
      for (const p of pending) {
        const s = strata.estimate(p.statistic, p.metric, control, p.variant, alpha);
        if (s) stratifiedBy.set(p, s);
      }
    }
    // CUPED on the primary metric's decision statistic when units had the event before exposure
    // (not on an adaptive experiment's: it adjusts the pooled comparison, which is biased there).
    const cupedBy = new Map<string, Omit<NonNullable<Effect['cuped']>, 'adjustedPValue'>>();
    if (
      !adaptive &&
      primaryMetric &&
      treatments.some((v) => get(v, primaryMetric).preUnits > 0 || get(control, primaryMetric).preUnits > 0)
    ) {
      const sums = new Map(
        (await q(store, Q.cupedSums(decisionStat), [primaryMetric])).map((r) => [str(r.variant), r]),
      );
      const arm = (v: string) => {
        const r = sums.get(v);
        return {
          n: units.get(v) ?? 0,
          sumY: num(r?.sy),
          sumYSq: num(r?.syy),
          sumX: num(r?.sx),
          sumXSq: num(r?.sxx),
          sumXY: num(r?.sxy),
        };
      };
      for (const p of pending) {
        if (p.role !== 'primary' || p.statistic !== decisionStat) continue;
        try {
          const c = cuped(arm(control), arm(p.variant), { alpha });
          cupedBy.set(p.variant, {
            absolute: c.test.difference,
            absoluteCi: c.test.differenceCI,
            pValue: c.test.pValue,
            varianceReduction: c.varianceReduction,
          });
        } catch {
          // No CUPED for this arm: its decision reads the raw test.
        }
      }
    }
    const cupedOf = (p: Pending) =>
      p.role === 'primary' && p.statistic === decisionStat ? cupedBy.get(p.variant) : undefined;

    // Each family corrected as configured. The decisions read CUPED's or the stratified test
    // where it ran, so a family is corrected a second time with those p-values in place of the
    // raw ones (their adjustedPValue): a p used as it came would skip the correction for every
    // treatment arm but one.
    const adjusted = new Map<Pending, number>();
    const alternativeAdjusted = new Map<Pending, number>();
    const alternativeP = (p: Pending) => stratifiedBy.get(p)?.pValue ?? cupedOf(p)?.pValue;
    for (const family of [0, 1]) {
      const members = pending.filter((p) => p.family === family);
      correct(
        members.map((p) => p.raw.pValue),
        settings.corrections,
      ).forEach((p, i) => adjusted.set(members[i]!, p));
      if (members.some((p) => alternativeP(p) !== undefined))
        correct(
          members.map((p) => alternativeP(p) ?? p.raw.pValue),
          settings.corrections,
        ).forEach((p, i) => alternativeAdjusted.set(members[i]!, p));
    }
    const metrics: Effect[] = pending.map((p) => {
      const e = toEffect(p.metric, p.role, p.statistic, control, p.variant, p.raw, adjusted.get(p)!, alpha);
      const s = stratifiedBy.get(p);
      if (s) {
        const adjustedPValue = alternativeAdjusted.get(p)!;
        return { ...e, significant: adjustedPValue < alpha, stratified: { ...s, adjustedPValue } };
      }
      const c = cupedOf(p);
      return c ? { ...e, cuped: { ...c, adjustedPValue: alternativeAdjusted.get(p)! } } : e;
    });

    const guardrails = await evaluateGuardrails(store, exp, control, treatments, get, alpha, settings, windowS, times);

    // Power of the primary decision statistic for the configured MDE, at the level its corrected
    // p is held to: the decision reads that p, corrected across the decision family.
    const familySize = pending.filter((p) => p.family === 0).length;
    const minSampleSize = exp?.minSampleSize ?? config?.defaults.minSampleSize ?? 10_000;
    const runtimeDays = exp?.runtimeDays ?? config?.defaults.runtimeDays ?? 14;
    const smallestArm = Math.min(...variants.map((v) => units.get(v) ?? 0));
    let power: PowerCheck | null = null;
    if (primaryMetric)
      power = powerCheck(
        primaryMetric,
        decisionStat,
        get(control, primaryMetric),
        exp?.mde ?? settings.mde,
        correctedLevel(alpha, familySize, settings.corrections),
        settings.power,
        smallestArm,
        minSampleSize,
        elapsedDays,
        runtimeDays,
      );

    const primaryEffects = metrics.filter((e) => e.role === 'primary' && e.statistic === decisionStat);
    const decision = decide({
      srm,
      guardrails,
      primary: primaryEffects,
      primaryMetric,
      power,
      elapsedDays,
      runtimeDays,
      minRuntimeDays: settings.decision.minRuntimeDays,
      requireMinSample: settings.decision.requireMinSample,
      minSampleSize,
      smallestArm,
      alpha,
    });

    const grouped = primaryMetric ? await q(store, Q.groupedOutcomes(segAttrs.length), [primaryMetric, start]) : [];
    const daily = dailyPoints(grouped, start);
    const segments = segmentRows(grouped, segAttrs, control, treatments, alpha, settings);
    // The funnel, the event paths and the bots: one pass over the per-unit rows.
    const funnelSteps = exp ? exp.funnel : (options.funnel ?? []);
    const steps = funnelSteps.length >= 2 ? funnelSteps : [];
    const perUnit = await q(store, Q.unitPass(steps.length), [settings.botMaxEventsPerDay, windowS, last, ...steps]);
    const perVariant = perUnit.filter((r) => num(r.all_paths) === 1);
    const funnel = steps.length >= 2 ? funnelOf(perVariant, units, steps, control, treatments, alpha, settings) : null;
    const behaviour = behaviourOf(
      perUnit.filter((r) => num(r.all_paths) === 0 && r.path !== null),
      stats,
      variants,
      control,
      treatments,
      alpha,
      settings,
      primaryMetric,
      bayesian,
    );
    const bots: Record<string, number> = {};
    for (const r of perVariant) if (num(r.bots) > 0) bots[str(r.variant)] = num(r.bots);

    const base = {
      experiment: key,
      ...(exp?.hypothesis ? { hypothesis: exp.hypothesis } : {}),
      ...(exp?.owner ? { owner: exp.owner } : {}),
      control,
      variants,
      primaryMetric,
      primaryStatistic: decisionStat,
      period: {
        start: new Date(start * 1000).toISOString(),
        end: new Date(last * 1000).toISOString(),
        days: elapsedDays,
      },
      units: Object.fromEntries(variants.map((v) => [v, units.get(v) ?? 0])),
      excluded: { multipleVariants: multiple, botLike: bots },
      srm,
      metrics,
      guardrails,
      power,
      decision,
      daily,
      segments,
      funnel,
      behaviour,
    };
    const insights = [...insightsOf(base), ...notComputed];
    return { ...base, insights, followUps: followUps({ ...base, insights, followUps: [] }, exp) };
  }
}

/**
 * The level a lone effect's raw p must reach for its corrected p to be below alpha, in a family
 * of m whose other members show nothing (p = 1): alpha / m for bonferroni, holm and bh, less for
 * by, alpha for none. The power of the corrected test is the power of the raw one at this level.
 */
function correctedLevel(alpha: number, m: number, method: CorrectionSetting): number {
  const probe = 1e-12;
  const [adjusted] = correct([probe, ...new Array<number>(Math.max(0, m - 1)).fill(1)], method);
  return alpha / (adjusted! / probe);
}

function powerCheck(
  metric: string,
  statistic: string,
  c: EventStats,
  mde: number,
  alpha: number,
  targetPower: number,
  smallestArm: number,
  minSampleSize: number,
  elapsedDays: number,
  runtimeDays: number,
): PowerCheck | null {
  try {
    const design =
      statistic === 'conversion'
        ? { metric: 'proportion' as const, baseline: c.n > 0 ? c.converted / c.n : 0 }
        : (() => {
            const [sum, sumSq] = statistic === 'mean_value' ? [c.val, c.valUnit2] : [c.cnt, c.cnt2];
            const mean = sum / c.n;
            return {
              metric: 'mean' as const,
              baseline: mean,
              sd: Math.sqrt(Math.max(0, (sumSq - c.n * mean * mean) / (c.n - 1))),
            };
          })();
    const input = { ...design, mde, relative: true, alpha };
    const needed = sampleSize({ ...input, power: targetPower }).perArm;
    const reached = smallestArm >= 2 ? powerOf({ ...input, n: smallestArm }) : 0;
    const daily = smallestArm / Math.max(elapsedDays, 1 / 24);
    const target = Math.max(needed, minSampleSize);
    return {
      metric,
      baseline: design.baseline,
      mde,
      power: reached,
      targetPower,
      neededPerArm: needed,
      minSampleSize,
      smallestArm,
      dailyUnitsPerArm: daily,
      elapsedDays,
      runtimeDays,
      daysToSample: smallestArm >= target ? 0 : Math.ceil((target - smallestArm) / Math.max(daily, 1e-9)),
    };
  } catch {
    // A baseline of 0 or 1 (no conversions yet) or no variance: power is undefined.
    return null;
  }
}

async function evaluateGuardrails(
  store: AnalysisStore,
  exp: ValidatedExperiment | undefined,
  control: string,
  treatments: readonly string[],
  get: (variant: string, event: string) => EventStats,
  alpha: number,
  settings: ValidatedAnalysis,
  windowS: number,
  times: readonly SqlValue[],
): Promise<GuardrailResult[]> {
  const out: GuardrailResult[] = [];
  let p95: Map<string, number> | undefined;
  for (const g of exp?.guardrails ?? []) {
    const isRun = g.metric === 'error_rate' || g.metric.startsWith('latency');
    const event = isRun ? RUN_EVENT : g.metric;
    const statistic: Statistic = g.metric === 'error_rate' ? 'error_rate' : isRun ? 'latency_mean' : 'conversion';
    if (g.metric === 'latency_p95' && !p95)
      p95 = new Map((await q(store, Q.P95, [RUN_EVENT, windowS, ...times])).map((r) => [str(r.variant), num(r.p95)]));
    const higherIsWorse = g.max !== undefined || g.max_relative_increase !== undefined;
    const rule =
      g.max !== undefined
        ? `<= ${g.max}`
        : g.min !== undefined
          ? `>= ${g.min}`
          : g.max_relative_increase !== undefined
            ? `at most ${(g.max_relative_increase * 100).toFixed(1)}% above control`
            : `at most ${((g.max_relative_decrease ?? 0) * 100).toFixed(1)}% below control`;
    for (const variant of treatments) {
      const raw = testStatistic(statistic, get(control, event), get(variant, event), alpha, false);
      if (!raw) {
        out.push({
          metric: g.metric,
          variant,
          rule,
          control: null,
          treatment: null,
          relative: null,
          pValue: null,
          status: 'no_data',
          sentence: `${g.metric} has no data for ${variant} and ${control}.`,
        });
        continue;
      }
      const cv = g.metric === 'latency_p95' ? (p95?.get(control) ?? null) : raw.control.value;
      const tv = g.metric === 'latency_p95' ? (p95?.get(variant) ?? null) : raw.treatment.value;
      const relative = cv !== null && tv !== null && cv !== 0 ? tv / cv - 1 : null;
      const worse = higherIsWorse ? raw.absolute > 0 : raw.absolute < 0;
      const sig = !settings.decision.guardrailRequiresSignificance || (worse && raw.pValue < alpha);
      let over = false;
      let near = false;
      if (tv !== null) {
        if (g.max !== undefined) [over, near] = [tv > g.max, tv > 0.8 * g.max];
        else if (g.min !== undefined) [over, near] = [tv < g.min, tv < 1.2 * g.min];
        else if (relative !== null && g.max_relative_increase !== undefined)
          [over, near] = [relative > g.max_relative_increase, relative > 0.8 * g.max_relative_increase];
        else if (relative !== null && g.max_relative_decrease !== undefined)
          [over, near] = [-relative > g.max_relative_decrease, -relative > 0.8 * g.max_relative_decrease];
      }
      const n = Math.min(raw.control.n, raw.treatment.n);
      const status =
        g.min_sample !== undefined && n < g.min_sample
          ? 'insufficient'
          : over && sig
            ? 'breach'
            : over || near
              ? 'near'
              : 'ok';
      const shown = (x: number | null) => (x === null ? 'n/a' : Number(x.toPrecision(4)).toString());
      out.push({
        metric: g.metric,
        variant,
        rule,
        control: cv,
        treatment: tv,
        relative,
        pValue: raw.pValue,
        status,
        sentence: `${g.metric} for ${variant} is ${shown(tv)} against ${shown(cv)} in ${control} (limit ${rule}, p = ${raw.pValue.toPrecision(3)}): ${status === 'breach' ? 'breached' : status === 'near' ? 'near its limit' : status === 'insufficient' ? `fewer than ${g.min_sample} observations` : 'within its limit'}.`,
      });
    }
  }
  return out;
}

/** The rows of one grouping of Q.groupedOutcomes (gs: -2 day, -1 week, i segment i), its group as grp. */
function grouping(rows: readonly Row[], gs: number, column: string): Row[] {
  return rows.filter((r) => num(r.gs) === gs).map((r) => ({ ...r, grp: r[column] ?? null }));
}

function dailyPoints(grouped: readonly Row[], start: number): DailyPoint[] {
  const rows = grouping(grouped, -2, 'g_day');
  const acc = new Map<string, { units: number; conv: number }>();
  return rows.map((r) => {
    const v = str(r.variant);
    const a = acc.get(v) ?? { units: 0, conv: 0 };
    a.units += num(r.units);
    a.conv += num(r.converted);
    acc.set(v, a);
    const day = new Date((start + num(r.grp) * 86400) * 1000).toISOString().slice(0, 10);
    return { day, variant: v, units: num(r.units), conversions: num(r.converted), cumulativeRate: a.conv / a.units };
  });
}

/**
 * Effects by segment value and exposure week, corrected across all of them. A segment is
 * named as differing by leaving out one at a time: in each round, every remaining value's
 * effect is tested against the pooled effect of the other remaining values (an interaction
 * z, corrected across the round); the most different is named if significant and left out
 * of "the rest" for the next round. One odd segment is then named alone, not also every
 * ordinary segment whose "rest" contained it.
 */
function segmentRows(
  grouped: readonly Row[],
  attrs: readonly string[],
  control: string,
  treatments: readonly string[],
  alpha: number,
  settings: ValidatedAnalysis,
): SegmentRow[] {
  type Cell = { n: number; conversions: number };
  const groups: { attribute: string; rows: Row[] }[] = attrs.map((attribute, i) => ({
    attribute,
    rows: grouping(grouped, i, `g_s${i}`),
  }));
  groups.push({ attribute: 'exposure_week', rows: grouping(grouped, -1, 'g_week') });
  type Base = Omit<SegmentRow, 'adjustedPValue' | 'differsPValue' | 'differsAdjustedPValue' | 'differs'>;
  const rows: { base: Base; differsPValue: number; differsAdjustedPValue: number; differs: boolean }[] = [];
  for (const { attribute, rows: raw } of groups) {
    const cells = new Map<string, Map<string, Cell>>();
    for (const r of raw) {
      const value = attribute === 'exposure_week' ? `week ${num(r.grp) + 1}` : str(r.grp);
      const m = cells.get(value) ?? new Map<string, Cell>();
      cells.set(value, m);
      m.set(str(r.variant), { n: num(r.units), conversions: num(r.converted) });
    }
    for (const variant of treatments) {
      const here = new Map<string, { c: Cell; t: Cell; row: (typeof rows)[number] }>();
      for (const [value, m] of cells) {
        const c = m.get(control);
        const t = m.get(variant);
        if (!c || !t || c.n < 1 || t.n < 1) continue;
        const r = proportionTest(c, t, { alpha });
        const row = {
          base: {
            attribute,
            value,
            variant,
            control: { variant: control, n: c.n, value: r.control.rate },
            treatment: { variant, n: t.n, value: r.treatment.rate },
            relative: r.relativeLift.lift,
            absolute: r.difference,
            absoluteCi: r.differenceCI,
            pValue: r.pValue,
          },
          differsPValue: 1,
          differsAdjustedPValue: 1,
          differs: false,
        };
        rows.push(row);
        here.set(value, { c, t, row });
      }
      const remaining = new Set(here.keys());
      for (let round = 0; remaining.size >= 2; round++) {
        const tested: { value: string; p: number }[] = [];
        for (const value of remaining) {
          const { c, t } = here.get(value)!;
          const rest = [...remaining].filter((v) => v !== value);
          const sum = (pick: (x: { c: Cell; t: Cell }) => Cell) =>
            rest.reduce(
              (a, v) => ({
                n: a.n + pick(here.get(v)!).n,
                conversions: a.conversions + pick(here.get(v)!).conversions,
              }),
              { n: 0, conversions: 0 },
            );
          const one = proportionTest(c, t, { alpha });
          const other = proportionTest(
            sum((x) => x.c),
            sum((x) => x.t),
            { alpha },
          );
          // Interaction z: this value's difference against the rest's, independent samples.
          const se = Math.sqrt(one.standardError ** 2 + other.standardError ** 2);
          tested.push({ value, p: se > 0 ? twoSidedNormalP((one.difference - other.difference) / se) : 1 });
        }
        const adj = correct(
          tested.map((x) => x.p),
          settings.corrections,
        );
        tested.forEach((x, i) => {
          const row = here.get(x.value)!.row;
          row.differsPValue = x.p;
          row.differsAdjustedPValue = adj[i]!;
        });
        const best = tested.map((x, i) => ({ ...x, adj: adj[i]! })).sort((a, b) => a.adj - b.adj)[0]!;
        if (best.adj >= alpha) break;
        here.get(best.value)!.row.differs = true;
        remaining.delete(best.value);
      }
    }
  }
  const adjusted = correct(
    rows.map((r) => r.base.pValue),
    settings.corrections,
  );
  return rows.map((r, i) => ({
    ...r.base,
    adjustedPValue: adjusted[i]!,
    differsPValue: r.differsPValue,
    differsAdjustedPValue: r.differsAdjustedPValue,
    differs: r.differs,
  }));
}

/** The funnel from the unit pass's per-variant rows (r0.. units reaching each step) and the arms' units. */
function funnelOf(
  perVariant: readonly Row[],
  units: ReadonlyMap<string, number>,
  steps: readonly string[],
  control: string,
  treatments: readonly string[],
  alpha: number,
  settings: ValidatedAnalysis,
): Funnel {
  const rows = new Map(perVariant.map((r) => [str(r.variant), r]));
  const reached = (v: string, k: number) => (k < 0 ? (units.get(v) ?? 0) : num(rows.get(v)?.[`r${k}`]));
  const variants = [control, ...treatments];
  const raw: { k: number; variant: string; absolute: number; pValue: number }[] = [];
  for (let k = 0; k < steps.length; k++)
    for (const variant of treatments) {
      const c = { n: reached(control, k - 1), conversions: reached(control, k) };
      const t = { n: reached(variant, k - 1), conversions: reached(variant, k) };
      if (c.n < 1 || t.n < 1) continue;
      const r = proportionTest(c, t, { alpha });
      raw.push({ k, variant, absolute: r.difference, pValue: r.pValue });
    }
  const adj = correct(
    raw.map((r) => r.pValue),
    settings.corrections,
  );
  const tests = raw.map((r, i) => ({ ...r, adjustedPValue: adj[i]!, significant: adj[i]! < alpha }));
  const out = steps.map((event, k) => ({
    event,
    reached: Object.fromEntries(variants.map((v) => [v, reached(v, k)])),
    conversion: Object.fromEntries(
      variants.map((v) => [v, reached(v, k - 1) > 0 ? reached(v, k) / reached(v, k - 1) : 0]),
    ),
    tests: tests
      .filter((t) => t.k === k)
      .map(({ variant, absolute, pValue, adjustedPValue, significant }) => ({
        variant,
        absolute,
        pValue,
        adjustedPValue,
        significant,
      })),
  }));
  const biggestDropOff = Object.fromEntries(
    variants.map((v) => [v, out.reduce((a, b) => ((b.conversion[v] ?? 1) < (a.conversion[v] ?? 1) ? b : a)).event]),
  );
  const worst = tests.filter((t) => t.significant && t.absolute < 0).sort((a, b) => a.absolute - b.absolute)[0];
  return {
    steps: out,
    biggestDropOff,
    frictionPoint: worst
      ? {
          event: steps[worst.k]!,
          variant: worst.variant,
          absolute: worst.absolute,
          adjustedPValue: worst.adjustedPValue,
        }
      : null,
  };
}

/** pathRows: the unit pass's rows per variant and path, most units first. */
function behaviourOf(
  pathRows: readonly Row[],
  stats: Map<string, Map<string, EventStats>>,
  variants: readonly string[],
  control: string,
  treatments: readonly string[],
  alpha: number,
  settings: ValidatedAnalysis,
  primaryMetric: string | null,
  bayesian: boolean,
): Behaviour {
  const events = [...new Set([...stats.values()].flatMap((m) => [...m.keys()]))].sort();
  const get = (v: string, e: string) => stats.get(v)?.get(e);
  const eventsPerUnit = events.map((event) => ({
    event,
    perVariant: Object.fromEntries(
      variants.map((v) => {
        const s = get(v, event);
        return [v, s && s.n > 0 ? s.cnt / s.n : 0];
      }),
    ),
  }));
  const raws: { event: string; variant: string; raw: NonNullable<ReturnType<typeof testStatistic>> }[] = [];
  for (const event of events)
    for (const variant of treatments) {
      const c = get(control, event);
      const t = get(variant, event);
      if (!c || !t) continue;
      const raw = testStatistic('events_per_unit', c, t, alpha, bayesian);
      if (raw) raws.push({ event, variant, raw });
    }
  const adj = correct(
    raws.map((r) => r.raw.pValue),
    settings.corrections,
  );
  const differences = raws
    .map((r, i) => toEffect(r.event, 'behaviour', 'events_per_unit', control, r.variant, r.raw, adj[i]!, alpha))
    .filter((e) => e.significant);
  const paths: Record<string, { path: string[]; units: number; share: number }[]> = {};
  for (const r of pathRows) {
    const v = str(r.variant);
    const list = (paths[v] ??= []);
    if (list.length < 5) list.push({ path: str(r.path).split('\u001f'), units: num(r.units), share: 0 });
  }
  for (const v of Object.keys(paths)) {
    const n = stats.get(v)?.values().next().value?.n ?? 0;
    for (const p of paths[v]!) p.share = n > 0 ? p.units / n : 0;
  }
  const timeToConversion: Record<string, { units: number; meanSeconds: number }> = {};
  const sentences = differences.map(
    (e) =>
      `${e.variant} units trigger ${e.metric} ${e.treatment.value.toFixed(3)} times per unit against ${e.control.value.toFixed(3)} in ${e.control.variant} (${e.relative === null ? 'n/a' : `${(e.relative * 100).toFixed(1)}%`}, corrected p = ${e.adjustedPValue.toPrecision(2)}).`,
  );
  if (primaryMetric) {
    for (const v of variants) {
      const s = get(v, primaryMetric);
      if (s && s.converted > 0) timeToConversion[v] = { units: s.converted, meanSeconds: s.ttf / s.converted };
    }
    const c = get(control, primaryMetric);
    for (const v of treatments) {
      const t = get(v, primaryMetric);
      if (!c || !t || c.converted < 2 || t.converted < 2) continue;
      const r = meanTest(
        { n: c.converted, sum: c.ttf, sumSq: c.ttf2 },
        { n: t.converted, sum: t.ttf, sumSq: t.ttf2 },
        { alpha },
      );
      if (r.pValue < alpha)
        sentences.push(
          `${v} units reach their first ${primaryMetric} ${r.difference < 0 ? 'sooner' : 'later'} than ${control} units (mean ${(r.treatment.mean / 60).toFixed(1)} vs ${(r.control.mean / 60).toFixed(1)} minutes after exposure, p = ${r.pValue.toPrecision(2)}).`,
        );
    }
  }
  return { eventsPerUnit, differences, paths, timeToConversion, sentences };
}

function insightsOf(a: Omit<ExperimentAnalysis, 'insights' | 'followUps'>): string[] {
  const out: string[] = [a.decision.reason];
  for (const e of a.metrics.filter((m) => m.significant && m.role !== 'primary'))
    out.push(`Secondary: ${describeEffect(e)}.`);
  for (const s of a.segments.filter((s) => s.differs))
    out.push(
      `The effect in ${s.attribute} = ${s.value} (${s.relative === null ? 'n/a' : `${(s.relative * 100).toFixed(1)}%`} for ${s.variant}) differs significantly from the rest of the experiment (corrected p = ${s.differsAdjustedPValue.toPrecision(2)}).`,
    );
  if (a.funnel?.frictionPoint) {
    const f = a.funnel.frictionPoint;
    out.push(
      `Friction point: fewer ${f.variant} units go on to ${f.event} than ${a.control} units (${(f.absolute * 100).toFixed(1)} points, corrected p = ${f.adjustedPValue.toPrecision(2)}).`,
    );
  }
  out.push(...a.behaviour.sentences);
  if (a.excluded.multipleVariants > 0)
    out.push(`${a.excluded.multipleVariants} units saw more than one variant and were left out.`);
  const bots = Object.values(a.excluded.botLike).reduce((x, y) => x + y, 0);
  if (bots > 0)
    out.push(`${bots} units look like bots (more events per day than the cap); they are counted, check them.`);
  return out;
}
