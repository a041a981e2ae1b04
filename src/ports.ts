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

/**
 * A vendor's management API, offered by an adapter that has credentials for it: changes a
 * flag at the vendor itself, so every service reading that vendor sees the change (the
 * kill switch turns the vendor's flag off; `switchyard ramp --vendor` sets its rollout).
 * Methods reject with a SwitchyardError (SY_CONTROL_PLANE) carrying the vendor's message.
 */
export interface ControlPlane {
  /** The vendor's name, for messages. */
  readonly vendor: string;
  turnOff(flag: string): Promise<void>;
  turnOn(flag: string): Promise<void>;
  /** The share of units the flag is on for (0-100), in the vendor's percentage rollout. */
  setRollout(flag: string, percent: number): Promise<void>;
}

/** A provider that has a control plane offers it under this property. */
export interface HasControlPlane {
  readonly controlPlane: ControlPlane | undefined;
}
