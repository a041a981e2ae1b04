/**
 * Split (Harness FME) as an OpenFeature server provider, on the official SDK
 * (`@splitsoftware/splitio` 11.x, an optional peer dependency loaded only when used).
 * Split's own OpenFeature provider is not used: on the current SDK it pins old peers and
 * hangs. The SDK polls (or streams) flag definitions and evaluates them in-process, so an
 * evaluation is synchronous.
 *
 * Context mapping: `targetingKey` is the Split key (matching key); a `bucketingKey`
 * attribute makes it a `{ matchingKey, bucketingKey }` key; the other attributes are Split
 * attributes (strings, numbers, booleans, lists of strings or numbers; dates as epoch
 * milliseconds, as Split's attribute syntax wants). The traffic type (default `user`,
 * or `trafficType` in the context) is what `track` reports events under.
 *
 * Results: the variant is the treatment. A treatment's configuration (JSON) is the
 * payload: a `value` field in it is the flag's typed value; without one a string
 * evaluation answers the treatment, a boolean one maps on/true and off/false, a number one
 * a numeric treatment, and an object one the whole configuration. A killed flag answers
 * DISABLED with the caller's default. Split does not tell at evaluation time which rule
 * matched (labels reach only the asynchronous impression listener), so every other served
 * treatment has reason TARGETING_MATCH, as in Split's own provider. The `control`
 * treatment is an error: FLAG_NOT_FOUND for an unknown flag, PROVIDER_NOT_READY before
 * the first definitions arrive. flagMetadata carries `treatment`, `changeNumber` and
 * `trafficType`.
 */
import {
  ErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type FlagMetadata,
} from '@openfeature/server-sdk';
// The SDK's types declare the global SplitIO namespace.
import type {} from '@splitsoftware/splitio';
import {
  VendorProvider,
  errorAnswer,
  loadPeer,
  mismatch,
  notText,
  ofKind,
  plainAttributes,
  type Answer,
  type VendorOptions,
} from '../common/index.js';
import type { ControlPlane, FlagKind, HasControlPlane } from '../../src/ports.js';
import { SplitControlPlane, type SplitControlOptions } from './control-plane.js';

export { SplitControlPlane, type SplitControlOptions };

export const SPLIT_PACKAGE = '@splitsoftware/splitio';

export interface SplitOptions extends VendorOptions {
  /** The vendor's management API (turn flags off and on, set rollouts): the kill switch and `ramp --vendor` use it. */
  controlPlane?: SplitControlOptions;
  /** The server-side SDK key (from the environment; never logged). */
  sdkKey?: string;
  /** Where the SDK talks to Split (sdk, events, auth, telemetry base URLs). */
  urls?: { sdk?: string; events?: string; auth?: string; telemetry?: string };
  /** Streaming updates (default true, as the SDK); off means polling only. */
  streaming?: boolean;
  /** Polling intervals in seconds (the SDK's defaults: 60). */
  featuresRefreshRate?: number;
  segmentsRefreshRate?: number;
  /** The traffic type for `track` when the context names none (default `user`). */
  trafficType?: string;
  /** More SDK settings, merged last (debug, impressionsMode, scheduler...). */
  sdk?: Record<string, unknown>;
  /** A factory made by the caller; the adapter then neither creates nor destroys it. */
  factory?: SplitIO.ISDK;
}

interface View {
  killed: boolean;
  changeNumber: number;
  trafficType: string;
}

const SKIP = new Set(['targetingKey', 'bucketingKey', 'trafficType']);
const CONTROL = 'control';

export class SplitProvider extends VendorProvider implements HasControlPlane {
  readonly metadata = { name: 'switchyard-split' } as const;
  readonly controlPlane: ControlPlane | undefined;
  private factory: SplitIO.ISDK | undefined;
  private client: SplitIO.IClient | undefined;
  private views = new Map<string, View>();
  /** Treatment configurations are few and reused: parse each JSON text once. */
  private readonly configs = new Map<string, unknown>();
  private ready = false;

  constructor(private readonly options: SplitOptions) {
    super(options, options.factory === undefined);
    this.controlPlane = options.controlPlane ? new SplitControlPlane(options.controlPlane) : undefined;
    this.factory = options.factory;
  }

  get splitClient(): SplitIO.IClient | undefined {
    return this.client;
  }

  protected async start(): Promise<void> {
    const o = this.options;
    if (!this.factory) {
      if (!o.sdkKey) throw new Error('split needs an SDK key (feature_flags.split.sdk_key, from the environment)');
      const { SplitFactory } = await loadPeer<typeof import('@splitsoftware/splitio')>(SPLIT_PACKAGE, 'split');
      this.factory = SplitFactory({
        core: { authorizationKey: o.sdkKey },
        ...(o.urls ? { urls: o.urls } : {}),
        streamingEnabled: o.streaming ?? true,
        scheduler: {
          featuresRefreshRate: o.featuresRefreshRate ?? 60,
          segmentsRefreshRate: o.segmentsRefreshRate ?? 60,
        },
        debug: false,
        ...o.sdk,
      } as SplitIO.INodeSettings);
    }
    const client = (this.client = this.factory.client());
    client.on(client.Event.SDK_UPDATE, () => {
      const changed = this.learn();
      if (changed.length > 0) this.emitChanged(changed);
    });
    // Not client.ready(): it rejects at Split's readyTimeout, while the SDK keeps trying and
    // may get ready later; the base class times the wait, the event announces a late ready.
    await new Promise<void>((resolve) => {
      if (client.getStatus().isReady) resolve();
      else client.once(client.Event.SDK_READY, () => resolve());
    });
    this.ready = true;
    this.learn();
  }

