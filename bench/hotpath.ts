/**
 * getVariant against the floor (issue 18): an awaited async function that hashes the unit
 * from the experiment's `salt:` state and picks a bucket, the least an awaited
 * assignment can cost. Each scenario runs in fresh processes (one scenario's garbage and
 * JIT state never reach another's), contenders in a new random order every round, with a
 * full garbage collection and a turn of the event loop, untimed, before each contender's
 * batch, so one contender's garbage is not collected on the next one's time. Calls yield to
 * the event loop every 500 calls, as a server's requests do. Ratios are per round against
 * the floor, then the median; the table gives the range of those medians across processes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSwitchyard, type Switchyard } from '../src/index.js';
import { hashPrefix, murmur3After, unitHash, unitHashes } from '../src/allocation/index.js';
import type { Evaluation } from '../src/client/engine.js';
import type { ExposureRecorder } from '../src/client/exposure-recorder.js';
import { ExposureDedupe } from '../src/exposure/dedupe.js';
import { median, shuffled } from './harness.js';

interface Scenario {
  name: string;
  /** Distinct units cycling; 0 = a new unit every call. */
  units: number;
  experiments: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'all-new units, 1 experiment', units: 0, experiments: 1 },
  { name: '10k units cycling, 1 experiment', units: 10_000, experiments: 1 },
  { name: '100k units cycling, 1 experiment', units: 100_000, experiments: 1 },
  { name: '1M units cycling, 1 experiment', units: 1_000_000, experiments: 1 },
  { name: '10k units cycling, 100 experiments', units: 10_000, experiments: 100 },
  { name: '10k units cycling, 10,000 experiments', units: 10_000, experiments: 10_000 },
];
const CONTENDERS = ['floor', 'probe', 'bare', 'off', 'on', 'sync', 'unit', 'rule'] as const;
type Contender = (typeof CONTENDERS)[number];
const PROCESSES = 3;
const ROUNDS = 11;
const BATCH = 100_000;
const YIELD_EVERY = 500;

interface ProcessResult {
  ns: Record<Contender, number>;
  ratio: Record<'probe' | 'bare' | 'off' | 'on' | 'sync', number>;
  /** getVariantSync minus getVariant, both logging on, per call: median of per-round differences. */
  syncGain: number;
  /** Logging on minus bare (no exposure work at all), per call, median of per-round differences. */
  adds: number;
  /** The exposure rule alone on a repeat (rule minus unit), per call, median of per-round differences. */
  rule: number;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
let sink = 0;

function configFor(s: Scenario, dir: string | undefined, monitoring = true) {
  const experiments: Record<string, unknown> = {};
  for (let e = 0; e < s.experiments; e++)
    experiments[`exp-${e}`] = {
      variants: { control: { weight: 50 }, treatment: { weight: 50 } },
      allocation: { mode: 'fixed' },
    };
  return {
    feature_flags: { provider: 'memory' },
    // The rule keeps at least capacity/2 keys, so cycling units are repeats only within a
    // capacity of twice their number: set so (at least the default 100,000), as issue 18 asks
    // ("within the dedupe capacity"). Logging off keeps its state in a directory of its own.
    exposures: dir
      ? { dir: join(dir, 'events'), dedupe: { capacity: Math.max(100_000, 2 * s.units) } }
      : {
          enabled: false,
          dir: join(mkdtempSync(join(tmpdir(), 'sy-hot-off-')), 'events'),
          // The rule still runs for the guardrails' unit counts: the same capacity as logging on.
          dedupe: { capacity: Math.max(100_000, 2 * s.units) },
        },
    analytics: dir ? { jsonl: { dir: join(dir, 'jsonl') } } : undefined,
    // Off: no unit counted per arm for the guardrails either, so no exposure work at all.
    monitoring: { real_time_metrics: monitoring },
    experiments,
  };
}

async function measure(s: Scenario): Promise<ProcessResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-hot-'));
  const bare = await createSwitchyard({ config: configFor(s, undefined, false) });
  const off = await createSwitchyard({ config: configFor(s, undefined) });
  const on = await createSwitchyard({ config: configFor(s, dir) });
  const syncDir = mkdtempSync(join(tmpdir(), 'sy-hot-sync-'));
  const sync = await createSwitchyard({ config: configFor(s, syncDir) });
  const flags = Array.from({ length: s.experiments }, (_, e) => `exp-${e}`);
  const prefixes = flags.map((f) => hashPrefix(`${f}:`));
  let fresh = 0;
  // The caller builds the unit id per call, as a request handler does.
  const unitAt = s.units === 0 ? () => `new-${fresh++}` : (i: number) => `user-${i % s.units}`;
  const cursor: Record<Contender, number> = { floor: 0, probe: 0, bare: 0, off: 0, on: 0, sync: 0, unit: 0, rule: 0 };
  // The exposure rule alone, as getVariant runs it for a repeat: the logging-on instance's
  // recorder (a private field, reached here only to time it) given each unit's evaluation
  // (the shared one of its arm) after its allocation hashes, which getVariant made to pick
  // the arm (with logging on, both of the key's hashes in that pass: unitHashes). 'unit' is
  // the same loop without the rule; rule minus unit is the rule's cost.
  const internals = on as unknown as {
    exposures: ExposureRecorder;
    engine: { evaluate(flag: string, ctx: { targetingKey: string }): Evaluation | Promise<Evaluation> };
  };
  const pool = Math.max(s.units, 1);
  const evaluations: Evaluation[] = [];
  for (let i = 0; i < pool; i++)
    evaluations.push(
      (await internals.engine.evaluate(flags[i % s.experiments]!, { targetingKey: unitAt(i) })) as Evaluation,
    );

