/**
 * Fixed-horizon frequentist tests over sufficient statistics. All tests are two-sided;
 * intervals are two-sided at level 1 - alpha.
 */
import { twoSidedNormalP, twoSidedTP, tq, zq } from './distributions.js';
import { finite, isRounding, meanArm, nonNegative, object, openUnit, proportionArm } from './errors.js';

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/** A binary metric in one arm: units and units that converted. */
export interface ProportionArm {
  readonly n: number;
  readonly conversions: number;
}

/** A continuous metric in one arm: units, sum of values, sum of squared values. */
export interface MeanArm {
  readonly n: number;
  readonly sum: number;
  readonly sumSq: number;
}

export interface TestOptions {
  /** Significance level, two-sided (default 0.05). */
  readonly alpha?: number;
}

export interface LiftResult {
  /** treatment / control - 1; null when the control mean is 0 (a ratio is undefined). */
  readonly lift: number | null;
  readonly ci: Interval | null;
  readonly standardError: number | null;
}

/** What every two-sample test reports about the difference (treatment - control). */
export interface DifferenceResult {
  readonly difference: number;
  readonly differenceCI: Interval;
  readonly standardError: number;
  readonly pValue: number;
  readonly alpha: number;
  readonly significant: boolean;
  readonly relativeLift: LiftResult;
}

export interface ProportionTestResult extends DifferenceResult {
  readonly control: { readonly n: number; readonly conversions: number; readonly rate: number };
  readonly treatment: { readonly n: number; readonly conversions: number; readonly rate: number };
  /** The test's standard error, pooled under H0: p_c = p_t (differenceCI uses the unpooled one). */
  readonly pooledStandardError: number;
  readonly z: number;
}

export interface MeanTestResult extends DifferenceResult {
  readonly control: { readonly n: number; readonly mean: number; readonly variance: number };
  readonly treatment: { readonly n: number; readonly mean: number; readonly variance: number };
  readonly t: number;
  /** Welch-Satterthwaite degrees of freedom. */
  readonly df: number;
}

export function alphaOf(options: TestOptions | undefined): number {
  return options?.alpha === undefined ? 0.05 : openUnit('alpha', options.alpha);
}

/**
 * Two-proportion z-test.
 *
 * z = (p_t - p_c) / sqrt(p (1 - p) (1/n_c + 1/n_t)) with the pooled rate p under H0;
 * the interval of the difference uses the unpooled SE sqrt(p_c q_c / n_c + p_t q_t / n_t)
 * (Wald). With no variance at all (both arms 0% or both 100%) z is 0 and p is 1.
 * The two-sided p-value equals that of Pearson's chi-square test on the 2x2 table
 * without continuity correction (the reference the tests use, scipy.stats.chi2_contingency).
 * Reference: Agresti, Categorical Data Analysis (3rd ed.), 3.1.
 */
export function proportionTest(
  control: ProportionArm,
  treatment: ProportionArm,
  options?: TestOptions,
): ProportionTestResult {
  proportionArm('control', control);
  proportionArm('treatment', treatment);
  const alpha = alphaOf(options);
  const pc = control.conversions / control.n;
  const pt = treatment.conversions / treatment.n;
  const pooled = (control.conversions + treatment.conversions) / (control.n + treatment.n);
  const pooledSE = Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n));
  const se = Math.sqrt((pc * (1 - pc)) / control.n + (pt * (1 - pt)) / treatment.n);
  const diff = pt - pc;
  const z = pooledSE > 0 ? diff / pooledSE : 0;
  const pValue = twoSidedNormalP(z);
  const crit = zq(1 - alpha / 2);
  return {
    control: { n: control.n, conversions: control.conversions, rate: pc },
    treatment: { n: treatment.n, conversions: treatment.conversions, rate: pt },
    difference: diff,
    differenceCI: { lower: diff - crit * se, upper: diff + crit * se },
    standardError: se,
    pooledStandardError: pooledSE,
    z,
    pValue,
    alpha,
    significant: pValue < alpha,
    relativeLift: relativeLift(
      { mean: pc, variance: (pc * (1 - pc)) / control.n },
      { mean: pt, variance: (pt * (1 - pt)) / treatment.n },
      { alpha },
    ),
  };
}