  protected async stop(): Promise<void> {
    // destroy() is what lets the process exit: it stops Split's timers and sockets.
    if (this.client) await this.client.destroy();
  }

  /** Refreshes the flag views; returns the flags whose definition changed. */
  private learn(): string[] {
    const views = new Map<string, View>();
    const changed: string[] = [];
    for (const view of this.factory!.manager().splits()) {
      views.set(view.name, { killed: view.killed, changeNumber: view.changeNumber, trafficType: view.trafficType });
      if (this.views.get(view.name)?.changeNumber !== view.changeNumber) changed.push(view.name);
    }
    for (const name of this.views.keys()) if (!views.has(name)) changed.push(name);
    this.views = views;
    return changed;
  }

  protected resolve(flag: string, kind: FlagKind, defaultValue: unknown, ctx: EvaluationContext): Answer {
    const client = this.client;
    if (!client || !this.ready)
      return errorAnswer(defaultValue, ErrorCode.PROVIDER_NOT_READY, 'the Split client is not ready');
    const key = ctx.targetingKey;
    if (typeof key !== 'string' || key.length === 0) {
      return errorAnswer(
        defaultValue,
        ErrorCode.TARGETING_KEY_MISSING,
        'Split needs a key: the evaluation context has no targetingKey',
      );
    }
    const bucketing = ctx.bucketingKey;
    const splitKey =
      typeof bucketing === 'string' && bucketing.length > 0 ? { matchingKey: key, bucketingKey: bucketing } : key;
    const result = client.getTreatmentWithConfig(
      splitKey,
      flag,
      plainAttributes(ctx, SKIP, { lists: true, dates: 'millis' }),
    );
    const treatment = result.treatment as unknown;
    if (typeof treatment !== 'string') return notText(defaultValue, 'Split', flag, 'a treatment', treatment);
    const view = this.views.get(flag);
    if (treatment === CONTROL) {
      return view
        ? errorAnswer(defaultValue, ErrorCode.GENERAL, `Split answered the control treatment for flag "${flag}"`)
        : errorAnswer(defaultValue, ErrorCode.FLAG_NOT_FOUND, `Split has no flag "${flag}"`);
    }
    const flagMetadata: FlagMetadata = view
      ? { treatment, changeNumber: view.changeNumber, trafficType: view.trafficType }
      : { treatment };
    if (view?.killed)
      return { value: defaultValue, variant: treatment, reason: StandardResolutionReasons.DISABLED, flagMetadata };
    let config: unknown = null;
    if (result.config !== null) {
      config = this.configs.get(result.config);
      if (config === undefined) {
        try {
          config = JSON.parse(result.config) as unknown;
        } catch {
          return errorAnswer(
            defaultValue,
            ErrorCode.PARSE_ERROR,
            `the configuration of treatment "${treatment}" of flag "${flag}" is not JSON`,
            flagMetadata,
          );
        }
        if (this.configs.size > 10_000) this.configs.clear();
        this.configs.set(result.config, config);
      }
    }
    const raw =
      config !== null && typeof config === 'object' && 'value' in config
        ? (config as { value: unknown }).value
        : fromTreatment(kind, treatment, config);
    const value = ofKind(kind, raw);
    if (value === undefined) return mismatch(defaultValue, kind, flag, raw, flagMetadata);
    return { value, variant: treatment, reason: StandardResolutionReasons.TARGETING_MATCH, flagMetadata };
  }

  /** Split events are per key and traffic type; OpenFeature's track maps onto them. */
  track(event: string, ctx: EvaluationContext, details?: { value?: number; [k: string]: unknown }): void {
    const key = ctx.targetingKey;
    if (!this.client || typeof key !== 'string') return;
    const trafficType = typeof ctx.trafficType === 'string' ? ctx.trafficType : (this.options.trafficType ?? 'user');
    const { value, ...rest } = details ?? {};
    const properties = Object.fromEntries(
      Object.entries(rest).filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v)),
    ) as SplitIO.Properties;
    this.client.track(key, trafficType, event, value, properties);
  }
}

function fromTreatment(kind: FlagKind, treatment: string, config: unknown): unknown {
  switch (kind) {
    case 'boolean':
      return treatment === 'on' || treatment === 'true'
        ? true
        : treatment === 'off' || treatment === 'false'
          ? false
          : treatment;
    case 'string':
      return treatment;
    case 'number':
      return treatment.trim() !== '' && Number.isFinite(Number(treatment)) ? Number(treatment) : treatment;
    default:
      return config ?? treatment;
  }
}
