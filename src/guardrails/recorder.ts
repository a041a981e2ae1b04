/**
 * In-process metric recorder: per (experiment, variant, metric) the sufficient statistics
 * n / sum / sumSq, min and max, and a log-bucketed histogram for quantiles (p50/p95/p99);
 * per (experiment, variant) the units exposed.
 *
 * Why this histogram and not a library sketch: buckets are powers of 1.02 (relative error
 * under 2%, DDSketch's scheme without its collapsing), so two histograms merge by adding
 * counts bucket by bucket, which is what HINCRBY does in Redis: a fleet merges its numbers
 * with one atomic script and no sketch decoding. @datadog/sketches-js would add a
 * dependency for the same mapping; hdr-histogram-js merges only in process (its encoded
 * form is not additive) and wants a preset value range.
 *
 * Recording is the caller's path (run(), observe(), track()). run() records in the call:
 * a few float additions, one Math.log and one Map update; the last arm used is cached,
 * since consecutive calls are mostly for the same experiment and variant. recordAt()
 * (observe() and track(), whose caller has already hashed the unit to its arm) only
 * appends (experiment, variants, arm index, metric, value) to a pending buffer; the
 * series lookup and histogram insert happen when the buffer is drained: by the owner's
 * `onBacklog` callback (a setImmediate, off the caller's path), by every read (summary,
 * quantile, snapshot), or inline when a synchronous burst fills the buffer's hard cap.
 * A read therefore always sees every value recorded before it.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket of zero and negative values (quantiles of such metrics report 0 or the minimum). */
const NON_POSITIVE = -2147483648;

export interface MetricSummary {
  readonly n: number;
  readonly sum: number;
  readonly sumSq: number;
  readonly min: number;
  readonly max: number;
}

/** One series as plain data: JSON-safe, mergeable by adding fields (min/max by min/max). */
export interface SeriesData extends MetricSummary {
  /** Bucket index (or "z" for values <= 0) -> count; bucket k holds (1.02^(k-1), 1.02^k]. */
  readonly buckets: Readonly<Record<string, number>>;
}

export interface ArmData {
  /** Units exposed (admitted by the exposure rule) in this arm. */
  readonly units: number;
  readonly metrics: Readonly<Record<string, SeriesData>>;
}

/** experiment -> variant -> arm. Plain data: what the fleet pushes, merges and the rules read. */
export type MetricSnapshot = Readonly<Record<string, Readonly<Record<string, ArmData>>>>;

/**
 * A record keyed by names that come from outside (metric names, Redis hash fields): no
 * prototype, so a name like `__proto__` is a key like any other and never reaches
 * Object.prototype.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** record[key] when the record has it as its own key (a plain object's prototype is not data). */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Buckets kept in a dense array: indexes -1024..1023, values 1.6e-9 to 6e8 (ms, bytes, money). */
const DENSE_OFFSET = 1024;
const DENSE_SIZE = 2048;

export class Series {
  n = 0;
  sum = 0;
  sumSq = 0;
  min = Infinity;
  max = -Infinity;
  /** Buckets in the dense range, allocated at the first positive value. */
  private dense: Uint32Array | undefined;
  /** Buckets outside it, and the non-positive bucket. */
  private readonly sparse = new Map<number, number>();

  /** @param histogram false for a 0/1 series (error): only its moments are of use. */
  constructor(private readonly histogram = true) {}

  add(x: number): void {
    this.n++;
    this.sum += x;
    this.sumSq += x * x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    if (!this.histogram) return;
    if (x > 0) {
      const i = Math.ceil(Math.log(x) / LOG_GROWTH) + DENSE_OFFSET;
      if (i >= 0 && i < DENSE_SIZE) {
        const dense = (this.dense ??= new Uint32Array(DENSE_SIZE));
        dense[i] = dense[i]! + 1;
        return;
      }
      this.bump(i - DENSE_OFFSET);
    } else this.bump(NON_POSITIVE);
  }

  private bump(k: number): void {
    this.sparse.set(k, (this.sparse.get(k) ?? 0) + 1);
  }

  data(): SeriesData {
    const buckets = dict<number>();
    const dense = this.dense;
    if (dense !== undefined)
      for (let i = 0; i < DENSE_SIZE; i++) if (dense[i] !== 0) buckets[i - DENSE_OFFSET] = dense[i]!;
    for (const [k, c] of this.sparse) buckets[k === NON_POSITIVE ? 'z' : String(k)] = c;
    return { n: this.n, sum: this.sum, sumSq: this.sumSq, min: this.min, max: this.max, buckets };
  }
}

