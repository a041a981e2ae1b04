/**
 * Allocation: which variant a unit gets, as a pure function of the experiment's config,
 * the unit id and the time.
 *
 * Bucket ranges follow GrowthBook's scheme: variant i owns [start_i, start_i + c * w_i),
 * where start_i is the sum of the earlier weights and c the share of traffic in the
 * experiment. Growing c only extends each range from its fixed start, so a unit in the
 * experiment at 5% is in it, with the same variant, at 25% (a monotone ramp), and
 * shrinking c removes units without moving anyone to another variant. One hash per
 * unit decides both inclusion and variant.
 *
 * Everything a call needs is precomputed here at config load; `assign` allocates nothing.
 */
import type { ValidatedExperiment, RampStep, AllocationMode } from '../config/index.js';
import { hashPrefix, murmur3, unitHash, type HashPrefix } from './murmur3.js';

export interface AllocationPlan {
  readonly experiment: string;
  readonly flag: string;
  readonly mode: AllocationMode;
  readonly control: string;
  readonly controlIndex: number;
  readonly variants: readonly string[];
  readonly payloads: readonly unknown[];
  /** The hash state after salt + ':', so a call hashes only the unit id. */
  readonly prefix: HashPrefix;
  /** Range starts and weights as fractions of [0, 1). */
  readonly starts: Float64Array;
  readonly weights: Float64Array;
  /** fixed mode: the fraction of units in the experiment. */
  readonly fixedCoverage: number;
  readonly steps: readonly RampStep[];
  /**
   * trafficAt's answers, made once: [0] before the first step (or always, outside gradual
   * mode), [i + 1] during step i. Shared and frozen, so asking for the traffic allocates nothing.
   */
  readonly traffic: readonly Traffic[];
  /** Changes whenever a change of config could move units (salt, order, weights). */
  readonly version: number;
  /** `experiment@version`: names this allocation, e.g. in exposure dedupe keys. */
  readonly id: string;
}

/** The traffic an experiment takes at `now`: percent and the ramp step (-1 when fixed or not started). */
export interface Traffic {
  readonly percent: number;
  readonly step: number;
}

export interface ExperimentHold {
  /** Freezes a gradual ramp at the step active at this time (guardrails pause a ramp). */
  readonly pausedAt?: number;
}

export function compilePlan(exp: ValidatedExperiment): AllocationPlan {
  const n = exp.variants.length;
  const starts = new Float64Array(n);
  const weights = new Float64Array(n);
  let acc = 0;
  exp.variants.forEach((v, i) => {
    starts[i] = acc / 100;
    weights[i] = v.weight / 100;
    acc += v.weight;
  });
  const salt = exp.allocation.salt;
  const versionKey = JSON.stringify([salt, exp.variants.map((v) => [v.key, v.weight])]);
  return {
    experiment: exp.key,
    flag: exp.flag,
    mode: exp.allocation.mode,
    control: exp.control,
    controlIndex: exp.variants.findIndex((v) => v.key === exp.control),
    variants: exp.variants.map((v) => v.key),
    payloads: exp.variants.map((v) => v.payload),
    prefix: hashPrefix(salt + ':'),
    starts,
    weights,
    fixedCoverage: exp.allocation.percent / 100,
    steps: exp.allocation.steps,
    traffic: trafficTable(exp.allocation.mode, exp.allocation.percent / 100, exp.allocation.steps),
    version: murmur3(versionKey),
    id: `${exp.key}@${murmur3(versionKey)}`,
  };
}

export function trafficAt(plan: AllocationPlan, now: number, hold?: ExperimentHold): Traffic {
  if (plan.mode !== 'gradual') return plan.traffic[0]!;
  const t = hold?.pausedAt !== undefined && hold.pausedAt < now ? hold.pausedAt : now;
  const steps = plan.steps;
  for (let i = steps.length - 1; i >= 0; i--) {
    if (steps[i]!.startsAt <= t) return plan.traffic[i + 1]!;
  }
  return plan.traffic[0]!;
}

/** A plan's `traffic`: what trafficAt answers before (or outside) a ramp, then at each step. */
export function trafficTable(
  mode: AllocationMode,
  fixedCoverage: number,
  steps: readonly RampStep[],
): readonly Traffic[] {
  const before: Traffic = { percent: mode === 'gradual' ? 0 : fixedCoverage * 100, step: -1 };
  return Object.freeze(
    [before, ...steps.map((s, i) => ({ percent: s.percent, step: i }))].map((t) => Object.freeze(t)),
  );
}

/** Index of the unit's variant at `coverage` (0-1), or -1 when the unit is outside the traffic. */
export function assign(plan: AllocationPlan, unit: string, coverage: number): number {
  if (coverage <= 0) return -1;
  const b = unitHash(plan.prefix, unit) / 4294967296;
  const starts = plan.starts;
  const weights = plan.weights;
  for (let i = starts.length - 1; i >= 0; i--) {
    const s = starts[i]!;
    if (b >= s) return b < s + coverage * weights[i]! ? i : -1;
  }
  return -1;
}
