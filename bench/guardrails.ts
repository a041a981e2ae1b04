/**
 * Guardrails: what metric recording adds to the caller's path of run() and observe(), and
 * what one guardrail check costs as experiments grow (1, 10, 100).
 *
 * Recording: run() on an instance with `monitoring.real_time_metrics` on against the same
 * call on one with it off (nothing recorded), interleaved in rounds, as the paired
 * per-round difference; observe() against the same call on the instance with metrics off
 * (which validates its input and stops); observe() followed by a drain of its pending
 * values in the timed batch (the whole work, the part moved off the caller's path
 * included); and the recorder's own recordRun. Exposure logging is on in both (no sink), so
 * only the metrics differ. Every contender gets a gc (with --expose-gc) and a loop turn
 * before its batch, so a drain scheduled by one batch runs untimed, not in the next one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard, type Switchyard } from '../src/index.js';
import { validateConfigObject } from '../src/config/index.js';
import { GuardrailMonitor, MetricRecorder, checkExperiment } from '../src/guardrails/index.js';
import { compare, median, pairedDifference, table, type Contender } from './harness.js';

const UNITS = Array.from({ length: 4096 }, (_, i) => ({ targetingKey: `user-${i}` }));
const LATENCIES = Float64Array.from({ length: 4096 }, (_, i) => 20 + ((i * 7919) % 400) / 4);

function config(experiments: number, metrics: boolean) {
  const exps: Record<string, unknown> = {};
  for (let i = 0; i < experiments; i++) {
    exps[i === 0 ? 'checkout' : `exp-${i}`] = {
      variants: { control: { weight: 50 }, treatment: { weight: 50 } },
      guardrails: [
        { metric: 'error_rate', max: 0.01, min_sample: 500 },
        { metric: 'p95_latency_ms', max_relative_increase: 0.05, min_sample: 500 },
      ],
    };
  }
  return {
    feature_flags: { provider: 'memory' },
    // Logging on in both, as in a service: units exposed are then counted at flush, off the caller's path.
    exposures: { dir: mkdtempSync(join(tmpdir(), 'sy-bench-guardrails-')) },
    monitoring: { real_time_metrics: metrics, check_interval: '1h' },
    experiments: exps,
  };
}

const HANDLERS = { control: () => 1, treatment: () => 1 };

async function runs(sy: Switchyard, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await sy.run('checkout', UNITS[i & 4095]!, HANDLERS);
}

function observes(sy: Switchyard, n: number): void {
  for (let i = 0; i < n; i++) sy.observe('checkout', UNITS[i & 4095]!, 'latency_ms', LATENCIES[i & 4095]!);
}

const gc = (globalThis as { gc?: () => void }).gc;

export async function benchGuardrails(): Promise<string> {
  const on = await createSwitchyard({ config: config(1, true) });
  const drained = await createSwitchyard({ config: config(1, true) });
  const off = await createSwitchyard({ config: config(1, false) });
  const recorder = new MetricRecorder();
  const repeats = 5;
  const runAdds: number[] = [];
  const observeAdds: number[] = [];
  const observeWholeAdds: number[] = [];
  const recordRunNs: number[] = [];
  let lastRows = '';
  for (let r = 0; r < repeats; r++) {
    const contenders: Contender[] = [
      { name: 'run(), metrics off', run: (n) => runs(off, n) },
      { name: 'run(), metrics on', run: (n) => runs(on, n) },
      { name: 'observe(), metrics off', run: (n) => observes(off, n) },
      { name: 'observe(), metrics on', run: (n) => observes(on, n) },
      {
        name: 'observe(), metrics on, drained in the batch',
        run: (n) => {
          observes(drained, n);
          drained.metrics.drain();
        },
      },
      {
        name: 'MetricRecorder.recordRun',
        run: (n) => {
          for (let i = 0; i < n; i++)
            recorder.recordRun('checkout', i & 1 ? 'control' : 'treatment', LATENCIES[i & 4095]!, false);
        },
      },
    ];
    // compare() gives every batch an untimed gc and loop turn: a drain scheduled by one batch runs there.
    const rows = await compare(contenders, { batch: 20_000, rounds: 15, shuffle: true });
    runAdds.push(pairedDifference(rows[1]!, rows[0]!));
    observeAdds.push(pairedDifference(rows[3]!, rows[2]!));
    observeWholeAdds.push(pairedDifference(rows[4]!, rows[2]!));
    recordRunNs.push(rows[5]!.nsPerOp);
    lastRows = table(rows, rows[0]!.name);
  }
  await on.close();
  await off.close();
  await drained.close();

  const range = (xs: number[]) =>
    `${median(xs).toFixed(0)} ns (range over ${xs.length} repeats ${Math.min(...xs).toFixed(0)} to ${Math.max(...xs).toFixed(0)})`;

  // One check as experiments grow: the pure rules alone, and the monitor's whole check
  // (snapshot of every series, rules, anomaly charts, status) without a fleet or a file.
  const checkRows = ['| experiments | rules only, per check | whole check (monitor), per check |', '|---:|---:|---:|'];
  for (const count of [1, 10, 100]) {
    const cfg = validateConfigObject(config(count, true));
    const rec = new MetricRecorder();
    for (const exp of cfg.experiments.values())
      for (let i = 0; i < 5000; i++)
        rec.recordRun(exp.key, i & 1 ? 'control' : 'treatment', LATENCIES[i & 4095]!, i % 500 === 0);
    const snapshot = rec.snapshot();
    const rounds = count === 100 ? 20 : 100;
    const rulesMs: number[] = [];
    for (let k = 0; k < rounds; k++) {
      const t0 = process.hrtime.bigint();
      for (const exp of cfg.experiments.values()) checkExperiment(exp, snapshot[exp.key], 0, {});
      rulesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const monitor = new GuardrailMonitor(
      {
        config: () => cfg,
        isKilled: () => false,
        kill: () => {},
        pause: () => {},
        isPaused: () => false,
        gate: () => {},
        emit: () => {},
        local: () => rec.snapshot(),
      },
      { clock: { now: () => 0 }, logger: { debug() {}, info() {}, warn() {}, error() {} } },
    );
    const wholeMs: number[] = [];
    for (let k = 0; k < rounds; k++) {
      const t0 = process.hrtime.bigint();
      await monitor.check();
      wholeMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    checkRows.push(`| ${count} | ${median(rulesMs).toFixed(3)} ms | ${median(wholeMs).toFixed(3)} ms |`);
  }

  return [
    '## Guardrails',
    '',
    "What metric recording adds on the caller's path (`bench/guardrails.ts`): run() and observe() on an instance",
    'with `monitoring.real_time_metrics` on against the same calls on one with it off, interleaved in 15 rounds of',
    `20,000 calls (order shuffled per round, a gc${gc ? '' : ' (not available: run with --expose-gc)'} and a loop turn before each batch), as the`,
    `median of per-round differences; ${repeats} repeats in one process, median and range.`,
    'Exposure logging is on in both (journal, no sink), as in a service. Target: at most 300 ns.',
    '',
    `- run(): recording adds ${range(runAdds)}`,
    `- observe(): recording adds ${range(observeAdds)} on the caller's path (validate, find the unit's arm, append)`,
    `- observe() with its pending values drained in the timed batch (the whole work): ${range(observeWholeAdds)}`,
    `- MetricRecorder.recordRun alone (latency with histogram + error flag): ${range(recordRunNs)}`,
    '',
    'Last repeat:',
    '',
    lastRows,
    '',
    'One guardrail check as experiments grow (2 guardrails each, error rate and p95 latency relative to control,',
    '5,000 observations per experiment; median over rounds). "Whole check" is what the monitor does every',
    "`check_interval` off the caller's path: snapshot every series, check every rule and the SRM, feed the",
    'anomaly charts, keep the status (no fleet, no status file).',
    '',
    ...checkRows,
    '',
  ].join('\n');
}
