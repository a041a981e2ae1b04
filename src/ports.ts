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

/** A uniform random source in [0, 1): the core's only way to randomness. */
export type Uniform = () => number;

/**
 * A seeded uniform source (sfc32, Chris Doty-Humphrey's small fast counter generator:
 * 128 bits of state, passes PractRand to 2^42 bytes), so re-weighting and simulations
 * are reproducible from a seed.
 */
export function seededUniform(...seeds: number[]): Uniform {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = 1;
  for (const s of seeds) {
    a = (a ^ s) | 0;
    b = Math.imul(b ^ s, 0x85ebca6b);
    c = (c + Math.imul(s, 0xc2b2ae35)) | 0;
  }
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}
