/**
 * The OpenFeature face of switchyard: a server provider that decorates the vendor's
 * provider with allocation. Registered under the switchyard instance's own domain, so
 * `OpenFeature.getClient(domain)` sees exactly the variants getVariant returns.
 *
 * Experiment flags by requested type: string -> the variant key; boolean -> "not the
 * control"; object and number -> the variant's payload from the config (a variant with
 * no payload leaves the caller's default; a payload of another type is TYPE_MISMATCH).
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
  type FlagMetadata,
  type Hook,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import type { FlagKind } from '../ports.js';
import type { Engine, Evaluation } from './engine.js';

export class AllocationProvider implements Provider {
  readonly metadata: { readonly name: string };
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  /** The vendor's last status event was STALE or ERROR: its next READY is passed on. */
  private troubled = false;

  /**
   * @param onTrack records an event tracked through OpenFeature's client as switchyard's own
   * track() records it
   */
  constructor(
    private readonly engine: Engine,
    private readonly ownHooks: Hook[],
    private readonly onTrack: (event: string, ctx: EvaluationContext, details: TrackingEventDetails) => void,
  ) {
    this.metadata = { name: `switchyard(${engine.vendor.metadata.name})` };
    const vendorEvents = engine.vendor.events;
    if (vendorEvents) {
      for (const event of [ProviderEvents.ConfigurationChanged, ProviderEvents.Stale, ProviderEvents.Error]) {
        vendorEvents.addHandler(event, (details) => {
          if (event !== ProviderEvents.ConfigurationChanged) this.troubled = true;
          this.events.emit(event, details ?? {});
        });
      }
      // A vendor that missed the init timeout but got ready later (the SDK kept trying), or
      // that recovered after STALE or ERROR (Unleash's next good fetch): the domain's status
      // is READY again only when this provider says so.
      vendorEvents.addHandler(ProviderEvents.Ready, (details) => {
        if (this.engine.ready && !this.troubled) return;
        this.engine.ready = true;
        this.troubled = false;
        this.events.emit(ProviderEvents.Ready, details ?? {});
      });
    }
  }

  get hooks(): Hook[] {
    const vendor = this.engine.vendor.hooks;
    return vendor && vendor.length > 0 ? [...vendor, ...this.ownHooks] : this.ownHooks;
  }

  async initialize(context?: EvaluationContext): Promise<void> {
    await this.engine.vendor.initialize?.(context);
    this.engine.ready = true;
  }

  /**
   * Closes the vendor's provider, once: OpenFeature calls it again when the closed instance's
   * domain is rebound (see ClosedProvider), and a second close of a vendor's SDK client can throw.
   */
  onClose(): Promise<void> {
    return (this.closing ??= (async () => {
      this.engine.ready = false;
      await this.engine.vendor.onClose?.();
    })());
  }

  private closing: Promise<void> | undefined;

  /**
   * OpenFeature's `client.track` on the domain: recorded by switchyard (guardrails, the
   * bandit, the event log, the `track` event), then passed to the vendor's own track (Split's
   * events), as a client of the vendor's provider would have.
   */
  track(event: string, ctx: EvaluationContext, details: TrackingEventDetails): void {
    this.onTrack(event, ctx, details);
    this.engine.vendor.track?.(event, ctx, details);
  }

  resolveStringEvaluation(flag: string, def: string, ctx: EvaluationContext): Promise<ResolutionDetails<string>> {
    return this.resolve(flag, def, ctx, 'string');
  }

  resolveBooleanEvaluation(flag: string, def: boolean, ctx: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return this.resolve(flag, def, ctx, 'boolean');
  }

  resolveNumberEvaluation(flag: string, def: number, ctx: EvaluationContext): Promise<ResolutionDetails<number>> {
    return this.resolve(flag, def, ctx, 'number');
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flag: string,
    def: T,
    ctx: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.resolve(flag, def, ctx, 'object');
  }

  private async resolve<T>(
    flag: string,
    def: T,
    ctx: EvaluationContext,
    kind: FlagKind,
  ): Promise<ResolutionDetails<T>> {
    return toDetails(await this.engine.evaluate(flag, ctx, { kind, defaultValue: def as JsonValue }), def, kind);
  }
}

export function flagMetadataOf(ev: Evaluation): FlagMetadata {
  if (!ev.plan) return ev.vendorMetadata ?? {};
  return {
    ...ev.vendorMetadata,
    experiment: ev.plan.experiment,
    inExperiment: ev.inExperiment,
    allocationMode: ev.plan.mode,
    allocationVersion: ev.plan.version,
    rampStep: ev.rampStep,
    trafficPercent: ev.trafficPercent,
  };
}

function toDetails<T>(ev: Evaluation, def: T, kind: 'string' | 'boolean' | 'number' | 'object'): ResolutionDetails<T> {
  const flagMetadata = flagMetadataOf(ev);
  if (ev.errorCode)
    return { value: def, reason: ev.reason, errorCode: ev.errorCode, errorMessage: ev.errorMessage, flagMetadata };
  if (!ev.plan || (ev.plan.mode === 'provider' && kind !== 'string')) {
    if (typeof ev.value !== typeof def) return mismatch(def, flagMetadata, kind, ev.value);
    return { value: ev.value as T, variant: ev.variant, reason: ev.reason, flagMetadata };
  }
  let value: unknown;
  if (kind === 'string') value = ev.variant;
  else if (kind === 'boolean') value = ev.variant !== ev.plan.control;
  else if (ev.payload === undefined) value = def;
  else value = ev.payload;
  if (typeof value !== typeof def || (kind === 'object' && value === null))
    return mismatch(def, flagMetadata, kind, value);
  return { value: value as T, variant: ev.variant, reason: ev.reason, flagMetadata };
}

function mismatch<T>(def: T, flagMetadata: FlagMetadata, kind: string, value: unknown): ResolutionDetails<T> {
  return {
    value: def,
    reason: 'ERROR',
    errorCode: ErrorCode.TYPE_MISMATCH,
    errorMessage: `a ${kind} was asked for, but the flag's value is a ${value === null ? 'null' : typeof value}`,
    flagMetadata,
  };
}

/**
 * What a closed instance's OpenFeature domain is bound to: a provider that never becomes
 * ready, so the domain's clients report NOT_READY (the specification's status after shutdown;
 * left bound to the closed provider, the domain stayed READY) and answer their defaults with
 * PROVIDER_NOT_READY without calling it, as getVariant answers after close.
 */
export class ClosedProvider implements Provider {
  readonly metadata = { name: 'switchyard (closed)' } as const;
  readonly runsOn = 'server' as const;

  initialize(): Promise<void> {
    return new Promise<void>(() => undefined);
  }

  private answer<T>(def: T): Promise<ResolutionDetails<T>> {
    return Promise.resolve({
      value: def,
      reason: 'ERROR',
      errorCode: ErrorCode.PROVIDER_NOT_READY,
      errorMessage: 'the switchyard instance is closed',
    });
  }

  resolveBooleanEvaluation(_flag: string, def: boolean): Promise<ResolutionDetails<boolean>> {
    return this.answer(def);
  }

  resolveStringEvaluation(_flag: string, def: string): Promise<ResolutionDetails<string>> {
    return this.answer(def);
  }

  resolveNumberEvaluation(_flag: string, def: number): Promise<ResolutionDetails<number>> {
    return this.answer(def);
  }

  resolveObjectEvaluation<T extends JsonValue>(_flag: string, def: T): Promise<ResolutionDetails<T>> {
    return this.answer(def);
  }
}
