/**
 * One adaptive experiment at run time: its current allocation version (a plan with the
 * version's weights), the sticky assignments that keep a unit on its arm across versions,
 * and the re-weighting that makes the next version from the arms' statistics.
 *
 * Sticky assignment: a unit seen for the first time is bucketed under the current
 * version's weights (the same hash as fixed mode, so instances agree on a new unit) and
 * keeps that arm afterwards. Arms are stored as codes into a list of variant names that
 * only grows, so a config reload maps each code to the arm's current index; a unit whose
 * arm the config no longer has gets the control.
 *
 * Without a sticky store (sticky: none) every call buckets under the current weights:
 * ranges follow the variant order, so when weights change exactly the units whose bucket
 * now falls in another arm's range move (with arms a, b, c and a's weight going from 0.4
 * to 0.3, the units in [0.3, 0.4) move from a to b, and so on down the order).
 */
import {
  MAX_ARM_CODE,
  StickyTable,
  adaptivePolicy,
  assign,
  burnInWeights,
  nextWeights,
  versionPlan,
  withinFloors,
  type AdaptivePolicy,
  type AllocationPlan,
} from '../../allocation/index.js';
import type { ValidatedAdaptive } from '../../config/index.js';
import type { MetricRecorder } from '../../guardrails/index.js';
import { seededUniform } from '../../ports.js';
import { armPosteriors, posteriorSummary, thompsonShares, type Posterior } from '../../stats/index.js';
import { UNITS_METRIC, banditSeries, type ArmStats } from './arm-stats.js';
import type { RedisStickyStore } from './redis-sticky.js';

/** A published allocation version: what every instance of the fleet serves. */
export interface AllocationVersion {
  readonly version: number;
  /** Weights by variant name (shares of traffic adding up to 1). */
  readonly weights: Readonly<Record<string, number>>;
  readonly phase: 'initial' | 'burn-in' | 'thompson';
  /** When it was made (ms). */
  readonly at: number;
  /**
   * The data it was made from and the posteriors then, per arm (absent from versions
   * published before this field existed). Published with the version, so every instance
   * and `switchyard status` show the leader's summaries.
   */
  readonly arms?: readonly ArmStatus[];
}

export interface ArmStatus {
  readonly variant: string;
  readonly weight: number;
  readonly units: number;
  readonly conversions: number;
  readonly mean: number;
  /** P(best) under the posteriors at the version's re-weighting (undefined before there is a model). */
  readonly probabilityBest: number | undefined;
  /** The arm's posterior: Beta(alpha, beta) or Normal(mean, sd). */
  readonly posterior: Readonly<Record<string, number>> | undefined;
  /** The posterior's mean and 95% credible interval. */
  readonly posteriorMean: number | undefined;
  readonly credibleInterval: { readonly lower: number; readonly upper: number } | undefined;
}

export interface AdaptiveStatus {
  readonly experiment: string;
  readonly version: number;
  readonly phase: AllocationVersion['phase'];
  readonly at: number;
  readonly metric: string;
  readonly metricKind: 'conversion' | 'continuous';
  readonly sticky: ValidatedAdaptive['sticky'];
  readonly stickyUnits: number;
  readonly stickyCapacity: number;
  /** Units served unremembered because the sticky table was full. */
  readonly stickyOverflow: number;
  readonly arms: readonly ArmStatus[];
}

export class AdaptiveExperiment {
  plan: AllocationPlan;
  current: AllocationVersion;
  private readonly table: StickyTable;
  /** Arm codes -> variant names; only grows. */
  private readonly names: string[] = [];
  /** Code -> index in the current plan's variants (control when the arm is gone). */
  private codeToIndex = new Int16Array(0);
  private seriesOf = '';
  private series = '';
  overflow = 0;

  constructor(
    base: AllocationPlan,
    public options: ValidatedAdaptive,
    public metric: string,
    private policy: AdaptivePolicy,
    private readonly recorder: MetricRecorder,
    readonly redis: RedisStickyStore | undefined,
  ) {
    this.table = new StickyTable(options.stickyCapacity, base.experiment);
    this.plan = base;
    const initial = burnInWeights(policy);
    this.current = {
      version: base.version,
      weights: Object.fromEntries(base.variants.map((v, i) => [v, initial[i]!])),
      phase: 'initial',
      at: 0,
    };
    this.rebase(base);
  }

  get experiment(): string {
    return this.plan.experiment;
  }

