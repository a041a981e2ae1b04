/**
 * The evaluation engine behind both public paths (getVariant and the OpenFeature
 * provider surface), so they give the same answer by construction.
 *
 * Order of decisions, as in DESIGN.md: kill switch (never the network), then the vendor
 * (is the flag on and is the unit eligible?), then allocation by hashing. Evaluation stays
 * synchronous while the vendor answers synchronously; only a vendor that returns a
 * promise makes the call asynchronous, and that promise is raced against the evaluation
 * timeout. Vendor faults become an Evaluation with an error code here, at the vendor
 * boundary; nothing here throws to the caller.
 */
import {
  ErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type FlagMetadata,
  type Provider,
  type ResolutionDetails,
  type JsonValue,
} from '@openfeature/server-sdk';
import {
  assign,
  compilePlan,
  trafficAt,
  unitHashes,
  type AllocationPlan,
  type ExperimentHold,
} from '../allocation/index.js';
import { scrubSecrets, type ValidatedConfig } from '../config/index.js';
import type { SwitchyardCode } from '../errors.js';
import { MAX_UNIT_LENGTH, unitProblem } from '../exposure/index.js';
import { SYNC_RESOLVE, type Clock, type FlagKind, type SyncResolver } from '../ports.js';
import { fromOpenFeatureCode, isOpenFeatureCode, toOpenFeatureCode } from './error-codes.js';
import type { ExposureSeeds } from './exposure-recorder.js';
import type { VariantResult } from './types.js';

export interface Evaluation {
  readonly flag: string;
  readonly variant: string | undefined;
  /** The variant's index in the plan's variants; -1 when the answer is not one of them. */
  readonly variantIndex: number;
  readonly value: unknown;
  readonly payload: unknown;
  readonly reason: string;
  readonly inExperiment: boolean;
  readonly plan: AllocationPlan | undefined;
  readonly rampStep: number;
  readonly trafficPercent: number;
  /** The clock's reading the allocation was made at; NaN when the clock was not read. */
  readonly at: number;
  readonly problem: SwitchyardCode | undefined;
  readonly errorCode: ErrorCode | undefined;
  readonly errorMessage: string | undefined;
  readonly vendorVariant?: string | undefined;
  /** What the vendor said about its answer (rule, experiment and variation ids). */
  readonly vendorMetadata?: FlagMetadata | undefined;
  /**
   * True when this object is the one every unit given the same arm shares (an answer
   * that depends on the plan, the ramp step and the arm only; see Engine.sharedSlots), or
   * every unit the vendor gave the same frozen answer (provider mode; see vendorAllocated).
   */
  readonly shared: boolean;
  /** The facade's answer for a shared evaluation, made once and frozen; undefined until then. */
  answer: VariantResult | undefined;
  /** getVariant's settled promise of that answer, made once; undefined until then. */
  settled: Promise<VariantResult> | undefined;
  /** The exposure rule's seeds for a shared evaluation's (plan, arm), made once; undefined until then. */
  seeds: ExposureSeeds | undefined;
}

const KINDS: readonly FlagKind[] = ['boolean', 'string', 'number', 'object'];
/** The order types are tried in once a flag's type is known: that type first (made once, not per call; each its own array, told apart from KINDS). */
const KINDS_FROM: Record<FlagKind, readonly FlagKind[]> = {
  boolean: ['boolean', 'string', 'number', 'object'],
  string: ['string', 'boolean', 'number', 'object'],
  number: ['number', 'boolean', 'string', 'object'],
  object: ['object', 'boolean', 'string', 'number'],
};
const DEFAULTS: Record<FlagKind, JsonValue> = { boolean: false, string: '', number: 0, object: {} };
/** One type only: the one an OpenFeature client asked for (nothing is learnt from it). */
const ONLY: Record<FlagKind, readonly FlagKind[]> = {
  boolean: ['boolean'],
  string: ['string'],
  number: ['number'],
  object: ['object'],
};

/** Vendors may log through the logger OpenFeature passes; the direct path passes this one. */
const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

const isThenable = <T>(v: unknown): v is PromiseLike<T> => typeof (v as PromiseLike<T> | null)?.then === 'function';

