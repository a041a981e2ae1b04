/**
 * The in-memory provider: an OpenFeature server provider that takes OpenFeature's own
 * in-memory flag configuration (variants, defaultVariant, disabled, contextEvaluator), so
 * it is a drop-in for `InMemoryProvider` from `@openfeature/server-sdk`, with the same
 * reasons and error codes, plus what tests want: set a flag, force a variant for one
 * unit, reset.
 *
 * It also resolves synchronously through the SYNC_RESOLVE port, so switchyard's direct
 * path costs no promise per evaluation; OpenFeature's client uses the standard methods.
 */
import {
  FlagNotFoundError,
  GeneralError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  TypeMismatchError,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { SYNC_RESOLVE, type FlagKind, type SyncResolver } from '../../src/ports.js';

export interface MemoryFlag<T extends JsonValue = JsonValue> {
  variants: Record<string, T>;
  defaultVariant: string;
  disabled: boolean;
  /** Returns the variant key for a context; the answer's reason is TARGETING_MATCH. */
  contextEvaluator?: (ctx: EvaluationContext) => string;
}

export type MemoryFlagConfiguration = Record<string, MemoryFlag>;

interface FlagEntry {
  readonly flag: MemoryFlag;
  /** The flag's static answer, made on first use (see MemoryProvider's resolve). */
  answer: ResolutionDetails<unknown> | undefined;
}

const entriesOf = (flags: MemoryFlagConfiguration): Map<string, FlagEntry> =>
  new Map(Object.entries(flags).map(([key, flag]) => [key, { flag, answer: undefined }]));

export class MemoryProvider implements Provider, SyncResolver {
  readonly metadata = { name: 'switchyard-memory' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  /** Each flag, with its static answer once made (see resolve). */
  private flags = new Map<string, FlagEntry>();
  private readonly initial: MemoryFlagConfiguration;
  /** flag -> targetingKey -> variant */
  private readonly forced = new Map<string, Map<string, string>>();

  constructor(flags: MemoryFlagConfiguration = {}) {
    this.initial = { ...flags };
    this.flags = entriesOf(flags);
  }

  /** Replaces every flag, as OpenFeature's `putConfiguration` does; emits ConfigurationChanged. */
  putConfiguration(flags: MemoryFlagConfiguration): void {
    const changed = new Set(
      [...this.flags.keys(), ...Object.keys(flags)].filter((k) => this.flags.get(k)?.flag !== flags[k]),
    );
    this.flags = entriesOf(flags);
    this.changed([...changed]);
  }

  /** Adds or replaces one flag; emits ConfigurationChanged naming it. */
  setFlag(key: string, flag: MemoryFlag): void {
    this.flags.set(key, { flag, answer: undefined });
    this.changed([key]);
  }

  removeFlag(key: string): void {
    if (!this.flags.delete(key)) return;
    this.forced.delete(key);
    this.changed([key]);
  }

  /** Serves `variant` of `flag` to the unit with this targeting key, whatever else the flag says. */
  forceVariant(flag: string, targetingKey: string, variant: string): void {
    let units = this.forced.get(flag);
    if (!units) this.forced.set(flag, (units = new Map()));
    units.set(targetingKey, variant);
    this.changed([flag]);
  }

  clearForcedVariants(flag?: string): void {
    if (flag === undefined) this.forced.clear();
    else this.forced.delete(flag);
    this.changed(flag === undefined ? [...this.flags.keys()] : [flag]);
  }

  /** Back to the flags given to the constructor, with no forced variants. */
  reset(): void {
    this.forced.clear();
    this.putConfiguration(this.initial);
  }

  getFlag(key: string): MemoryFlag | undefined {
    return this.flags.get(key)?.flag;
  }

  async resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    return { ...this.resolve(flagKey, defaultValue, context) };
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    return { ...this.resolve(flagKey, defaultValue, context) };
  }

  async resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<number>> {
    return { ...this.resolve(flagKey, defaultValue, context) };
  }

  async resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return { ...this.resolve(flagKey, defaultValue, context) };
  }

  /** The synchronous fast path switchyard's getVariant uses (see SYNC_RESOLVE in ports). */
  [SYNC_RESOLVE](
    flagKey: string,
    _kind: FlagKind,
    defaultValue: unknown,
    context: EvaluationContext,
  ): ResolutionDetails<unknown> {
    return this.resolve(flagKey, defaultValue, context);
  }

  /**
   * The answer for a flag. A flag's static answer (its default variant, no forced variant,
   * no context evaluator) is the same for every unit: it is made once, frozen and shared
   * (the synchronous path hands it out as is; the OpenFeature methods give a copy), and
   * made again when the flag is replaced or its default variant or value changes.
   */
  private resolve<T>(flagKey: string, defaultValue: T, context: EvaluationContext | undefined): ResolutionDetails<T> {
    const entry = this.flags.get(flagKey);
    if (!entry) throw new FlagNotFoundError(`no flag found with key ${flagKey}`);
    const flag = entry.flag;
    if (flag.disabled) return { value: defaultValue, reason: StandardResolutionReasons.DISABLED };
    const unit = context?.targetingKey;
    const forced = unit === undefined || this.forced.size === 0 ? undefined : this.forced.get(flagKey)?.get(unit);
    let variant: string;
    let reason: string;
    if (forced !== undefined) {
      variant = forced;
      reason = StandardResolutionReasons.TARGETING_MATCH;
    } else if (context && flag.contextEvaluator) {
      try {
        variant = flag.contextEvaluator(context);
      } catch (error) {
        throw new GeneralError((error as Error)?.message || 'unknown error');
      }
      reason = StandardResolutionReasons.TARGETING_MATCH;
    } else {
      const answer = entry.answer;
      if (
        answer !== undefined &&
        answer.variant === flag.defaultVariant &&
        answer.value === flag.variants[answer.variant]
      ) {
        if (typeof answer.value !== typeof defaultValue) throw new TypeMismatchError();
        return answer as ResolutionDetails<T>;
      }
      variant = flag.defaultVariant;
      reason = StandardResolutionReasons.STATIC;
    }
    // Own keys only: variants["__proto__"] would hand out Object.prototype for callers to change.
    const value = variant && Object.hasOwn(flag.variants, variant) ? flag.variants[variant] : undefined;
    if (value === undefined) throw new GeneralError(`no value associated with variant ${variant}`);
    if (typeof value !== typeof defaultValue) throw new TypeMismatchError();
    if (reason === StandardResolutionReasons.STATIC)
      return (entry.answer = Object.freeze({ value, variant, reason })) as ResolutionDetails<T>;
    return { value: value as T, variant, reason };
  }

  private changed(flagsChanged: string[]): void {
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
  }
}
