/**
 * LaunchDarkly as an OpenFeature server provider, on the official Node SDK
 * (`@launchdarkly/node-server-sdk` 9.x, an optional peer dependency loaded only when used).
 *
 * Context mapping: `targetingKey` is the LaunchDarkly context key (a `key` attribute is
 * used when there is no targetingKey); `kind` is the context kind (default `user`, or
 * the adapter's `contextKind`); `kind: 'multi'` makes a multi-kind context whose other
 * top-level attributes are the single contexts, each with its own targetingKey. Other
 * attributes are copied (dates as ISO strings); `privateAttributes` becomes `_meta`.
 *
 * Results: the variant is the variation index as a string, as in LaunchDarkly's own
 * OpenFeature provider (the SDK's flag data has no variation names). Reasons: OFF and
 * PREREQUISITE_FAILED -> DISABLED (with the caller's default value), TARGET_MATCH and
 * RULE_MATCH -> TARGETING_MATCH, FALLTHROUGH -> DEFAULT, and SPLIT for either when the
 * unit is in a LaunchDarkly experiment (`inExperiment`). LaunchDarkly does not say at
 * evaluation time whether a plain fallthrough was a percentage rollout, so that is
 * DEFAULT. Error kinds map to OpenFeature's codes. flagMetadata carries
 * `variationIndex`, `vendorReason`, `ruleId`, `ruleIndex` and `inExperiment`.
 *
 * Speed: the SDK evaluates from its in-memory store and calls back before returning, so
 * this adapter answers synchronously whenever the SDK does, and with a promise otherwise
 * (a persistent store, big segments). `variationDetail` wraps that evaluation in an async
 * function, a `new Promise` and a closure per call, which an answer taken from the callback
 * does not need. For a client the adapter creates, and while the client has no hooks, the
 * adapter therefore calls what `variationDetail` calls inside them: the client's
 * `_evaluateIfPossible` with the event factory `variationDetail` passes (`_eventFactoryWithReasons`),
 * so the evaluation, its feature and summary events, the unknown-flag and not-ready paths
 * are the SDK's own, unchanged. What is skipped is only the hook series (none registered:
 * `withEvaluationSeries` then just calls the evaluation) and the promise. The members are
 * the SDK's private ones (9.x): found at start, or the public `variationDetail` is used; a
 * client passed in by the caller, or one with hooks (checked per call, since `addHook` can
 * come later), always goes through `variationDetail`.
 *
 * A served variation's answer (not the caller's default: FALLTHROUGH, RULE_MATCH,
 * TARGET_MATCH) depends only on the flag, the type asked for, the variation, its value and
 * the reason's kind, rule and experiment flag: it is made once, frozen, and handed to every
 * call with that outcome (flagMetadata included), so a call allocates no answer; the
 * engine shares its evaluation for a frozen answer in turn.
 */
import {
  ErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type FlagMetadata,
} from '@openfeature/server-sdk';
import type { LDClient, LDContext, LDEvaluationDetail, LDOptions } from '@launchdarkly/node-server-sdk';
import {
  VendorProvider,
  errorAnswer,
  loadPeer,
  mismatch,
  ofKind,
  type Answer,
  type VendorOptions,
} from '../common/index.js';
import type { ControlPlane, FlagKind, HasControlPlane } from '../../src/ports.js';
import { LaunchDarklyControlPlane, type LaunchDarklyControlOptions } from './control-plane.js';

export { LaunchDarklyControlPlane, type LaunchDarklyControlOptions };

export const LAUNCHDARKLY_PACKAGE = '@launchdarkly/node-server-sdk';

export interface LaunchDarklyOptions extends VendorOptions {
  /** The vendor's management API (turn flags off and on, set rollouts): the kill switch and `ramp --vendor` use it. */
  controlPlane?: LaunchDarklyControlOptions;
  /** The server-side SDK key (from the environment; never logged). */
  sdkKey?: string;
  /** Options for the SDK's `init` (baseUri, streamUri, eventsUri, stream, sendEvents, updateProcessor, logger...). */
  sdk?: LDOptions;
  /** An LDClient made by the caller; the adapter then neither creates nor closes it. */
  client?: LDClient;
  /** The context kind when the evaluation context names none (default `user`). */
  contextKind?: string;
}

/** LaunchDarkly's offline file source (FileData), for `file_paths` in the config. */
export async function fileDataSource(paths: string[]): Promise<NonNullable<LDOptions['updateProcessor']>> {
  const sdk = await loadPeer<typeof import('@launchdarkly/node-server-sdk')>(LAUNCHDARKLY_PACKAGE, 'launchdarkly');
  return new sdk.integrations.FileDataSourceFactory({ paths, autoUpdate: true }).getFactory();
}