export interface EngineCounters {
  evaluations: number;
  fallbacks: number;
  errors: Partial<Record<SwitchyardCode, number>>;
}

/** adaptive mode's arm for a unit: sticky, or new under the current version's weights. */
export interface AdaptiveAssigner {
  assign(plan: AllocationPlan, unit: string): number | Promise<number>;
  applyConfig(config: ValidatedConfig, plans: Map<string, AllocationPlan>): Map<string, AllocationPlan>;
  /** The unit's sticky arm (variant index), or -1 when it has none: read only, assigns nothing. */
  stickyArm(plan: AllocationPlan, unit: string): number;
}

/** What the engine keeps per flag, found with one lookup per evaluation. */
interface FlagEntry {
  /** The experiment's plan; undefined for a flag switchyard does not allocate. */
  plan: AllocationPlan | undefined;
  /** The order of types to ask the vendor in: KINDS until a type has worked, then KINDS_FROM of it. */
  kinds: readonly FlagKind[];
  /**
   * The shared evaluations of `slotsOf` (see Engine.sharedSlots), kept with the flag so an
   * evaluation finds them in the entry it looked up anyway: with 10,000 experiments, a
   * WeakMap keyed by plan cost about a third of every call (its lookups and the collector's
   * work on its entries).
   */
  slots: (Evaluation | undefined)[];
  /** The plan `slots` were made for; undefined until the first shared evaluation. */
  slotsOf: AllocationPlan | undefined;
}

const newEntry = (kinds: readonly FlagKind[]): FlagEntry => ({ plan: undefined, kinds, slots: [], slotsOf: undefined });

/** The flag's entry in `flags`, made (no plan, no type learnt) when it has none. */
function entryIn(flags: Map<string, FlagEntry>, flag: string): FlagEntry {
  let entry = flags.get(flag);
  if (entry === undefined) flags.set(flag, (entry = newEntry(KINDS)));
  return entry;
}

/** The most flags the config does not allocate whose answering type the engine remembers. */
const MAX_LEARNT_FLAGS = 10_000;

export class Engine {
  private flags = new Map<string, FlagEntry>();
  /** Flags of the config in force (the entries beyond them are types learnt). */
  private planned = 0;
  /** Set by the facade when the config has adaptive experiments. */
  adaptive: AdaptiveAssigner | undefined;
  /**
   * Set by the facade when the exposure rule runs for every evaluation (logging on, or units
   * counted for the guardrails): allocation then makes the rule's second hash in its pass
   * (unitHashes). Only a matter of speed: the rule makes what is missing itself.
   */
  keysExposures = false;
  private readonly killed = new Map<string, string>();
  private readonly holds = new Map<string, ExperimentHold>();
  ready = false;
  readonly counters: EngineCounters = { evaluations: 0, fallbacks: 0, errors: {} };

  private readonly sync: SyncResolver | undefined;
  /** Secret values from the config: vendor messages can quote them, answers never do. */
  private secrets: readonly string[] = [];

  constructor(
    readonly vendor: Provider,
    private readonly clock: Clock,
    private timeoutMs: number,
    /** Called for every problem; the facade deduplicates. */
    private readonly onProblem: (flag: string, code: SwitchyardCode, message: string) => void = () => {},
  ) {
    this.sync =
      typeof (vendor as Partial<SyncResolver>)[SYNC_RESOLVE] === 'function'
        ? (vendor as Provider & SyncResolver)
        : undefined;
  }

  applyConfig(config: ValidatedConfig): void {
    this.secrets = config.secrets;
    const plans = new Map<string, AllocationPlan>();
    for (const exp of config.experiments.values()) plans.set(exp.flag, compilePlan(exp));
    const served = this.adaptive ? this.adaptive.applyConfig(config, plans) : plans;
    // The types learnt stay (a flag's type is the vendor's); the plans are the config's.
    const flags = new Map<string, FlagEntry>();
    for (const [flag, entry] of this.flags) if (entry.kinds !== KINDS) flags.set(flag, newEntry(entry.kinds));
    for (const [flag, plan] of served) entryIn(flags, flag).plan = plan;
    this.flags = flags;
    this.planned = served.size;
    this.byExperimentOf = undefined;
    this.timeoutMs = config.featureFlags.evaluationTimeoutMs;
  }

