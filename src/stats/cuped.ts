/**
 * CUPED: variance reduction with a pre-period covariate X (e.g. the same metric in the
 * weeks before the experiment). Y' = Y - theta (X - mean(X)), with theta = cov(X, Y) /
 * var(X) pooled over both arms, so the adjustment is the same function of X in each
 * arm and the difference in means stays unbiased under randomisation.
 * Reference: Deng, Xu, Kohavi, Walker (2013), "Improving the Sensitivity of Online
 * Controlled Experiments by Utilizing Pre-Experiment Data", WSDM.
 */
import { ROUNDING, StatsInputError, count, finite, nonNegative, object } from './errors.js';
import { meanTest, type MeanTestResult, type TestOptions } from './frequentist.js';

/** Per-arm sums of the metric Y and the covariate X. */
export interface CupedArm {
  readonly n: number;
  readonly sumY: number;
  readonly sumYSq: number;
  readonly sumX: number;
  readonly sumXSq: number;
  readonly sumXY: number;
}

export interface CupedArmResult {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
  readonly unadjustedMean: number;
  readonly unadjustedVariance: number;
}

export interface CupedResult {
  readonly theta: number;
  readonly control: CupedArmResult;
  readonly treatment: CupedArmResult;
  /** 1 - Var(adjusted difference) / Var(unadjusted difference). */
  readonly varianceReduction: number;
  /** Welch's t-test on the adjusted metric. */
  readonly test: MeanTestResult;
}

function check(name: string, arm: CupedArm): CupedArm {
  object(name, arm);
  count(`${name}.n`, arm.n, 2);
  finite(`${name}.sumY`, arm.sumY);
  finite(`${name}.sumX`, arm.sumX);
  finite(`${name}.sumXY`, arm.sumXY);
  nonNegative(`${name}.sumYSq`, arm.sumYSq);
  nonNegative(`${name}.sumXSq`, arm.sumXSq);
  return arm;
}

export function cuped(control: CupedArm, treatment: CupedArm, options?: TestOptions): CupedResult {
  const c = check('control', control);
  const t = check('treatment', treatment);
  const N = c.n + t.n;
  const sx = c.sumX + t.sumX;
  const sy = c.sumY + t.sumY;
  const sxx = c.sumXSq + t.sumXSq - (sx * sx) / N;
  const sxy = c.sumXY + t.sumXY - (sx * sy) / N;
  if (sxx < 0 && sxx < -ROUNDING * (c.sumXSq + t.sumXSq))
    throw new StatsInputError('sumXSq', 'is smaller than sumX^2 / n, which no data can give');
  const theta = sxx > 0 ? sxy / sxx : 0;
  const xbar = sx / N;
  const adjust = (arm: CupedArm): CupedArmResult & { sumSq: number; sum: number } => {
    const n = arm.n;
    const my = arm.sumY / n;
    const mx = arm.sumX / n;
    const vy = Math.max(arm.sumYSq - arm.sumY * my, 0) / (n - 1);
    const vx = Math.max(arm.sumXSq - arm.sumX * mx, 0) / (n - 1);
    const cxy = (arm.sumXY - arm.sumX * my) / (n - 1);
    const mean = my - theta * (mx - xbar);
    const variance = Math.max(vy - 2 * theta * cxy + theta * theta * vx, 0);
    return {
      n,
      mean,
      variance,
      unadjustedMean: my,
      unadjustedVariance: vy,
      sum: mean * n,
      sumSq: variance * (n - 1) + mean * mean * n,
    };
  };
  const ac = adjust(c);
  const at = adjust(t);
  const before = ac.unadjustedVariance / ac.n + at.unadjustedVariance / at.n;
  const after = ac.variance / ac.n + at.variance / at.n;
  const strip = ({ sum: _s, sumSq: _q, ...rest }: CupedArmResult & { sum: number; sumSq: number }): CupedArmResult =>
    rest;
  return {
    theta,
    control: strip(ac),
    treatment: strip(at),
    varianceReduction: before > 0 ? 1 - after / before : 0,
    test: meanTest({ n: ac.n, sum: ac.sum, sumSq: ac.sumSq }, { n: at.n, sum: at.sum, sumSq: at.sumSq }, options),
  };
}
