/** Glue from sufficient statistics to switchyard/stats: one Effect per metric statistic and arm. */
import {
  adjustPValues,
  bayesMean,
  bayesProportion,
  meanTest,
  proportionTest,
  type CorrectionMethod,
} from '../stats/index.js';
import type { CorrectionSetting } from '../config/index.js';
import type { Effect, Statistic } from './types.js';

/** Sufficient statistics of one event name in one arm (units without the event add zeros). */
export interface EventStats {
  /** Units in the arm. */
  readonly n: number;
  readonly converted: number;
  readonly cnt: number;
  readonly cnt2: number;
  readonly val: number;
  readonly valUnit2: number;
  readonly valEvent2: number;
  readonly err: number;
  readonly ttf: number;
  readonly ttf2: number;
  readonly preUnits: number;
}

export const emptyStats = (n: number): EventStats => ({
  n,
  converted: 0,
  cnt: 0,
  cnt2: 0,
  val: 0,
  valUnit2: 0,
  valEvent2: 0,
  err: 0,
  ttf: 0,
  ttf2: 0,
  preUnits: 0,
});

interface Raw {
  control: { n: number; value: number };
  treatment: { n: number; value: number };
  absolute: number;
  absoluteCi: { lower: number; upper: number };
  relative: number | null;
  relativeCi: { lower: number; upper: number } | null;
  pValue: number;
  bayes?: { probabilityBeatsControl: number; expectedLoss: number };
}

/** The parts a proportion test and a mean test (and their Bayesian twins) share, as one Raw. */
function effectOf(
  controlN: number,
  controlValue: number,
  treatmentN: number,
  treatmentValue: number,
  r: Pick<ReturnType<typeof meanTest>, 'difference' | 'differenceCI' | 'relativeLift' | 'pValue'>,
  b: Pick<ReturnType<typeof bayesMean>, 'probabilityTreatmentBeats' | 'expectedLoss'> | undefined,
): Raw {
  return {
    control: { n: controlN, value: controlValue },
    treatment: { n: treatmentN, value: treatmentValue },
    absolute: r.difference,
    absoluteCi: r.differenceCI,
    relative: r.relativeLift.lift,
    relativeCi: r.relativeLift.ci,
    pValue: r.pValue,
    ...(b
      ? { bayes: { probabilityBeatsControl: b.probabilityTreatmentBeats, expectedLoss: b.expectedLoss.treatment } }
      : {}),
  };
}

/** Runs the test of one statistic; null when the data cannot support it (fewer than 2 units, no calls, not finite). */
export function testStatistic(
  statistic: Statistic,
  c: EventStats,
  t: EventStats,
  alpha: number,
  bayesian: boolean,
): Raw | null {
  const raw = tryStatistic(statistic, c, t, alpha, bayesian);
  return raw === 'not_finite' ? null : raw;
}

/**
 * testStatistic, telling apart a test whose result is not a finite number ('not_finite': sums
 * that overflowed, a NaN from the data). Such a result is never passed on: one NaN p-value
 * would make the correction of the whole family throw.
 */
export function tryStatistic(
  statistic: Statistic,
  c: EventStats,
  t: EventStats,
  alpha: number,
  bayesian: boolean,
): Raw | null | 'not_finite' {
  const sums =
    statistic === 'mean_value' || statistic === 'latency_mean'
      ? [c, t].flatMap((s) => [s.val, s.valUnit2, s.valEvent2])
      : [];
  if (!sums.every(Number.isFinite)) return 'not_finite';
  const raw = runTest(statistic, c, t, alpha, bayesian);
  if (raw === null) return null;
  const numbers = [raw.control.value, raw.treatment.value, raw.absolute, raw.absoluteCi.lower, raw.absoluteCi.upper];
  return [...numbers, raw.pValue].every(Number.isFinite) ? raw : 'not_finite';
}

function runTest(statistic: Statistic, c: EventStats, t: EventStats, alpha: number, bayesian: boolean): Raw | null {
  try {
    if (statistic === 'conversion' || statistic === 'error_rate') {
      const ca = statistic === 'conversion' ? { n: c.n, conversions: c.converted } : { n: c.cnt, conversions: c.err };
      const ta = statistic === 'conversion' ? { n: t.n, conversions: t.converted } : { n: t.cnt, conversions: t.err };
      if (ca.n < 1 || ta.n < 1) return null;
      const r = proportionTest(ca, ta, { alpha });
      const b = bayesian ? bayesProportion(ca, ta, { credibleLevel: 1 - alpha }) : undefined;
      return effectOf(ca.n, r.control.rate, ta.n, r.treatment.rate, r, b);
    }
    const pick = (s: EventStats) =>
      statistic === 'mean_value'
        ? { n: s.n, sum: s.val, sumSq: s.valUnit2 }
        : statistic === 'events_per_unit'
          ? { n: s.n, sum: s.cnt, sumSq: s.cnt2 }
          : { n: s.cnt, sum: s.val, sumSq: s.valEvent2 };
    const ca = pick(c);
    const ta = pick(t);
    if (ca.n < 2 || ta.n < 2) return null;
    const r = meanTest(ca, ta, { alpha });
    const b = bayesian ? bayesMean(ca, ta, { credibleLevel: 1 - alpha }) : undefined;
    return effectOf(ca.n, r.control.mean, ta.n, r.treatment.mean, r, b);
  } catch {
    // StatsInputError: the arm cannot support the test (e.g. zero variance with n < 2); no effect is reported.
    return null;
  }
}

export function correct(pValues: readonly number[], method: CorrectionSetting): number[] {
  if (pValues.length === 0) return [];
  if (method === 'none') return [...pValues];
  return adjustPValues(pValues, method as CorrectionMethod);
}

export function toEffect(
  metric: string,
  role: Effect['role'],
  statistic: Statistic,
  control: string,
  variant: string,
  raw: Raw,
  adjustedPValue: number,
  alpha: number,
): Effect {
  return {
    metric,
    role,
    statistic,
    variant,
    control: { variant: control, ...raw.control },
    treatment: { variant, ...raw.treatment },
    absolute: raw.absolute,
    absoluteCi: raw.absoluteCi,
    relative: raw.relative,
    relativeCi: raw.relativeCi,
    pValue: raw.pValue,
    adjustedPValue,
    significant: adjustedPValue < alpha,
    ...(raw.bayes ? { bayes: raw.bayes } : {}),
  };
}