class Arm {
  units = 0;
  readonly series = new Map<string, Series>();
  latency: Series | undefined;
  error: Series | undefined;

  private lastName = '';
  private lastSeries: Series | undefined;

  get(metric: string, histogram = true): Series {
    if (metric === this.lastName && this.lastSeries !== undefined) return this.lastSeries;
    let s = this.series.get(metric);
    if (s === undefined) this.series.set(metric, (s = new Series(histogram)));
    this.lastName = metric;
    this.lastSeries = s;
    return s;
  }
}

/** The metric run() records its handler's latency under, in milliseconds. */
export const LATENCY_METRIC = 'latency_ms';
/** The metric run() records 1 (threw) or 0 under; error_rate is its mean. */
export const ERROR_METRIC = 'error';

/**
 * The largest magnitude a recorded value may have. A series keeps the sum of squares, so a
 * finite value whose square is not (1e155 and up) would turn the series' variance into NaN
 * and leave every mean rule on it insufficient for good; 1e100 leaves room for any count
 * of values, in this process and summed across a fleet.
 */
export const MAX_METRIC_MAGNITUDE = 1e100;

/** Whether a value can be recorded: a finite number within ±MAX_METRIC_MAGNITUDE. */
export function isRecordable(value: number): boolean {
  return Math.abs(value) <= MAX_METRIC_MAGNITUDE;
}

/** Pending recordAt() values that ask the owner for a drain (see `onBacklog`). */
const BACKLOG = 1024;
/** Pending values at which recordAt() drains inline: a bound on memory in a long synchronous burst. */
const PENDING_CAP = 65_536;

export interface MetricRecorderOptions {
  /**
   * Called once when recordAt() values start to pile up (BACKLOG of them wait): the owner
   * schedules `drain()` off the caller's path. Without it they are drained at the next
   * read, or inline at the cap.
   */
  readonly onBacklog?: () => void;
}

export class MetricRecorder {
  private readonly experiments = new Map<string, Map<string, Arm>>();
  private lastExperiment = '';
  private lastVariant = '';
  private lastArm: Arm | undefined;
  /**
   * recordAt() values not yet in their series, as parallel columns (no object per value),
   * allocated at the first recordAt and doubled up to the cap, never shrunk: appending is
   * a store into a slot that exists.
   */
  private pendingCount = 0;
  private capacity = 0;
  private pendingExperiment: (string | undefined)[] = [];
  private pendingVariants: (readonly string[] | undefined)[] = [];
  private pendingIndex = new Int32Array(0);
  private pendingMetric: (string | undefined)[] = [];
  private pendingValue = new Float64Array(0);
  private backlogAnnounced = false;

  constructor(private readonly options: MetricRecorderOptions = {}) {}

  private arm(experiment: string, variant: string): Arm {
    if (this.lastArm !== undefined && experiment === this.lastExperiment && variant === this.lastVariant)
      return this.lastArm;
    let arms = this.experiments.get(experiment);
    if (arms === undefined) this.experiments.set(experiment, (arms = new Map()));
    let arm = arms.get(variant);
    if (arm === undefined) arms.set(variant, (arm = new Arm()));
    this.lastExperiment = experiment;
    this.lastVariant = variant;
    this.lastArm = arm;
    return arm;
  }

  /** Records one value; a value that is not recordable (isRecordable) is not recorded (returns false). */
  record(experiment: string, variant: string, metric: string, value: number): boolean {
    if (!isRecordable(value)) return false;
    this.arm(experiment, variant).get(metric).add(value);
    return true;
  }

  /**
   * Records one value for variant `index` of `variants` (an allocation's variant list,
   * the same array object call after call): appended to the pending buffer, and added to
   * its series at the next drain (every read drains first). A value that is not
   * recordable (isRecordable) is not recorded (returns false).
   */
  recordAt(experiment: string, variants: readonly string[], index: number, metric: string, value: number): boolean {
    if (!isRecordable(value)) return false;
    const i = this.pendingCount;
    if (i === this.capacity) this.grow();
    this.pendingCount = i + 1;
    this.pendingExperiment[i] = experiment;
    this.pendingVariants[i] = variants;
    this.pendingIndex[i] = index;
    this.pendingMetric[i] = metric;
    this.pendingValue[i] = value;
    if (i + 1 >= BACKLOG) {
      if (i + 1 >= PENDING_CAP) this.drain();
      else if (!this.backlogAnnounced && this.options.onBacklog !== undefined) {
        this.backlogAnnounced = true;
        this.options.onBacklog();
      }
    }
    return true;
  }

