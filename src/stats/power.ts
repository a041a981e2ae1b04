/**
 * Power and sample size for a two-sided two-sample z-test with equal arms.
 *
 * Proportions (Fleiss, Levin, Paik, Statistical Methods for Rates and Proportions,
 * 3rd ed., 4.2, without continuity correction):
 *   n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{power} sqrt(p1 q1 + p2 q2))^2 / delta^2
 * Means (known-variance approximation): n = 2 sigma^2 (z_{1-a/2} + z_{power})^2 / delta^2.
 * power() is the exact inverse of these (the far tail, below 1e-6 at any useful power,
 * is ignored, as in the formula). sampleSize asks for at least 2 units per arm, and throws
 * (naming mde) when no finite number of units reaches the power.
 */
import { Phi, zq } from './distributions.js';
import { StatsInputError, count, finite, object, openUnit, positive } from './errors.js';

export interface DesignInput {
  readonly metric: 'proportion' | 'mean';
  /** Baseline rate (proportion, in (0, 1)) or mean. */
  readonly baseline: number;
  /** Minimum detectable effect, > 0: absolute, or relative to the baseline with `relative`. */
  readonly mde: number;
  readonly relative?: boolean;
  /** Per-unit standard deviation (mean metrics only). */
  readonly sd?: number;
  /** Two-sided significance level (default 0.05). */
  readonly alpha?: number;
}

export interface SampleSizeInput extends DesignInput {
  /** Target power (default 0.8). */
  readonly power?: number;
  /** Number of arms including control (default 2), for the total and the runtime. */
  readonly arms?: number;
  /** Units that reach the experiment's entry point per day, for the runtime. */
  readonly dailyUnits?: number;
  /** Share of those units allocated to the experiment, 0-1 (default 1). */
  readonly trafficShare?: number;
}

export interface SampleSizeResult {
  readonly perArm: number;
  readonly total: number;
  readonly arms: number;
  /** The absolute effect the design detects. */
  readonly effect: number;
  readonly alpha: number;
  readonly power: number;
  /** Days to reach the sample at `dailyUnits` x `trafficShare`; null without dailyUnits. */
  readonly runtimeDays: number | null;
}

/** The fewest units per arm a test needs to estimate a variance, however large the effect. */
const MIN_PER_ARM = 2;

interface Design {
  p1: number;
  p2: number;
  delta: number;
  alpha: number;
  metric: 'proportion' | 'mean';
  sd: number;
}

function design(input: DesignInput): Design {
  object('input', input);
  if (input.metric !== 'proportion' && input.metric !== 'mean') {
    throw new StatsInputError('metric', `must be "proportion" or "mean", found ${JSON.stringify(input.metric)}`);
  }
  const baseline = finite('baseline', input.baseline);
  const mde = positive('mde', input.mde);
  const alpha = input.alpha === undefined ? 0.05 : openUnit('alpha', input.alpha);
  const delta = input.relative ? Math.abs(baseline) * mde : mde;
  if (delta === 0) throw new StatsInputError('mde', 'a relative MDE of a zero baseline is zero; give an absolute MDE');
  if (input.metric === 'proportion') {
    openUnit('baseline', baseline);
    const p2 = baseline + delta;
    if (p2 >= 1) throw new StatsInputError('mde', `moves the rate to ${p2}, outside (0, 1)`);
    return { p1: baseline, p2, delta, alpha, metric: 'proportion', sd: 0 };
  }
  const sd = positive('sd', input.sd);
  return { p1: baseline, p2: baseline + delta, delta, alpha, metric: 'mean', sd };
}

/** Units per arm for a two-sided test to detect `mde` with the given power. */
export function sampleSize(input: SampleSizeInput): SampleSizeResult {
  const d = design(input);
  const power = input.power === undefined ? 0.8 : openUnit('power', input.power);
  const arms = input.arms === undefined ? 2 : count('arms', input.arms, 2);
  const za = zq(1 - d.alpha / 2);
  const zb = zq(power);
  let n: number;
  if (d.metric === 'proportion') {
    const pbar = (d.p1 + d.p2) / 2;
    n =
      (za * Math.sqrt(2 * pbar * (1 - pbar)) + zb * Math.sqrt(d.p1 * (1 - d.p1) + d.p2 * (1 - d.p2))) ** 2 /
      d.delta ** 2;
  } else {
    n = (2 * d.sd ** 2 * (za + zb) ** 2) / d.delta ** 2;
  }
  if (!Number.isFinite(n))
    throw new StatsInputError(
      'mde',
      `is too small to detect at alpha ${d.alpha} and power ${power}: no finite number of units per arm does`,
    );
  const perArm = Math.max(MIN_PER_ARM, Math.ceil(n - 1e-9));
  let runtimeDays: number | null = null;
  if (input.dailyUnits !== undefined) {
    const daily = positive('dailyUnits', input.dailyUnits);
    const share = input.trafficShare === undefined ? 1 : finite('trafficShare', input.trafficShare);
    if (share <= 0 || share > 1) throw new StatsInputError('trafficShare', `must be in (0, 1], found ${share}`);
    runtimeDays = Math.ceil((perArm * arms) / (daily * share) - 1e-9);
  }
  return { perArm, total: perArm * arms, arms, effect: d.delta, alpha: d.alpha, power, runtimeDays };
}

/** Power of the two-sided test with `n` units per arm. */
export function power(input: DesignInput & { readonly n: number }): number {
  const d = design(input);
  const n = count('n', input.n, 1);
  const za = zq(1 - d.alpha / 2);
  if (d.metric === 'proportion') {
    const pbar = (d.p1 + d.p2) / 2;
    return Phi(
      (d.delta * Math.sqrt(n) - za * Math.sqrt(2 * pbar * (1 - pbar))) /
        Math.sqrt(d.p1 * (1 - d.p1) + d.p2 * (1 - d.p2)),
    );
  }
  return Phi(d.delta * Math.sqrt(n / (2 * d.sd ** 2)) - za);
}
