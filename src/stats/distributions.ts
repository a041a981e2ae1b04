/**
 * Thin, tail-accurate wrappers over the @stdlib distributions. Upper tails are computed
 * directly (never as 1 - cdf), so tiny p-values keep their relative precision.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalPdf from '@stdlib/stats-base-dists-normal-pdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import gammainc from '@stdlib/math-base-special-gammainc';

export const phi = (x: number): number => normalPdf(x, 0, 1);
export const Phi = (x: number): number => normalCdf(x, 0, 1);
/** Standard normal quantile. */
export const zq = (p: number): number => normalQuantile(p, 0, 1);

/** Two-sided p-value of a standard normal statistic. */
export function twoSidedNormalP(z: number): number {
  return Math.min(1, 2 * Phi(-Math.abs(z)));
}

/** Two-sided p-value of a t statistic with `df` degrees of freedom. */
export function twoSidedTP(t: number, df: number): number {
  return Math.min(1, 2 * tCdf(-Math.abs(t), df));
}

export const tq = (p: number, df: number): number => tQuantile(p, df);

/** Upper tail of the chi-square distribution: Q(k/2, x/2). */
export function chiSquareSf(x: number, k: number): number {
  if (x <= 0) return 1;
  return gammainc(x / 2, k / 2, true, true);
}