  /** recordAt() values waiting for a drain. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Adds every pending recordAt() value to its series (reads call this first). */
  drain(): void {
    const n = this.pendingCount;
    this.backlogAnnounced = false;
    if (n === 0) return;
    this.pendingCount = 0;
    const experiments = this.pendingExperiment;
    const variantLists = this.pendingVariants;
    const metrics = this.pendingMetric;
    let cachedList: readonly string[] | undefined;
    let cachedExperiment = '';
    let cachedArms: Arm[] = [];
    for (let i = 0; i < n; i++) {
      const variants = variantLists[i]!;
      const experiment = experiments[i]!;
      if (variants !== cachedList || experiment !== cachedExperiment) {
        cachedArms = this.armsOf(experiment, variants);
        cachedList = variants;
        cachedExperiment = experiment;
      }
      cachedArms[this.pendingIndex[i]!]!.get(metrics[i]!).add(this.pendingValue[i]!);
    }
    // Let go of what the buffer held (a config reload drops its plans' variant lists).
    experiments.fill(undefined, 0, n);
    variantLists.fill(undefined, 0, n);
    metrics.fill(undefined, 0, n);
  }

  private grow(): void {
    const capacity = Math.min(PENDING_CAP, Math.max(BACKLOG, this.capacity * 2));
    const copy = <T>(from: T[]): T[] => {
      const to = new Array<T>(capacity);
      for (let i = 0; i < this.pendingCount; i++) to[i] = from[i]!;
      return to;
    };
    this.pendingExperiment = copy(this.pendingExperiment);
    this.pendingVariants = copy(this.pendingVariants);
    this.pendingMetric = copy(this.pendingMetric);
    const index = new Int32Array(capacity);
    index.set(this.pendingIndex);
    this.pendingIndex = index;
    const values = new Float64Array(capacity);
    values.set(this.pendingValue);
    this.pendingValue = values;
    this.capacity = capacity;
  }

  private armsOf(experiment: string, variants: readonly string[]): Arm[] {
    let arms = this.byVariants.get(variants);
    if (arms === undefined || arms.experiment !== experiment) {
      arms = { experiment, arms: variants.map((v) => this.arm(experiment, v)) };
      this.byVariants.set(variants, arms);
    }
    return arms.arms;
  }

  private readonly byVariants = new WeakMap<readonly string[], { experiment: string; arms: Arm[] }>();

  /** run()'s two observations in one step: latency (ms) and whether the handler threw. */
  recordRun(experiment: string, variant: string, latencyMs: number, failed: boolean): void {
    const arm = this.arm(experiment, variant);
    if (isRecordable(latencyMs)) (arm.latency ??= arm.get(LATENCY_METRIC)).add(latencyMs);
    (arm.error ??= arm.get(ERROR_METRIC, false)).add(failed ? 1 : 0);
  }

  /** Counts a unit exposed in an arm (once per unit, after the exposure rule). */
  exposure(experiment: string, variant: string): void {
    this.arm(experiment, variant).units++;
  }

  summary(experiment: string, variant: string, metric: string): MetricSummary | undefined {
    this.drain();
    const s = this.experiments.get(experiment)?.get(variant)?.series.get(metric);
    return s && { n: s.n, sum: s.sum, sumSq: s.sumSq, min: s.min, max: s.max };
  }

  quantile(experiment: string, variant: string, metric: string, q: number): number {
    this.drain();
    const s = this.experiments.get(experiment)?.get(variant)?.series.get(metric);
    return s ? quantileOf(s.data(), q) : NaN;
  }

  /** Everything recorded so far, as plain data (a copy). */
  snapshot(): MetricSnapshot {
    this.drain();
    const out = dict<Record<string, ArmData>>();
    for (const [experiment, arms] of this.experiments) {
      const e = (out[experiment] = dict<ArmData>());
      for (const [variant, arm] of arms) {
        const metrics = dict<SeriesData>();
        for (const [name, s] of arm.series) metrics[name] = s.data();
        e[variant] = { units: arm.units, metrics };
      }
    }
    return out;
  }
}

