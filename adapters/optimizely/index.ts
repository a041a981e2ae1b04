/**
 * Optimizely Feature Experimentation as an OpenFeature server provider, on the official
 * SDK (`@optimizely/optimizely-sdk` 6.x, an optional peer dependency loaded only when
 * used). The project configuration comes from a datafile given in code or in a file
 * (static), or is polled: from Optimizely's CDN by SDK key, or from any URL template.
 *
 * Context mapping: `targetingKey` is the Optimizely user id; the other primitive
 * attributes (strings, numbers, booleans; dates as ISO strings) are its attributes.
 *
 * Results: the variant is the variation key. A boolean evaluation answers whether the flag
 * is enabled for the user; other types read the variable named `valueVariable` (default
 * `value`); without it a string evaluation answers the variation key and an object
 * evaluation all the variation's variables. Reasons follow the rule that decided: an
 * experiment (A/B test) rule -> SPLIT, a targeted delivery rule -> TARGETING_MATCH, the
 * "Everyone Else" rule -> DEFAULT, or DISABLED (with the caller's default value) when it
 * serves the flag off. flagMetadata carries `ruleKey`, `ruleKind` and `variationKey`.
 */
import { ErrorCode, StandardResolutionReasons, type EvaluationContext } from '@openfeature/server-sdk';
import type {
  Client,
  Config,
  OptimizelyConfig,
  OptimizelyDecideOption as DecideOption,
} from '@optimizely/optimizely-sdk';
import {
  VendorProvider,
  errorAnswer,
  loadPeer,
  mismatch,
  ofKind,
  plainAttributes,
  type Answer,
  type VendorOptions,
} from '../common/index.js';
import type { ControlPlane, FlagKind, HasControlPlane } from '../../src/ports.js';
import { OptimizelyControlPlane, type OptimizelyControlOptions } from './control-plane.js';

export { OptimizelyControlPlane, type OptimizelyControlOptions };

export const OPTIMIZELY_PACKAGE = '@optimizely/optimizely-sdk';

export interface OptimizelyOptions extends VendorOptions {
  /** The vendor's management API (turn flags off and on, set rollouts): the kill switch and `ramp --vendor` use it. */
  controlPlane?: OptimizelyControlOptions;
  /** A datafile (JSON text or object): a static project configuration. */
  datafile?: string | object;
  /** Polls the datafile for this SDK key (from the environment; never logged). */
  sdkKey?: string;
  /** Where to poll, `%s` standing for the SDK key (default: Optimizely's CDN). */
  urlTemplate?: string;
  /** Polling interval (default 5 minutes, as the SDK). */
  updateIntervalMs?: number;
  /** For authenticated datafiles (from the environment). */
  datafileAccessToken?: string;
  /** The variable that holds a flag's typed value (default `value`). */
  valueVariable?: string;
  /** More SDK configuration (an eventProcessor to send decision events, a logger...). */
  sdk?: Partial<Config>;
  /** A client made by the caller; the adapter then neither creates nor closes it. */
  client?: Client;
}

type RuleKind = 'experiment' | 'delivery' | 'everyone';

/** The SDK's client (a BaseService in 6.x): settles when it runs or fails, without a timer. */
interface Running {
  onRunning(): Promise<void>;
}

const SKIP = new Set(['targetingKey']);

export class OptimizelyProvider extends VendorProvider implements HasControlPlane {
  readonly metadata = { name: 'switchyard-optimizely' } as const;
  readonly controlPlane: ControlPlane | undefined;
  private client: Client | undefined;
  private readonly valueVariable: string;
  /** flag -> rule key -> kind, rebuilt on every configuration update. */
  private rules = new Map<string, Map<string, RuleKind>>();
  private shapes = new Map<string, string>();
  private decideOptions: DecideOption[] = [];
  /** The SDK failed to start, for good (see stop). */
  private failed = false;

  constructor(private readonly options: OptimizelyOptions) {
    super(options, options.client === undefined);
    this.controlPlane = options.controlPlane ? new OptimizelyControlPlane(options.controlPlane) : undefined;
    this.client = options.client;
    this.valueVariable = options.valueVariable ?? 'value';
  }

  get optimizelyClient(): Client | undefined {
    return this.client;
  }