/**
 * Welch's t-test for a difference in means from per-arm sufficient statistics.
 *
 * t = (m_t - m_c) / sqrt(s_c^2 / n_c + s_t^2 / n_t), with the Welch-Satterthwaite
 * df = (a + b)^2 / (a^2 / (n_c - 1) + b^2 / (n_t - 1)), a = s_c^2 / n_c, b = s_t^2 / n_t.
 * Sample variances use n - 1. Each arm needs n >= 2. Matches
 * scipy.stats.ttest_ind_from_stats(..., equal_var=False).
 * Reference: Welch (1947), Biometrika 34(1-2).
 */
export function meanTest(control: MeanArm, treatment: MeanArm, options?: TestOptions): MeanTestResult {
  const c = meanArm('control', control);
  const t = meanArm('treatment', treatment);
  const alpha = alphaOf(options);
  const a = c.variance / c.n;
  const b = t.variance / t.n;
  const se = Math.sqrt(a + b);
  const diff = t.mean - c.mean;
  let stat: number;
  let df: number;
  if (se > 0) {
    stat = diff / se;
    // The same df written in each arm's share of the variance: a^2 and b^2 themselves leave
    // the doubles for values near 1e100 (Infinity) or 1e-100 (0), and the df became NaN.
    const sa = a / (a + b);
    const sb = b / (a + b);
    df = 1 / (sa ** 2 / (c.n - 1) + sb ** 2 / (t.n - 1));
  } else {
    // No variance in either arm: any difference is certain; none, or one within the rounding
    // of the sums (a constant 0.1 in 2 units and in 3 has means a bit apart), is no evidence.
    stat = isRounding(diff, Math.max(Math.abs(c.mean), Math.abs(t.mean))) ? 0 : diff > 0 ? Infinity : -Infinity;
    df = c.n + t.n - 2;
  }
  const pValue = se > 0 ? twoSidedTP(stat, df) : stat === 0 ? 1 : 0;
  const crit = tq(1 - alpha / 2, df);
  return {
    control: c,
    treatment: t,
    difference: diff,
    differenceCI: { lower: diff - crit * se, upper: diff + crit * se },
    standardError: se,
    t: stat,
    df,
    pValue,
    alpha,
    significant: pValue < alpha,
    relativeLift: relativeLift({ mean: c.mean, variance: a }, { mean: t.mean, variance: b }, { alpha }),
  };
}

/** A mean and the variance of that mean (its squared standard error). */
export interface MeanEstimate {
  readonly mean: number;
  readonly variance: number;
}

/**
 * Relative lift m_t / m_c - 1 with a delta-method interval, for independent arms:
 * Var(m_t / m_c) ~= v_t / m_c^2 + m_t^2 v_c / m_c^4, interval lift +- z_{1-alpha/2} sqrt(Var).
 * Returns nulls when the control mean is 0, where the ratio is undefined.
 * Reference: Deng, Knoblich, Lu (2018), "Applying the Delta Method in Metric Analytics", KDD.
 */
export function relativeLift(control: MeanEstimate, treatment: MeanEstimate, options?: TestOptions): LiftResult {
  object('control', control);
  object('treatment', treatment);
  const mc = finite('control.mean', control.mean);
  const mt = finite('treatment.mean', treatment.mean);
  const vc = nonNegative('control.variance', control.variance);
  const vt = nonNegative('treatment.variance', treatment.variance);
  const alpha = alphaOf(options);
  if (mc === 0) return { lift: null, ci: null, standardError: null };
  const ratio = mt / mc;
  const lift = ratio - 1;
  // (v_t + ratio^2 v_c) / m_c^2: m_c^4 on its own leaves the doubles for means near 1e80 or 1e-80.
  const se = Math.sqrt(vt + ratio * ratio * vc) / Math.abs(mc);
  const crit = zq(1 - alpha / 2);
  return { lift, ci: { lower: lift - crit * se, upper: lift + crit * se }, standardError: se };
}
