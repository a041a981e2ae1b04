/**
 * The exposure rule on the caller's path: a unit in an experiment, first time for its (unit, experiment, variant, allocation version), goes to the pipeline and the `exposure` listeners.
 *
 * Fallbacks and kill-switch answers never get here. The dedupe key is the unit's
 * allocation hash and a second hash made in the same pass over the unit id (made a moment
 * ago to pick its arm: see unitHashes; in `provider` mode, where the vendor allocated, both
 * in one pass here), with seeds made once per (allocation, variant), which also keep the
 * exposure descriptor the pipeline's events share, so a call creates no object.
 */
import type { EvaluationContext, Hook } from '@openfeature/server-sdk';
import { exposureKey, murmur3, type AllocationPlan } from '../allocation/index.js';
import type { EventPipeline, ExposureDedupe, ExposureDescriptor } from '../exposure/index.js';
import type { Clock } from '../ports.js';
import type { SafeEmitter } from './emitter.js';
import type { Evaluation } from './engine.js';
import type { SwitchyardEvents } from './types.js';

/** Where an allocation put the unit: an Evaluation is one. */
export interface ExposureAllocation {
  /** The variant's index in the plan's variants. */
  readonly variantIndex: number;
  readonly rampStep: number;
  readonly trafficPercent: number;
  readonly reason: string;
  /** The clock reading the allocation was made at; NaN when it took none (the clock is read now). */
  readonly at: number;
}

export interface ExposureSeeds {
  readonly hi: number;
  readonly lo: number;
  readonly descriptor: ExposureDescriptor;
}

export class ExposureRecorder {
  /** Exposures the rule found already logged on the caller's path (the pipeline counts those it finds at flush). */
  deduplicated = 0;
  /** Per plan object (replaced on reload, so entries go with it), per variant index. */
  private readonly seedCache = new WeakMap<AllocationPlan, ExposureSeeds[]>();
  /** The entry used last: most calls in a row are for the same experiment. */
  private lastPlan: AllocationPlan | undefined;
  private lastSeeds: ExposureSeeds[] = [];
  /** The last exposure's key (hi, lo), written by exposureKey. */
  private readonly fingerprint = new Int32Array(2);

  constructor(
    private readonly pipeline: EventPipeline | undefined,
    private readonly dedupe: ExposureDedupe,
    private readonly clock: Clock,
    private readonly events: SafeEmitter<SwitchyardEvents>,
    /** Counts a unit exposed the rule admitted on the caller's path (guardrails); undefined: nobody counts. */
    private readonly onAdmitted?: (experiment: string, variant: string) => void,
  ) {}

  /** Logs the exposure an evaluation made, if it put the unit in an experiment. */
  logEvaluation(ev: Evaluation, ctx: EvaluationContext): void {
    const plan = ev.plan;
    if (!ev.inExperiment || !plan) return;
    // Nothing consumes exposures when logging is off and nobody listens: skip the rule.
    const listening = this.listening();
    if (!this.pipeline && !listening && !this.onAdmitted) return;
    // A shared evaluation (one per plan, step and arm) keeps its seeds: no lookup per call.
    const seeds = ev.shared
      ? (ev.seeds ??= this.exposureSeeds(plan, ev.variantIndex))
      : this.exposureSeeds(plan, ev.variantIndex);
    this.logExposure(plan, seeds, ev, ctx, listening);
  }

  /** Whether anyone listens to `exposure`, asked of the emitter again only after its listeners change. */
  private listening(): boolean {
    const events = this.events;
    if (events.changes !== this.listenersSeen) {
      this.listenersSeen = events.changes;
      this.hasListeners = events.has('exposure');
    }
    return this.hasListeners;
  }

  private listenersSeen = -1;
  private hasListeners = false;

  /**
   * The OpenFeature hook form of exposure logging, attached as a provider hook of the
   * instance's domain: evaluations through `sy.openfeature` (or any client of the domain)
   * log exposures exactly as getVariant does, deduplicated together with it. A `finally`
   * hook, so it sees the answer the caller got: a provider hook's `after` runs before the
   * client's and the API's, and one of those that throws turns the answer into the
   * caller's default, which is no exposure.
   */
  hook(planForFlag: (flag: string) => AllocationPlan | undefined): Hook {
    return {
      finally: (hookContext, details) => {
        const meta = details.flagMetadata;
        if (details.errorCode !== undefined || meta?.inExperiment !== true || details.variant === undefined) return;
        const plan = planForFlag(hookContext.flagKey);
        const index = plan ? plan.variants.indexOf(details.variant) : -1;
        if (!plan || plan.version !== meta.allocationVersion || index < 0) return;
        const allocation: ExposureAllocation = {
          variantIndex: index,
          rampStep: Number(meta.rampStep),
          trafficPercent: Number(meta.trafficPercent),
          reason: details.reason ?? 'SPLIT',
          at: NaN,
        };
        this.logExposure(plan, this.exposureSeeds(plan, index), allocation, hookContext.context, this.listening());
      },
    };
  }

