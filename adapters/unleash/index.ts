/**
 * Unleash as an OpenFeature server provider, on the official Node SDK (`unleash-client`
 * 6.x, an optional peer dependency loaded only when used). The SDK polls the client API
 * (`/api/client/features`) and evaluates in-process, so an evaluation is synchronous.
 *
 * The adapter constructs its own `new Unleash(...)`, never `initialize()`: that keeps one
 * client per process and refuses a second with another configuration, while two
 * switchyard instances, or a service's own Unleash client beside switchyard, must coexist.
 * Flags are kept in memory (no backup file shared between instances); `bootstrap` seeds
 * them before the first fetch, and `offline` serves the bootstrap alone (no network).
 *
 * Context mapping: `targetingKey` is `userId`; `sessionId`, `remoteAddress`,
 * `environment`, `appName` and `currentTime` are Unleash's own fields; every other
 * attribute is a property (strings and numbers as they are, booleans and dates as strings),
 * so constraints and a custom stickiness field find them.
 *
 * Results: a boolean flag is `isEnabled` (variant `on` or `off`); string, number and
 * object flags are the variant's payload (`string` and `csv` as text for a string flag, a
 * `csv` as a list of strings for an object flag, `number` parsed, `json` parsed), and a
 * variant without a payload answers its name to a string flag. Reasons: a flag turned off
 * (or whose parent dependency is off) -> DISABLED with the caller's default; a unit no
 * strategy enables -> DEFAULT with the caller's default (false for a boolean). Unleash does
 * not say which strategy matched, so an enabled answer's reason follows from the flag's
 * definition: TARGETING_MATCH when a strategy has constraints or segments, else SPLIT when
 * a rollout is below 100% or variants share the traffic, else STATIC. Errors: an unknown
 * flag -> FLAG_NOT_FOUND, before the first flags arrive -> PROVIDER_NOT_READY, a bad
 * payload -> PARSE_ERROR, a payload of another type -> TYPE_MISMATCH. flagMetadata
 * carries `enabled` (the flag's own switch) and `payloadType`.
 *
 * Speed: the SDK's `getVariant` copies objects twice per call with a spread followed by more
 * properties: the context (`{ ...staticContext, ...context }`, in `isEnabled` too) and the
 * strategy's variant (`{ ...variant, feature_enabled, featureEnabled }`). On Node 20 (V8
 * 11.3) such a spread makes a new hidden class on every call once the code is optimised
 * (in an isolated test 8 of 100,000 results shared one), and those classes survive into
 * every scavenge: on the bench flag, the SDK's evaluation without either copy took 0.32x
 * the CPU of its getVariant on a prebuilt context, with scavenges of 0.1 ms instead of
 * 6-12 ms. For a client the adapter creates (`DirectUnleash`), it builds its context with
 * the static fields in it, asks the SDK's evaluator (`isFeatureEnabled`, which also checks
 * parent dependencies) and takes the strategy's variant as it is; a flag without strategy
 * variants gets the flag-level variant from the SDK's `forceGetVariant` (the toggle
 * already checked, so evaluated once), and a flag with impression data goes through the
 * SDK's getVariant, which emits the event. Usage metrics are counted as the SDK's
 * getVariant and isEnabled count them. A client passed in by the caller is used through
 * its public methods.
 *
 * Events: READY at the first flags (fetched or bootstrapped), CONFIGURATION_CHANGED with
 * the flags whose definition changed, STALE when a fetch fails after flags were served
 * (the last known flags keep being served), READY again at the next good fetch, ERROR when
 * the server refuses the token.
 */
import type { EventEmitter } from 'node:events';
import {
  ErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type FlagMetadata,
} from '@openfeature/server-sdk';
import type { Context, Unleash, UnleashConfig, Variant } from 'unleash-client';
import {
  VendorProvider,
  errorAnswer,
  loadPeer,
  mismatch,
  notText,
  ofKind,
  type Answer,
  type VendorOptions,
} from '../common/index.js';
import type { ControlPlane, FlagKind, HasControlPlane } from '../../src/ports.js';
import { UnleashControlPlane, type UnleashControlOptions } from './control-plane.js';

export { UnleashControlPlane, type UnleashControlOptions };

export const UNLEASH_PACKAGE = 'unleash-client';

