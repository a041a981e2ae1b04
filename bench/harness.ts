/**
 * A small benchmark harness for a shared, noisy machine: contenders run interleaved in
 * rounds (each round times one batch of every contender), and each contender's figure is
 * the median over rounds; ratios are taken per round against the baseline and then the
 * median, so load that hits one round hits every contender in it.
 */
export interface Contender {
  name: string;
  /** Runs the operation `n` times. */
  run: (n: number) => void | Promise<void>;
  /**
   * Nanoseconds inside the last run that do not belong to the operation (work it
   * triggered that is measured separately); subtracted from that round's time.
   */
  excluded?: () => number;
  /**
   * Untimed, after each run: lets work the run left behind (writes in flight, their
   * callbacks) finish before the next contender is timed, so it is not charged to that one.
   */
  after?: () => Promise<void>;
}

export interface Measured {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
  ratio: number;
  /** ns per op in each round, in round order (paired with the other contenders' rounds). */
  samples: number[];
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A fresh random order of 0..n-1 (Fisher-Yates). */
export function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * `shuffle`: each round runs the contenders in a fresh random order. With a fixed order the
 * contender that follows a garbage-heavy one (an OpenFeature client call allocates promises,
 * hook contexts and details per evaluation) pays for collecting that garbage in every round,
 * and the ratios lean accordingly; shuffled, that cost lands on every contender alike.
 */
export async function compare(
  contenders: Contender[],
  options: { batch: number; rounds: number; warmup?: number; shuffle?: boolean },
): Promise<Measured[]> {
  for (const c of contenders) {
    await c.run(options.warmup ?? options.batch);
    await c.after?.();
  }
  const samples = contenders.map(() => [] as number[]);
  for (let r = 0; r < options.rounds; r++) {
    const order = options.shuffle ? shuffled(contenders.length) : contenders.map((_, i) => i);
    for (const i of order) {
      const c = contenders[i]!;
      // Untimed: a full collection and a turn of the event loop, so the garbage and timers
      // of the contender before are not paid on this one's time (needs --expose-gc).
      globalThis.gc?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
      c.excluded?.();
      const t0 = process.hrtime.bigint();
      await c.run(options.batch);
      const elapsed = Number(process.hrtime.bigint() - t0);
      samples[i]!.push((elapsed - (c.excluded?.() ?? 0)) / options.batch);
      await c.after?.();
    }
  }
  const base = samples[0]!;
  return contenders.map((c, i) => {
    const ns = median(samples[i]!);
    return {
      name: c.name,
      nsPerOp: ns,
      opsPerSec: 1e9 / ns,
      ratio: median(samples[i]!.map((s, r) => s / base[r]!)),
      samples: samples[i]!,
    };
  });
}

/**
 * What `row` costs over `base`, per op: the median over rounds of the difference within
 * each round. Load that hits a round hits both rows in it, so this is steadier than the
 * difference of the two medians.
 */
export function pairedDifference(row: Measured, base: Measured): number {
  return median(row.samples.map((s, r) => s - base.samples[r]!));
}

/** The mean over rounds: for work that comes in bursts (a flush every so many calls), which a median can step over. */
export function mean(row: Measured): number {
  return row.samples.reduce((a, b) => a + b, 0) / row.samples.length;
}

export function table(rows: Measured[], baseline: string): string {
  const out = [`| contender | ns/op (median) | ops/s | ratio to ${baseline} |`, '|---|---:|---:|---:|'];
  for (const r of rows)
    out.push(
      `| ${r.name} | ${r.nsPerOp.toFixed(0)} | ${Math.round(r.opsPerSec).toLocaleString('en')} | ${r.ratio.toFixed(2)}x |`,
    );
  return out.join('\n');
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}
