/**
 * What the vendor adapters share: the OpenFeature provider surface over one synchronous
 * resolve (the SYNC_RESOLVE port), the lifecycle (initialize waits for the SDK's ready
 * with a timeout and never hangs; close releases the SDK), the loading of an optional
 * vendor SDK with an error that names the package to install, and the coercion of vendor
 * answers to the type the caller asked for.
 *
 * Adapters answer faults as ResolutionDetails carrying an error code rather than by
 * throwing: OpenFeature's client turns those into the caller's default with the code,
 * and switchyard's engine into the control.
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type FlagMetadata,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { SwitchyardError } from '../../src/errors.js';
import { SYNC_RESOLVE, type FlagKind, type SyncResolver } from '../../src/ports.js';

export type Answer = ResolutionDetails<unknown>;

/** Loads an optional vendor SDK; a missing one is an error naming the package to install. */
export async function loadPeer<T>(pkg: string, adapter: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new SwitchyardError(
        'SY_NOT_AVAILABLE',
        `adapters/${adapter}`,
        `the ${adapter} adapter needs the vendor's SDK, which is not installed: run "npm install ${pkg}"`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Races a promise against a timer that is cleared either way (no stray timers). */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SwitchyardError('SY_PROVIDER_NOT_READY', 'initialize', what)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorAnswer(
  defaultValue: unknown,
  errorCode: ErrorCode,
  errorMessage: string,
  flagMetadata?: FlagMetadata,
): Answer {
  return {
    value: defaultValue,
    reason: StandardResolutionReasons.ERROR,
    errorCode,
    errorMessage,
    ...(flagMetadata ? { flagMetadata } : {}),
  };
}

/**
 * The caller's type applied to a vendor value: the value itself when it has the type,
 * otherwise undefined (a TYPE_MISMATCH). Objects mean JSON objects and arrays, as in
 * OpenFeature's object evaluation.
 */
export function ofKind(kind: FlagKind, value: unknown): unknown {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'string':
      return typeof value === 'string' ? value : undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    default:
      return value !== null && typeof value === 'object' ? value : undefined;
  }
}

export function mismatch(
  defaultValue: unknown,
  kind: FlagKind,
  flag: string,
  got: unknown,
  flagMetadata?: FlagMetadata,
): Answer {
  return errorAnswer(
    defaultValue,
    ErrorCode.TYPE_MISMATCH,
    `flag "${flag}" is a ${typeName(got)}, not a ${kind}`,
    flagMetadata,
  );
}

/**
 * Vendor flag data that is not text where the vendor's API has text (a variant or treatment
 * name, a payload): PARSE_ERROR with the caller's default; the value is never passed on as
 * the variant. The SDKs hand such data on as it came from the server.
 */
export function notText(
  defaultValue: unknown,
  vendor: string,
  flag: string,
  what: string,
  got: unknown,
  flagMetadata?: FlagMetadata,
): Answer {
  return errorAnswer(
    defaultValue,
    ErrorCode.PARSE_ERROR,
    `${vendor} served flag "${flag}" ${what} that is a ${typeName(got)}, not text`,
    flagMetadata,
  );
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Context attributes a vendor can match on: primitives, dates (as ISO strings or epoch
 * milliseconds) and, where the vendor has list matchers, arrays of strings and numbers.
 */
export function plainAttributes(
  ctx: EvaluationContext,
  skip: ReadonlySet<string>,
  { lists, dates }: { lists: boolean; dates: 'iso' | 'millis' },
): Record<string, string | number | boolean | Array<string | number>> {
  const out: Record<string, string | number | boolean | Array<string | number>> = {};
  for (const key in ctx) {
    if (skip.has(key)) continue;
    const v = ctx[key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (v instanceof Date) out[key] = dates === 'iso' ? v.toISOString() : v.getTime();
    else if (lists && Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))
      out[key] = v as Array<string | number>;
  }
  return out;
}

export interface VendorOptions {
  /** How long initialize() waits for the SDK's ready before giving up (default 10 s). */
  initTimeoutMs?: number;
}

/**
 * The provider surface shared by the vendor adapters. A subclass supplies `start` (create
 * the SDK client and wait for ready), `stop` (release everything) and `resolve` (one
 * synchronous evaluation, or a promise where the SDK cannot answer synchronously).
 */
export abstract class VendorProvider implements Provider, SyncResolver {
  abstract readonly metadata: { readonly name: string };
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  protected readonly initTimeoutMs: number;
  private started: Promise<void> | undefined;
  /** initialize() gave up waiting; a later ready is announced with a READY event. */
  private late = false;
  private closed = false;

  /**
   * @param owned whether the adapter created the SDK client (and so releases it on close);
   *   a client passed in by the caller is the caller's to close.
   */
  constructor(
    options: VendorOptions,
    private readonly owned: boolean,
  ) {
    this.initTimeoutMs = options.initTimeoutMs ?? 10_000;
  }

  protected abstract start(): Promise<void>;
  protected abstract stop(): Promise<void>;
  protected abstract resolve(
    flag: string,
    kind: FlagKind,
    defaultValue: unknown,
    ctx: EvaluationContext,
  ): Answer | Promise<Answer>;

  /**
   * Waits for the SDK's ready, up to initTimeoutMs. On timeout the SDK keeps trying in
   * the background (a vendor outage at boot must not leave the service on defaults for
   * good): when it does become ready the provider emits READY. close() stops it either way.
   */
  async initialize(): Promise<void> {
    if (!this.started) {
      this.started = this.start();
      this.started.then(
        () => {
          if (this.late && !this.closed) this.emitReady();
        },
        () => {},
      );
    }
    try {
      await withTimeout(
        this.started,
        this.initTimeoutMs,
        `${this.metadata.name} did not become ready within ${this.initTimeoutMs} ms`,
      );
    } catch (error) {
      this.late = true;
      throw error;
    }
  }

  async onClose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.stop();
  }

  [SYNC_RESOLVE](
    flag: string,
    kind: FlagKind,
    defaultValue: unknown,
    ctx: EvaluationContext,
  ): Answer | Promise<Answer> {
    if (this.closed) return errorAnswer(defaultValue, ErrorCode.PROVIDER_NOT_READY, `${this.metadata.name} is closed`);
    return this.resolve(flag, kind, defaultValue, ctx);
  }

  resolveBooleanEvaluation(
    flag: string,
    defaultValue: boolean,
    ctx: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this[SYNC_RESOLVE](flag, 'boolean', defaultValue, ctx)) as Promise<
      ResolutionDetails<boolean>
    >;
  }

  resolveStringEvaluation(
    flag: string,
    defaultValue: string,
    ctx: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this[SYNC_RESOLVE](flag, 'string', defaultValue, ctx)) as Promise<ResolutionDetails<string>>;
  }

  resolveNumberEvaluation(
    flag: string,
    defaultValue: number,
    ctx: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this[SYNC_RESOLVE](flag, 'number', defaultValue, ctx)) as Promise<ResolutionDetails<number>>;
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flag: string,
    defaultValue: T,
    ctx: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this[SYNC_RESOLVE](flag, 'object', defaultValue, ctx)) as Promise<ResolutionDetails<T>>;
  }

  protected emitChanged(flagsChanged?: string[]): void {
    this.events.emit(ProviderEvents.ConfigurationChanged, flagsChanged ? { flagsChanged } : {});
  }

  protected emitStale(message: string): void {
    this.events.emit(ProviderEvents.Stale, { message });
  }

  protected emitError(message: string): void {
    this.events.emit(ProviderEvents.Error, { message });
  }

  protected emitReady(): void {
    this.events.emit(ProviderEvents.Ready, {});
  }
}
export * from './control-plane.js';