/** One flag as the client API serves it (`/api/client/features`), for bootstrap data. */
export interface UnleashFeature {
  name: string;
  enabled: boolean;
  strategies?: Array<{
    name: string;
    parameters?: Record<string, string | number>;
    constraints?: unknown[];
    segments?: number[];
    variants?: unknown[];
  }>;
  variants?: unknown[];
  [k: string]: unknown;
}

export interface UnleashOptions extends VendorOptions {
  /** The Unleash API URL, e.g. https://unleash.example.com/api. */
  url?: string;
  appName?: string;
  instanceId?: string;
  /** A client (backend) API token (from the environment; never logged). */
  clientToken?: string;
  environment?: string;
  /** How often the SDK polls for flag changes, in ms (the SDK's default: 15,000). */
  refreshIntervalMs?: number;
  /** Flags to serve before the first fetch (the client API's `features`, optional `segments`). */
  bootstrap?: { features: UnleashFeature[]; segments?: unknown[] };
  /** Serve the bootstrap only: no polling, no metrics, no network. */
  offline?: boolean;
  /** Send usage metrics to Unleash (default true; never in offline mode). */
  metrics?: boolean;
  /** More SDK settings, merged last (timeout, httpOptions, tags, projectName...). */
  sdk?: Partial<UnleashConfig>;
  /** An Unleash client made by the caller; the adapter then neither creates nor destroys it. */
  client?: Unleash;
  /** The Admin API, for turning flags off and on and setting rollouts (the URL defaults to `url`). */
  controlPlane?: Omit<UnleashControlOptions, 'url'> & { url?: string };
}

/** What a flag's definition says about its answers (computed once per definition). */
interface Shape {
  /** The reason of an enabled answer. */
  reason: 'TARGETING_MATCH' | 'SPLIT' | 'STATIC';
  /** Whether it has variants (flag-level or in a strategy): a string, number or object flag. */
  variants: boolean;
}

const OWN_FIELDS = new Set(['sessionId', 'remoteAddress', 'environment', 'appName']);
const ROLLOUTS = new Set([
  'flexibleRollout',
  'gradualRolloutUserId',
  'gradualRolloutSessionId',
  'gradualRolloutRandom',
]);
const OFFLINE_URL = 'http://offline.invalid/api';
const noop = (): void => {};

/** The client's static context fields, which the SDK puts under every context. */
export interface StaticFields {
  appName: string;
  environment: string;
}

/** What variantOn answers: the fields of the SDK's getVariant answer that the adapter reads. */
export interface DirectVariant {
  name: string;
  enabled: boolean;
  payload?: Variant['payload'];
  feature_enabled?: boolean;
}

/**
 * The SDK's client plus evaluation on a context that already carries the static fields
 * (see "Speed" in the header): the same evaluator, answers, impression events and usage
 * metrics as `getVariant` and `isEnabled`, without their copies. `client` and
 * `staticContext` are protected members of the SDK's class, there for subclasses.
 */
export interface DirectUnleash extends Unleash {
  readonly staticFields: StaticFields;
  variantOn(feature: UnleashFeature, context: Context, fallback: Variant): DirectVariant;
  enabledOn(name: string, context: Context): boolean;
}

const DIRECT = new WeakMap<typeof Unleash, new (config: UnleashConfig) => DirectUnleash>();
const disabled = (): boolean => false;

function directClass(Base: typeof Unleash): new (config: UnleashConfig) => DirectUnleash {
  let Direct = DIRECT.get(Base);
  if (!Direct) {
    Direct = class extends Base implements DirectUnleash {
      get staticFields(): StaticFields {
        return this.staticContext;
      }

      variantOn(feature: UnleashFeature, context: Context, fallback: Variant): DirectVariant {
        const name = feature.name;
        let variant: DirectVariant;
        if (feature.impressionData) variant = this.client.getVariant(name, context, fallback);
        else {
          const result = this.client.isFeatureEnabled(feature as never, context, disabled);
          if (!result.enabled)
            variant = {
              name: fallback.name,
              enabled: fallback.enabled,
              payload: fallback.payload,
              feature_enabled: false,
            };
          else if (result.variant)
            variant = {
              name: result.variant.name,
              enabled: true,
              payload: result.variant.payload,
              feature_enabled: true,
            };
          else variant = this.client.forceGetVariant(name, context, fallback);
        }
        if (variant.name) this.countVariant(name, variant.name);
        this.count(name, Boolean(variant.feature_enabled));
        return variant;
      }

      enabledOn(name: string, context: Context): boolean {
        const enabled = this.client.isEnabled(name, context, disabled);
        this.count(name, enabled);
        return enabled;
      }
    };
    DIRECT.set(Base, Direct);
  }
  return Direct;
}

