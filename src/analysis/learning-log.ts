/**
 * The learning log: every analysis's decision per experiment, with hypothesis, owner,
 * the primary result and the insights in sentences, appended as JSON lines beside the data
 * (learning-log.ndjson: not .jsonl, so the analysis never reads it as events) or to the
 * PostgreSQL table sy_experiment_log. `switchyard history` lists it and `switchyard plan`
 * reads past results of the same metric from it.
 */
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { sampleSize, type SampleSizeResult } from '../stats/index.js';
import { messageOf, SwitchyardError } from '../errors.js';
import { connectPostgres } from './stores/postgres.js';
import type { Analysis, DecisionKind } from './types.js';

export const LEARNING_SCHEMA = 'switchyard.learning/1';
export const LEARNING_FILE = 'learning-log.ndjson';

export interface LearningEntry {
  readonly schema: typeof LEARNING_SCHEMA;
  readonly ts: string;
  readonly experiment: string;
  readonly hypothesis: string | null;
  readonly owner: string | null;
  readonly primaryMetric: string | null;
  readonly statistic: string | null;
  readonly control: number | null;
  readonly variant: string | null;
  readonly treatment: number | null;
  readonly relative: number | null;
  readonly relativeCi: { readonly lower: number; readonly upper: number } | null;
  readonly adjustedPValue: number | null;
  readonly units: number;
  readonly days: number;
  readonly decision: DecisionKind;
  readonly reason: string;
  readonly insights: readonly string[];
}

export type LogLocation = { readonly dir: string } | { readonly pg: string };

export function learningEntries(a: Analysis): LearningEntry[] {
  return a.experiments.map((e) => {
    // The result the decision read: the primary metric's decision statistic (its arm with the
    // smallest p). Any primary statistic logged a mean_value result for a decision on
    // conversion, and plan, which reads conversion results, found no baseline.
    const primary = e.metrics
      .filter((m) => m.role === 'primary' && m.statistic === e.primaryStatistic)
      .sort((x, y) => x.adjustedPValue - y.adjustedPValue)[0];
    return {
      schema: LEARNING_SCHEMA,
      ts: a.generatedAt,
      experiment: e.experiment,
      hypothesis: e.hypothesis ?? null,
      owner: e.owner ?? null,
      primaryMetric: e.primaryMetric,
      statistic: primary?.statistic ?? null,
      control: primary?.control.value ?? null,
      variant: primary?.variant ?? null,
      treatment: primary?.treatment.value ?? null,
      relative: primary?.relative ?? null,
      relativeCi: primary?.relativeCi ?? null,
      adjustedPValue: primary?.adjustedPValue ?? null,
      units: Object.values(e.units).reduce((x, y) => x + y, 0),
      days: e.period.days,
      decision: e.decision.decision,
      reason: e.decision.reason,
      insights: e.insights,
    };
  });
}

const PG_LOG_DDL = `CREATE TABLE IF NOT EXISTS sy_experiment_log (ts timestamptz NOT NULL DEFAULT now(), experiment text NOT NULL, primary_metric text, entry jsonb NOT NULL)`;

function logError(what: string, cause: unknown): SwitchyardError {
  return new SwitchyardError('SY_ANALYSIS_STORE', 'analysis', `${what}: ${messageOf(cause)}`, { cause });
}

/**
 * Whether the file's last line has no newline (an editor that adds none saved it, or a write
 * was cut short): an append must start a line of its own, or its entry is glued to that line
 * and both are lost as "not JSON".
 */