const ERROR_KINDS: Record<string, ErrorCode> = {
  CLIENT_NOT_READY: ErrorCode.PROVIDER_NOT_READY,
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  MALFORMED_FLAG: ErrorCode.PARSE_ERROR,
  USER_NOT_SPECIFIED: ErrorCode.TARGETING_KEY_MISSING,
  WRONG_TYPE: ErrorCode.TYPE_MISMATCH,
};

const RESERVED = new Set(['targetingKey', 'key', 'kind', 'privateAttributes']);

type Attrs = Record<string, unknown>;

export class LaunchDarklyProvider extends VendorProvider implements HasControlPlane {
  readonly metadata = { name: 'switchyard-launchdarkly' } as const;
  readonly controlPlane: ControlPlane | undefined;
  private client: LDClient | undefined;
  private readonly kind: string;
  /**
   * The detail the SDK handed to `capture` during the current variationDetail call: one
   * callback made once rather than a closure per evaluation. A call the SDK answers later
   * sets it after resolve() has read and cleared it, and that call is answered by its promise.
   */
  private answered: LDEvaluationDetail | undefined;
  private readonly capture = (_err: unknown, detail: LDEvaluationDetail): void => {
    this.answered = detail;
  };
  /** The client's evaluation below variationDetail, when the adapter made the client and the SDK has it (see the header). */
  private direct: DirectClient | undefined;
  /** The callback of the next direct evaluation; replaced when a call it served is still waiting. */
  private slot = new Slot();
  /** Shared answers per flag (see the header); the flag used last kept at hand. */
  private readonly answers = new Map<string, SharedAnswer[]>();
  private lastFlag: string | undefined;
  private lastAnswers: SharedAnswer[] = [];

  constructor(private readonly options: LaunchDarklyOptions) {
    super(options, options.client === undefined);
    this.controlPlane = options.controlPlane ? new LaunchDarklyControlPlane(options.controlPlane) : undefined;
    this.client = options.client;
    this.kind = options.contextKind ?? 'user';
  }

  /** The SDK client, for what OpenFeature does not cover (track with metric values, flush). */
  get ldClient(): LDClient | undefined {
    return this.client;
  }