  /** How long a vendor (and each OpenFeature hook) may take to answer an evaluation. */
  get evaluationTimeoutMs(): number {
    return this.timeoutMs;
  }

  planForFlag(flag: string): AllocationPlan | undefined {
    return this.flags.get(flag)?.plan;
  }

  /** Serves a new allocation version's plan for a flag (adaptive re-weighting). */
  setPlan(flag: string, plan: AllocationPlan): void {
    entryIn(this.flags, flag).plan = plan;
    this.byExperimentOf = undefined;
  }

  kill(experiment: string, reason: string): void {
    this.killed.set(experiment, reason);
  }

  unkill(experiment: string): void {
    this.killed.delete(experiment);
  }

  isKilled(experiment: string): boolean {
    return this.killed.has(experiment);
  }

  /**
   * The unit's arm of a switchyard-allocated experiment now (kill, hold and traffic
   * applied; the vendor is not asked), for metrics recorded outside getVariant (observe,
   * track): the variant's index, or -1 when the unit is not in the experiment or the vendor allocates.
   */
  armOf(plan: AllocationPlan, unit: string): number {
    if (plan.mode === 'provider' || (this.killed.size > 0 && this.killed.has(plan.experiment))) return -1;
    const coverage =
      plan.mode === 'fixed'
        ? plan.fixedCoverage
        : trafficAt(plan, this.clock.now(), this.holds.get(plan.experiment)).percent / 100;
    // adaptive: the arm the unit was served and keeps, not its bucket under today's weights.
    if (plan.mode === 'adaptive' && this.adaptive && coverage > 0) {
      const sticky = this.adaptive.stickyArm(plan, unit);
      if (sticky >= 0) return sticky;
    }
    return assign(plan, unit, coverage);
  }

  /** The plan of an experiment, by its key. */
  planForExperiment(experiment: string): AllocationPlan | undefined {
    if (this.byExperimentOf !== this.flags) {
      this.byExperiment = new Map();
      for (const { plan } of this.flags.values()) if (plan) this.byExperiment.set(plan.experiment, plan);
      this.byExperimentOf = this.flags;
    }
    return this.byExperiment.get(experiment);
  }

  private byExperiment = new Map<string, AllocationPlan>();
  /** The flags the map above was made from; undefined once a plan changed. */
  private byExperimentOf: Map<string, FlagEntry> | undefined;

  hold(experiment: string, hold: ExperimentHold | undefined): void {
    if (hold) this.holds.set(experiment, hold);
    else this.holds.delete(experiment);
  }

  /**
   * @param asked the type and default an OpenFeature client asked with: a flag switchyard does
   * not allocate is then resolved by the vendor in that type, with that default (as the vendor's
   * own client would), rather than in the type learnt for getVariant
   */
  evaluate(
    flag: string,
    ctx: EvaluationContext,
    asked?: { kind: FlagKind; defaultValue: JsonValue },
  ): Evaluation | Promise<Evaluation> {
    this.counters.evaluations++;
    const entry = this.flags.get(flag);
    if (!this.ready) return this.fail(flag, entry?.plan, 'SY_PROVIDER_NOT_READY', 'the provider is not ready yet');
    if (entry === undefined || entry.plan === undefined) {
      const details = asked
        ? this.tryKinds(flag, ctx, ONLY[asked.kind], 0, asked.defaultValue)
        : this.tryKinds(flag, ctx, entry ? entry.kinds : KINDS, 0);
      return this.settle(flag, details, (d) => this.passThrough(flag, d));
    }
    const plan = entry.plan;
    const kinds = entry.kinds;
    const unit = ctx.targetingKey;
    if (typeof unit !== 'string' || unit.length === 0) {
      return this.fail(
        flag,
        plan,
        'SY_TARGETING_KEY_MISSING',
        'the evaluation context has no targetingKey, so there is no unit to allocate',
      );
    }
    if (unit.length > MAX_UNIT_LENGTH) return this.fail(flag, plan, 'SY_INVALID_ARGUMENT', unitProblem(unit)!);
    if (this.killed.size > 0 && this.killed.has(plan.experiment)) return this.killedControl(entry, plan);
    const details = this.tryKinds(flag, ctx, kinds, 0);
    // The common case, a vendor that answered synchronously without fault, is finished
    // here without the closure settle() takes (one allocation less on every call).
    if (!(details instanceof Error) && !isThenable(details) && !details.errorCode)
      return plan.mode === 'provider'
        ? this.vendorAllocated(plan, details)
        : this.allocated(entry, plan, unit, details);
    if (plan.mode === 'provider') return this.settle(flag, details, (d) => this.vendorAllocated(plan, d), plan);
    return this.settle(flag, details, (d) => this.allocated(entry, plan, unit, d), plan);
  }

