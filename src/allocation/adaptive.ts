/**
 * adaptive allocation's policy: the next weights from the previous ones, each arm's units,
 * and Thompson sampling's P(best) shares. Pure: the shares come in from the stats module,
 * computed with a seeded uniform source, so the same data and seed give the same weights.
 *
 * Weights are shares of all traffic and add up to 1. In order:
 * - burn-in: until every arm has `minSample` units, the configured split stays (equal
 *   when the config names no weights), so early noise moves nothing;
 * - holdout: the control always keeps `holdout` on top of whatever the bandit gives it;
 * - floor: every arm keeps at least `floor`, so no arm starves and every allocation
 *   version has units in every arm (which the stratified analysis needs);
 * - the bandit's part, 1 - holdout - arms x floor, is split in proportion to P(best);
 * - cap: no weight moves more than `maxStep` from the previous version's; the result is
 *   the closest point to the target inside those bounds (a bisection on one shift λ,
 *   weights clamp(target + λ, lower, upper), which keeps the sum at 1).
 */
import type { ValidatedAdaptive } from '../config/index.js';
import { trafficTable, type AllocationPlan } from './plan.js';

export interface AdaptivePolicy {
  readonly floor: number;
  readonly holdout: number;
  readonly maxStep: number;
  readonly minSample: number;
  readonly controlIndex: number;
  /** The burn-in split from the config, as fractions adding up to 1. */
  readonly initial: readonly number[];
}

export function adaptivePolicy(plan: AllocationPlan, options: ValidatedAdaptive): AdaptivePolicy {
  return {
    floor: options.floor,
    holdout: options.holdout,
    maxStep: options.maxStep,
    minSample: options.minSample,
    controlIndex: plan.controlIndex,
    initial: Array.from(plan.weights),
  };
}

export interface Reweighting {
  readonly weights: number[];
  readonly phase: 'burn-in' | 'thompson';
}

/** True while some arm has fewer than minSample units. */
export function isBurningIn(policy: AdaptivePolicy, units: readonly number[]): boolean {
  return units.some((n) => n < policy.minSample);
}

/** The split during burn-in: the configured weights within the holdout and floors. */
export function burnInWeights(policy: AdaptivePolicy): number[] {
  const k = policy.initial.length;
  const target = policy.initial.map(
    (w, i) => (1 - policy.holdout) * w + (i === policy.controlIndex ? policy.holdout : 0),
  );
  return project(target, lowerBounds(policy, k), new Array<number>(k).fill(1));
}

/**
 * The next weights. `shares` (P(best) per arm, from thompsonShares) is read only after
 * the burn-in; pass undefined while burning in.
 */
export function nextWeights(
  policy: AdaptivePolicy,
  previous: readonly number[],
  units: readonly number[],
  shares: readonly number[] | undefined,
): Reweighting {
  const k = policy.initial.length;
  if (shares === undefined || isBurningIn(policy, units)) return { weights: burnInWeights(policy), phase: 'burn-in' };
  const free = Math.max(0, 1 - policy.holdout - k * policy.floor);
  const target = shares.map((s, i) => policy.floor + free * s + (i === policy.controlIndex ? policy.holdout : 0));
  const floors = lowerBounds(policy, k);
  const lower = floors.map((f, i) => Math.max(f, previous[i]! - policy.maxStep));
  const upper = previous.map((p) => Math.min(1, p + policy.maxStep));
  const sumLower = lower.reduce((a, b) => a + b, 0);
  const sumUpper = upper.reduce((a, b) => a + b, 0);
  // A previous split that broke today's floors (the config changed) cannot always be
  // reached within one step: then the floors hold and the cap gives way.
  if (sumLower > 1 + 1e-12 || sumUpper < 1 - 1e-12)
    return { weights: project(target, floors, new Array<number>(k).fill(1)), phase: 'thompson' };
  return { weights: project(target, lower, upper), phase: 'thompson' };
}

/**
 * A version's weights under today's floors and holdout, which a config reload may have
 * raised, or an arm it added that the version gives nothing: the closest split inside
 * them (the weights as they are when they are inside already).
 */
export function withinFloors(policy: AdaptivePolicy, weights: readonly number[]): number[] {
  const lower = lowerBounds(policy, weights.length);
  if (weights.every((w, i) => w >= lower[i]!)) return Array.from(weights);
  return project(weights, lower, new Array<number>(weights.length).fill(1));
}

function lowerBounds(policy: AdaptivePolicy, k: number): number[] {
  return Array.from({ length: k }, (_, i) => policy.floor + (i === policy.controlIndex ? policy.holdout : 0));
}

/** clamp(target + λ, lower, upper) with λ such that the weights add up to 1. */
function project(target: readonly number[], lower: readonly number[], upper: readonly number[]): number[] {
  const at = (lambda: number) => target.map((t, i) => Math.min(upper[i]!, Math.max(lower[i]!, t + lambda)));
  const sum = (w: number[]) => w.reduce((a, b) => a + b, 0);
  let lo = -2;
  let hi = 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (sum(at(mid)) < 1) lo = mid;
    else hi = mid;
  }
  const w = at((lo + hi) / 2);
  // Spread the last rounding error over the arms that are not at a bound.
  const err = 1 - sum(w);
  const free = w.findIndex((x, i) => x - lower[i]! > Math.abs(err) && upper[i]! - x > Math.abs(err));
  if (free >= 0) w[free]! += err;
  return w;
}

/**
 * The plan of one allocation version: the experiment's plan with these weights, this
 * version number and its id. Ranges keep the variant order, so without a sticky store a
 * unit moves exactly when its bucket falls in a range whose owner changed.
 */
export function versionPlan(base: AllocationPlan, weights: readonly number[], version: number): AllocationPlan {
  const n = weights.length;
  const starts = new Float64Array(n);
  const w = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    starts[i] = acc;
    w[i] = weights[i]!;
    acc += weights[i]!;
  }
  // The same properties in the same order as compilePlan's, so every plan has one shape
  // and the engine's property reads stay monomorphic.
  return {
    experiment: base.experiment,
    flag: base.flag,
    mode: base.mode,
    control: base.control,
    controlIndex: base.controlIndex,
    variants: base.variants,
    payloads: base.payloads,
    prefix: base.prefix,
    starts,
    weights: w,
    fixedCoverage: 1,
    steps: base.steps,
    traffic: trafficTable(base.mode, 1, base.steps),
    version,
    id: `${base.experiment}@${version}`,
  };
}
