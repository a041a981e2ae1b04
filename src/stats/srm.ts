/**
 * Sample-ratio mismatch: does the observed split of units match the configured weights?
 */
import { chiSquareSf } from './distributions.js';
import betaln from '@stdlib/math-base-special-betaln';
import { StatsInputError, count, nonNegative, openUnit, positive } from './errors.js';

export interface SrmResult {
  readonly chiSquare: number;
  readonly df: number;
  readonly pValue: number;
  readonly expected: readonly number[];
  /** Observed share minus expected share, per arm. */
  readonly deviations: readonly number[];
  readonly threshold: number;
  /** pValue < threshold: the split is not what was configured; do not trust the results. */
  readonly mismatch: boolean;
}

/**
 * Pearson's chi-square goodness-of-fit test of observed unit counts against the
 * configured weights (any scale; they are normalised), for any number of arms.
 * chi2 = sum (O_i - E_i)^2 / E_i, df = arms - 1. The default threshold 0.001 follows
 * common practice (Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch in A/B Testing"):
 * an SRM check runs on every experiment, so it must rarely fire by chance.
 * Matches scipy.stats.chisquare(f_obs, f_exp).
 */
export function srmTest(
  counts: readonly number[],
  weights: readonly number[],
  options: { threshold?: number } = {},
): SrmResult {
  if (!Array.isArray(counts) || counts.length < 2)
    throw new StatsInputError(
      'counts',
      `needs at least 2 arms, found ${Array.isArray(counts) ? counts.length : typeof counts}`,
    );
  if (!Array.isArray(weights) || weights.length !== counts.length) {
    throw new StatsInputError(
      'weights',
      `needs one weight per arm (${counts.length}), found ${Array.isArray(weights) ? weights.length : typeof weights}`,
    );
  }
  counts.forEach((c, i) => count(`counts[${i}]`, c));
  weights.forEach((w, i) => nonNegative(`weights[${i}]`, w));
  const threshold = options.threshold === undefined ? 0.001 : openUnit('threshold', options.threshold);
  const total = counts.reduce((a, b) => a + b, 0);
  const weightTotal = weights.reduce((a, b) => a + b, 0);
  if (total === 0) throw new StatsInputError('counts', 'are all zero; there is no split to test');
  if (weightTotal === 0) throw new StatsInputError('weights', 'are all zero');
  let chi2 = 0;
  const expected = weights.map((w) => (total * w) / weightTotal);
  counts.forEach((c, i) => {
    const e = expected[i]!;
    if (e === 0) {
      if (c > 0) chi2 = Infinity;
      return;
    }
    chi2 += (c - e) ** 2 / e;
  });
  const df = weights.filter((w) => w > 0).length - 1;
  const pValue = chi2 === Infinity ? 0 : chiSquareSf(chi2, Math.max(df, 1));
  return {
    chiSquare: chi2,
    df,
    pValue,
    expected,
    deviations: counts.map((c, i) => c / total - weights[i]! / weightTotal),
    threshold,
    mismatch: pValue < threshold,
  };
}

export interface SequentialSrmResult {
  /** The Dirichlet-multinomial Bayes factor against the configured split. */
  readonly bayesFactor: number;
  /** Always-valid p-value: min(previous, 1 / Bayes factor). */
  readonly pValue: number;
  readonly expected: readonly number[];
  readonly deviations: readonly number[];
  readonly threshold: number;
  readonly mismatch: boolean;
}

/**
 * Sample-ratio mismatch safe under continuous monitoring, for a check that runs again
 * and again (srmTest is a fixed-horizon test: looked at every few seconds it fires far
 * more often than its threshold). The Bayes factor of a Dirichlet(concentration x
 * weights) mixture over the arms' shares against the configured shares is a nonnegative
 * martingale under the configured split, so 1 / BF is an always-valid p-value (Ville's
 * inequality): min over looks, carried with `previousPValue`.
 *   BF = B(alpha + counts) / B(alpha) / prod(p_i ^ counts_i), B the multivariate beta.
 * The concentration (default 1000) sets the deviations the test is quickest at: a share
 * off by about 1 / sqrt(concentration) of itself.
 * Reference: Lindon and Malek (2022), "Anytime-Valid Inference for Multinomial Count
 * Data", NeurIPS.
 */
export function sequentialSrm(
  counts: readonly number[],
  weights: readonly number[],
  options: { threshold?: number; concentration?: number; previousPValue?: number } = {},
): SequentialSrmResult {
  const fixed = srmTest(counts, weights, { threshold: options.threshold });
  const concentration = options.concentration === undefined ? 1000 : positive('concentration', options.concentration);
  const previous = options.previousPValue === undefined ? 1 : nonNegative('previousPValue', options.previousPValue);
  const weightTotal = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w) => w / weightTotal);
  let logBf = 0;
  const alphas: number[] = [];
  const posterior: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    const p = shares[i]!;
    if (p === 0) {
      if (counts[i]! > 0) logBf = Infinity;
      continue;
    }
    alphas.push(concentration * p);
    posterior.push(concentration * p + counts[i]!);
    logBf -= counts[i]! * Math.log(p);
  }
  if (logBf !== Infinity) logBf += logMultiBeta(posterior) - logMultiBeta(alphas);
  const bayesFactor = Math.exp(logBf);
  const pValue = Math.min(previous, 1, Math.exp(-logBf));
  return {
    bayesFactor,
    pValue,
    expected: fixed.expected,
    deviations: fixed.deviations,
    threshold: fixed.threshold,
    mismatch: pValue < fixed.threshold,
  };
}

/** ln of the multivariate beta function, as a chain of two-argument betas. */
function logMultiBeta(a: readonly number[]): number {
  let rest = a.reduce((x, y) => x + y, 0);
  let out = 0;
  for (let i = 0; i < a.length - 1; i++) {
    rest -= a[i]!;
    out += betaln(a[i]!, rest);
  }
  return out;
}
