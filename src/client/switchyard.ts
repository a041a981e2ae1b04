/**
 * The public facade: the public API, and the one place where every fault of an evaluation becomes a control answer with a code.
 *
 * It builds the evaluation context, calls the engine and turns every failure into a
 * control answer: this file holds the one try/catch of the evaluation path. getVariant is async for the API's sake, but the work inside is
 * synchronous while the vendor is; the whole call is wrapped in one promise.
 */
import { OpenFeature, type Client, type EvaluationContext, type Provider } from '@openfeature/server-sdk';
import { resolve as resolvePath } from 'node:path';
import { loadConfigFile, validateConfigObject, scrubSecrets, type ValidatedConfig } from '../config/index.js';
import { SwitchyardError, type SwitchyardCode } from '../errors.js';
import { MetricRecorder } from '../guardrails/index.js';
import { systemClock, silentLogger, type Clock, type Logger } from '../ports.js';
import { ExposureDedupe, type EventPipeline, type PipelineCounters, type Sink } from '../exposure/index.js';
import { AllocationProvider } from './allocation-provider.js';
import { ConfigReloader } from './config-reloader.js';
import { SafeEmitter } from './emitter.js';
import { Engine, type Evaluation, type EngineCounters } from './engine.js';
import { ExposureRecorder } from './exposure-recorder.js';
import { HookRunner } from './hook-runner.js';
import { pipelineFromConfig } from './pipelines.js';
import { providerFromConfig } from './providers.js';
import { sinksFromConfig } from './sinks.js';
import type { GetVariantOptions, SwitchyardEvents, SwitchyardOptions, VariantResult } from './types.js';

let instances = 0;

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
  private readonly reloader: ConfigReloader;
  private closed = false;
  private readonly pipeline: EventPipeline | undefined;
  private readonly exposures: ExposureRecorder;
  private readonly hooks: HookRunner;

  /** @internal use createSwitchyard */
  constructor(
    config: ValidatedConfig,
    provider: Provider,
    private readonly options: SwitchyardOptions,
    private readonly file: string | undefined,
    sinks: Sink[] = [],
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.events = new SafeEmitter(this.logger);
    this.engine = new Engine(provider, this.clock, config.featureFlags.evaluationTimeoutMs, (flag, code, message) =>
      this.report(flag, code, message),
    );
    this.engine.applyConfig(config);
    this.reloader = new ConfigReloader(config, this.engine, this.events, this.logger, this.clock);
    const dedupe = new ExposureDedupe(config.exposures.dedupeCapacity, config.exposures.dedupeWindowMs);
    this.pipeline = pipelineFromConfig(config, {
      provider,
      providerGiven: options.provider !== undefined,
      sinks,
      clock: this.clock,
      logger: this.logger,
      dedupe,
    });
    this.exposures = new ExposureRecorder(this.pipeline, dedupe, this.clock, this.events);
    this.allocationProvider = new AllocationProvider(this.engine, [
      this.exposures.hook((flag) => this.engine.planForFlag(flag)),
    ]);
    this.domain = `switchyard-${++instances}`;
    this.openfeature = OpenFeature.getClient(this.domain);
    this.hooks = new HookRunner(
      this.engine,
      this.openfeature,
      this.allocationProvider.metadata,
      this.logger,
      (ev, ctx) => this.finish(ev, ctx),
    );
  }

  /** @internal */
  async start(): Promise<void> {
    this.pipeline?.start();
    const timeoutMs = this.config.featureFlags.initTimeoutMs;
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
    if (this.file && this.options.watch !== false)
      this.reloader.watch(this.file, { intervalMs: this.options.watchIntervalMs, env: this.options.env });
  }

  /** The config in force. */
  get config(): ValidatedConfig {
    return this.reloader.config;
  }

  /**
   * The unit's variant of a flag. Never throws, never rejects: on any fault (unknown flag,
   * missing targetingKey, provider not ready, throwing or hanging) it resolves to the
   * control (experiment flags) or an undefined value, with reason ERROR and a code.
   */
  getVariant(flag: string, ctx: EvaluationContext, options?: GetVariantOptions): Promise<VariantResult> {
    try {
      const context = ctx ?? {};
      if (this.hooks.hasHooks(options)) return this.hooks.getVariant(flag, context, options!);
      const ev = this.engine.evaluate(flag, context);
      if (ev instanceof Promise)
        return ev.then(
          (evaluation) => this.finish(evaluation, context),
          (error: unknown) => this.crash(flag, error),
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
    this.requireExperiment(experiment, 'kill');
    this.engine.kill(experiment, reason);
    this.events.emit('kill', { experiment, killed: true, reason });
  }

  unkill(experiment: string): void {
    this.requireExperiment(experiment, 'unkill');
    this.engine.unkill(experiment);
    this.events.emit('kill', { experiment, killed: false, reason: 'unkill' });
  }

  /** Freezes a gradual ramp at its current step (or releases it with `false`). */
  pause(experiment: string, paused = true): void {
    this.requireExperiment(experiment, 'pause');
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
      config: { ...this.reloader.counters },
      exposures: { deduplicated: this.exposures.deduplicated + (pipeline?.deduplicated ?? 0), pipeline },
    };
  }

  /** Moves queued events into the journal and wakes the sinks (close() does this too). */
  flush(): void {
    this.pipeline?.flush();
  }

  /** Checks the config file now instead of waiting for the watcher's next poll. */
  reload(): void {
    this.reloader.poll();
  }

  /** Stops watching, closes the provider. Evaluations after close answer PROVIDER_NOT_READY. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reloader.stop();
    if (this.pipeline) {
      const report = await this.pipeline.close(this.config.exposures.closeTimeoutMs);
      const pending = Object.entries(report.sinks).filter(([, c]) => c.pending > 0);
      if (pending.length > 0) {
        this.logger.warn(
          `close: events still pending after ${this.config.exposures.closeTimeoutMs} ms stay in the journal for the next start`,
          { pending: Object.fromEntries(pending.map(([k, c]) => [k, c.pending])) },
        );
      }
    }
    try {
      await this.allocationProvider.onClose();
    } catch (error) {
      this.logger.warn('the provider failed to close', { error: String(error) });
    }
  }

  /** Throws SY_INVALID_ARGUMENT, naming the public method `where`, for an experiment the config does not have. */
  private requireExperiment(experiment: string, where: string): void {
    if (!this.config.experiments.has(experiment)) {
      throw new SwitchyardError('SY_INVALID_ARGUMENT', where, `no experiment "${experiment}" in the config`);
    }
  }

  private finish(ev: Evaluation, ctx: EvaluationContext): VariantResult {
    const plan = ev.plan;
    this.exposures.logEvaluation(ev, ctx);
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
    const scrubbed = scrubSecrets(message, this.config.secrets);
    this.logger.warn(scrubbed, { flag, code });
    this.events.emit('error', { flag, code, message: scrubbed });
  }
}