  /** Finishes a vendor answer that may be sync or async; vendor faults become fallbacks. */
  private settle(
    flag: string,
    details: ResolutionDetails<unknown> | Promise<ResolutionDetails<unknown>> | Error,
    finish: (d: ResolutionDetails<unknown>) => Evaluation | Promise<Evaluation>,
    plan?: AllocationPlan,
  ): Evaluation | Promise<Evaluation> {
    if (details instanceof Error) return this.vendorFault(flag, plan, details);
    if (!isThenable<ResolutionDetails<unknown>>(details)) {
      return details.errorCode ? this.vendorFault(flag, plan, details) : finish(details);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Evaluation>((resolve) => {
      timer = setTimeout(
        () =>
          resolve(
            this.fail(flag, plan, 'SY_PROVIDER_TIMEOUT', `the provider did not answer within ${this.timeoutMs} ms`),
          ),
        this.timeoutMs,
      );
      // Not unref'd: a caller awaiting a vendor that never answers gets the fallback when the
      // time is up, even when nothing else keeps the process alive (it is cleared on the answer).
    });
    const answer = details.then(
      (d) => (d.errorCode ? this.vendorFault(flag, plan, d) : finish(d)),
      (e: unknown) => this.vendorFault(flag, plan, e),
    );
    return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
  }

  private allocated(
    entry: FlagEntry,
    plan: AllocationPlan,
    unit: string,
    gate: ResolutionDetails<unknown>,
  ): Evaluation | Promise<Evaluation> {
    const hold = this.holds.size > 0 ? this.holds.get(plan.experiment) : undefined;
    // Only a ramp needs the time to allocate; otherwise the exposure reads the clock if it
    // logs one (a repeat unit then costs no clock read).
    const now = plan.mode === 'gradual' ? this.clock.now() : NaN;
    const traffic = trafficAt(plan, now, hold);
    if (gate.reason === StandardResolutionReasons.DISABLED || gate.value === false) {
      return this.controlOf(
        entry,
        plan,
        gate.reason === StandardResolutionReasons.DISABLED
          ? StandardResolutionReasons.DISABLED
          : StandardResolutionReasons.DEFAULT,
        traffic.step,
        traffic.percent,
      );
    }
    if (plan.mode === 'adaptive' && this.adaptive) {
      const index = this.adaptive.assign(plan, unit);
      if (typeof index !== 'number')
        return index.then((i) => this.split(entry, plan, i, traffic.step, traffic.percent, now, gate));
      return this.split(entry, plan, index, traffic.step, traffic.percent, now, gate);
    }
    // The exposure rule will key the unit: its second hash is made in the allocation's pass.
    if (this.keysExposures) unitHashes(plan.prefix, unit);
    return this.split(entry, plan, assign(plan, unit, traffic.percent / 100), traffic.step, traffic.percent, now, gate);
  }

  private split(
    entry: FlagEntry,
    plan: AllocationPlan,
    index: number,
    step: number,
    percent: number,
    now: number,
    gate: ResolutionDetails<unknown>,
  ): Evaluation {
    if (index < 0) return this.controlOf(entry, plan, StandardResolutionReasons.DEFAULT, step, percent);
    const metadata = gate.flagMetadata;
    // An answer without the vendor's metadata depends on the plan, the step and the arm
    // only: every such unit shares one object (and the facade its answer), made once.
    if (metadata === undefined) {
      const slots = this.sharedSlots(entry, plan);
      const slot = slotOf(plan, step, index);
      return (slots[slot] ??= this.splitOf(plan, index, step, percent, NaN, undefined, true));
    }
    return this.splitOf(plan, index, step, percent, now, metadata, false);
  }

  private splitOf(
    plan: AllocationPlan,
    index: number,
    step: number,
    percent: number,
    at: number,
    metadata: FlagMetadata | undefined,
    shared: boolean,
  ): Evaluation {
    return {
      flag: plan.flag,
      variant: plan.variants[index],
      variantIndex: index,
      value: plan.variants[index],
      payload: plan.payloads[index],
      reason: StandardResolutionReasons.SPLIT,
      inExperiment: true,
      plan,
      rampStep: step,
      trafficPercent: percent,
      at,
      problem: undefined,
      errorCode: undefined,
      errorMessage: undefined,
      vendorMetadata: metadata,
      shared,
      answer: undefined,
      settled: undefined,
      seeds: undefined,
    };
  }

  /**
   * The shared evaluations of a plan object, kept in its flag's entry (a new plan, on reload
   * or re-weighting, starts empty): per ramp step (-1 included), one per arm, then the control
   * for DEFAULT, for DISABLED and for a kill (see slotOf).
   */
  private sharedSlots(entry: FlagEntry, plan: AllocationPlan): (Evaluation | undefined)[] {
    if (entry.slotsOf === plan) return entry.slots;
    const slots = new Array<Evaluation | undefined>((plan.steps.length + 1) * (plan.variants.length + 3)).fill(
      undefined,
    );
    // An evaluation that began under a plan replaced since (an adaptive re-weighting while the
    // sticky store answered) gets slots of its own: the entry keeps its current plan's.
    if (entry.plan === plan) {
      entry.slots = slots;
      entry.slotsOf = plan;
    }
    return slots;
  }

  /** The control of a killed experiment (a kill answers every unit alike, at no step and no traffic). */
  private killedControl(entry: FlagEntry, plan: AllocationPlan): Evaluation {
    const slots = this.sharedSlots(entry, plan);
    const slot = slotOf(plan, -1, plan.variants.length + 2);
    return (slots[slot] ??= this.controlEvaluation(plan, StandardResolutionReasons.DISABLED, -1, 0, true));
  }

  /**
   * `provider` mode: the vendor's variant stands; switchyard only logs, guards and
   * analyses. The vendor's answer names an experiment variant by its variant name or, for
   * vendors whose variants are indexes (LaunchDarkly), by a string value. A unit is in the
   * experiment when the vendor served one of its variants without error and the flag is
   * not disabled; anything else passes through and is not an exposure.
   */
  private vendorAllocated(plan: AllocationPlan, d: ResolutionDetails<unknown>): Evaluation {
    // A frozen answer is one the vendor adapter shares between calls (LaunchDarkly's, per
    // served variation): the evaluation depends on it and the plan only, so it is made
    // once per (answer, plan) and shared too, with the facade's answer and its promise.
    if (Object.isFrozen(d)) {
      const known = this.byVendorAnswer.get(d);
      if (known !== undefined && known.plan === plan) return known;
      const made = this.vendorEvaluation(plan, d, true);
      this.byVendorAnswer.set(d, made);
      return made;
    }
    return this.vendorEvaluation(plan, d, false);
  }

  /** The shared evaluation of each frozen vendor answer, for the plan it was made under. */
  private readonly byVendorAnswer = new WeakMap<ResolutionDetails<unknown>, Evaluation>();

  private vendorEvaluation(plan: AllocationPlan, d: ResolutionDetails<unknown>, shared: boolean): Evaluation {
    let index = d.variant === undefined ? -1 : plan.variants.indexOf(d.variant);
    if (index < 0 && typeof d.value === 'string') index = plan.variants.indexOf(d.value);
    const inExperiment = index >= 0 && d.reason !== StandardResolutionReasons.DISABLED;
    return {
      flag: plan.flag,
      variant: index >= 0 ? plan.variants[index] : d.variant,
      variantIndex: index,
      value: d.value,
      payload: index >= 0 ? plan.payloads[index] : undefined,
      reason: d.reason ?? StandardResolutionReasons.UNKNOWN,
      inExperiment,
      plan,
      rampStep: -1,
      trafficPercent: 100,
      at: NaN,
      problem: undefined,
      errorCode: undefined,
      errorMessage: undefined,
      vendorVariant: d.variant,
      vendorMetadata: d.flagMetadata,
      shared,
      answer: undefined,
      settled: undefined,
      seeds: undefined,
    };
  }

  private passThrough(flag: string, d: ResolutionDetails<unknown>): Evaluation {
    return {
      flag,
      variant: d.variant,
      variantIndex: -1,
      value: d.value,
      payload: typeof d.value === 'object' ? d.value : undefined,
      reason: d.reason ?? StandardResolutionReasons.UNKNOWN,
      inExperiment: false,
      plan: undefined,
      rampStep: -1,
      trafficPercent: 0,
      at: NaN,
      problem: undefined,
      errorCode: undefined,
      errorMessage: undefined,
      vendorMetadata: d.flagMetadata,
      shared: false,
      answer: undefined,
      settled: undefined,
      seeds: undefined,
    };
  }

  /** The control for `reason` (DEFAULT: outside the traffic or the flag off; DISABLED), shared like split's arms. */
  private controlOf(entry: FlagEntry, plan: AllocationPlan, reason: string, step: number, percent: number): Evaluation {
    const slots = this.sharedSlots(entry, plan);
    const slot = slotOf(plan, step, plan.variants.length + (reason === StandardResolutionReasons.DISABLED ? 1 : 0));
    return (slots[slot] ??= this.controlEvaluation(plan, reason, step, percent, true));
  }

  private controlEvaluation(
    plan: AllocationPlan,
    reason: string,
    step: number,
    percent: number,
    shared: boolean,
  ): Evaluation {
    return {
      flag: plan.flag,
      variant: plan.control,
      variantIndex: plan.controlIndex,
      value: plan.control,
      payload: plan.payloads[plan.controlIndex],
      reason,
      inExperiment: false,
      plan,
      rampStep: step,
      trafficPercent: percent,
      at: NaN,
      problem: undefined,
      errorCode: undefined,
      errorMessage: undefined,
      vendorMetadata: undefined,
      shared,
      answer: undefined,
      settled: undefined,
      seeds: undefined,
    };
  }

  private vendorFault(flag: string, plan: AllocationPlan | undefined, fault: unknown): Evaluation {
    const details = fault as Partial<ResolutionDetails<unknown>> & { code?: string; message?: string };
    const vendorCode = details.errorCode ?? details.code;
    const problem = fromOpenFeatureCode(vendorCode);
    const message = details.errorMessage ?? details.message ?? 'the provider failed';
    // Only OpenFeature's codes are answered, as its client does (GENERAL for the others).
    return this.fail(
      flag,
      plan,
      problem,
      message,
      isOpenFeatureCode(vendorCode) ? vendorCode : toOpenFeatureCode(problem),
    );
  }

  fail(
    flag: string,
    plan: AllocationPlan | undefined,
    problem: SwitchyardCode,
    rawMessage: string,
    code?: ErrorCode,
  ): Evaluation {
    const message = this.secrets.length > 0 ? scrubSecrets(rawMessage, this.secrets) : rawMessage;
    this.counters.fallbacks++;
    this.countProblem(problem);
    this.onProblem(flag, problem, message);
    return {
      flag,
      variant: plan?.control,
      variantIndex: plan ? plan.controlIndex : -1,
      value: plan?.control,
      payload: plan ? plan.payloads[plan.controlIndex] : undefined,
      reason: StandardResolutionReasons.ERROR,
      inExperiment: false,
      plan,
      rampStep: -1,
      trafficPercent: 0,
      at: NaN,
      problem,
      errorCode: code ?? toOpenFeatureCode(problem),
      errorMessage: message,
      vendorMetadata: undefined,
      shared: false,
      answer: undefined,
      settled: undefined,
      seeds: undefined,
    };
  }

  /** Counts a problem by code (evaluation fallbacks, and bad input to track()). */
  countProblem(problem: SwitchyardCode): void {
    this.counters.errors[problem] = (this.counters.errors[problem] ?? 0) + 1;
  }

  /**
   * Asks the vendor about a flag in the type order `kinds` (the type that last worked first,
   * or KINDS while none has), trying the next type on TYPE_MISMATCH. Returns an Error
   * instead of throwing.
   */
  private tryKinds(
    flag: string,
    ctx: EvaluationContext,
    kinds: readonly FlagKind[],
    i: number,
    defaultValue?: JsonValue,
  ): ResolutionDetails<unknown> | Promise<ResolutionDetails<unknown>> | Error {
    const kind = kinds[i]!;
    const hasNext = i + 1 < kinds.length;
    let result: ResolutionDetails<unknown> | Promise<ResolutionDetails<unknown>>;
    try {
      result = this.call(flag, ctx, kind, defaultValue ?? DEFAULTS[kind]);
    } catch (error) {
      if (hasNext && isTypeMismatch(error)) return this.tryKinds(flag, ctx, kinds, i + 1);
      return error instanceof Error ? error : new Error(String(error));
    }
    if (isThenable<ResolutionDetails<unknown>>(result)) {
      return Promise.resolve(result).then(
        (d) => {
          if (hasNext && wrongKind(d.errorCode)) return this.tryKinds(flag, ctx, kinds, i + 1);
          if (!d.errorCode && (i > 0 || kinds === KINDS)) this.learnKind(flag, kind);
          return d;
        },
        (error: unknown) => {
          if (hasNext && isTypeMismatch(error)) return this.tryKinds(flag, ctx, kinds, i + 1);
          throw error;
        },
      ) as Promise<ResolutionDetails<unknown>>;
    }
    if (hasNext && wrongKind(result.errorCode)) return this.tryKinds(flag, ctx, kinds, i + 1);
    // Remembered when learnt: the first type of a known flag's order is the one it knows.
    if (!result.errorCode && (i > 0 || kinds === KINDS)) this.learnKind(flag, kind);
    return result;
  }

  /**
   * Remembers the type a flag answered in, to ask in it first next time. Flags the config does
   * not allocate are learnt up to MAX_LEARNT_FLAGS: a vendor that answers any name (some
   * providers answer an unknown flag with the default and no error) would otherwise have the
   * engine keep an entry per name a caller sends; beyond it a flag is asked in the usual order.
   */
  private learnKind(flag: string, kind: FlagKind): void {
    if (!this.flags.has(flag) && this.flags.size >= this.planned + MAX_LEARNT_FLAGS) return;
    entryIn(this.flags, flag).kinds = KINDS_FROM[kind];
  }

  private call(
    flag: string,
    ctx: EvaluationContext,
    kind: FlagKind,
    defaultValue: JsonValue,
  ): ResolutionDetails<unknown> | Promise<ResolutionDetails<unknown>> {
    if (this.sync) return this.sync[SYNC_RESOLVE](flag, kind, defaultValue, ctx);
    const v = this.vendor;
    switch (kind) {
      case 'boolean':
        return v.resolveBooleanEvaluation(flag, defaultValue as boolean, ctx, QUIET);
      case 'string':
        return v.resolveStringEvaluation(flag, defaultValue as string, ctx, QUIET);
      case 'number':
        return v.resolveNumberEvaluation(flag, defaultValue as number, ctx, QUIET);
      default:
        return v.resolveObjectEvaluation(flag, defaultValue, ctx, QUIET);
    }
  }
}

/**
 * While the flag's type is unknown, an answer that the value does not fit the type asked
 * for means "try the next type". Providers say so with TYPE_MISMATCH, or with PARSE_ERROR
 * when they parse text (environment variables, files) into the type asked for.
 */
/** A shared evaluation's place: per ramp step (-1 first), the arms, then the control for DEFAULT, DISABLED and a kill. */
function slotOf(plan: AllocationPlan, step: number, arm: number): number {
  return (step + 1) * (plan.variants.length + 3) + arm;
}

function wrongKind(code: string | undefined): boolean {
  return code === ErrorCode.TYPE_MISMATCH || code === ErrorCode.PARSE_ERROR;
}

function isTypeMismatch(error: unknown): boolean {
  return wrongKind((error as { code?: string } | null)?.code);
}
