/**
 * observe() before and after a change, in one process: the same calls on instances built
 * from two copies of the source, interleaved in rounds with the order shuffled per round,
 * each contender given a gc and a loop turn before its batch by compare() (so a drain
 * scheduled by one batch runs before the next is timed, and is not charged to it).
 *
 *   git archive <baseline commit> src adapters schema | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   node --expose-gc --import tsx bench/observe-before-after.ts /tmp/base
 *
 * Prints, per repeat, what recording adds over the same build with metrics off (paired
 * per round), for the baseline and this tree, plus this tree's observe() followed by an
 * explicit drain (the whole work, the part moved off the caller's path included).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compare, median, pairedDifference, type Contender } from './harness.js';

interface Observer {
  observe(flag: string, ctx: { targetingKey: string }, metric: string, value: number): boolean;
  readonly metrics: { drain?: () => void };
  close(): Promise<void>;
}
type Create = (options: { config: unknown }) => Promise<Observer>;

const UNITS = Array.from({ length: 4096 }, (_, i) => ({ targetingKey: `user-${i}` }));
const LATENCIES = Float64Array.from({ length: 4096 }, (_, i) => 20 + ((i * 7919) % 400) / 4);

function config(metrics: boolean) {
  return {
    feature_flags: { provider: 'memory' },
    exposures: { dir: mkdtempSync(join(tmpdir(), 'sy-bench-observe-')) },
    monitoring: { real_time_metrics: metrics, check_interval: '1h' },
    experiments: {
      checkout: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        guardrails: [{ metric: 'p95_latency_ms', max_relative_increase: 0.05, min_sample: 500 }],
      },
    },
  };
}

function observes(sy: Observer, n: number): void {
  for (let i = 0; i < n; i++) sy.observe('checkout', UNITS[i & 4095]!, 'latency_ms', LATENCIES[i & 4095]!);
}

// compare() gives every batch an untimed gc (with --expose-gc) and loop turn.
const gc = (globalThis as { gc?: () => void }).gc;

const baseDir = process.argv[2];
if (!baseDir) throw new Error('usage: bench/observe-before-after.ts <baseline source dir holding src/>');
const before = (await import(pathToFileURL(resolve(baseDir, 'src/index.ts')).href)) as { createSwitchyard: Create };
const after = (await import('../src/index.js')) as unknown as { createSwitchyard: Create };

const sys = {
  beforeOff: await before.createSwitchyard({ config: config(false) }),
  beforeOn: await before.createSwitchyard({ config: config(true) }),
  afterOff: await after.createSwitchyard({ config: config(false) }),
  afterOn: await after.createSwitchyard({ config: config(true) }),
  afterDrained: await after.createSwitchyard({ config: config(true) }),
};
const contender = (name: string, run: (n: number) => void): Contender => ({ name, run });
const repeats = Number(process.argv[3] ?? 5);
const adds = { before: [] as number[], after: [] as number[], drained: [] as number[] };
for (let r = 0; r < repeats; r++) {
  const rows = await compare(
    [
      contender('before, metrics off', (n) => observes(sys.beforeOff, n)),
      contender('before, metrics on', (n) => observes(sys.beforeOn, n)),
      contender('after, metrics off', (n) => observes(sys.afterOff, n)),
      contender('after, metrics on', (n) => observes(sys.afterOn, n)),
      contender('after, metrics on, drained in the batch', (n) => {
        observes(sys.afterDrained, n);
        sys.afterDrained.metrics.drain!();
      }),
    ],
    { batch: 20_000, rounds: 15, shuffle: true },
  );
  adds.before.push(pairedDifference(rows[1]!, rows[0]!));
  adds.after.push(pairedDifference(rows[3]!, rows[2]!));
  adds.drained.push(pairedDifference(rows[4]!, rows[2]!));
}
for (const sy of Object.values(sys)) await sy.close();
const fmt = (xs: number[]) =>
  `median ${median(xs).toFixed(0)} ns, range ${Math.min(...xs).toFixed(0)} to ${Math.max(...xs).toFixed(0)}`;
console.log(
  JSON.stringify({
    gc: gc !== undefined,
    before: fmt(adds.before),
    after: fmt(adds.after),
    afterWithDrain: fmt(adds.drained),
    ratioAfterToBefore: median(adds.after.map((a, i) => a / adds.before[i]!)).toFixed(2),
    raw: adds,
  }),
);