  async function floorCall(flag: number, unit: string): Promise<number> {
    return (murmur3After(prefixes[flag]!, unit) >>> 0) / 2 ** 32 < 0.5 ? 0 : 1;
  }
  // The floor plus what any exact check of a repeat costs at least: one probe of a table that
  // holds every unit cycling (an exposure rule's own table, the same capacity as logging on's,
  // filled with the pool's keys up front), keyed by the unit's hash (no second hash). This is
  // the least an awaited assignment that also knows "already exposed" can cost.
  const probeTable = new ExposureDedupe(Math.max(100_000, 2 * s.units), undefined);
  const keyLo = (h: number) => Math.imul(h, 0x9e3779b1) | 1;
  for (let i = 0; i < s.units; i++) {
    const h = murmur3After(prefixes[i % s.experiments]!, unitAt(i)) | 0;
    probeTable.admit(h, keyLo(h), NaN);
  }
  async function probeCall(flag: number, unit: string): Promise<number> {
    const h = murmur3After(prefixes[flag]!, unit) | 0;
    return probeTable.has(h, keyLo(h)) && (h >>> 0) / 2 ** 32 < 0.5 ? 0 : 1;
  }
  /** Each unit's allocation pass as getVariant makes it with logging on (`unit`), then the rule too (`rule`). */
  const allocationPass =
    (name: 'unit' | 'rule', rule: boolean) =>
    async (n: number): Promise<void> => {
      let i = cursor[name];
      const recorder = internals.exposures;
      for (let k = 0; k < n; k++, i++) {
        if (k % YIELD_EVERY === 0) await turn();
        const ev = evaluations[i % pool]!;
        const ctx = { targetingKey: unitAt(i) };
        unitHashes(ev.plan!.prefix, ctx.targetingKey);
        sink += unitHash(ev.plan!.prefix, ctx.targetingKey) & 1;
        if (rule) recorder.logEvaluation(ev, ctx);
      }
      cursor[name] = i;
    };
  const run: Record<Contender, (n: number) => Promise<void>> = {
    floor: async (n) => {
      let i = cursor.floor;
      for (let k = 0; k < n; k++, i++) {
        if (k % YIELD_EVERY === 0) await turn();
        sink += await floorCall(i % s.experiments, unitAt(i));
      }
      cursor.floor = i;
    },
    probe: async (n) => {
      let i = cursor.probe;
      for (let k = 0; k < n; k++, i++) {
        if (k % YIELD_EVERY === 0) await turn();
        sink += await probeCall(i % s.experiments, unitAt(i));
      }
      cursor.probe = i;
    },
    bare: async (n) => {
      let i = cursor.bare;
      for (let k = 0; k < n; k++, i++) {
        if (k % YIELD_EVERY === 0) await turn();
        sink += (await bare.getVariant(flags[i % s.experiments]!, { targetingKey: unitAt(i) })).inExperiment ? 1 : 0;
      }
      cursor.bare = i;
    },
    off: async (n) => {
      let i = cursor.off;
      for (let k = 0; k < n; k++, i++) {
        if (k % YIELD_EVERY === 0) await turn();
        sink += (await off.getVariant(flags[i % s.experiments]!, { targetingKey: unitAt(i) })).inExperiment ? 1 : 0;
      }
      cursor.off = i;
    },
    on: async (n) => {
      let i = cursor.on;
      for (let k = 0; k < n; k++, i++) {
        if (k % YIELD_EVERY === 0) await turn();
        sink += (await on.getVariant(flags[i % s.experiments]!, { targetingKey: unitAt(i) })).inExperiment ? 1 : 0;
      }
      cursor.on = i;
    },
    unit: allocationPass('unit', false),
    rule: allocationPass('rule', true),
    // The proposed synchronous form (logging on, an instance of its own): no promise, no await.
    sync: async (n) => {
      let i = cursor.sync;
      for (let k = 0; k < n; k++, i++) {
        if (k % YIELD_EVERY === 0) await turn();
        sink += sync.getVariantSync(flags[i % s.experiments]!, { targetingKey: unitAt(i) }).inExperiment ? 1 : 0;
      }
      cursor.sync = i;
    },
  };
  const settle = async (sy: Switchyard) => {
    sy.flush();
    await turn();
    await turn();
  };
  // Warm-up: every contender sees the whole pool once (the repeats measured are real repeats).
  const warm = Math.max(BATCH, s.units);
  // The rule alone and the probe are timed on repeats, so only where units come back.
  const contenders = s.units > 0 ? CONTENDERS : CONTENDERS.filter((c) => c !== 'unit' && c !== 'rule' && c !== 'probe');
  for (const c of contenders) await run[c](warm);
  await settle(on);
  await settle(sync);
  const samples: Record<Contender, number[]> = {
    floor: [],
    probe: [],
    bare: [],
    off: [],
    on: [],
    sync: [],
    unit: [],
    rule: [],
  };
  for (let r = 0; r < ROUNDS; r++) {
    const order = shuffled(contenders.length).map((i) => contenders[i]!);
    for (const c of order) {
      globalThis.gc?.();
      await turn();
      const t0 = process.hrtime.bigint();
      await run[c](BATCH);
      samples[c].push(Number(process.hrtime.bigint() - t0) / BATCH);
      if (c === 'on' || c === 'rule') await settle(on);
      if (c === 'sync') await settle(sync);
    }
  }
  await Promise.all([bare.close(), off.close(), on.close(), sync.close()]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(syncDir, { recursive: true, force: true });
  const ratio = (c: Contender) => median(samples[c].map((x, r) => x / samples.floor[r]!));
  return {
    ns: {
      floor: median(samples.floor),
      probe: samples.probe.length > 0 ? median(samples.probe) : NaN,
      bare: median(samples.bare),
      off: median(samples.off),
      on: median(samples.on),
      sync: median(samples.sync),
      unit: samples.unit.length > 0 ? median(samples.unit) : NaN,
      rule: samples.rule.length > 0 ? median(samples.rule) : NaN,
    },
    ratio: {
      probe: s.units > 0 ? ratio('probe') : NaN,
      bare: ratio('bare'),
      off: ratio('off'),
      on: ratio('on'),
      sync: ratio('sync'),
    },
    syncGain: median(samples.on.map((x, r) => x - samples.sync[r]!)),
    adds: median(samples.on.map((x, r) => x - samples.bare[r]!)),
    rule: s.units > 0 ? median(samples.rule.map((x, r) => x - samples.unit[r]!)) : NaN,
  };
}

const range = (xs: number[], digits: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${median(s).toFixed(digits)} (${s[0]!.toFixed(digits)}-${s[s.length - 1]!.toFixed(digits)})`;
};

export async function benchHotPath(): Promise<string> {
  const lines = [
    '## getVariant against the floor (issue 18)',
    '',
    "The floor is an awaited async function that hashes the unit from the experiment's `salt:` MurmurHash3 state and",
    'picks a bucket. Each scenario runs in 3 fresh processes (started with --expose-gc) of 11 rounds of 100,000 awaited',
    'calls per contender; contenders run in a new random order every round, each batch preceded (untimed) by a full',
    'garbage collection and a turn of the event loop; calls yield to the event loop every 500 calls. (Batches were 20,000',
    'calls before 2026-11-30 04:10: 2-10 ms, much of it spent just after the full collection, with cold caches and',
    'tables; 100,000 is closer to a service that runs for hours between full collections.) Unit ids are',
    "built per call. Logging on = the default journal and the JSONL sink; the rule's capacity (logging on and off) twice the units cycling",
    '(at least the default 100,000). Logging off still counts units per arm for the guardrails (real_time_metrics).',
    'Contenders: bare = logging off and `monitoring.real_time_metrics` off (no exposure work at all); off = logging',
    'off with the default monitoring (units still counted per arm for the guardrails, so the exposure rule runs); on =',
    'logging on; sync = `getVariantSync` with logging on (no promise, no await). "Logging on adds" = on minus bare, paired per round.',
    "The exposure rule alone on a repeat: the logging-on instance's recorder given each unit's evaluation after its allocation",
    "pass (what getVariant hands it; with logging on that pass makes both hashes of the rule's key, so their cost is in",
    '"logging on adds", not here), minus the same loop without the rule, paired per round (units cycling only).',
    "Floor + one probe: the floor plus one probe of an exposure rule's table (the same class and capacity as logging",
    "on's) that holds every unit cycling, keyed by the floor's hash: the least that any exact, unqueued check of a",
    'repeat adds to the floor (units cycling only).',
    "Figures: the median of the three processes' medians, with their range.",
    '',
    '| scenario | floor ns | floor + one probe | bare | logging off | logging on | getVariantSync, logging on | logging on adds, ns | the rule alone on a repeat, ns | sync saves, ns |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const results: Record<string, ProcessResult[]> = {};
  for (const s of SCENARIOS) {
    results[s.name] = [];
    for (let p = 0; p < PROCESSES; p++) {
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), s.name],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      if (child.status !== 0) throw new Error(`hot-path benchmark process failed: ${child.stderr}`);
      results[s.name]!.push(JSON.parse(child.stdout) as ProcessResult);
    }
    const rs = results[s.name]!;
    const ratios = (c: 'probe' | 'bare' | 'off' | 'on' | 'sync') =>
      `${range(
        rs.map((r) => r.ratio[c]),
        2,
      )}x`;
    lines.push(
      `| ${s.name} | ${range(
        rs.map((r) => r.ns.floor),
        0,
      )} | ${s.units > 0 ? ratios('probe') : '-'} | ${ratios('bare')} | ${ratios('off')} | ${ratios('on')} | ${ratios('sync')} | ${range(
        rs.map((r) => r.adds),
        0,
      )} | ${
        s.units > 0
          ? range(
              rs.map((r) => r.rule),
              0,
            )
          : '-'
      } | ${range(
        rs.map((r) => r.syncGain),
        0,
      )} |`,
    );
  }
  const on = (name: string) => median(results[name]!.map((r) => r.ratio.on));
  const probe = (name: string) => median(results[name]!.map((r) => r.ratio.probe));
  const repeat = median(results['10k units cycling, 1 experiment']!.map((r) => r.adds));
  const rule = median(results['10k units cycling, 1 experiment']!.map((r) => r.rule));
  lines.push(
    '',
    `- Logging on, 10k units cycling: ${on('10k units cycling, 1 experiment').toFixed(2)}x the floor; 100k: ${on('100k units cycling, 1 experiment').toFixed(2)}x (target <= 2.5x): ${on('10k units cycling, 1 experiment') <= 2.5 && on('100k units cycling, 1 experiment') <= 2.5 ? 'met' : 'not met'}.`,
    `- Floor + one probe alone: ${probe('10k units cycling, 1 experiment').toFixed(2)}x (10k), ${probe('100k units cycling, 1 experiment').toFixed(2)}x (100k), ${probe('1M units cycling, 1 experiment').toFixed(2)}x (1M): what is left of 2.5x for everything else getVariant does is ${(2.5 - probe('10k units cycling, 1 experiment')).toFixed(2)}x, ${(2.5 - probe('100k units cycling, 1 experiment')).toFixed(2)}x and ${(2.5 - probe('1M units cycling, 1 experiment')).toFixed(2)}x of the floor.`,
    `- A repeat exposure: the rule alone costs ${rule.toFixed(0)} ns on the caller's path, and logging on adds ${repeat.toFixed(0)} ns a call to getVariant with no exposure work (10k units cycling; target <= 30 ns): ${rule <= 30 ? 'met for the rule' : 'not met'}${repeat <= 30 ? ', met for the whole' : ''}.`,
    '',
  );
  return lines.join('\n');
}

// A child process: one scenario, printed as JSON.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2]) {
  const s = SCENARIOS.find((x) => x.name === process.argv[2]);
  if (!s) throw new Error(`unknown scenario ${process.argv[2]}`);
  console.log(JSON.stringify(await measure(s)));
  if (sink < 0) console.error(sink);
  process.exit(0);
}
