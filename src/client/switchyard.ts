/**
 * The public facade. It builds the evaluation context, calls the engine and turns every
 * failure into a control answer with a code: this file holds the one try/catch of the
 * evaluation path. getVariant is async for the API's sake, but the work inside is
 * synchronous while the vendor is; the whole call is wrapped in one promise.
 */
import {
  OpenFeature,
  StandardResolutionReasons,
  type Client,
  type EvaluationContext,
  type EvaluationDetails,
  type Hook,
  type HookContext,
  type Provider,
} from '@openfeature/server-sdk';
import { resolve as resolvePath } from 'node:path';
import {
  loadConfigFile,
  validateConfigObject,
  reshuffleProblems,
  scrubSecrets,
  ConfigWatcher,
  type ValidatedConfig,
} from '../config/index.js';
import { SwitchyardError, type SwitchyardCode } from '../errors.js';
import { MetricRecorder } from '../guardrails/index.js';
import { systemClock, silentLogger, type Clock, type Logger } from '../ports.js';
import { AllocationProvider, flagMetadataOf } from './allocation-provider.js';
import { SafeEmitter } from './emitter.js';
import { Engine, type Evaluation, type EngineCounters } from './engine.js';
import { providerFromConfig } from './providers.js';
import { sinksFromConfig } from './sinks.js';
import {
  EventPipeline,
  ExposureDedupe,
  type ExposureDescriptor,
  type PipelineCounters,
  type Sink,
} from '../exposure/index.js';
import { fingerprint64, murmur3 } from '../allocation/index.js';
import type { GetVariantOptions, SwitchyardEvents, SwitchyardOptions, VariantResult } from './types.js';

let instances = 0;

interface ExposureSeeds {
  readonly hi: number;
  readonly lo: number;
  readonly descriptor: ExposureDescriptor;
}

/** The tracked event that run() records: value = handler latency in ms. */
export const RUN_EVENT = 'switchyard.run';

/** Handlers for `run`, one per variant key; `default` runs for a variant with no handler. */
export type VariantHandlers<T> = Record<string, (result: VariantResult) => T | Promise<T>>;

/**
 * Creates a switchyard instance: validates the config (throws ConfigError on a bad one),
 * builds or takes the provider, registers the allocation provider under its own
 * OpenFeature domain and waits for readiness up to `feature_flags.init_timeout_ms`.
 * A provider that fails or hangs does not make this hang: evaluations then answer the
 * control with PROVIDER_NOT_READY until it is ready.
 *
 * @example
 * const sy = await createSwitchyard({ config: 'switchyard.yaml' });
 * const v = await sy.getVariant('checkout-redesign', { targetingKey: user.id });
 */
export async function createSwitchyard(options: SwitchyardOptions): Promise<Switchyard> {
  if (!options || options.config === undefined) {
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'createSwitchyard',
      'options.config is required: a path to switchyard.yaml or a config object',
    );
  }
  const file = typeof options.config === 'string' ? resolvePath(options.config) : undefined;
  const config = file
    ? loadConfigFile(file, { env: options.env })
    : validateConfigObject(options.config, { env: options.env });
  const provider = options.provider ?? (await providerFromConfig(config));
  const clock = options.clock ?? systemClock;
  const sinks = config.exposures.enabled ? [...(await sinksFromConfig(config, clock)), ...(options.sinks ?? [])] : [];
  const sy = new Switchyard(config, provider, options, file, sinks);
  await sy.start();
  return sy;
}

