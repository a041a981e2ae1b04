/**
 * Mixture sequential probability ratio test (mSPRT) for the difference between two arms,
 * safe under continuous monitoring: its p-values are always valid, so a test may be
 * looked at after every batch of data and stopped at the first look with p < alpha
 * without inflating the false-positive rate.
 *
 * With the estimate d (treatment - control) and its variance V (plug-in, from the data),
 * and a Normal(0, tau^2) mixing distribution over the true difference, the mixture
 * likelihood ratio against H0: difference = 0 is
 *   Lambda = sqrt(V / (V + tau^2)) exp(tau^2 d^2 / (2 V (V + tau^2))).
 * The always-valid p-value is min over looks of min(1, 1 / Lambda) (pass the previous
 * look's p-value to carry the minimum), and the confidence sequence, from inverting
 * the test at every difference, is
 *   d +- sqrt(V (V + tau^2) / tau^2 (2 ln(1/alpha) + ln((V + tau^2) / V))).
 * tau defaults to a tenth of the pooled per-unit standard deviation, a typical scale of
 * A/B effects (Johari et al. choose tau from the effects seen in past experiments; pass
 * `tau` to do the same).
 * Reference: Johari, Koomen, Pekelis, Walsh (2017), "Peeking at A/B Tests: Why It Matters,
 * and What to Do About It", KDD; Robbins (1970), "Statistical methods related to the law
 * of the iterated logarithm".
 */
import { StatsInputError, finite, meanArm, nonNegative, object, openUnit, positive, proportionArm } from './errors.js';
import type { Interval, MeanArm, ProportionArm } from './frequentist.js';

export interface MsprtOptions {
  readonly alpha?: number;
  /** Standard deviation of the Normal mixing distribution, in the metric's units. */
  readonly tau?: number;
  /** The always-valid p-value of the previous look, to carry the running minimum. */
  readonly previousPValue?: number;
}

export interface MsprtResult {
  readonly difference: number;
  readonly variance: number;
  readonly tau: number;
  /** The mixture likelihood ratio; reject H0 once it reaches 1 / alpha. */
  readonly likelihoodRatio: number;
  readonly pValue: number;
  readonly confidenceSequence: Interval;
  readonly alpha: number;
  readonly reject: boolean;
}

function summarise(name: string, arm: ProportionArm | MeanArm): { n: number; mean: number; variance: number } {
  object(name, arm);
  if ('conversions' in arm) {
    const { n, conversions } = proportionArm(name, arm);
    const p = conversions / n;
    return { n, mean: p, variance: p * (1 - p) };
  }
  return meanArm(name, arm);
}

export function msprt(
  control: ProportionArm | MeanArm,
  treatment: ProportionArm | MeanArm,
  options: MsprtOptions = {},
): MsprtResult {
  const c = summarise('control', control);
  const t = summarise('treatment', treatment);
  if ('conversions' in control !== 'conversions' in treatment)
    throw new StatsInputError('treatment', 'must be the same kind of metric as control');
  const alpha = options.alpha === undefined ? 0.05 : openUnit('alpha', options.alpha);
  const previous = options.previousPValue === undefined ? 1 : unitP('previousPValue', options.previousPValue);
  const pooledSd = Math.sqrt((c.variance * c.n + t.variance * t.n) / (c.n + t.n));
  const tau = options.tau === undefined ? 0.1 * pooledSd : positive('tau', options.tau);
  const d = t.mean - c.mean;
  const V = c.variance / c.n + t.variance / t.n;
  if (V === 0 || tau === 0) {
    // No variance yet (e.g. no conversions in either arm): no evidence either way.
    return {
      difference: d,
      variance: V,
      tau,
      likelihoodRatio: 1,
      pValue: previous,
      confidenceSequence: { lower: -Infinity, upper: Infinity },
      alpha,
      reject: previous < alpha,
    };
  }
  const m = mixtureSequence(d, V, tau, alpha, previous);
  return { difference: d, variance: V, tau, ...m, alpha, reject: m.pValue < alpha };
}

export interface MixtureSequence {
  /** The mixture likelihood ratio against "the true value is 0". */
  readonly likelihoodRatio: number;
  /** Always-valid p-value: min(previous, 1 / likelihood ratio). */
  readonly pValue: number;
  /** The always-valid confidence sequence around the estimate. */
  readonly confidenceSequence: Interval;
}

/**
 * The normal-mixture boundary behind msprt, for any estimate that is asymptotically
 * normal with a known (plug-in) variance: a difference of means, a one-sample rate, or a
 * shifted difference such as treatment - (1 + margin) x control. Pass estimate - null
 * value to test a null other than 0; the interval is around the estimate as given.
 * Same references and formula as msprt (Robbins 1970; Johari et al. 2017).
 */
export function mixtureSequence(
  estimate: number,
  variance: number,
  tau: number,
  alpha = 0.05,
  previousPValue = 1,
): MixtureSequence {
  finite('estimate', estimate);
  nonNegative('variance', variance);
  // tau 0 (no scale yet) means no evidence, as a zero variance does; NaN or Infinity is no tau.
  nonNegative('tau', tau);
  openUnit('alpha', alpha);
  unitP('previousPValue', previousPValue);
  if (!(variance > 0) || !(tau > 0)) {
    return {
      likelihoodRatio: 1,
      pValue: previousPValue,
      confidenceSequence: { lower: -Infinity, upper: Infinity },
    };
  }
  const V = variance;
  const tau2 = tau * tau;
  const logLambda = 0.5 * Math.log(V / (V + tau2)) + (tau2 * estimate * estimate) / (2 * V * (V + tau2));
  const half = Math.sqrt(((V * (V + tau2)) / tau2) * (2 * Math.log(1 / alpha) + Math.log((V + tau2) / V)));
  return {
    likelihoodRatio: Math.exp(logLambda),
    pValue: Math.min(previousPValue, 1, Math.exp(-logLambda)),
    confidenceSequence: { lower: estimate - half, upper: estimate + half },
  };
}

/** A p-value carried from an earlier look: a number in [0, 1]. */
function unitP(name: string, v: unknown): number {
  const p = finite(name, v);
  if (p < 0 || p > 1) throw new StatsInputError(name, `must be in [0, 1], found ${p}`);
  return p;
}
