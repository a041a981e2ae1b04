/**
 * Sample-ratio mismatch: does the observed split of units match the configured weights?
 */
import { chiSquareSf } from './distributions.js';
import { StatsInputError, count, nonNegative, openUnit } from './errors.js';

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