export class UnleashProvider extends VendorProvider implements HasControlPlane {
  readonly metadata = { name: 'switchyard-unleash' } as const;
  readonly controlPlane: ControlPlane | undefined;
  private client: Unleash | undefined;
  /** The client when the adapter made it: evaluated without the SDK's copy of the context. */
  private direct: DirectUnleash | undefined;
  private ready = false;
  private stale = false;
  /** name -> serialised definition, to tell which flags a fetch changed. */
  private known = new Map<string, string>();
  private readonly shapes = new WeakMap<object, Shape>();
  /** Payload texts are few and reused: decode each once. */
  private readonly decoded = new Map<string, unknown>();
  private readonly fallback: Variant = { name: 'disabled', enabled: false };

  constructor(private readonly options: UnleashOptions) {
    super(options, options.client === undefined);
    this.client = options.client;
    const cp = options.controlPlane;
    const url = cp?.url ?? options.url;
    this.controlPlane = cp && url ? new UnleashControlPlane({ ...cp, url }) : undefined;
  }

  /** The SDK client, for what OpenFeature does not cover (metrics, impact metrics). */
  get unleashClient(): Unleash | undefined {
    return this.client;
  }

  protected async start(): Promise<void> {
    const o = this.options;
    if (!this.client) {
      if (!o.offline && !o.url) throw new Error('unleash needs a url (feature_flags.unleash.url)');
      if (o.offline && !o.bootstrap) throw new Error('unleash offline needs bootstrap flags');
      const sdk = await loadPeer<typeof import('unleash-client')>(UNLEASH_PACKAGE, 'unleash');
      this.client = this.direct = new (directClass(sdk.Unleash))({
        url: o.offline ? OFFLINE_URL : o.url!,
        appName: o.appName ?? 'switchyard',
        ...(o.instanceId ? { instanceId: o.instanceId } : {}),
        ...(o.environment ? { environment: o.environment } : {}),
        ...(o.clientToken ? { customHeaders: { Authorization: o.clientToken } } : {}),
        refreshInterval: o.offline ? 0 : (o.refreshIntervalMs ?? 15_000),
        disableMetrics: o.offline === true || o.metrics === false,
        storageProvider: new sdk.InMemStorageProvider(),
        // Several clients in one process are intended here (one per switchyard instance).
        skipInstanceCountWarning: true,
        ...(o.bootstrap
          ? {
              bootstrap: {
                data: o.bootstrap.features as never,
                ...(o.bootstrap.segments ? { segments: o.bootstrap.segments as never } : {}),
              },
            }
          : {}),
        ...o.sdk,
      });
    }
    const client = this.client;
    client.on('changed', () => {
      const changed = this.learn();
      if (this.ready && changed.length > 0) this.emitChanged(changed);
      this.recovered();
    });
    client.on('unchanged', () => this.recovered());
    client.on('warn', noop);
    client.on('error', (error: Error) => {
      const message = error?.message ?? 'the Unleash client failed';
      if (/responded 40[13]/.test(message)) this.emitError(message);
      else if (this.ready && !this.stale) {
        this.stale = true;
        this.emitStale(message);
      }
    });
    if (isReady(client)) {
      this.learn();
      this.ready = true;
      return;
    }
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    this.learn();
    this.ready = true;
  }

  private recovered(): void {
    if (!this.stale) return;
    this.stale = false;
    this.emitReady();
  }

  protected stop(): Promise<void> {
    const client = this.client;
    if (!client) return Promise.resolve();
    try {
      client.destroy();
    } finally {
      // destroy() removes the repository's listeners while a fetch may still be in flight;
      // when that fetch fails, the repository re-emits 'error' with nobody listening, which
      // throws inside the SDK's timer and takes the process down. A listener of our own on
      // the SDK's internal emitters makes that late failure harmless.
      const inner = client as unknown as { repository?: EventEmitter; metrics?: EventEmitter };
      inner.repository?.on?.('error', noop);
      inner.metrics?.on?.('error', noop);
    }
    return Promise.resolve();
  }