  /** Takes a freshly compiled plan (config reload) and keeps serving the current version on it. */
  rebase(base: AllocationPlan): void {
    this.policy = adaptivePolicy(base, this.options);
    for (const v of base.variants) if (!this.names.includes(v) && this.names.length <= MAX_ARM_CODE) this.names.push(v);
    this.codeToIndex = Int16Array.from(this.names, (n) => {
      const i = base.variants.indexOf(n);
      return i >= 0 ? i : base.controlIndex;
    });
    this.plan = versionPlan(base, this.weightsFor(base, this.current), this.current.version);
  }

  /** Serves `version` from now on (a re-weighting here or in the fleet). */
  adopt(version: AllocationVersion, base: AllocationPlan = this.plan): void {
    this.current = version;
    this.plan = versionPlan(base, this.weightsFor(base, version), version.version);
  }

  /**
   * The unit's variant index under the current plan: its sticky arm, or a new assignment.
   * Synchronous for a unit in memory; with the Redis store a unit not in memory costs one
   * batched round trip (or none, served from memory, when Redis is away).
   */
  assign(unit: string): number | Promise<number> {
    const plan = this.plan;
    if (this.options.sticky === 'none') {
      const fresh = assign(plan, unit, 1);
      const code = this.codeOf(fresh);
      const had = this.table.get(unit);
      if (had !== code && this.table.set(unit, code) && had < 0) this.countUnit(fresh);
      return fresh;
    }
    const code = this.table.get(unit);
    if (code >= 0) return this.codeToIndex[code]!;
    const fresh = assign(plan, unit, 1);
    if (this.redis === undefined) return this.remember(unit, fresh);
    return this.redis.resolve(unit, plan.variants[fresh]!).then(({ name, isNew }) => {
      // A unit stored elsewhere (another instance, before a restart) keeps its arm there.
      const known = this.table.get(unit);
      const index = known >= 0 ? this.codeToIndex[known]! : this.remember(unit, indexOf(this.plan, name), isNew);
      // The caller allocates under the plan it began with; a reload while Redis answered may have
      // replaced it (an arm added: the unit's arm may be one that plan does not have; its control then).
      return this.plan === plan ? index : indexOf(plan, this.plan.variants[index]!);
    });
  }

  /** The unit's sticky arm (index in the current plan), or -1 when it has none. */
  stickyArm(unit: string): number {
    const code = this.table.get(unit);
    return code >= 0 ? this.codeToIndex[code]! : -1;
  }

  /** A tracked event: the primary metric, attributed to the unit's sticky arm. */
  track(unit: string, value: number | undefined): void {
    const code = this.table.get(unit);
    if (code < 0) return;
    const variant = this.names[code]!;
    // The series name is built once per metric, not per event.
    if (this.seriesOf !== this.metric) {
      this.seriesOf = this.metric;
      this.series = banditSeries(this.metric);
    }
    const series = this.series;
    if (this.options.metricKind === 'conversion') {
      if (this.table.markConverted(unit)) this.recorder.record(this.experiment, variant, series, 1);
    } else this.recorder.record(this.experiment, variant, series, value ?? 1);
  }

  /** Forgets a unit's cached arm (the Redis store's reconciliation found another one). */
  correct(unit: string, name: string): void {
    const index = this.plan.variants.indexOf(name);
    if (index >= 0) this.table.set(unit, this.codeOf(index));
  }

  /**
   * The next allocation version from the arms' statistics (in the plan's variant order,
   * merged across the fleet): burn-in until every arm has min_sample units, then Thompson
   * sampling with `draws` draws, seeded by the config's seed and the current version, so
   * the same data and seed give the same weights. The version carries the arms' numbers,
   * posteriors and P(best) it was made from.
   */
  reweight(arms: readonly ArmStats[], at: number): AllocationVersion {
    const plan = this.plan;
    const units = arms.map((a) => a.units);
    const posteriors = this.posteriors(arms);
    // P(best) is computed in burn-in too (status shows it); the weights only use it after.
    const shares = posteriors.every((p) => p !== undefined) ? this.shares(posteriors) : undefined;
    const next = nextWeights(this.policy, Array.from(plan.weights), units, shares);
    // Versions only go up, also when the clock is coarse or behind the last version's.
    const version = Math.max(Math.floor(at), this.current.version + 1);
    return {
      version,
      weights: Object.fromEntries(plan.variants.map((v, i) => [v, next.weights[i]!])),
      phase: next.phase,
      at,
      arms: this.armStatus(arms, posteriors, next.weights, shares),
    };
  }

