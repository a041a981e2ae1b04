/**
 * Anomaly detection on per-interval numbers: a sudden spike of errors or latency in a
 * treatment arm, judged against the arm's own recent history and against the control in
 * the same interval. Pure: the caller passes each interval's numbers and keeps the state.
 *
 * Method: an EWMA control chart (Roberts 1959; Montgomery, "Introduction to Statistical
 * Quality Control", ch. 9). Per arm and metric the chart keeps an exponentially weighted
 * mean (lambda = 0.2) of the interval means and of their squared deviations. An interval
 * is anomalous against history when its mean is above the upper control limit
 *   ewma + L sqrt(ewmVar + s^2 / n)       (L = 4, s^2 the interval's per-observation variance)
 * after a burn-in of 5 intervals, and against control when a two-sample z of the interval's
 * treatment mean over control's is above L. An anomaly needs both: a spike that hits
 * control as well (a deploy, a slow database) is the service's, not the variant's. An
 * interval above the arm's own limit does not enter the history, so a spike does not raise
 * the limit the next one meets.
 */
import type { ArmData, SeriesData } from './recorder.js';

export interface AnomalyOptions {
  readonly lambda?: number;
  readonly limit?: number;
  readonly burnIn?: number;
  /** Intervals with fewer observations in an arm are skipped. */
  readonly minObservations?: number;
}

interface Chart {
  mean: number;
  variance: number;
  intervals: number;
}

/** Per (experiment, arm, metric): the EWMA chart. */
export type AnomalyState = Map<string, Chart>;

export interface Anomaly {
  readonly experiment: string;
  readonly variant: string;
  readonly control: string;
  readonly metric: string;
  /** The interval's mean in the treatment arm and in control. */
  readonly value: number;
  readonly controlValue: number;
  readonly n: number;
  readonly controlN: number;
  /** The EWMA of the arm's past intervals and the upper control limit it set. */
  readonly ewma: number;
  readonly upperLimit: number;
  /** z of treatment over control in this interval. */
  readonly zAgainstControl: number;
}

/** The metrics watched for anomalies: run()'s error flag and latency. */
export const ANOMALY_METRICS = ['error', 'latency_ms'] as const;

function intervalMoments(s: SeriesData | undefined): { n: number; mean: number; variance: number } | undefined {
  if (s === undefined || s.n <= 0) return undefined;
  const mean = s.sum / s.n;
  const variance = s.n > 1 ? Math.max(0, s.sumSq - s.sum * mean) / (s.n - 1) : 0;
  return { n: s.n, mean, variance };
}

/**
 * Feeds one interval (the delta since the previous check) of an experiment to the charts
 * and returns the anomalies found in it.
 */
export function detectAnomalies(
  experiment: string,
  control: string,
  interval: Readonly<Record<string, ArmData>> | undefined,
  state: AnomalyState,
  options: AnomalyOptions = {},
): Anomaly[] {
  const lambda = options.lambda ?? 0.2;
  const L = options.limit ?? 4;
  const burnIn = options.burnIn ?? 5;
  const minN = options.minObservations ?? 30;
  const out: Anomaly[] = [];
  if (interval === undefined) return out;
  for (const metric of ANOMALY_METRICS) {
    const c = intervalMoments(interval[control]?.metrics[metric]);
    for (const [variant, arm] of Object.entries(interval)) {
      const x = intervalMoments(arm.metrics[metric]);
      if (x === undefined || x.n < minN) continue;
      const key = `${experiment}\u0000${variant}\u0000${metric}`;
      let chart = state.get(key);
      if (chart === undefined) {
        state.set(key, { mean: x.mean, variance: 0, intervals: 1 });
        continue;
      }
      const upper = chart.mean + L * Math.sqrt(chart.variance + x.variance / x.n);
      const aboveHistory = chart.intervals >= burnIn && x.mean > upper;
      let z = 0;
      if (variant !== control && c !== undefined && c.n >= minN) {
        const se = Math.sqrt(x.variance / x.n + c.variance / c.n);
        z = se > 0 ? (x.mean - c.mean) / se : x.mean > c.mean ? Infinity : 0;
      }
      if (variant !== control && aboveHistory && z > L) {
        out.push({
          experiment,
          variant,
          control,
          metric,
          value: x.mean,
          controlValue: c!.mean,
          n: x.n,
          controlN: c!.n,
          ewma: chart.mean,
          upperLimit: upper,
          zAgainstControl: z,
        });
        continue;
      }
      // An interval above its own limit stays out of the history (whatever control did),
      // so a spike, the arm's or the service's, does not raise the limit the next one meets.
      if (aboveHistory) continue;
      const deviation = x.mean - chart.mean;
      chart = {
        mean: chart.mean + lambda * deviation,
        variance: (1 - lambda) * (chart.variance + lambda * deviation * deviation),
        intervals: chart.intervals + 1,
      };
      state.set(key, chart);
    }
  }
  return out;
}