  /** Refreshes what is known of the flags; returns the names whose definition changed. */
  private learn(): string[] {
    const known = new Map<string, string>();
    const changed: string[] = [];
    for (const feature of this.client!.getFeatureToggleDefinitions()) {
      const text = JSON.stringify(feature);
      known.set(feature.name, text);
      if (this.known.get(feature.name) !== text) changed.push(feature.name);
    }
    for (const name of this.known.keys()) if (!known.has(name)) changed.push(name);
    this.known = known;
    return changed;
  }

  protected resolve(flag: string, kind: FlagKind, defaultValue: unknown, ctx: EvaluationContext): Answer {
    const client = this.client;
    if (!client || !this.ready)
      return errorAnswer(defaultValue, ErrorCode.PROVIDER_NOT_READY, 'the Unleash client has no flags yet');
    const feature = client.getFeatureToggleDefinition(flag) as UnleashFeature | undefined;
    if (!feature) return errorAnswer(defaultValue, ErrorCode.FLAG_NOT_FOUND, `Unleash has no flag "${flag}"`);
    if (!feature.enabled)
      return { value: defaultValue, reason: StandardResolutionReasons.DISABLED, flagMetadata: FLAG_OFF };
    const direct = this.direct;
    const context = unleashContext(ctx, direct?.staticFields);
    const shape = this.shapeOf(feature);
    if (kind === 'boolean') {
      // A flag with variants is a string, number or object flag: answering isEnabled here
      // would hide its variants from a caller that tries the kinds in turn.
      if (shape.variants)
        return errorAnswer(
          defaultValue,
          ErrorCode.TYPE_MISMATCH,
          `flag "${flag}" has variants, so it is not a boolean`,
          FLAG_ON,
        );
      if (direct ? direct.enabledOn(flag, context) : client.isEnabled(flag, context, false))
        return { value: true, variant: 'on', reason: shape.reason, flagMetadata: FLAG_ON };
      const reason = this.offReason(feature);
      return reason === StandardResolutionReasons.DISABLED
        ? { value: defaultValue, reason, flagMetadata: FLAG_ON }
        : { value: false, variant: 'off', reason, flagMetadata: FLAG_ON };
    }
    const variant = direct
      ? direct.variantOn(feature, context, this.fallback)
      : client.getVariant(flag, context, this.fallback);
    if (!variant.feature_enabled)
      return { value: defaultValue, reason: this.offReason(feature), flagMetadata: FLAG_ON };
    if (!variant.enabled)
      return errorAnswer(
        defaultValue,
        ErrorCode.TYPE_MISMATCH,
        `flag "${flag}" has no variants, so it is a boolean, not a ${kind}`,
        FLAG_ON,
      );
    const name = variant.name as unknown;
    if (typeof name !== 'string') return notText(defaultValue, 'Unleash', flag, 'a variant name', name, FLAG_ON);
    const payload = variant.payload;
    if (payload && (typeof payload.type !== 'string' || typeof payload.value !== 'string')) {
      const typed = typeof payload.type === 'string';
      return notText(
        defaultValue,
        'Unleash',
        flag,
        `the payload ${typed ? '' : 'type '}of variant "${name}"`,
        typed ? payload.value : payload.type,
        typed ? payloadMetadata(payload.type) : FLAG_ON,
      );
    }
    const flagMetadata: FlagMetadata = payload ? payloadMetadata(payload.type) : FLAG_ON;
    let raw: unknown;
    if (!payload) raw = name;
    else {
      raw = this.decode(payload.type, payload.value, kind);
      if (raw === PARSE_FAILED)
        return errorAnswer(
          defaultValue,
          ErrorCode.PARSE_ERROR,
          `the ${payload.type} payload of variant "${name}" of flag "${flag}" does not parse`,
          flagMetadata,
        );
    }
    const value = ofKind(kind, raw);
    if (value === undefined) return mismatch(defaultValue, kind, flag, raw, flagMetadata);
    return { value, variant: name, reason: shape.reason, flagMetadata };
  }

  /** Flag on, unit not enabled: a parent dependency that is off counts as the flag being off. */
  private offReason(feature: UnleashFeature): string {
    const deps = feature.dependencies as Array<{ feature: string }> | undefined;
    if (deps && deps.length > 0) {
      for (const dep of deps) {
        const parent = this.client!.getFeatureToggleDefinition(dep.feature);
        if (!parent?.enabled) return StandardResolutionReasons.DISABLED;
      }
    }
    return StandardResolutionReasons.DEFAULT;
  }

