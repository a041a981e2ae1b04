/**
 * The ports through which the pure core reaches time, randomness and logging.
 * A new runtime means a new implementation of these, not edits in the core.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

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
 * The host's logger, made safe to call from anywhere: a method that throws (a broken
 * transport, a serializer that trips on the data) is the host's fault, but thrown from a
 * timer or a sink's delivery loop it would be an uncaught exception that ends the process.
 * A throwing call is dropped; the logger is tried again at the next call.
 */
export function safeLogger(logger: Logger): Logger {
  const call =
    (level: keyof Logger) =>
    (msg: string, data?: Record<string, unknown>): void => {
      try {
        logger[level](msg, data);
      } catch {
        // the log line is lost; the service goes on
      }
    };
  return { debug: call('debug'), info: call('info'), warn: call('warn'), error: call('error') };
}

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

/**
 * A part of an instance that works through the fleet's Redis (the kill store, the
 * guardrail metrics pusher), as the instance's one fleet link sees it.
 */
export interface FleetPart {
  /** What the part does while Redis is away, for the one outage log (e.g. "serving the last known kill state"). */
  whileDown(): string;
  /** What the part does when Redis is back, for the one reconnect log (e.g. "kill state re-read"). */
  readonly whenBack: string;
  /** Runs on every connect and reconnect, once every connection is ready. */
  onReady(): void;
}

/**
 * The instance's one link to the fleet's Redis (src/fleet/connection.ts): one command
 * connection that every fleet part shares, one outage log per outage.
 */
export interface FleetLink {
  /** The shared command connection; commands fail fast while Redis is away. */
  readonly redis: import('ioredis').Redis;
  /** Whether commands can be sent now. */
  readonly connected: boolean;
  /** Connects (bounded wait; shared by every part, so calling it again is free); never rejects. */
  start(): Promise<void>;
  /** Adds a part; returns the function that removes it. */
  attach(part: FleetPart): () => void;
  /** A part's command failed: the first failure of an outage is logged, once for every part. */
  failed(error: Error): void;
}

/** Where the guardrail monitor publishes its results beside the journal without a fleet (the CLI's status reads it). */
export const GUARDRAIL_STATUS_FILE = 'guardrails-status.json';

/** This process's start (see processStartTicks), read once; null where /proc cannot tell. */
let ownStart: number | null | undefined;

/**
 * Lock files name their holder `pid@host/start`: its pid, its host and when it started, in
 * clock ticks since boot (Linux; `pid@host` where that cannot be read, and older ones a bare
 * pid, of this host). Both lock kinds use these: the journal's directory lock and the state
 * files' write lock.
 */
export const lockHolderText = (): string => {
  ownStart ??= processStartTicks(process.pid) ?? null;
  return `${process.pid}@${hostname()}${ownStart === null ? '' : `/${ownStart}`}`;
};

/** The holder a lock file's text names; undefined when it names none (being written, or garbage). */
export function parseLockHolder(
  text: string,
): { pid: number; host: string | undefined; started: number | undefined } | undefined {
  const m = /^(\d+)(?:@([^/]+)(?:\/(\d+))?)?$/.exec(text.trim());
  const pid = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const started = m[3] === undefined ? undefined : Number(m[3]);
  return { pid, host: m[2], started: Number.isSafeInteger(started) ? started : undefined };
}

/** Whether a holder is on this host (a bare pid is, as written before hosts were). */
export const isThisHost = (holder: { host: string | undefined }): boolean =>
  holder.host === undefined || holder.host === hostname();

/** Whether a process of this host is running (one that is another user's counts). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux's clock ticks a second for /proc times (USER_HZ: 100 on every architecture Node runs on). */
const CLOCK_TICKS = 100;
/**
 * How much later than a lock's last write its holder may seem to have started (a lock that
 * names no start): the boot time is read in whole seconds, and a clock step moves it.
 */
const START_SLACK_MS = 30_000;

/**
 * When a process of this host started, in clock ticks since boot (Linux's /proc/<pid>/stat,
 * field 22): no clock step moves it, and two processes under one pid never share it;
 * undefined where it cannot be read.
 */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) is in parentheses and may hold spaces.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** When a process of this host started, epoch ms by the wall clock now (the boot time read each time: a clock step moves it). */
function processStartMs(pid: number): number | undefined {
  const ticks = processStartTicks(pid);
  if (ticks === undefined) return undefined;
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? (Number(m[1]) + ticks / CLOCK_TICKS) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process of this host that a lock names still holds it. A pid is reused (after a
 * reboot, or once the holder crashed, another process can run under it), and a lock taken for
 * alive on its pid alone was never taken over: a journal slot's undelivered events stranded
 * while that process ran. So the process must run and be the one that wrote the lock: started
 * when the lock says (`started`, ticks since boot), or, for a lock that names no start, before
 * the lock was last written (`writtenMs`, its mtime; a clock stepped meanwhile can mislead this
 * one). Where /proc cannot tell, running is enough.
 */
export function holdsLock(pid: number, writtenMs: number, started?: number): boolean {
  if (!isRunning(pid)) return false;
  if (started !== undefined) {
    const now = processStartTicks(pid);
    return now === undefined || now === started;
  }
  const startedMs = processStartMs(pid);
  return startedMs === undefined || startedMs <= writtenMs + START_SLACK_MS;
}