  /**
   * Logs the exposure `allocation` made under `plan` (`seeds`: those of its plan and arm)
   * unless the rule has seen it; `listening`: emit it as an event too. getVariant passes its Evaluation as the
   * allocation, so the record costs no object (within noise of the eight positional
   * parameters it replaced: 0.99-1.04x of the logging-on path, paired in one process).
   */
  private logExposure(
    plan: AllocationPlan,
    seeds: ExposureSeeds,
    allocation: ExposureAllocation,
    ctx: EvaluationContext,
    listening: boolean,
  ): void {
    const unit = ctx.targetingKey as string;
    const dedupe = this.dedupe;
    const fingerprint = this.fingerprint;
    exposureKey(plan.prefix, unit, seeds.hi, seeds.lo, fingerprint);
    const pipeline = this.pipeline;
    if (!listening && pipeline !== undefined && !dedupe.timed) {
      // Only the pipeline needs to know: a repeat the rule holds stops here after one probe,
      // anything else is queued and the pipeline admits it at flush.
      if (dedupe.has(fingerprint[0]!, fingerprint[1]!)) this.deduplicated++;
      else
        pipeline.recordExposure(
          seeds.descriptor,
          unit,
          this.timeOf(allocation),
          allocation.rampStep,
          allocation.trafficPercent,
          allocation.reason,
          pipeline.pickAttributes(ctx),
          fingerprint[0]!,
          fingerprint[1]!,
        );
      return;
    }
    // Only a rule with a time window reads the time to admit; a repeat then costs no clock read.
    const timed = dedupe.timed;
    let ts = timed ? this.timeOf(allocation) : NaN;
    // Read before the rule admits the exposure: a context whose getter throws fails the
    // evaluation, and an exposure admitted but never logged would make the unit's next
    // (good) call a duplicate, lost to the analysis.
    const attributes = pipeline?.pickAttributes(ctx);
    if (!dedupe.admit(fingerprint[0]!, fingerprint[1]!, ts)) {
      this.deduplicated++;
      return;
    }
    if (!timed) ts = this.timeOf(allocation);
    this.onAdmitted?.(plan.experiment, seeds.descriptor.variant);
    if (pipeline)
      pipeline.recordExposure(
        seeds.descriptor,
        unit,
        ts,
        allocation.rampStep,
        allocation.trafficPercent,
        allocation.reason,
        attributes,
      );
    if (listening) {
      this.events.emit('exposure', {
        unit,
        experiment: plan.experiment,
        flag: plan.flag,
        variant: seeds.descriptor.variant,
        allocationMode: plan.mode,
        allocationVersion: plan.version,
        rampStep: allocation.rampStep,
        trafficPercent: allocation.trafficPercent,
        reason: allocation.reason,
        ts,
        context: ctx,
      });
    }
  }

  /** The exposure happened when the allocation was made: its clock reading, if it took one, else now. */
  private timeOf(allocation: ExposureAllocation): number {
    const at = allocation.at;
    return Number.isNaN(at) ? this.clock.now() : at;
  }

  /**
   * Per (allocation, variant): the exposure descriptor shared by its events, and two
   * hash seeds, so the dedupe key of (unit, experiment, variant, allocation version) is
   * the unit's allocation hash and one pass over the unit id, nothing else. Built once per plan, for all
   * its variants, and found by the variant's index.
   */
  private exposureSeeds(plan: AllocationPlan, index: number): ExposureSeeds {
    if (this.lastPlan !== plan) {
      let byIndex = this.seedCache.get(plan);
      if (byIndex === undefined) {
        byIndex = plan.variants.map((variant) => {
          const key = plan.id + '\u0000' + variant;
          return {
            hi: murmur3(key, 0x5eed0001) | 0,
            lo: murmur3(key, 0x5eed0002) | 0,
            descriptor: {
              experiment: plan.experiment,
              flag: plan.flag,
              variant,
              mode: plan.mode,
              version: plan.version,
            },
          };
        });
        this.seedCache.set(plan, byIndex);
      }
      this.lastPlan = plan;
      this.lastSeeds = byIndex;
    }
    return this.lastSeeds[index]!;
  }
}