  protected async start(): Promise<void> {
    const sdk = await loadPeer<typeof import('@optimizely/optimizely-sdk')>(OPTIMIZELY_PACKAGE, 'optimizely');
    const o = this.options;
    if (!this.client) {
      const datafile = typeof o.datafile === 'object' ? JSON.stringify(o.datafile) : o.datafile;
      if (!datafile && !o.sdkKey)
        throw new Error('optimizely needs a datafile (feature_flags.optimizely.datafile) or an SDK key to poll with');
      const projectConfigManager = o.sdkKey
        ? sdk.createPollingProjectConfigManager({
            sdkKey: o.sdkKey,
            ...(datafile ? { datafile } : {}),
            ...(o.urlTemplate ? { urlTemplate: o.urlTemplate } : {}),
            ...(o.datafileAccessToken ? { datafileAccessToken: o.datafileAccessToken } : {}),
            updateInterval: o.updateIntervalMs ?? 300_000,
            autoUpdate: true,
          })
        : sdk.createStaticProjectConfigManager({ datafile: datafile! });
      this.client = sdk.createInstance({ projectConfigManager, ...o.sdk });
    }
    // Without an event processor the SDK has nowhere to send decision events; say so up front.
    this.decideOptions = o.sdk?.eventProcessor ? [] : [sdk.OptimizelyDecideOption.DISABLE_DECISION_EVENT];
    const client = this.client;
    client.notificationCenter.addNotificationListener(sdk.NOTIFICATION_TYPES.OPTIMIZELY_CONFIG_UPDATE, () => {
      const changed = this.learn(client.getOptimizelyConfig());
      if (changed.length > 0) this.emitChanged(changed);
    });
    // The base class times the wait; the SDK keeps polling and may get ready later. Not
    // onReady(): its timer is cleared only by a ready or a close(), and a client that failed
    // to start (a datafile that does not parse) ignores close(), so the timer held the process.
    try {
      await ((client as Partial<Running>).onRunning?.() ?? client.onReady({ timeout: 2 ** 31 - 1 }));
    } catch (error) {
      this.failed = true;
      throw error;
    }
    this.learn(client.getOptimizelyConfig());
  }

  protected async stop(): Promise<void> {
    // The SDK's close() never settles for a client that failed: its stop() is a no-op then.
    if (this.client && !this.failed) await this.client.close();
  }

  /** Records which rules are experiments, deliveries or "Everyone Else"; returns the flags that changed. */
  private learn(config: OptimizelyConfig | null): string[] {
    if (!config) return [];
    const rules = new Map<string, Map<string, RuleKind>>();
    const shapes = new Map<string, string>();
    const changed: string[] = [];
    for (const [key, feature] of Object.entries(config.featuresMap)) {
      const kinds = new Map<string, RuleKind>();
      for (const rule of feature.experimentRules) kinds.set(rule.key, 'experiment');
      feature.deliveryRules.forEach((rule, i) =>
        kinds.set(rule.key, i === feature.deliveryRules.length - 1 ? 'everyone' : 'delivery'),
      );
      rules.set(key, kinds);
      const shape = JSON.stringify(feature);
      shapes.set(key, shape);
      if (this.shapes.get(key) !== shape) changed.push(key);
    }
    for (const key of this.shapes.keys()) if (!shapes.has(key)) changed.push(key);
    this.rules = rules;
    this.shapes = shapes;
    return changed;
  }

  protected resolve(flag: string, kind: FlagKind, defaultValue: unknown, ctx: EvaluationContext): Answer {
    const client = this.client;
    if (!client) return errorAnswer(defaultValue, ErrorCode.PROVIDER_NOT_READY, 'the Optimizely client is not started');
    const kinds = this.rules.get(flag);
    if (!kinds) return errorAnswer(defaultValue, ErrorCode.FLAG_NOT_FOUND, `Optimizely has no flag "${flag}"`);
    const userId = ctx.targetingKey;
    if (typeof userId !== 'string' || userId.length === 0) {
      return errorAnswer(
        defaultValue,
        ErrorCode.TARGETING_KEY_MISSING,
        'Optimizely needs a user id: the evaluation context has no targetingKey',
      );
    }
    const decision = client
      .createUserContext(
        userId,
        plainAttributes(ctx, SKIP, { lists: false, dates: 'iso' }) as Record<string, string | number | boolean>,
      )
      .decide(flag, this.decideOptions);
    if (decision.variationKey === null) {
      return errorAnswer(
        defaultValue,
        ErrorCode.GENERAL,
        decision.reasons[0] ?? `Optimizely made no decision for flag "${flag}"`,
      );
    }
    const ruleKind = (decision.ruleKey !== null && kinds.get(decision.ruleKey)) || 'delivery';
    const flagMetadata = { ruleKey: decision.ruleKey ?? '', ruleKind, variationKey: decision.variationKey };
    const variant = decision.variationKey;
    if (ruleKind === 'everyone' && !decision.enabled) {
      return { value: defaultValue, variant, reason: StandardResolutionReasons.DISABLED, flagMetadata };
    }
    let raw: unknown;
    if (kind === 'boolean') raw = decision.enabled;
    else {
      raw = decision.variables[this.valueVariable];
      if (raw === undefined) raw = kind === 'string' ? variant : kind === 'object' ? decision.variables : undefined;
    }
    const value = ofKind(kind, raw);
    if (value === undefined) return mismatch(defaultValue, kind, flag, raw, flagMetadata);
    const reason =
      ruleKind === 'experiment'
        ? StandardResolutionReasons.SPLIT
        : ruleKind === 'everyone'
          ? StandardResolutionReasons.DEFAULT
          : StandardResolutionReasons.TARGETING_MATCH;
    return { value, variant, reason, flagMetadata };
  }
}
