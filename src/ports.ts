/**
 * The ports through which the pure core reaches time, randomness and logging.
 * A new runtime means a new implementation of these, not edits in the core.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface Logger {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * A provider may offer synchronous resolution under this symbol, next to OpenFeature's
 * promise-returning methods. switchyard's direct path uses it when present, so an
 * in-process provider costs no promise per evaluation; OpenFeature's client keeps using
 * the standard methods. It may throw OpenFeature errors exactly as the async methods reject,
 * or answer with an errorCode; a vendor whose SDK cannot always answer synchronously
 * (LaunchDarkly with a persistent store) returns a promise then, which the engine races
 * against the evaluation timeout.
 */
export const SYNC_RESOLVE: unique symbol = Symbol.for('switchyard.syncResolve') as never;

export type FlagKind = 'boolean' | 'string' | 'number' | 'object';

export interface SyncResolver {
  [SYNC_RESOLVE](
    flagKey: string,
    kind: FlagKind,
    defaultValue: unknown,
    context: import('@openfeature/server-sdk').EvaluationContext,
  ):
    | import('@openfeature/server-sdk').ResolutionDetails<unknown>
    | Promise<import('@openfeature/server-sdk').ResolutionDetails<unknown>>;
}