function endsOpen(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false; // no log yet: the append creates it
  }
  try {
    const { size } = fstatSync(fd);
    const last = Buffer.alloc(1);
    return size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

export async function appendLearning(where: LogLocation, entries: readonly LearningEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if ('dir' in where) {
    const file = join(where.dir, LEARNING_FILE);
    try {
      const text = entries.map((e) => JSON.stringify(e) + '\n').join('');
      appendFileSync(file, (endsOpen(file) ? '\n' : '') + text);
    } catch (cause) {
      throw logError(`cannot append to the learning log in ${where.dir}`, cause);
    }
    return;
  }
  const client = await connectPostgres(where.pg);
  try {
    await client.query(PG_LOG_DDL);
    for (const e of entries)
      await client.query('INSERT INTO sy_experiment_log (experiment, primary_metric, entry) VALUES ($1, $2, $3)', [
        e.experiment,
        e.primaryMetric,
        JSON.stringify(e),
      ]);
  } catch (cause) {
    throw logError('cannot append to sy_experiment_log', cause);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';
const orNull =
  <T>(is: (v: unknown) => v is T) =>
  (v: unknown): v is T | null =>
    v === null || is(v);

/**
 * Whether a parsed line has the fields history and plan read, of their types. The log is a
 * plain file anyone can append to: a line of the right schema and the wrong shape (audit:
 * `{"schema":"switchyard.learning/1"}` crashed history with a TypeError) is skipped.
 */
function isEntry(e: unknown): e is LearningEntry {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return (
    r.schema === LEARNING_SCHEMA &&
    isString(r.ts) &&
    isString(r.experiment) &&
    isString(r.decision) &&
    isString(r.reason) &&
    orNull(isString)(r.hypothesis) &&
    orNull(isString)(r.owner) &&
    orNull(isString)(r.primaryMetric) &&
    orNull(isString)(r.statistic) &&
    orNull(isString)(r.variant) &&
    orNull(isNumber)(r.control) &&
    orNull(isNumber)(r.treatment) &&
    orNull(isNumber)(r.relative)
  );
}

/**
 * The log, oldest first. Blank lines are skipped; so are lines that are not entries (not
 * JSON, another schema, the wrong shape), each told to `onSkipped` with where it is
 * (file:line, or the table's row number in PostgreSQL).
 */
export async function readLearning(
  where: LogLocation,
  onSkipped?: (where: string, why: string) => void,
): Promise<LearningEntry[]> {
  if ('dir' in where) {
    const file = join(where.dir, LEARNING_FILE);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => {
        if (line.trim() === '') return [];
        let e: unknown;
        try {
          e = JSON.parse(line);
        } catch {
          onSkipped?.(`${file}:${i + 1}`, 'not JSON');
          return [];
        }
        if (isEntry(e)) return [e];
        onSkipped?.(`${file}:${i + 1}`, `not a ${LEARNING_SCHEMA} entry with its fields`);
        return [];
      });
  }
  const client = await connectPostgres(where.pg);
  try {
    await client.query(PG_LOG_DDL);
    const { rows } = await client.query<{ entry: LearningEntry }>(
      'SELECT entry FROM sy_experiment_log ORDER BY ts, experiment',
    );
    return rows.flatMap((r, i) => {
      if (isEntry(r.entry)) return [r.entry];
      onSkipped?.(`sy_experiment_log row ${i + 1}`, `not a ${LEARNING_SCHEMA} entry with its fields`);
      return [];
    });
  } catch (cause) {
    throw logError('cannot read sy_experiment_log', cause);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface PlanInput {
  readonly metric: string;
  /** Baseline conversion rate; default: the latest logged control rate of the same metric. */
  readonly baseline?: number;
  readonly mde: number;
  readonly alpha: number;
  readonly power: number;
  readonly dailyUnits: number;
  readonly arms?: number;
}

export interface Plan {
  readonly metric: string;
  readonly baseline: number;
  readonly baselineFrom: 'given' | 'log';
  readonly design: SampleSizeResult;
  /** Past conversion results of the same metric, newest first: each experiment's latest entry. */
  readonly past: readonly LearningEntry[];
  readonly sentences: readonly string[];
}

/** Sample size and runtime for a new test of a conversion metric, informed by the log. */
export function planExperiment(input: PlanInput, log: readonly LearningEntry[]): Plan {
  const results = log.filter((e) => e.primaryMetric === input.metric && e.statistic === 'conversion').reverse();
  const baseline = input.baseline ?? results.find((e) => e.control !== null)?.control ?? undefined;
  // Each analyze or report appends its decision, so an experiment analysed daily is in the log
  // once a run: its latest entry is its result, the earlier ones were on part of its data.
  const seen = new Set<string>();
  const past = results.filter((e) => !seen.has(e.experiment) && seen.add(e.experiment));
  if (baseline === undefined)
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'analysis',
      `no baseline for ${JSON.stringify(input.metric)}: give --baseline, or analyse an experiment on that metric first so the learning log has one`,
    );
  let design: SampleSizeResult;
  try {
    design = sampleSize({
      metric: 'proportion',
      baseline,
      mde: input.mde,
      relative: true,
      alpha: input.alpha,
      power: input.power,
      arms: input.arms ?? 2,
      dailyUnits: input.dailyUnits,
    });
  } catch (cause) {
    throw new SwitchyardError('SY_INVALID_ARGUMENT', 'analysis', `no design: ${(cause as Error).message}`, { cause });
  }
  // A baseline or MDE so small that no experiment detects it (sampleSize throws when no
  // finite number of units does): say so, not "3.1e25 units".
  if (design.perArm > 1e12)
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'analysis',
      `a ${input.mde * 100}% relative change from a ${baseline * 100}% baseline needs ${design.perArm} units per arm: more than any experiment has; raise the MDE or check the baseline`,
    );
  const sentences = [
    `${design.perArm.toLocaleString('en')} units per arm (${design.total.toLocaleString('en')} in all) detect a ${(input.mde * 100).toFixed(1)}% relative change from a ${(baseline * 100).toFixed(2)}% baseline with ${(input.power * 100).toFixed(0)}% power at alpha ${input.alpha}${design.runtimeDays === null ? '' : `: about ${Math.ceil(design.runtimeDays)} days at ${input.dailyUnits.toLocaleString('en')} units a day`}.`,
  ];
  const lifts = past.filter((e) => e.relative !== null);
  if (lifts.length > 0) {
    const seen = lifts.map((e) => Math.abs(e.relative!));
    const median = [...seen].sort((a, b) => a - b)[Math.floor(seen.length / 2)]!;
    sentences.push(
      `${lifts.length} past experiment${lifts.length === 1 ? '' : 's'} on ${input.metric} moved it by ${(median * 100).toFixed(1)}% (median, absolute)${median < input.mde ? `: smaller than this MDE, so a ${(input.mde * 100).toFixed(1)}% effect would be unusual` : ''}; the latest: ${lifts[0]!.experiment} (${lifts[0]!.decision}).`,
    );
  }
  return {
    metric: input.metric,
    baseline,
    baselineFrom: input.baseline === undefined ? 'log' : 'given',
    design,
    past,
    sentences,
  };
}