export class Switchyard {
  /** The OpenFeature domain this instance registered its provider under. */
  readonly domain: string;
  /** An OpenFeature client of this instance's domain: same variants as getVariant. */
  readonly openfeature: Client;
  readonly metrics = new MetricRecorder();
  private readonly engine: Engine;
  private readonly allocationProvider: AllocationProvider;
  private readonly events: SafeEmitter<SwitchyardEvents>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly reported = new Set<string>();
  private watcher: ConfigWatcher | undefined;
  private current: ValidatedConfig;
  private closed = false;
  private readonly configCounters = { applied: 0, rejected: 0 };
  private readonly dedupe: ExposureDedupe;
  private readonly pipeline: EventPipeline | undefined;
  private deduplicated = 0;
  /** Per plan object (replaced on reload, so entries go with it), per variant index. */
  private readonly seedCache = new WeakMap<NonNullable<Evaluation['plan']>, ExposureSeeds[]>();
  /** The entry used last: most calls in a row are for the same experiment. */
  private lastPlan: NonNullable<Evaluation['plan']> | undefined;
  private lastSeeds: ExposureSeeds[] = [];
  /** The last exposure key's fingerprint (hi, lo), written by fingerprint64. */
  private readonly key = new Int32Array(2);

  /** @internal use createSwitchyard */
  constructor(
    config: ValidatedConfig,
    provider: Provider,
    private readonly options: SwitchyardOptions,
    private readonly file: string | undefined,
    sinks: Sink[] = [],
  ) {
    this.current = config;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.events = new SafeEmitter(this.logger);
    this.engine = new Engine(provider, this.clock, config.featureFlags.evaluationTimeoutMs);
    this.engine.applyConfig(config);
    this.engine.onProblem = (flag, code, message) => this.report(flag, code, message);
    this.allocationProvider = new AllocationProvider(this.engine, [this.exposureHook()]);
    this.domain = `switchyard-${++instances}`;
    this.openfeature = OpenFeature.getClient(this.domain);
    const ex = config.exposures;
    this.dedupe = new ExposureDedupe(ex.dedupeCapacity, ex.dedupeWindowMs);
    if (ex.enabled) {
      this.pipeline = new EventPipeline({
        dir: ex.dir,
        sinks,
        clock: this.clock,
        logger: this.logger,
        provider:
          config.featureFlags.provider === 'openfeature' || options.provider
            ? provider.metadata.name
            : config.featureFlags.provider,
        batchSize: ex.batchSize,
        flushIntervalMs: ex.flushIntervalMs,
        queueCapacity: ex.queueCapacity,
        hashUnitsKey: ex.hashUnitsKey,
        dedupe: this.dedupe,
        attributes: ex.attributes,
        service: ex.service,
        instance: ex.instance,
      });
    }
  }

