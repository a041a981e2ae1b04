/**
 * An effect estimate that stays unbiased when the split between arms changes over time
 * (adaptive allocation re-weighting the arms) while the metric itself drifts (a weekday
 * effect, a trend). Pooling all units compares arms whose units come from different
 * periods in different proportions: if the treatment gets more traffic later and the
 * metric rises later, the pooled difference credits the trend to the treatment (Simpson's
 * paradox). Within one allocation version the split is fixed, so the difference there is
 * unbiased; the strata's differences are combined with weights proportional to each
 * stratum's units (the post-stratification estimator of the average effect over the whole
 * population exposed), variance sum(w_s^2 var_s) with Welch's per-stratum variance.
 * Reference: Kohavi, Tang and Xu, "Trustworthy Online Controlled Experiments" (2020), on
 * ramp-up and Simpson's paradox; Miratrix, Sekhon and Yu (2013), post-stratification.
 */
import { twoSidedNormalP, zq } from './distributions.js';
import { StatsInputError, count, isRounding, meanArm, object, openUnit, proportionArm } from './errors.js';
import type { Interval, MeanArm, ProportionArm } from './frequentist.js';

/** One stratum (e.g. one allocation version): the two arms' sufficient statistics. */
export interface Stratum {
  readonly control: ProportionArm | MeanArm;
  readonly treatment: ProportionArm | MeanArm;
  /** A label carried into the result (e.g. the allocation version). */
  readonly label?: string | number;
}

export interface StratumEffect {
  readonly label: string | number | undefined;
  readonly difference: number;
  readonly standardError: number;
  /** Its share of the combined estimate: its units over all strata's units used. */
  readonly weight: number;
}

export interface StratifiedResult {
  /** The combined difference treatment - control. */
  readonly difference: number;
  readonly standardError: number;
  readonly interval: Interval;
  readonly z: number;
  readonly pValue: number;
  readonly strata: readonly StratumEffect[];
  /** Indexes of strata left out because an arm had fewer than 2 units there. */
  readonly skipped: readonly number[];
}

/**
 * Combines per-stratum differences in means (or rates) into one estimate.
 * Arms are { n, conversions } or { n, sum, sumSq }; strata where either arm has fewer than
 * 2 units carry no estimate of their own and are listed in `skipped` (their units are then
 * not represented: keep allocation floors so every arm sees traffic in every version).
 * Throws StatsInputError when no stratum is usable.
 *
 * @example
 * stratifiedEffect([
 *   { label: 1, control: { n: 5000, conversions: 500 }, treatment: { n: 5000, conversions: 560 } },
 *   { label: 2, control: { n: 2000, conversions: 240 }, treatment: { n: 8000, conversions: 1010 } },
 * ]);
 */
export function stratifiedEffect(
  strata: readonly Stratum[],
  options: { confidenceLevel?: number } = {},
): StratifiedResult {
  if (!Array.isArray(strata) || strata.length === 0) throw new StatsInputError('strata', 'must be a non-empty list');
  const level = options.confidenceLevel === undefined ? 0.95 : openUnit('confidenceLevel', options.confidenceLevel);
  const used: { label: string | number | undefined; d: number; v: number; n: number; scale: number }[] = [];
  const skipped: number[] = [];
  strata.forEach((s, i) => {
    object(`strata[${i}]`, s);
    const c = moments(`strata[${i}].control`, s.control);
    const t = moments(`strata[${i}].treatment`, s.treatment);
    if (c.n < 2 || t.n < 2) {
      skipped.push(i);
      return;
    }
    used.push({
      label: s.label,
      d: t.mean - c.mean,
      v: t.variance / t.n + c.variance / c.n,
      n: c.n + t.n,
      scale: Math.max(Math.abs(c.mean), Math.abs(t.mean)),
    });
  });
  if (used.length === 0) throw new StatsInputError('strata', 'no stratum has at least 2 units in both arms');
  const total = used.reduce((a, s) => a + s.n, 0);
  let difference = 0;
  let variance = 0;
  for (const s of used) {
    const w = s.n / total;
    difference += w * s.d;
    variance += w * w * s.v;
  }
  const se = Math.sqrt(variance);
  // Without variance, a difference within the rounding of the sums (as meanTest) is none.
  const scale = used.reduce((m, s) => Math.max(m, s.scale), 0);
  const z = se > 0 ? difference / se : isRounding(difference, scale) ? 0 : Math.sign(difference) * Infinity;
  const zc = zq((1 + level) / 2);
  return {
    difference,
    standardError: se,
    interval: { lower: difference - zc * se, upper: difference + zc * se },
    z,
    pValue: twoSidedNormalP(z),
    strata: used.map((s) => ({ label: s.label, difference: s.d, standardError: Math.sqrt(s.v), weight: s.n / total })),
    skipped,
  };
}

/** Mean and sample variance of an arm given as a proportion or as sums; n below 2 gives n only. */
function moments(name: string, arm: ProportionArm | MeanArm): { n: number; mean: number; variance: number } {
  object(name, arm);
  if ('conversions' in arm) {
    const { n, conversions } = proportionArm(name, arm, 0);
    if (n < 2) return { n, mean: 0, variance: 0 };
    const p = conversions / n;
    return { n, mean: p, variance: (p * (1 - p) * n) / (n - 1) };
  }
  // Fewer than 2 units: the stratum is skipped; not a count at all (negative, fractional): refused.
  const n = count(`${name}.n`, arm.n);
  if (n < 2) return { n, mean: 0, variance: 0 };
  return meanArm(name, arm);
}