  private shapeOf(feature: UnleashFeature): Shape {
    let shape = this.shapes.get(feature);
    if (shape === undefined) {
      shape = definitionShape(feature);
      this.shapes.set(feature, shape);
    }
    return shape;
  }

  private decode(type: string, text: string, kind: FlagKind): unknown {
    if (type === 'string') return text;
    if (type === 'csv') return kind === 'object' ? text.split(',').map((s) => s.trim()) : text;
    const key = `${type}\u0000${text}`;
    let value = this.decoded.get(key);
    if (value !== undefined) return value;
    if (type === 'number') {
      const n = text.trim() === '' ? NaN : Number(text);
      value = Number.isFinite(n) ? n : PARSE_FAILED;
    } else if (type === 'json') {
      try {
        value = JSON.parse(text) as unknown;
      } catch {
        value = PARSE_FAILED;
      }
    } else value = text;
    if (this.decoded.size > 10_000) this.decoded.clear();
    this.decoded.set(key, value);
    return value;
  }
}

const PARSE_FAILED = Symbol('parse failed');

// flagMetadata is read-only to OpenFeature and switchyard (they copy it): one object per
// kind of answer rather than one per evaluation.
const FLAG_ON: FlagMetadata = Object.freeze({ enabled: true });
const FLAG_OFF: FlagMetadata = Object.freeze({ enabled: false });
const PAYLOAD_METADATA = new Map<string, FlagMetadata>();
function payloadMetadata(type: string): FlagMetadata {
  let meta = PAYLOAD_METADATA.get(type);
  if (!meta) PAYLOAD_METADATA.set(type, (meta = Object.freeze({ enabled: true, payloadType: type })));
  return meta;
}

function isReady(client: Unleash): boolean {
  return (client as unknown as { ready?: boolean }).ready === true;
}

/** What a flag's definition says about its answers (see the header). */
export function definitionShape(feature: UnleashFeature): Shape {
  const strategies = feature.strategies ?? [];
  const weighted = (variants: unknown[] | undefined) =>
    (variants ?? []).filter((v) => Number((v as { weight?: number }).weight ?? 0) > 0).length;
  let targeting = (feature.variants ?? []).some((v) => ((v as { overrides?: unknown[] }).overrides?.length ?? 0) > 0);
  let split = weighted(feature.variants) > 1;
  let variants = (feature.variants?.length ?? 0) > 0;
  for (const s of strategies) {
    if ((s.constraints?.length ?? 0) > 0 || (s.segments?.length ?? 0) > 0) targeting = true;
    const params = s.parameters ?? {};
    const rollout = Number(params.rollout ?? params.percentage ?? 100);
    if (ROLLOUTS.has(s.name) && rollout < 100) split = true;
    if (weighted(s.variants) > 1) split = true;
    if ((s.variants?.length ?? 0) > 0) variants = true;
  }
  return { reason: targeting ? 'TARGETING_MATCH' : split ? 'SPLIT' : 'STATIC', variants };
}

/**
 * The OpenFeature evaluation context as an Unleash context (see the header), on top of
 * the client's static fields when given (the context's own appName or environment wins,
 * as in the SDK's own merge).
 */
export function unleashContext(ctx: EvaluationContext, base?: StaticFields): Context {
  const out: Context = base ? { appName: base.appName, environment: base.environment } : {};
  let properties: Record<string, string | number> | undefined;
  for (const key in ctx) {
    const v = ctx[key];
    if (v === undefined || v === null) continue;
    if (key === 'targetingKey') {
      out.userId = String(v);
    } else if (OWN_FIELDS.has(key)) {
      out[key] = typeof v === 'string' ? v : String(v);
    } else if (key === 'currentTime') {
      if (v instanceof Date) out.currentTime = v;
      else if (typeof v === 'string' || typeof v === 'number') out.currentTime = new Date(v);
    } else if (key === 'userId') {
      out.userId ??= String(v);
    } else if (typeof v === 'string' || typeof v === 'number') {
      (properties ??= {})[key] = v;
    } else if (typeof v === 'boolean') {
      (properties ??= {})[key] = v ? 'true' : 'false';
    } else if (v instanceof Date) {
      (properties ??= {})[key] = v.toISOString();
    }
  }
  if (properties) out.properties = properties;
  return out;
}