const EMPTY_ARM: ArmData = { units: 0, metrics: dict() };
const EMPTY_EXPERIMENT: Readonly<Record<string, ArmData>> = dict();

/** a + b: counts and sums added, min and max combined. */
export function mergeSnapshots(a: MetricSnapshot, b: MetricSnapshot): MetricSnapshot {
  return combine(a, b, 1);
}

/**
 * now - before: what was recorded since `before` (a snapshot of the same recorder taken
 * earlier). min and max are now's: they cannot be subtracted, and merging takes the extreme.
 */
export function diffSnapshots(now: MetricSnapshot, before: MetricSnapshot): MetricSnapshot {
  return combine(now, before, -1);
}

function combine(a: MetricSnapshot, b: MetricSnapshot, sign: 1 | -1): MetricSnapshot {
  const out = dict<Record<string, ArmData>>();
  const experiments = new Set([...Object.keys(a), ...(sign === 1 ? Object.keys(b) : [])]);
  for (const experiment of experiments) {
    const ea = own(a, experiment) ?? EMPTY_EXPERIMENT;
    const eb = own(b, experiment) ?? EMPTY_EXPERIMENT;
    const e = dict<ArmData>();
    for (const variant of new Set([...Object.keys(ea), ...(sign === 1 ? Object.keys(eb) : [])])) {
      const x = own(ea, variant) ?? EMPTY_ARM;
      const y = own(eb, variant) ?? EMPTY_ARM;
      const metrics = dict<SeriesData>();
      for (const name of new Set([...Object.keys(x.metrics), ...(sign === 1 ? Object.keys(y.metrics) : [])])) {
        const s = combineSeries(own(x.metrics, name), own(y.metrics, name), sign);
        if (s.n !== 0 || sign === 1) metrics[name] = s;
      }
      const units = x.units + sign * y.units;
      if (sign === -1 && units === 0 && Object.keys(metrics).length === 0) continue;
      e[variant] = { units, metrics };
    }
    if (Object.keys(e).length > 0 || sign === 1) out[experiment] = e;
  }
  return out;
}

function combineSeries(x: SeriesData | undefined, y: SeriesData | undefined, sign: 1 | -1): SeriesData {
  if (y === undefined) return x!;
  if (x === undefined) return y;
  const buckets = Object.assign(dict<number>(), x.buckets);
  for (const [k, c] of Object.entries(y.buckets)) {
    const v = (buckets[k] ?? 0) + sign * c;
    if (v === 0) delete buckets[k];
    else buckets[k] = v;
  }
  return {
    n: x.n + sign * y.n,
    sum: x.sum + sign * y.sum,
    sumSq: x.sumSq + sign * y.sumSq,
    min: sign === 1 ? Math.min(x.min, y.min) : x.min,
    max: sign === 1 ? Math.max(x.max, y.max) : x.max,
    buckets,
  };
}

/** Sorted (bucket index, count) pairs; the non-positive bucket first. */
function sortedBuckets(s: SeriesData): [number, number][] {
  return Object.entries(s.buckets)
    .map(([k, c]): [number, number] => [k === 'z' ? NON_POSITIVE : Number(k), c])
    .sort((a, b) => a[0] - b[0]);
}

/** The q-quantile (0-1) of a series, within 2% for positive values; NaN with no data. */
export function quantileOf(s: SeriesData, q: number): number {
  if (s.n <= 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * s.n));
  let seen = 0;
  for (const [k, c] of sortedBuckets(s)) {
    seen += c;
    if (seen >= rank) return k === NON_POSITIVE ? Math.min(Math.max(0, s.min), s.max) : Math.min(GROWTH ** k, s.max);
  }
  return s.max;
}

/**
 * How many of the series' values are above `x`, counted by whole buckets: values in x's
 * own bucket are not counted, so the count errs low by at most one bucket (2%).
 */
export function countAbove(s: SeriesData, x: number): number {
  const kx = x > 0 ? Math.ceil(Math.log(x) / LOG_GROWTH) : NON_POSITIVE;
  let above = 0;
  for (const [k, c] of Object.entries(s.buckets)) {
    const index = k === 'z' ? NON_POSITIVE : Number(k);
    if (index > kx) above += c;
  }
  return above;
}
