/**
 * The kill record and how two views of the kill state merge. A kill and an unkill are
 * both records (an unkill is a tombstone), so the state merges by "last writer wins" on
 * (at, origin) and every copy (this process, the state file, Redis, a message) converges
 * to the same answer whatever order they were seen in. Pure: no I/O, no clock.
 */

/** Who turned an experiment off or on again, why, when and on what evidence. */
export interface KillRecord {
  readonly experiment: string;
  /** true: every unit gets the control; false: an unkill (kept so it wins over older kills). */
  readonly killed: boolean;
  readonly reason: string;
  /** Who: `guardrails`, `api`, `cli:<user>@<host>`, ... */
  readonly by: string;
  /** When, in ms since the epoch (the writer's clock). */
  readonly at: number;
  /** The instance (or CLI invocation) that wrote the record; ties on `at` break on it. */
  readonly origin: string;
  /** What tripped it, e.g. a guardrail's rule, values per arm, statistic and bound. */
  readonly evidence?: unknown;
  /**
   * A ramp pause record (its `experiment` is `pause:<experiment>`, see pauseKey; `killed`
   * means paused): the time the ramp is frozen at, so every instance serves the same step.
   */
  readonly pausedAt?: number;
}

/**
 * Ramp pauses travel and last with the kills, in the same hash, channel and state file,
 * under `pause:<experiment>` (experiment keys cannot contain ':', so no kill collides),
 * and merge the same way: last writer wins, a resume is a tombstone.
 */
const PAUSE_PREFIX = 'pause:';

export function pauseKey(experiment: string): string {
  return PAUSE_PREFIX + experiment;
}

/** The experiment a pause record is about, or undefined for a kill record. */
export function pausedExperiment(record: KillRecord): string | undefined {
  return record.experiment.startsWith(PAUSE_PREFIX) ? record.experiment.slice(PAUSE_PREFIX.length) : undefined;
}

export type KillState = ReadonlyMap<string, KillRecord>;

/** True when `a` supersedes `b` (b missing, or a later, or as late from a greater origin). */
export function isNewer(a: KillRecord, b: KillRecord | undefined): boolean {
  if (b === undefined) return true;
  if (a.at !== b.at) return a.at > b.at;
  return a.origin > b.origin;
}

/**
 * An operator's overrule: `record` as is when it supersedes `current`, else the same record
 * stamped just after `current` (its `at` + 1 ms), so it wins the merge everywhere. For a
 * decision that a record stamped by a clock running ahead would otherwise outlast. Undefined
 * when no stamp can follow `current` (stamped at the end of the Date range).
 */
export function stampedAfter(record: KillRecord, current: KillRecord | undefined): KillRecord | undefined {
  if (isNewer(record, current)) return record;
  const at = current!.at + 1;
  return isTime(at) ? { ...record, at } : undefined;
}

/** The records of `incoming` that supersede those of `state`, in incoming's order. */
export function newerRecords(state: KillState, incoming: Iterable<KillRecord>): KillRecord[] {
  const out: KillRecord[] = [];
  for (const r of incoming) if (isNewer(r, state.get(r.experiment))) out.push(r);
  return out;
}

/** The range of a Date (ms either side of the epoch); a stamp no clock can give lies outside. */
export const LAST_TIME = 8.64e15;

/**
 * A time a writer's clock can have given. A record stamped beyond it is corrupt: no later
 * decision could supersede it (at + 1 is at itself up there), so it would hold for good.
 */
function isTime(value: unknown): value is number {
  return typeof value === 'number' && Math.abs(value) <= LAST_TIME;
}

/**
 * Checks a record that came from outside (a file, Redis, a message); undefined when it is
 * not one, so a corrupt entry is skipped rather than trusted.
 */
export function parseKillRecord(value: unknown): KillRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (
    typeof r.experiment !== 'string' ||
    r.experiment.length === 0 ||
    typeof r.killed !== 'boolean' ||
    typeof r.reason !== 'string' ||
    typeof r.by !== 'string' ||
    !isTime(r.at) ||
    typeof r.origin !== 'string'
  )
    return undefined;
  return {
    experiment: r.experiment,
    killed: r.killed,
    reason: r.reason,
    by: r.by,
    at: r.at,
    origin: r.origin,
    ...(r.evidence !== undefined ? { evidence: r.evidence } : {}),
    ...(isTime(r.pausedAt) ? { pausedAt: r.pausedAt } : {}),
  };
}

/** The experiments killed in a state, with their records. */
export function activeKills(state: KillState): KillRecord[] {
  return [...state.values()].filter((r) => r.killed && pausedExperiment(r) === undefined);
}
