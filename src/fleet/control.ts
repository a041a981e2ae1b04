/**
 * One-shot operations on the kill state and the published guardrail status, for ops
 * tools (the CLI): the same places a running instance reads (Redis with a fleet, the
 * state file beside the journal without one), so running services obey them. Unlike the
 * running store these throw a SwitchyardError when the state cannot be reached: a shell
 * command must say it failed.
 */
import { hostname, userInfo } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { ValidatedConfig } from '../config/index.js';
import { SwitchyardError } from '../errors.js';
import { GUARDRAIL_STATUS_FILE } from '../ports.js';
import { parseKillRecord, pauseKey, pausedExperiment, type KillRecord } from './kill-record.js';
import { connectRedis, fleetKeys, overrule, redisFailure, redisLabel, setIfNewer } from './redis.js';
import { readAllocationState } from './allocation-state.js';
import { mergeIntoStateFile, overruleInStateFile, readStateFile, stateFilePath } from './state-file.js';

export interface KillChange {
  readonly experiment: string;
  readonly killed: boolean;
  readonly reason: string;
  /** Default `cli:<user>@<host>`. */
  readonly by?: string;
  readonly evidence?: unknown;
  /** Default Date.now(). */
  readonly at?: number;
  /**
   * An operator's overrule: when the record in force is newer than this decision (stamped
   * by a clock that runs ahead, typically), this record is stamped just after it (its `at`
   * + 1 ms) and written anyway, so it wins on every instance; `overruled` in the result
   * says so. The stamp is taken inside the store's atomic step (the state file's lock, a
   * Redis script) from the record in force at that moment, not from one read before, which
   * another writer could have replaced meanwhile. Without it (the default) a newer record
   * stays in force and nothing is written. The CLI's `--force`.
   */
  readonly overrule?: boolean;
}

export interface KillChangeResult {
  readonly record: KillRecord;
  /** false when a newer record was already there (it stays in force). */
  readonly written: boolean;
  /** `redis redis://host:port` or `file <path>`. */
  readonly where: string;
  /**
   * With `overrule`, when the record in force was newer than this decision: that record
   * (which `record` is stamped just after) and the decision's own time (the `at` asked for,
   * default the clock's now), which `record.at` no longer shows.
   */
  readonly overruled?: { readonly record: KillRecord; readonly decidedAt: number };
}

/** The operator's name for records made from a shell. */
export function operatorName(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep "unknown"
  }
  return `cli:${user}@${hostname()}`;
}

/** Kills or unkills an experiment for every instance that shares this config's state. */
export function changeKillState(config: ValidatedConfig, change: KillChange): Promise<KillChangeResult> {
  const by = change.by ?? operatorName();
  return writeRecord(
    config,
    {
      experiment: change.experiment,
      killed: change.killed,
      reason: change.reason,
      by,
      at: change.at ?? Date.now(),
      origin: `${by}:${process.pid}`,
      ...(change.evidence !== undefined ? { evidence: change.evidence } : {}),
    },
    change.overrule === true,
  );
}

export interface PauseChange {
  readonly experiment: string;
  /** true: freeze the ramp at its step now; false: resume (the ramp follows its schedule again). */
  readonly paused: boolean;
  readonly reason: string;
  /** Default `cli:<user>@<host>`. */
  readonly by?: string;
  /** Default Date.now(): also the time the ramp is frozen at. */
  readonly at?: number;
  /**
   * An operator's overrule, as KillChange's: a record in force that is newer (a clock that
   * runs ahead) is overruled by this one stamped just after it. A pause's `pausedAt` stays
   * this decision's time, so the ramp freezes at the step of now, not of the skewed stamp.
   */
  readonly overrule?: boolean;
}

/**
 * Pauses or resumes a gradual ramp for every instance that shares this config's state:
 * the same record, store and merge as a kill, under `pause:<experiment>`. The result's
 * record is the pause record (its `experiment` is the pause key).
 */
export function changePauseState(config: ValidatedConfig, change: PauseChange): Promise<KillChangeResult> {
  const by = change.by ?? operatorName();
  const at = change.at ?? Date.now();
  return writeRecord(
    config,
    {
      experiment: pauseKey(change.experiment),
      killed: change.paused,
      reason: change.reason,
      by,
      at,
      origin: `${by}:${process.pid}`,
      ...(change.paused ? { pausedAt: at } : {}),
    },
    change.overrule === true,
  );
}

/**
 * Writes a record where the running instances read it, unless a newer one is there; with
 * `overrule`, stamped just after a newer one instead (see KillChange.overrule).
 */
async function writeRecord(config: ValidatedConfig, record: KillRecord, force: boolean): Promise<KillChangeResult> {
  if (force) return overruleRecord(config, record);
  if (!config.fleet) {
    const file = stateFilePath(config.exposures.dir);
    const merged = mergeIntoStateFile(file, [record]);
    return {
      record: merged.get(record.experiment)!,
      written: merged.get(record.experiment) === record,
      where: `file ${file}`,
    };
  }
  return withRedis(config, async (redis, keys) => {
    const written = await setIfNewer(redis, keys, record.experiment, JSON.stringify(record));
    const stored = written
      ? record
      : parseKillRecord(JSON.parse((await redis.hget(keys.kills, record.experiment)) ?? 'null'));
    return { record: stored ?? record, written, where: `redis ${redisLabel(config.fleet!.redis)}` };
  });
}