  /** @internal */
  async start(): Promise<void> {
    this.pipeline?.start();
    const timeoutMs = this.current.featureFlags.initTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref?.();
    });
    const ready = OpenFeature.setProviderAndWait(this.domain, this.allocationProvider).then(
      () => 'ready' as const,
      (error: unknown) => error,
    );
    const outcome = await Promise.race([ready, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.report(
        '*',
        'SY_PROVIDER_NOT_READY',
        `the provider was not ready after ${timeoutMs} ms; evaluations answer the control until it is`,
      );
    } else if (outcome !== 'ready') {
      this.report(
        '*',
        'SY_PROVIDER_NOT_READY',
        `the provider failed to initialise: ${(outcome as Error)?.message ?? String(outcome)}`,
      );
    }
    if (this.file && this.options.watch !== false) {
      this.watcher = new ConfigWatcher(this.file, {
        intervalMs: this.options.watchIntervalMs,
        env: this.options.env,
        check: (next) => reshuffleProblems(this.current, next, this.clock.now()),
        onApply: (next) => this.apply(next, this.file!),
        onReject: (error) => this.rejectConfig(error, this.file!),
      });
      this.watcher.start();
    }
  }

  /** The config in force. */
  get config(): ValidatedConfig {
    return this.current;
  }

  /**
   * The unit's variant of a flag. Never throws, never rejects: on any fault (unknown flag,
   * missing targetingKey, provider not ready, throwing or hanging) it resolves to the
   * control (experiment flags) or an undefined value, with reason ERROR and a code.
   */
  getVariant(flag: string, ctx: EvaluationContext, options?: GetVariantOptions): Promise<VariantResult> {
    try {
      const context = ctx ?? {};
      if (this.hasHooks(options)) return this.getVariantWithHooks(flag, context, options!);
      const ev = this.engine.evaluate(flag, context);
      if (ev instanceof Promise)
        return ev.then(
          (e) => this.finish(e, context),
          (e: unknown) => this.crash(flag, e),
        );
      return Promise.resolve(this.finish(ev, context));
    } catch (error) {
      return Promise.resolve(this.crash(flag, error));
    }
  }

  /**
   * Records an outcome event for a unit (e.g. a purchase with a value). Bad input is
   * reported (an `error` event and a counter) and ignored; it never throws.
   * @returns whether the event was accepted
   */
  track(event: string, ctx: EvaluationContext, properties: Record<string, unknown> = {}): boolean {
    const unit = ctx?.targetingKey;
    let problem: string | undefined;
    if (typeof event !== 'string' || event.length === 0) problem = 'the event name must be a non-empty string';
    else if (typeof unit !== 'string' || unit.length === 0)
      problem = 'the context has no targetingKey, so the event has no unit';
    else if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
      problem = 'properties must be a plain object';
    else if (
      properties.value !== undefined &&
      (typeof properties.value !== 'number' || !Number.isFinite(properties.value))
    ) {
      problem = `properties.value must be a finite number, found ${JSON.stringify(properties.value)}`;
    }
    const ts = this.clock.now();
    if (problem === undefined && this.pipeline) {
      problem = this.pipeline.recordTrack(
        unit as string,
        event,
        properties.value as number | undefined,
        properties,
        ts,
      );
    } else if (problem !== undefined) this.pipeline?.reject();
    if (problem !== undefined) {
      this.report(`track:${String(event)}`, 'SY_INVALID_ARGUMENT', `track("${String(event)}") rejected: ${problem}`);
      this.engine.countProblem('SY_INVALID_ARGUMENT');
      return false;
    }
    this.events.emit('track', {
      event,
      unit: unit as string,
      value: properties.value as number | undefined,
      properties,
      ts,
    });
    return true;
  }

  /**
   * Runs the handler of the unit's variant (`default`, then the control's, when the
   * variant has none), and records its latency and whether it threw, per variant, for
   * guardrails. The handler's own result or error is passed through.
   */
  async run<T>(flag: string, ctx: EvaluationContext, handlers: VariantHandlers<T>): Promise<T> {
    const result = await this.getVariant(flag, ctx);
    const handler =
      (result.variant !== undefined ? handlers[result.variant] : undefined) ??
      handlers.default ??
      (result.experiment ? handlers[this.engine.planForFlag(flag)?.control ?? ''] : undefined);
    if (typeof handler !== 'function') {
      throw new SwitchyardError(
        'SY_INVALID_ARGUMENT',
        'run',
        `no handler for variant "${result.variant}" of flag "${flag}" and no default handler`,
      );
    }
    const started = performance.now();
    let failed = false;
    try {
      return await handler(result);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      const latencyMs = performance.now() - started;
      const unit = ctx?.targetingKey;
      if (result.experiment !== undefined && result.variant !== undefined) {
        this.metrics.record(result.experiment, result.variant, 'latency_ms', latencyMs);
        this.metrics.record(result.experiment, result.variant, 'error', failed ? 1 : 0);
        if (typeof unit === 'string' && unit.length > 0) {
          this.pipeline?.recordTrack(
            unit,
            RUN_EVENT,
            latencyMs,
            { flag, experiment: result.experiment, variant: result.variant, error: failed },
            this.clock.now(),
          );
        }
      }
      this.events.emit('run', {
        flag,
        experiment: result.experiment,
        variant: result.variant,
        unit: String(ctx?.targetingKey ?? ''),
        latencyMs,
        error: failed,
        ts: this.clock.now(),
      });
    }
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof SwitchyardEvents>(event: K, listener: (payload: SwitchyardEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Sends every unit of the experiment to the control at once, in this process. */
  kill(experiment: string, reason = 'manual'): void {
    this.requireExperiment(experiment);
    this.engine.kill(experiment, reason);
    this.events.emit('kill', { experiment, killed: true, reason });
  }

  unkill(experiment: string): void {
    this.requireExperiment(experiment);
    this.engine.unkill(experiment);
    this.events.emit('kill', { experiment, killed: false, reason: 'unkill' });
  }

  /** Freezes a gradual ramp at its current step (or releases it with `false`). */
  pause(experiment: string, paused = true): void {
    this.requireExperiment(experiment);
    this.engine.hold(experiment, paused ? { pausedAt: this.clock.now() } : undefined);
  }

  /** Evaluation, config and event-pipeline counters. */
  counters(): {
    engine: EngineCounters;
    config: { applied: number; rejected: number };
    exposures: { deduplicated: number; pipeline: PipelineCounters | undefined };
  } {
    const pipeline = this.pipeline?.counters();
    return {
      engine: structuredClone(this.engine.counters),
      config: { ...this.configCounters },
      exposures: { deduplicated: this.deduplicated + (pipeline?.deduplicated ?? 0), pipeline },
    };
  }

  /** Moves queued events into the journal and wakes the sinks (close() does this too). */
  flush(): void {
    this.pipeline?.flush();
  }

  /** Checks the config file now instead of waiting for the watcher's next poll. */
  reload(): void {
    this.watcher?.poll();
  }

  /** Stops watching, closes the provider. Evaluations after close answer PROVIDER_NOT_READY. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.stop();
    if (this.pipeline) {
      const report = await this.pipeline.close(this.current.exposures.closeTimeoutMs);
      const pending = Object.entries(report.sinks).filter(([, c]) => c.pending > 0);
      if (pending.length > 0) {
        this.logger.warn(
          `close: events still pending after ${this.current.exposures.closeTimeoutMs} ms stay in the journal for the next start`,
          { pending: Object.fromEntries(pending.map(([k, c]) => [k, c.pending])) },
        );
      }
    }
    try {
      await this.allocationProvider.onClose();
    } catch (error) {
      this.logger.warn('the provider failed to close', { error: scrubSecrets(String(error), this.current.secrets) });
    }
  }

  private requireExperiment(experiment: string): void {
    if (!this.current.experiments.has(experiment)) {
      throw new SwitchyardError('SY_INVALID_ARGUMENT', 'kill', `no experiment "${experiment}" in the config`);
    }
  }

  private apply(next: ValidatedConfig, source: string): void {
    this.engine.applyConfig(next);
    this.current = next;
    this.configCounters.applied++;
    this.logger.info('config applied', { source, experiments: [...next.experiments.keys()] });
    this.events.emit('config', { type: 'applied', source, experiments: [...next.experiments.keys()] });
  }

  private rejectConfig(error: Error, source: string): void {
    this.configCounters.rejected++;
    this.logger.error('config change rejected; the last good config stays in force', { source, error: error.message });
    this.events.emit('config', { type: 'rejected', source, error });
  }

  private finish(ev: Evaluation, ctx: EvaluationContext): VariantResult {
    const plan = ev.plan;
    if (ev.inExperiment && plan) {
      // Nothing consumes exposures when logging is off and nobody listens: skip the rule.
      const listening = this.events.has('exposure');
      if (this.pipeline || listening)
        this.logExposure(plan, ev.variantIndex, ctx, ev.rampStep, ev.trafficPercent, ev.reason, ev.at, listening);
    }
    return {
      flag: ev.flag,
      variant: ev.variant,
      value: ev.value,
      payload: ev.payload,
      reason: ev.reason,
      inExperiment: ev.inExperiment,
      experiment: plan?.experiment,
      allocationVersion: plan?.version,
      allocationMode: plan?.mode,
      rampStep: ev.rampStep,
      trafficPercent: ev.trafficPercent,
      ...(ev.errorCode ? { errorCode: ev.errorCode, problem: ev.problem, errorMessage: ev.errorMessage } : {}),
    };
  }

  /**
   * The OpenFeature hook form of exposure logging, attached as a provider hook of this
   * instance's domain: evaluations through `sy.openfeature` (or any client of the domain)
   * log exposures exactly as getVariant does, deduplicated together with it.
   */
  private exposureHook(): Hook {
    return {
      after: (hookContext, details) => {
        const meta = details.flagMetadata;
        if (meta?.inExperiment !== true || details.variant === undefined) return;
        const plan = this.engine.planForFlag(hookContext.flagKey);
        const index = plan ? plan.variants.indexOf(details.variant) : -1;
        if (!plan || plan.version !== meta.allocationVersion || index < 0) return;
        this.logExposure(
          plan,
          index,
          hookContext.context,
          Number(meta.rampStep),
          Number(meta.trafficPercent),
          details.reason ?? 'SPLIT',
          NaN,
          this.events.has('exposure'),
        );
      },
    };
  }

  /**
   * The exposure rule: a unit in the experiment, first time for this (unit, experiment,
   * variant, allocation version). Fallbacks and kill-switch answers never get here.
   */
  private logExposure(
    plan: NonNullable<Evaluation['plan']>,
    index: number,
    ctx: EvaluationContext,
    step: number,
    percent: number,
    reason: string,
    at: number,
    listening: boolean,
  ): void {
    const unit = ctx.targetingKey as string;
    const seeds = this.exposureSeeds(plan, index);
    // The exposure happened when the allocation was made: its clock reading, if it took one.
    const ts = Number.isNaN(at) ? this.clock.now() : at;
    const dedupe = this.dedupe;
    const key = this.key;
    fingerprint64(unit, seeds.hi, seeds.lo, key);
    const pipeline = this.pipeline;
    if (!listening && pipeline !== undefined && !dedupe.timed) {
      // Only the pipeline needs to know: a repeat seen recently stops here, anything else
      // is queued and the pipeline puts it through the rule at flush, off this path.
      if (dedupe.seenRecently(key[0]!, key[1]!)) this.deduplicated++;
      else
        pipeline.recordExposure(
          seeds.descriptor,
          unit,
          ts,
          step,
          percent,
          reason,
          pipeline.pickAttributes(ctx),
          key[0]!,
          key[1]!,
        );
      return;
    }
    if (!dedupe.admit(key[0]!, key[1]!, ts)) {
      this.deduplicated++;
      return;
    }
    if (pipeline)
      pipeline.recordExposure(seeds.descriptor, unit, ts, step, percent, reason, pipeline.pickAttributes(ctx));
    if (listening) {
      this.events.emit('exposure', {
        unit,
        experiment: plan.experiment,
        flag: plan.flag,
        variant: seeds.descriptor.variant,
        allocationMode: plan.mode,
        allocationVersion: plan.version,
        rampStep: step,
        trafficPercent: percent,
        reason,
        ts,
        context: ctx,
      });
    }
  }

  /**
   * Per (allocation, variant): the exposure descriptor shared by its events, and two
   * hash seeds, so the dedupe fingerprint of (unit, experiment, variant, allocation
   * version) is one pass over the unit id and nothing else. Built once per plan, for all
   * its variants, and found by the variant's index.
   */
  private exposureSeeds(plan: NonNullable<Evaluation['plan']>, index: number): ExposureSeeds {
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

  private crash(flag: string, error: unknown): VariantResult {
    const ev = this.engine.fail(
      flag,
      this.engine.planForFlag(flag),
      'SY_PROVIDER_ERROR',
      `evaluation failed: ${(error as Error)?.message ?? String(error)}`,
    );
    return this.finish(ev, {});
  }

  private report(flag: string, code: SwitchyardCode, message: string): void {
    const key = `${flag}\u0000${code}`;
    if (this.reported.has(key)) return;
    if (this.reported.size > 10_000) this.reported.clear();
    this.reported.add(key);
    const scrubbed = scrubSecrets(message, this.current.secrets);
    this.logger.warn(scrubbed, { flag, code });
    this.events.emit('error', { flag, code, message: scrubbed });
  }

  private hasHooks(options: GetVariantOptions | undefined): boolean {
    return (
      OpenFeature.getHooks().length > 0 ||
      this.openfeature.getHooks().length > 0 ||
      (options?.hooks?.length ?? 0) > 0 ||
      (this.engine.vendor.hooks?.length ?? 0) > 0
    );
  }

  /**
   * The slow path, taken only when hooks are registered: the same before / after / error /
   * finally order and hook-context semantics as OpenFeature's client (requirement 4.x),
   * over a string evaluation whose value is the variant key.
   */
  private async getVariantWithHooks(
    flag: string,
    ctx: EvaluationContext,
    options: GetVariantOptions,
  ): Promise<VariantResult> {
    const hooks = [
      ...OpenFeature.getHooks(),
      ...this.openfeature.getHooks(),
      ...(options.hooks ?? []),
      ...(this.engine.vendor.hooks ?? []),
    ] as Hook[];
    const reversed = [...hooks].reverse();
    const plan = this.engine.planForFlag(flag);
    const defaultValue = plan?.control ?? '';
    const merged: EvaluationContext = { ...ctx };
    const hookContexts = new Map<Hook, HookContext>();
    for (const hook of hooks) {
      hookContexts.set(
        hook,
        Object.freeze({
          flagKey: flag,
          defaultValue,
          flagValueType: 'string',
          clientMetadata: this.openfeature.metadata,
          providerMetadata: this.allocationProvider.metadata,
          context: merged,
          logger: console,
          hookData: new Map() as never,
        }) as HookContext,
      );
    }
    const hints = Object.freeze({ ...(options.hookHints ?? {}) });
    let result: VariantResult;
    let details: EvaluationDetails<string>;
    try {
      for (const hook of hooks) {
        const extra = await hook.before?.(hookContexts.get(hook)!, hints);
        if (extra) Object.assign(merged, extra);
      }
      const ev = await this.engine.evaluate(flag, Object.freeze({ ...merged }));
      result = this.finish(ev, merged);
      details = {
        flagKey: flag,
        value: (ev.variant ?? defaultValue) as string,
        variant: ev.variant,
        reason: ev.reason,
        flagMetadata: Object.freeze(flagMetadataOf(ev)),
        ...(ev.errorCode ? { errorCode: ev.errorCode, errorMessage: ev.errorMessage } : {}),
      };
      if (ev.errorCode) {
        await this.runErrorHooks(
          reversed,
          hookContexts,
          new SwitchyardError(ev.problem ?? 'SY_PROVIDER_ERROR', 'getVariant', ev.errorMessage ?? ''),
          hints,
        );
      } else {
        for (const hook of reversed) await hook.after?.(hookContexts.get(hook)!, details, hints);
      }
    } catch (error) {
      await this.runErrorHooks(reversed, hookContexts, error, hints);
      const ev = this.engine.fail(
        flag,
        plan,
        'SY_PROVIDER_ERROR',
        `a hook failed: ${(error as Error)?.message ?? String(error)}`,
      );
      result = this.finish(ev, merged);
      details = {
        flagKey: flag,
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ev.errorCode,
        errorMessage: ev.errorMessage,
        flagMetadata: {},
      };
    }
    for (const hook of reversed) {
      try {
        await hook.finally?.(hookContexts.get(hook)!, details, hints);
      } catch (error) {
        this.logger.error('a finally hook threw; ignored', { error: String(error) });
      }
    }
    return result;
  }

  private async runErrorHooks(
    hooks: readonly Hook[],
    contexts: Map<Hook, HookContext>,
    error: unknown,
    hints: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook.error?.(contexts.get(hook)!, error, hints);
      } catch (e) {
        this.logger.error('an error hook threw; ignored', { error: String(e) });
      }
    }
  }
}
