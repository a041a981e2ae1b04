/**
 * In-process metric recorder: sufficient statistics per (experiment, variant, metric),
 * and a log-bucketed histogram for quantiles such as p95 latency (buckets 2% wide, so a
 * quantile is within 2% of the exact one, in constant memory whatever the traffic).
 */
export interface MetricSummary {
  readonly n: number;
  readonly sum: number;
  readonly sumSq: number;
  readonly min: number;
  readonly max: number;
}

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

class Series {
  n = 0;
  sum = 0;
  sumSq = 0;
  min = Infinity;
  max = -Infinity;
  /** bucket index -> count; bucket k holds values in (GROWTH^(k-1), GROWTH^k]; zero and below in -Infinity. */
  readonly buckets = new Map<number, number>();

  add(x: number): void {
    this.n++;
    this.sum += x;
    this.sumSq += x * x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    const k = x > 0 ? Math.ceil(Math.log(x) / LOG_GROWTH) : -Infinity;
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + 1);
  }

  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (const k of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(k)!;
      if (seen >= rank) return k === -Infinity ? Math.max(this.min, 0) : Math.min(GROWTH ** k, this.max);
    }
    return this.max;
  }
}

export class MetricRecorder {
  private readonly series = new Map<string, Series>();

  record(experiment: string, variant: string, metric: string, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = `${experiment}\u0000${variant}\u0000${metric}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = new Series()));
    s.add(value);
  }

  summary(experiment: string, variant: string, metric: string): MetricSummary | undefined {
    const s = this.series.get(`${experiment}\u0000${variant}\u0000${metric}`);
    return s && { n: s.n, sum: s.sum, sumSq: s.sumSq, min: s.min, max: s.max };
  }

  quantile(experiment: string, variant: string, metric: string, q: number): number {
    return this.series.get(`${experiment}\u0000${variant}\u0000${metric}`)?.quantile(q) ?? NaN;
  }
}
