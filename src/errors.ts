/**
 * One error type for switchyard, with a stable code from a closed union, a `where`
 * (module or adapter) and a `what` (a sentence that also says what switchyard did).
 * Codes are never renamed once released; messages may change.
 */
export type SwitchyardCode =
  /** The YAML could not be read or parsed. */
  | 'SY_CONFIG_READ'
  /** The config parsed but broke the schema or a semantic rule; `problems` lists each. */
  | 'SY_CONFIG_INVALID'
  /** A config reload would reshuffle units of a running experiment. */
  | 'SY_CONFIG_RESHUFFLE'
  /** The provider does not know the flag. */
  | 'SY_FLAG_NOT_FOUND'
  /** The flag's value is not of the requested type. */
  | 'SY_TYPE_MISMATCH'
  /** The provider has not finished initialising (or failed to). */
  | 'SY_PROVIDER_NOT_READY'
  /** The provider threw or returned an error. */
  | 'SY_PROVIDER_ERROR'
  /** The provider did not answer within the evaluation timeout. */
  | 'SY_PROVIDER_TIMEOUT'
  /** getVariantSync was asked for an answer that needs to wait (an async provider or sticky store, OpenFeature hooks). */
  | 'SY_NOT_SYNCHRONOUS'
  /** The evaluation context has no targeting key, so no unit to bucket. */
  | 'SY_TARGETING_KEY_MISSING'
  /** A caller passed an argument switchyard cannot use. */
  | 'SY_INVALID_ARGUMENT'
  /** A vendor's management API refused or failed a change (turn a flag off or on, set a rollout). */
  | 'SY_CONTROL_PLANE'
  /** The analysis found no data to read (no JSONL files, no tables, no exposures of the experiment). */
  | 'SY_ANALYSIS_NO_DATA'
  /** The analysis store (DuckDB, PostgreSQL) failed to open, load or answer a query. */
  | 'SY_ANALYSIS_STORE'
  /** The fleet's Redis cannot be reached; switchyard serves from its last known state and retries. */
  | 'SY_FLEET_UNAVAILABLE'
  /** A kill or unkill older than the decision already stored; the newer one stays in force. */
  | 'SY_STALE_DECISION'
  /** The kill-state file beside the journal cannot be read or written. */
  | 'SY_STATE_FILE'
  /** The feature is named in the design but not built yet. */
  | 'SY_NOT_AVAILABLE'
  /** The exposure journal's directory is held by another instance in this process (or all its worker slots by live processes); events are kept in memory. */
  | 'SY_JOURNAL_LOCKED'
  /** A write to the exposure journal's files stopped short; events not yet written are kept in memory. */
  | 'SY_JOURNAL_WRITE_FAILED';

export interface Problem {
  code: SwitchyardCode;
  where: string;
  what: string;
  cause?: unknown;
}

export class SwitchyardError extends Error implements Problem {
  override readonly name = 'SwitchyardError';
  readonly code: SwitchyardCode;
  readonly where: string;
  readonly what: string;

  constructor(code: SwitchyardCode, where: string, what: string, options?: { cause?: unknown }) {
    super(`${code} in ${where}: ${what}`, options);
    this.code = code;
    this.where = where;
    this.what = what;
  }
}

/** An error's message, safely: whatever was thrown (a Proxy, an object whose getters throw), reading it never throws. */
export function messageOf(error: unknown): string {
  try {
    const message = (error as Error | null)?.message;
    return typeof message === 'string' ? message : String(error);
  } catch {
    return `a thrown ${typeof error} that cannot be shown`;
  }
}

/**
 * Any value as a short text for a message, safely (no getter, toString or toJSON of the
 * caller's runs): strings quoted and cut at 60 characters, numbers as they are (NaN,
 * Infinity), bigints with their n, other objects by kind only.
 */
export function shown(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      try {
        return Array.isArray(value) ? 'an array' : 'an object';
      } catch {
        return 'an object'; // a revoked Proxy
      }
  }
}