  protected async start(): Promise<void> {
    if (!this.client) {
      const sdk = await loadPeer<typeof import('@launchdarkly/node-server-sdk')>(LAUNCHDARKLY_PACKAGE, 'launchdarkly');
      if (!this.options.sdkKey && !this.options.sdk?.offline && !this.options.sdk?.updateProcessor) {
        throw new Error('launchdarkly needs an SDK key (feature_flags.launchdarkly.sdk_key, from the environment)');
      }
      this.client = sdk.init(this.options.sdkKey ?? 'offline', {
        logger: sdk.basicLogger({ level: 'warn' }),
        wrapperName: 'switchyard',
        ...this.options.sdk,
      });
    }
    const client = this.client;
    if (this.options.client === undefined) this.direct = directClient(client);
    client.on('update', (change: { key: string }) => this.emitChanged([change.key]));
    client.on('error', (error: Error) => {
      // Evaluation problems come here too; only a data source's trouble makes values stale.
      if (/Streaming|Polling|FileData/i.test(error?.name ?? '')) this.emitStale(error.message);
    });
    client.on('failed', (error: Error) => this.emitError(error?.message ?? 'the LaunchDarkly data source failed'));
    // Not waitForInitialization's own timeout: the base class times the wait, and the SDK
    // may still get ready later (it keeps retrying), which the 'ready' event announces.
    if (client.initialized()) return;
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('failed', (error: Error) => reject(error));
    });
  }

  protected async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await client.flush();
    } catch {
      // An unreachable events endpoint must not keep close() from releasing the client.
    }
    client.close();
  }

  protected resolve(
    flag: string,
    kind: FlagKind,
    defaultValue: unknown,
    ctx: EvaluationContext,
  ): Answer | Promise<Answer> {
    const client = this.client;
    if (!client)
      return errorAnswer(defaultValue, ErrorCode.PROVIDER_NOT_READY, 'the LaunchDarkly client is not started');
    const direct = this.direct;
    if (direct !== undefined && direct._hookRunner._hooks.length === 0) {
      const slot = this.slot;
      direct._evaluateIfPossible(flag, this.context(ctx), defaultValue, direct._eventFactoryWithReasons, slot.done);
      const detail = slot.detail;
      if (detail !== undefined) {
        slot.detail = undefined;
        return this.answerOf(flag, kind, defaultValue, detail);
      }
      // Answered later (a persistent store, big segments): this slot's callback is that
      // call's; the next calls get a fresh one.
      this.slot = new Slot();
      return new Promise<LDEvaluationDetail>((resolve) => (slot.waiting = resolve)).then((d) =>
        this.answerOf(flag, kind, defaultValue, d),
      );
    }
    this.answered = undefined;
    const pending = client.variationDetail(flag, this.context(ctx), defaultValue, this.capture);
    const sync = this.answered;
    this.answered = undefined;
    if (sync) return this.answerOf(flag, kind, defaultValue, sync);
    return pending.then((detail) => this.answerOf(flag, kind, defaultValue, detail));
  }

  /** Whether evaluations go below variationDetail now (see the header): for tests and benchmarks. */
  get evaluatesDirectly(): boolean {
    return this.direct !== undefined && this.direct._hookRunner._hooks.length === 0;
  }

  /**
   * The answer for a detail: a served variation's shared, frozen answer (made at its first
   * call), anything else (the caller's default, an error, a type mismatch) made per call.
   */
  private answerOf(flag: string, kind: FlagKind, defaultValue: unknown, detail: LDEvaluationDetail): Answer {
    const r = detail.reason as Reason;
    const index = detail.variationIndex;
    const reasonKind = r.kind;
    if (
      index === null ||
      index === undefined ||
      (reasonKind !== 'FALLTHROUGH' && reasonKind !== 'RULE_MATCH' && reasonKind !== 'TARGET_MATCH')
    )
      return answer(flag, kind, defaultValue, detail);
    let list = this.lastAnswers;
    if (this.lastFlag !== flag) {
      let found = this.answers.get(flag);
      if (found === undefined) {
        if (this.answers.size >= MAX_SHARED_FLAGS) this.answers.clear();
        this.answers.set(flag, (found = []));
      }
      this.lastFlag = flag;
      this.lastAnswers = list = found;
    }
    const value = detail.value;
    const inExperiment = r.inExperiment === true;
    /** The entry of the same outcome with another value (the flag changed, or a store that hands out copies). */
    let stale = -1;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (
        e.index === index &&
        e.kind === kind &&
        e.reasonKind === reasonKind &&
        e.ruleIndex === r.ruleIndex &&
        e.ruleId === r.ruleId &&
        e.inExperiment === inExperiment
      ) {
        if (e.value === value) return e.answer;
        stale = i;
      }
    }
    const made = answer(flag, kind, defaultValue, detail);
    // A type mismatch answers the caller's default: made per call.
    if (made.errorCode !== undefined) return made;
    Object.freeze(made.flagMetadata);
    const entry: SharedAnswer = {
      index,
      value,
      kind,
      reasonKind,
      ruleIndex: r.ruleIndex,
      ruleId: r.ruleId,
      inExperiment,
      answer: Object.freeze(made),
    };
    // It replaces that outcome's entry, so a value that is a new object at every call (a
    // persistent store without a cache deserialises the flag each time) keeps one entry.
    if (stale >= 0) list[stale] = entry;
    else {
      if (list.length >= MAX_SHARED_PER_FLAG) list.shift();
      list.push(entry);
    }
    return entry.answer;
  }

  /** The OpenFeature evaluation context as a LaunchDarkly context. */
  context(ctx: EvaluationContext): LDContext {
    if (ctx.kind === 'multi') {
      const multi: Attrs = { kind: 'multi' };
      for (const key in ctx) {
        const part = ctx[key];
        if (
          key !== 'kind' &&
          part !== null &&
          typeof part === 'object' &&
          !Array.isArray(part) &&
          !(part instanceof Date)
        ) {
          multi[key] = single(part as EvaluationContext, undefined);
        }
      }
      return multi as unknown as LDContext;
    }
    return single(ctx, typeof ctx.kind === 'string' ? ctx.kind : this.kind) as unknown as LDContext;
  }
}

/** LaunchDarkly's reason, as the adapter reads it. */
interface Reason {
  kind: string;
  errorKind?: string;
  ruleId?: string;
  ruleIndex?: number;
  inExperiment?: boolean;
}

/** A served variation's answer, shared by the calls with that outcome. */
interface SharedAnswer {
  readonly index: number;
  readonly value: unknown;
  readonly kind: FlagKind;
  readonly reasonKind: string;
  readonly ruleIndex: number | undefined;
  readonly ruleId: string | undefined;
  readonly inExperiment: boolean;
  readonly answer: Answer;
}