  /** Current weights and version; arms' numbers now (`arms`), P(best) from the version's re-weighting. */
  status(arms: readonly ArmStats[]): AdaptiveStatus {
    const plan = this.plan;
    const best = new Map(this.current.arms?.map((a) => [a.variant, a.probabilityBest]));
    const shares = plan.variants.map((v) => best.get(v));
    return {
      experiment: plan.experiment,
      version: this.current.version,
      phase: this.current.phase,
      at: this.current.at,
      metric: this.metric,
      metricKind: this.options.metricKind,
      sticky: this.options.sticky,
      stickyUnits: this.table.size,
      stickyCapacity: this.table.capacity,
      stickyOverflow: this.overflow,
      arms: this.armStatus(arms, this.posteriors(arms), Array.from(plan.weights), shares),
    };
  }

  /** Each arm's posterior, or undefined while it has too little data for the model. */
  private posteriors(arms: readonly ArmStats[]): (Posterior | undefined)[] {
    const kind = this.options.metricKind;
    return arms.map((a) => {
      try {
        return armPosteriors(kind, [toArm(kind, a)])[0];
      } catch {
        // A continuous metric with fewer than two values in the arm.
        return undefined;
      }
    });
  }

  private armStatus(
    arms: readonly ArmStats[],
    posteriors: readonly (Posterior | undefined)[],
    weights: readonly number[],
    shares: readonly (number | undefined)[] | undefined,
  ): ArmStatus[] {
    const kind = this.options.metricKind;
    return this.plan.variants.map((variant, i) => {
      const a = arms[i]!;
      const data = toArm(kind, a);
      const p = posteriors[i];
      const summary = p && posteriorSummary(p);
      const { kind: _kind, ...params } = p ?? { kind: '' };
      return {
        variant,
        weight: weights[i]!,
        units: a.units,
        conversions: a.conversions,
        mean: data.n > 0 ? (kind === 'conversion' ? a.conversions : a.sum) / data.n : 0,
        probabilityBest: shares?.[i],
        posterior: p ? (params as Record<string, number>) : undefined,
        posteriorMean: summary?.mean,
        credibleInterval: summary && { lower: summary.lower, upper: summary.upper },
      };
    });
  }

  private shares(posteriors: readonly Posterior[]): number[] {
    return thompsonShares(posteriors, {
      draws: this.options.draws,
      uniform: seededUniform(
        this.options.seed,
        this.current.version % 2 ** 31,
        Math.floor(this.current.version / 2 ** 31),
      ),
    });
  }

  /**
   * Keeps the unit's arm in memory; `isNew`: the unit was not stored anywhere before, so
   * it counts as one more unit of the arm. The Redis store's memory is a cache: when full
   * it is cleared (units come back from Redis); the memory store, when full, remembers no
   * more units.
   */
  private remember(unit: string, index: number, isNew = true): number {
    const code = this.codeOf(index);
    let stored = this.table.set(unit, code);
    if (!stored && this.redis) {
      this.table.clear();
      stored = this.table.set(unit, code);
    }
    if (!stored && this.overflow++ === 0) this.onOverflow?.(this.table.capacity);
    if (isNew) this.countUnit(index);
    return index;
  }

  onOverflow: ((capacity: number) => void) | undefined;

  private countUnit(index: number): void {
    this.recorder.record(this.experiment, this.plan.variants[index]!, UNITS_METRIC, 1);
  }

  private codeOf(index: number): number {
    return this.names.indexOf(this.plan.variants[index]!);
  }

  /**
   * A version's weights in the plan's variant order: the arms it names renormalise, and
   * every arm keeps today's floor (an arm the version does not name, added by a reload or
   * unknown to the instance that published it, had none until the next re-weighting).
   */
  private weightsFor(base: AllocationPlan, version: AllocationVersion): number[] {
    const w = base.variants.map((v) => version.weights[v] ?? 0);
    const sum = w.reduce((a, b) => a + b, 0);
    return sum > 0
      ? withinFloors(
          this.policy,
          w.map((x) => x / sum),
        )
      : burnInWeights(this.policy);
  }
}

/**
 * The arm as its model's sufficient statistics: a conversion rate over the arm's units, or
 * a continuous metric's mean over its values. sum and sumSq are over the values a unit
 * tracks (every value, several per unit possibly), so only the values' count goes with
 * them: over the units, a unit sending three values made sumSq smaller than sum^2 / n,
 * and the arm a posterior without spread.
 */
function toArm(kind: 'conversion' | 'continuous', a: ArmStats) {
  return kind === 'conversion'
    ? { n: a.units, conversions: Math.min(a.conversions, a.units) }
    : { n: a.conversions, sum: a.sum, sumSq: a.sumSq };
}

/** The index of the variant `name` in `plan`, or its control's when the plan has no such variant. */
function indexOf(plan: AllocationPlan, name: string): number {
  const i = plan.variants.indexOf(name);
  return i >= 0 ? i : plan.controlIndex;
}