async function overruleRecord(config: ValidatedConfig, record: KillRecord): Promise<KillChangeResult> {
  const result = (written: KillRecord | undefined, current: KillRecord | undefined, where: string) => ({
    record: written ?? current ?? record,
    written: written !== undefined,
    where,
    // Restamped: the store wrote it at another time than the decision's.
    ...(written && current && written.at !== record.at ? { overruled: { record: current, decidedAt: record.at } } : {}),
  });
  if (!config.fleet) {
    const file = stateFilePath(config.exposures.dir);
    const { written, current } = overruleInStateFile(file, record);
    return result(written, current, `file ${file}`);
  }
  return withRedis(config, async (redis, keys) => {
    const { written, current } = await overrule(redis, keys, record);
    const parse = (text: string | undefined) =>
      text === undefined ? undefined : parseOrUndefined(text, parseKillRecord);
    return result(parse(written), parse(current), `redis ${redisLabel(config.fleet!.redis)}`);
  });
}

/** The kill record of an experiment in force in the shared state now (the state file, or Redis with a fleet). */
export async function readKillRecord(config: ValidatedConfig, experiment: string): Promise<KillRecord | undefined> {
  if (!config.fleet) return readStateFile(stateFilePath(config.exposures.dir)).get(experiment);
  return withRedis(config, async (redis, keys) => {
    const text = await redis.hget(keys.kills, experiment);
    return text === null ? undefined : parseOrUndefined(text, parseKillRecord);
  });
}

export interface OpsState {
  /** Per experiment: the latest kill record (kills and unkills). */
  readonly kills: ReadonlyMap<string, KillRecord>;
  /** Per experiment: the latest ramp pause record (pauses and resumes). */
  readonly pauses: ReadonlyMap<string, KillRecord>;
  /** Per experiment: the guardrail monitor's latest published results, as published. */
  readonly guardrails: ReadonlyMap<string, unknown>;
  /** Per adaptive experiment: its current allocation version as published (weights, arms, posteriors). */
  readonly allocations: ReadonlyMap<string, unknown>;
  readonly where: string;
}

/** Reads the kill state and the published guardrail status of the config's experiments. */
export async function readOpsState(config: ValidatedConfig): Promise<OpsState> {
  const experiments = [...config.experiments.keys()];
  if (!config.fleet) {
    const file = stateFilePath(config.exposures.dir);
    const guardrails = new Map<string, unknown>();
    const doc = readJsonFile(join(config.exposures.dir, GUARDRAIL_STATUS_FILE));
    const byExperiment = (doc as { experiments?: unknown } | undefined)?.experiments ?? doc;
    if (typeof byExperiment === 'object' && byExperiment !== null)
      for (const exp of experiments) {
        const status = (byExperiment as Record<string, unknown>)[exp];
        if (status !== undefined) guardrails.set(exp, status);
      }
    const allocations = readAllocationState(config.exposures.dir);
    return { ...splitPauses(readStateFile(file).values()), guardrails, allocations, where: `file ${file}` };
  }
  return withRedis(config, async (redis, keys) => {
    const records: KillRecord[] = [];
    for (const text of Object.values(await redis.hgetall(keys.kills))) {
      const r = parseOrUndefined(text, parseKillRecord);
      if (r) records.push(r);
    }
    const { kills, pauses } = splitPauses(records);
    const guardrails = new Map<string, unknown>();
    const texts = experiments.length > 0 ? await redis.mget(experiments.map((e) => keys.status(e))) : [];
    texts.forEach((text, i) => {
      const status = text === null ? undefined : parseOrUndefined(text, (v) => v);
      if (status !== undefined) guardrails.set(experiments[i]!, status);
    });
    const adaptive = experiments.filter((e) => config.experiments.get(e)?.allocation.adaptive !== undefined);
    const allocations = new Map<string, unknown>();
    const versions = adaptive.length > 0 ? await redis.mget(adaptive.map((e) => keys.allocation(e))) : [];
    versions.forEach((text, i) => {
      const version = text === null ? undefined : parseOrUndefined(text, (v) => v);
      if (version !== undefined) allocations.set(adaptive[i]!, version);
    });
    return { kills, pauses, guardrails, allocations, where: `redis ${redisLabel(config.fleet!.redis)}` };
  });
}

/** Kill records by experiment and pause records by the experiment they pause. */
function splitPauses(records: Iterable<KillRecord>): {
  kills: Map<string, KillRecord>;
  pauses: Map<string, KillRecord>;
} {
  const kills = new Map<string, KillRecord>();
  const pauses = new Map<string, KillRecord>();
  for (const r of records) {
    const paused = pausedExperiment(r);
    if (paused === undefined) kills.set(r.experiment, r);
    else pauses.set(paused, r);
  }
  return { kills, pauses };
}

async function withRedis<T>(
  config: ValidatedConfig,
  work: (redis: Redis, keys: ReturnType<typeof fleetKeys>) => Promise<T>,
): Promise<T> {
  const fleet = config.fleet!;
  const redis = connectRedis(fleet.redis, { reconnect: false, connectTimeoutMs: 3000 });
  redis.on('error', () => {}); // reported below, once, as the command's failure
  try {
    await redis.connect();
    return await work(redis, fleetKeys(fleet.prefix));
  } catch (error) {
    if (error instanceof SwitchyardError) throw error;
    const refused = (error as Error | null)?.name === 'ReplyError';
    throw new SwitchyardError(
      'SY_FLEET_UNAVAILABLE',
      'fleet',
      `${redisFailure(redisLabel(fleet.redis), fleet.prefix, error)}; ${refused ? 'the command stopped there' : 'nothing was changed or read'}`,
      { cause: error },
    );
  } finally {
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SwitchyardError('SY_STATE_FILE', 'fleet', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseOrUndefined(text, (v) => v);
}

function parseOrUndefined<T>(text: string, parse: (value: unknown) => T | undefined): T | undefined {
  try {
    return parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}