/** Outcomes kept per flag (variations times rules in use), and flags kept, before the oldest go. */
const MAX_SHARED_PER_FLAG = 32;
const MAX_SHARED_FLAGS = 10_000;

/** The members of the SDK's client (LDClientImpl, 9.x) that variationDetail uses inside its hooks and promise. */
export interface DirectClient {
  _evaluateIfPossible(
    flag: string,
    context: LDContext,
    defaultValue: unknown,
    eventFactory: unknown,
    cb: (result: { detail: LDEvaluationDetail }) => void,
  ): void;
  readonly _eventFactoryWithReasons: object;
  readonly _hookRunner: { readonly _hooks: readonly unknown[] };
}

/** The client as a DirectClient when it has those members, else undefined (the public path is used). */
export function directClient(client: LDClient): DirectClient | undefined {
  const c = client as unknown as Partial<DirectClient>;
  return typeof c._evaluateIfPossible === 'function' &&
    typeof c._eventFactoryWithReasons === 'object' &&
    c._eventFactoryWithReasons !== null &&
    Array.isArray(c._hookRunner?._hooks)
    ? (c as DirectClient)
    : undefined;
}

/**
 * One direct evaluation's callback: keeps the detail for the synchronous reader, or
 * resolves the waiting call's promise when the SDK answers later. Made once and reused
 * while calls answer synchronously.
 */
class Slot {
  detail: LDEvaluationDetail | undefined;
  waiting: ((detail: LDEvaluationDetail) => void) | undefined;
  readonly done = (result: { detail: LDEvaluationDetail }): void => {
    const waiting = this.waiting;
    if (waiting === undefined) this.detail = result.detail;
    else {
      this.waiting = undefined;
      waiting(result.detail);
    }
  };
}

function single(ctx: EvaluationContext, kind: string | undefined): Attrs {
  const out: Attrs =
    kind === undefined ? { key: ctx.targetingKey ?? ctx.key } : { kind, key: ctx.targetingKey ?? ctx.key };
  for (const attr in ctx) {
    if (RESERVED.has(attr)) {
      if (attr === 'privateAttributes') out._meta = { privateAttributes: ctx[attr] };
      continue;
    }
    const v = ctx[attr];
    out[attr] = v instanceof Date ? v.toISOString() : v;
  }
  return out;
}

function metadataOf(detail: LDEvaluationDetail): FlagMetadata {
  const r = detail.reason as { kind: string; ruleId?: string; ruleIndex?: number; inExperiment?: boolean };
  const meta: Record<string, string | number | boolean> = { vendorReason: r.kind };
  if (detail.variationIndex !== null && detail.variationIndex !== undefined)
    meta.variationIndex = detail.variationIndex;
  if (r.ruleId !== undefined) meta.ruleId = r.ruleId;
  if (r.ruleIndex !== undefined) meta.ruleIndex = r.ruleIndex;
  if (r.inExperiment) meta.inExperiment = true;
  return meta;
}

function answer(flag: string, kind: FlagKind, defaultValue: unknown, detail: LDEvaluationDetail): Answer {
  const reason = detail.reason as { kind: string; errorKind?: string; inExperiment?: boolean };
  const flagMetadata = metadataOf(detail);
  if (reason.kind === 'ERROR') {
    const code = ERROR_KINDS[reason.errorKind ?? ''] ?? ErrorCode.GENERAL;
    return errorAnswer(
      defaultValue,
      code,
      `LaunchDarkly answered ${reason.errorKind ?? 'ERROR'} for flag "${flag}"`,
      flagMetadata,
    );
  }
  const variant =
    detail.variationIndex === null || detail.variationIndex === undefined ? undefined : String(detail.variationIndex);
  if (reason.kind === 'OFF' || reason.kind === 'PREREQUISITE_FAILED') {
    return { value: defaultValue, variant, reason: StandardResolutionReasons.DISABLED, flagMetadata };
  }
  const value = ofKind(kind, detail.value);
  if (value === undefined) return mismatch(defaultValue, kind, flag, detail.value, flagMetadata);
  const matched = reason.kind === 'RULE_MATCH' || reason.kind === 'TARGET_MATCH';
  return {
    value,
    variant,
    reason: reason.inExperiment
      ? StandardResolutionReasons.SPLIT
      : matched
        ? StandardResolutionReasons.TARGETING_MATCH
        : StandardResolutionReasons.DEFAULT,
    flagMetadata,
  };
}
