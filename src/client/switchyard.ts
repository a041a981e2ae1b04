/**
 * The public facade: the public API, and the one place where every fault of an evaluation becomes a control answer with a code.
 *
 * It builds the evaluation context, calls the engine and turns every failure into a
 * control answer: this file holds the one try/catch of the evaluation path. getVariant is async for the API's sake, but the work inside is
 * synchronous while the vendor is; the whole call is wrapped in one promise.
 */
import {
  OpenFeature,
  ProviderEvents,
  type Client,
  type EvaluationContext,
  type Provider,
} from '@openfeature/server-sdk';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import {
  parseConfig,
  readConfigFile,
  validateConfigObject,
  scrubSecrets,
  type ValidatedConfig,
} from '../config/index.js';
import { messageOf, shown, SwitchyardError, type SwitchyardCode } from '../errors.js';
import { isRecordable, MAX_METRIC_MAGNITUDE, MetricRecorder, type ExperimentStatus } from '../guardrails/index.js';
import { safeLogger, systemClock, silentLogger, type Clock, type Logger } from '../ports.js';
import {
  ExposureDedupe,
  reserveInThisProcess,
  MAX_EVENT_NAME_LENGTH,
  MAX_UNIT_LENGTH,
  unitProblem,
  type EventPipeline,
  type PipelineCounters,
  type Sink,
} from '../exposure/index.js';
import { AllocationProvider, ClosedProvider } from './allocation-provider.js';
import { ConfigReloader } from './config-reloader.js';
import { SafeEmitter } from './emitter.js';
import { Engine, type Evaluation, type EngineCounters } from './engine.js';
import { ExposureRecorder } from './exposure-recorder.js';
import { GuardrailWiring } from './guardrail-wiring.js';
import { HookRunner } from './hook-runner.js';
import { KillSwitch } from './kill-switch.js';
import { pipelineFromConfig } from './pipelines.js';
import { PrometheusMetrics } from './prometheus.js';
import { providerFromConfig } from './providers.js';
import { sinksFromConfig } from './sinks.js';
import { FleetConnection, stateFilePath, type KillRecord } from '../fleet/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdaptiveAllocator } from './adaptive/adaptive-allocator.js';
import type { AdaptiveStatus, AllocationVersion } from './adaptive/adaptive-experiment.js';
import type { GetVariantOptions, KillScope, SwitchyardEvents, SwitchyardOptions, VariantResult } from './types.js';
import { flagOnBy, killAtVendor, switchAtVendor } from './vendor-kill.js';

/** Distinct flags counted per reason for the metrics; unknown flag names beyond it count as "(other)". */
const MAX_COUNTED_FLAGS = 1000;

/**
 * The longest flag name kept whole by the bounded tables a caller's names fill (the
 * once-only report set, the metrics' counts); a longer one, a request's text passed as a
 * flag name, is kept cut there (counted as "(other)"), so those tables stay small.
 */
const MAX_KEPT_FLAG_NAME = 1024;

/**
 * Instances made in this process, counted on globalThis as OpenFeature keeps its API there:
 * every copy of this module (two installed versions, an ESM and a CJS build, a test runner
 * that reloads modules) takes its domain from the one count. A count per module copy gave two
 * instances the same domain, and the later one's provider replaced the earlier one's: the
 * earlier instance answered PROVIDER_NOT_READY ever after.
 */
const INSTANCES = Symbol.for('switchyard.instances');

function nextInstance(): number {
  const shared = globalThis as { [INSTANCES]?: number };
  return (shared[INSTANCES] = (shared[INSTANCES] ?? 0) + 1);
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
  // The text is kept for the watcher: the file may change while the vendor starts.
  const source = file === undefined ? undefined : { file, text: readConfigFile(file) };
  const config = source
    ? parseConfig(source.text, source.file, { env: options.env })
    : validateConfigObject(options.config, { env: options.env });
  // Two instances of one process on one journal is a mistake to say at once: the second
  // would run on a journal in memory only (another process gets a worker slot of its own).
  // Kept from here until the journal is open: two creations at once (Promise.all) both
  // passed a check made here, and the second ran on a journal in memory only.
  const release = config.exposures.enabled ? reserveInThisProcess(config.exposures.dir) : undefined;
  try {
    const clock = options.clock ?? systemClock;
    // Before the provider: a sink refused is said before a vendor is connected to.
    const sinks = config.exposures.enabled ? await sinksFromConfig(config, clock, options.sinks) : [];
    const provider = options.provider ?? (await providerFromConfig(config));
    const sy = new Switchyard(config, provider, options, source, sinks);
    await sy.start();
    return sy;
  } finally {
    release?.();
  }
}

export class Switchyard {
  /** The OpenFeature domain this instance registered its provider under. */
  readonly domain: string;
  /** An OpenFeature client of this instance's domain: same variants as getVariant. */
  readonly openfeature: Client;
  /** Metrics per experiment and arm recorded in this process (run, observe, track). */
  readonly metrics: MetricRecorder;
  private readonly engine: Engine;
  private readonly adaptive: AdaptiveAllocator;
  private readonly allocationProvider: AllocationProvider;
  private readonly events: SafeEmitter<SwitchyardEvents>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly reported = new Set<string>();
  private readonly reloader: ConfigReloader;
  /** The one close() in progress or done: a second call waits for it rather than returning early. */
  private closing: Promise<void> | undefined;
  private readonly pipeline: EventPipeline | undefined;
  private readonly exposures: ExposureRecorder;
  private readonly hooks: HookRunner;
  private readonly guardrails: GuardrailWiring;
  private readonly killSwitch: KillSwitch;
  /** The one Redis link of this instance's fleet parts (kill store, guardrail metrics); undefined without a fleet. */
  private fleetConnection: FleetConnection | undefined;
  /** A reloaded `fleet` block being put in force (one at a time). */
  private fleetMove: Promise<void> = Promise.resolve();
  /** flag -> reason -> evaluations, for the Prometheus metrics. */
  private readonly evaluations = new Map<string, Record<string, number>>();
  private prometheusMetrics: PrometheusMetrics | undefined;

  /** @internal use createSwitchyard */
  constructor(
    config: ValidatedConfig,
    provider: Provider,
    private readonly options: SwitchyardOptions,
    /** The config file and the text `config` was read from; undefined for a config object. */
    private readonly source: { file: string; text: string } | undefined,
    sinks: Sink[] = [],
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ? safeLogger(options.logger) : silentLogger;
    this.events = new SafeEmitter(this.logger);
    this.engine = new Engine(provider, this.clock, config.featureFlags.evaluationTimeoutMs, (flag, code, message) =>
      this.report(flag, code, message),
    );
    // One recorder for the instance: guardrail series and the bandit's arm series (its own
    // series names: a conversion once per unit, units per sticky arm), merged across the
    // fleet by the guardrails' store, which the bandit reads back before re-weighting.
    // observe() and track() values wait in its buffer and are drained once a batch waits,
    // off the caller's path.
    const metrics: MetricRecorder = new MetricRecorder({
      onBacklog: () => setImmediate(() => metrics.drain()).unref(),
    });
    this.adaptive = new AdaptiveAllocator({
      recorder: metrics,
      stats: {
        read: (experiment) => this.guardrails.armData(experiment),
        peek: (experiment) => this.guardrails.armDataNow(experiment),
      },
      stateDir: config.exposures.dir,
      clock: this.clock,
      logger: this.logger,
      instance: config.exposures.instance ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      onPlan: (flag, plan) => this.engine.setPlan(flag, plan),
      ...options.adaptive,
    });
    this.engine.adaptive = this.adaptive;
    this.engine.applyConfig(config);
    this.reloader = new ConfigReloader(config, this.engine, this.events, this.logger, this.clock);
    this.fleetConnection = this.connectFleet(config);
    // Before the guardrail wiring: the kill state comes first in the one outage log.
    this.killSwitch = new KillSwitch(
      config,
      {
        kill: (experiment, reason) => this.engine.kill(experiment, reason),
        unkill: (experiment) => this.engine.unkill(experiment),
        // Called when a persisted or fleet pause arrives (load() runs after the guardrails exist).
        pause: (experiment, pausedAt) => this.guardrails.setPause(experiment, pausedAt),
      },
      this.clock,
      this.logger,
      (event) => this.events.emit('kill', event),
      (error) => this.fleetProblem(error),
      {
        pollIntervalMs: options.statePollIntervalMs,
        connectTimeoutMs: options.fleetConnectTimeoutMs,
        connection: this.fleetConnection,
      },
    );
    const dedupe = new ExposureDedupe(config.exposures.dedupeCapacity, config.exposures.dedupeWindowMs);
    const countUnits = config.monitoring.realTimeMetrics;
    this.pipeline = pipelineFromConfig(config, {
      provider,
      providerGiven: options.provider !== undefined,
      sinks,
      clock: this.clock,
      logger: this.logger,
      dedupe,
      onAdmitted: countUnits ? (d) => this.guardrails.exposure(d.experiment, d.variant) : undefined,
    });
    this.guardrails = new GuardrailWiring({
      engine: this.engine,
      pipeline: this.pipeline,
      events: this.events,
      clock: this.clock,
      logger: this.logger,
      config: () => this.config,
      kill: (experiment, reason, evidence) => void this.kill(experiment, reason, evidence, 'guardrails'),
      fleetLink: this.fleetConnection,
      metrics,
      pause: (experiment, reason) => void this.pause(experiment, true, reason, 'guardrails'),
    });
    this.metrics = this.guardrails.metrics;
    let fleetInForce = config.fleet;
    let experimentsInForce = config.experiments;
    this.events.on('config', (e) => {
      if (e.type !== 'applied') return;
      this.guardrails.configure(this.config);
      if (!sameFleet(fleetInForce, this.config.fleet)) {
        fleetInForce = this.config.fleet;
        this.moveFleet(this.config);
      }
      // OpenFeature clients of the domain hear which flags' answers may have changed (5.3).
      const flagsChanged = changedFlags(experimentsInForce, this.config.experiments);
      experimentsInForce = this.config.experiments;
      if (flagsChanged.length > 0)
        this.allocationProvider.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
    });
    // A kill or unkill (here, from the fleet or the CLI) changes every answer of the experiment's flag.
    this.events.on('kill', (e) => {
      const flag = this.config.experiments.get(e.experiment)?.flag;
      if (flag !== undefined)
        this.allocationProvider.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [flag] });
    });
    this.exposures = new ExposureRecorder(
      this.pipeline,
      dedupe,
      this.clock,
      this.events,
      countUnits ? (experiment, variant) => this.guardrails.exposure(experiment, variant) : undefined,
    );
    this.engine.keysExposures = this.pipeline !== undefined || countUnits;
    this.allocationProvider = new AllocationProvider(
      this.engine,
      [this.exposures.hook((flag) => this.engine.planForFlag(flag))],
      (event, ctx, details) => void this.track(event, ctx, details),
    );
    // Kills persisted by an earlier run (or the fleet state last seen) hold from the first call.
    this.killSwitch.load();
    this.domain = `switchyard-${nextInstance()}`;
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
    await this.guardrails.start();
    // The fleet's kill state is read before the first evaluation (bounded by the connect
    // timeout; an unreachable Redis is logged and the local state is served meanwhile).
    const fleet = this.killSwitch.start();
    await this.adaptive.start();
    const timeoutMs = this.config.featureFlags.initTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    // Not unref'd: createSwitchyard settles when the time is up even if nothing else keeps the
    // process alive (unref'd, a script awaiting a provider that never starts just exited).
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const ready = OpenFeature.setProviderAndWait(this.domain, this.allocationProvider).then(
      () => 'ready' as const,
      (error: unknown) => error,
    );
    const outcome = await Promise.race([ready, timedOut]);
    clearTimeout(timer);
    await fleet;
    if (outcome === 'timeout') {
      this.report(
        '*',
        'SY_PROVIDER_NOT_READY',
        `the provider was not ready after ${timeoutMs} ms; evaluations answer the control until it is`,
      );
    } else if (outcome !== 'ready') {
      this.report('*', 'SY_PROVIDER_NOT_READY', `the provider failed to initialise: ${messageOf(outcome)}`);
    }
    if (this.source && this.options.watch !== false)
      this.reloader.watch(this.source.file, {
        intervalMs: this.options.watchIntervalMs,
        env: this.options.env,
        text: this.source.text,
      });
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
      if (typeof flag !== 'string') return Promise.resolve(this.notAFlag(flag));
      const context = ctx ?? {};
      if (this.hooks.hasHooks(options)) return this.hooks.getVariant(flag, context, options!);
      const ev = this.engine.evaluate(flag, context);
      if (ev instanceof Promise)
        // A fault in finishing (as in evaluating) is the fallback, as on the synchronous path's catch.
        return ev
          .then((evaluation) => this.finish(evaluation, context))
          .then(undefined, (error: unknown) => this.crash(flag, error));
      const answer = this.finish(ev, context);
      // A shared answer's promise is shared too, settled: nothing a caller does with it
      // (await, then) changes it for the others, and no promise is made per call. (Not
      // frozen: async_hooks, and so AsyncLocalStorage, tag promises with their ids.)
      if (ev.shared) return (ev.settled ??= Promise.resolve(answer));
      return Promise.resolve(answer);
    } catch (error) {
      return Promise.resolve(this.crash(flag, error));
    }
  }

  /**
   * getVariant's answer without a promise, for hot callers whose provider answers
   * synchronously (the in-memory provider, Unleash, Split and Optimizely evaluate in
   * process): the same variant, exposure and metrics as getVariant, minus the promise and
   * the await. An answer that would have to wait (a provider that answers with a promise,
   * an adaptive experiment's Redis sticky lookup for a unit not seen yet, OpenFeature
   * hooks, which may be asynchronous) is not waited for: the control (or an undefined
   * value), reason ERROR, problem SY_NOT_SYNCHRONOUS, reported once per flag; no exposure
   * is logged for it. Never throws.
   */
  getVariantSync(flag: string, ctx: EvaluationContext): VariantResult {
    try {
      if (typeof flag !== 'string') return this.notAFlag(flag);
      const context = ctx ?? {};
      if (this.hooks.hasHooks(undefined))
        return this.fallback(flag, 'SY_NOT_SYNCHRONOUS', notSynchronous('OpenFeature hooks are registered'));
      const ev = this.engine.evaluate(flag, context);
      if (ev instanceof Promise) {
        // Evaluations settle to an answer (faults become fallbacks); this one is awaited by nobody.
        ev.catch(() => undefined);
        return this.fallback(
          flag,
          'SY_NOT_SYNCHRONOUS',
          notSynchronous('the answer needs to wait (the provider or the sticky store is asynchronous)'),
        );
      }
      return this.finish(ev, context);
    } catch (error) {
      return this.crash(flag, error);
    }
  }

  /**
   * Records an outcome event for a unit (e.g. a purchase with a value). Bad input is
   * reported (an `error` event and a counter) and ignored; it never throws.
   * @returns whether the event was accepted
   */
  track(event: string, ctx: EvaluationContext, properties: Record<string, unknown> = {}): boolean {
    // The caller's objects are read once, here: a getter or Proxy that throws is bad input too.
    let unit: unknown;
    let value: unknown;
    let problem: string | undefined;
    try {
      unit = ctx?.targetingKey;
      if (typeof event !== 'string' || event.length === 0) problem = 'the event name must be a non-empty string';
      else if (event.length > MAX_EVENT_NAME_LENGTH)
        problem = `the event name has ${event.length} characters, over the limit of ${MAX_EVENT_NAME_LENGTH}`;
      else if (typeof unit !== 'string' || unit.length === 0)
        problem = 'the context has no targetingKey, so the event has no unit';
      else if (unit.length > MAX_UNIT_LENGTH) problem = unitProblem(unit);
      else if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
        problem = 'properties must be a plain object';
      else {
        value = properties.value;
        if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value)))
          problem = `properties.value must be a finite number, found ${shown(value)}`;
        else if (value !== undefined && !isRecordable(value as number))
          problem = `properties.value must be between -${MAX_METRIC_MAGNITUDE} and ${MAX_METRIC_MAGNITUDE}, found ${shown(value)}`;
      }
    } catch (error) {
      problem = `reading its arguments threw: ${messageOf(error)}`;
    }
    const ts = this.clock.now();
    if (problem === undefined && this.pipeline) {
      try {
        problem = this.pipeline.recordTrack(unit as string, event, value as number | undefined, properties, ts);
      } catch (error) {
        problem = `its properties cannot be written: ${messageOf(error)}`;
      }
    } else if (problem !== undefined) this.pipeline?.reject();
    if (problem !== undefined) {
      const name = reportedName(event);
      this.report(`track:${name}`, 'SY_INVALID_ARGUMENT', `track(${shown(name)}) rejected: ${problem}`);
      this.engine.countProblem('SY_INVALID_ARGUMENT');
      return false;
    }
    if (this.adaptive.size > 0) this.adaptive.track(event, unit as string, value as number | undefined);
    this.guardrails.recordTrack(event, unit as string, value as number | undefined);
    this.events.emit('track', { event, unit: unit as string, value: value as number | undefined, properties, ts });
    return true;
  }

  /**
   * Runs the handler of the unit's variant (`default`, then the control's, when the
   * variant has none), and records its latency and whether it threw, per variant, for
   * guardrails. The handler's own result or error is passed through.
   */
  async run<T>(flag: string, ctx: EvaluationContext, handlers: VariantHandlers<T>): Promise<T> {
    if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
      throw new SwitchyardError(
        'SY_INVALID_ARGUMENT',
        'run',
        `handlers must be an object of functions by variant key, found ${shown(handlers)}`,
      );
    }
    const result = await this.getVariant(flag, ctx);
    // Own keys only: a variant named toString or valueOf found Object.prototype's method.
    const own = (key: string | undefined) =>
      key !== undefined && Object.hasOwn(handlers, key) ? handlers[key] : undefined;
    const handler =
      own(result.variant) ??
      own('default') ??
      (result.experiment ? own(this.engine.planForFlag(flag)?.control) : undefined);
    if (typeof handler !== 'function') {
      throw new SwitchyardError(
        'SY_INVALID_ARGUMENT',
        'run',
        `no handler for variant "${result.variant}" of flag "${flag}" and no default handler`,
      );
    }
    // Read once, before the handler: a context that throws when read again (a getter, a
    // Proxy) must not replace the handler's result or error with its own.
    let unit: unknown;
    try {
      unit = ctx?.targetingKey;
    } catch {
      unit = undefined;
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
      if (result.experiment !== undefined && result.variant !== undefined) {
        this.guardrails.recordRun(result.experiment, result.variant, latencyMs, failed);
        if (unitProblem(unit) === undefined) {
          this.pipeline?.recordTrack(
            unit as string,
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
        unit: typeof unit === 'string' ? unit : '',
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

  /**
   * Sends every unit of the experiment to the control: in this process at once (before
   * this returns, before any I/O), then persisted (state file; Redis with a fleet) and
   * broadcast, so other instances follow and a restart does not undo it. Exposures stop.
   * When the adapter has a control plane the vendor's flag is turned off too; `vendor`
   * says whether it was or the kill acted in switchyard only.
   * Throws SY_INVALID_ARGUMENT for an experiment the config does not have.
   * @param evidence what tripped it (a guardrail's rule, values, statistic), kept in the record
   * @param by who decided (default api; the guardrail monitor says guardrails)
   * @example sy.kill('checkout-redesign', 'p95 latency +30%', { rule: 'latency_p95' });
   */
  kill(
    experiment: string,
    reason = 'manual',
    evidence?: unknown,
    by = 'api',
  ): KillRecord & { readonly vendor: Promise<KillScope> } {
    this.requireExperiment(experiment, 'kill');
    const record = this.killSwitch.set(experiment, true, reason, by, evidence);
    const flag = this.config.experiments.get(experiment)!.flag;
    return {
      ...record,
      vendor: killAtVendor(
        this.engine.vendor,
        flag,
        this.logger,
        this.config.secrets,
        flagOnBy(() => this.killSwitch.current(experiment)),
      ),
    };
  }

  /**
   * Records a metric value for the unit's arm of an experiment (by experiment key or
   * flag), for guardrails, from code that does not go through run(): e.g.
   * `sy.observe('checkout-redesign', ctx, 'latency_ms', 182)` or `..., 'error', 1)`.
   * The arm is the unit's allocation now; units outside the experiment's traffic, killed
   * experiments and vendor-allocated (provider mode) experiments are not recorded.
   * Bad input is reported (an `error` event, once) and ignored; it never throws.
   * @returns whether the value was recorded
   */
  observe(experimentOrFlag: string, ctx: EvaluationContext, metric: string, value: number): boolean {
    // After close() nothing checks the guardrails any more: a value is not recorded (as track() after close).
    if (this.closing !== undefined) return false;
    let outcome: boolean | string;
    try {
      outcome = this.guardrails.observe(experimentOrFlag, ctx, metric, value);
    } catch (error) {
      outcome = `reading its arguments threw: ${messageOf(error)}`;
    }
    if (typeof outcome === 'string') {
      this.report(`observe:${reportedName(experimentOrFlag)}`, 'SY_INVALID_ARGUMENT', `observe() ignored: ${outcome}`);
      this.engine.countProblem('SY_INVALID_ARGUMENT');
      return false;
    }
    return outcome;
  }

  /**
   * The results of the last guardrail check, per experiment: each rule's state (healthy,
   * breached, insufficient, no-data), value and sample per arm, statistic, always-valid
   * p-value and bound; the SRM check; the ramp gate; anomalies. Shape in the README.
   */
  guardrailStatus(): Record<string, ExperimentStatus> {
    return this.guardrails.status();
  }

  /** Runs a guardrail check now instead of waiting for the interval; resolves when done, never rejects. */
  checkGuardrails(): Promise<void> {
    return this.guardrails.check();
  }

  /**
   * Undoes a kill, here at once and then for the fleet (persisted like a kill). When the
   * adapter has a control plane the vendor's flag is turned back on; `vendor` says whether
   * it was or the unkill acted in switchyard only.
   */
  unkill(experiment: string, reason = 'unkill', by = 'api'): KillRecord & { readonly vendor: Promise<KillScope> } {
    this.requireExperiment(experiment, 'unkill');
    const record = this.killSwitch.set(experiment, false, reason, by);
    const flag = this.config.experiments.get(experiment)!.flag;
    return {
      ...record,
      vendor: switchAtVendor(
        this.engine.vendor,
        flag,
        true,
        this.logger,
        this.config.secrets,
        flagOnBy(() => this.killSwitch.current(experiment)),
      ),
    };
  }

  /** The latest kill record of an experiment (kill or unkill, here or elsewhere), if any. */
  killRecord(experiment: string): KillRecord | undefined {
    return typeof experiment === 'string' ? this.killSwitch.record(experiment) : undefined;
  }

  /**
   * This instance's Prometheus metrics (prom-client) in a registry of its own; register
   * more metrics in `prometheus.registry`. Created on first use.
   */
  get prometheus(): PrometheusMetrics {
    return (this.prometheusMetrics ??= new PrometheusMetrics({
      engine: () => this.engine.counters,
      evaluations: () => this.evaluations,
      pipeline: () => this.pipeline?.counters(),
      deduplicated: () => this.exposures.deduplicated,
      kills: () => this.killSwitch.tally,
      killed: () => this.killSwitch.killed(),
      fleetConnected: () => this.killSwitch.fleetConnected(),
    }));
  }

  /**
   * A ready request handler for `/metrics` (Prometheus text format). switchyard starts no
   * server: mount it on yours.
   * @example http.createServer((req, res) => req.url === '/metrics' ? sy.metricsHandler()(req, res) : app(req, res));
   */
  metricsHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return this.prometheus.handler();
  }

  /**
   * Freezes a gradual ramp at its current step (or resumes it with `false`): here at once,
   * then persisted and broadcast like a kill, so a restart keeps it and every instance holds
   * the same step. A breach on a ramp with `ramp_breach_action: pause` pauses this way too.
   * Resuming releases the pause; the guardrail gate still holds a ramp whose guardrails are
   * not healthy, and lets it advance when they are.
   */
  pause(experiment: string, paused = true, reason = paused ? 'pause' : 'resume', by = 'api'): KillRecord {
    this.requireExperiment(experiment, 'pause');
    return this.killSwitch.setPause(experiment, paused, reason, by);
  }

  /** Resumes a paused ramp on every instance: `pause(experiment, false)`. */
  resume(experiment: string, reason = 'resume', by = 'api'): KillRecord {
    this.requireExperiment(experiment, 'resume');
    return this.pause(experiment, false, reason, by);
  }

  /** The latest pause record of an experiment's ramp (pause or resume, here or elsewhere), if any. */
  pauseRecord(experiment: string): KillRecord | undefined {
    // A name that is not text (a Symbol cannot even be made one) has no record.
    return typeof experiment === 'string' ? this.killSwitch.pauseRecord(experiment) : undefined;
  }

  /**
   * adaptive experiments: current weights, allocation version, phase (burn-in or
   * Thompson sampling), units and posterior summaries per arm, and the sticky store's fill.
   * What `switchyard status` shows.
   */
  allocationStatus(experiment?: string): AdaptiveStatus[] {
    return this.adaptive.status(experiment);
  }

  /**
   * Re-weights an adaptive experiment now instead of at its next scheduled time. In a
   * fleet only one instance can hold the re-weighting lock; the others get undefined and
   * switch to the new version within a poll.
   */
  reweight(experiment: string): Promise<AllocationVersion | undefined> {
    this.requireExperiment(experiment, 'reweight');
    return this.adaptive.reweight(experiment);
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

  /**
   * Stops watching, flushes, closes the provider. Evaluations after close answer
   * PROVIDER_NOT_READY. Called again, it settles when the first call does.
   */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    this.reloader.stop();
    await this.fleetMove;
    await this.killSwitch.close();
    await this.adaptive.close();
    await this.guardrails.close();
    await this.fleetConnection?.close();
    if (this.pipeline) {
      const report = await this.pipeline.close(this.config.exposures.closeTimeoutMs);
      const pending = Object.entries(report.sinks).filter(([, c]) => c.pending > 0);
      // In memory only, the pipeline has logged what is lost: nothing stays for the next start.
      if (pending.length > 0 && !report.journalInMemory) {
        this.logger.warn(
          `close: events still pending after ${this.config.exposures.closeTimeoutMs} ms stay in the journal for the next start`,
          { pending: Object.fromEntries(pending.map(([k, c]) => [k, c.pending])) },
        );
      }
    }
    // The provider gets as long to close as it had to start; one that does not close in time is left behind.
    const ms = this.config.featureFlags.initTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ms);
    });
    try {
      const closed = await Promise.race([this.allocationProvider.onClose().then(() => 'closed' as const), late]);
      if (closed === 'late')
        this.logger.warn(`the provider did not close within ${ms} ms (feature_flags.init_timeout_ms); left behind`);
    } catch (error) {
      this.logger.warn('the provider failed to close', { error: scrubSecrets(messageOf(error), this.config.secrets) });
    } finally {
      clearTimeout(timer);
    }
    // The domain's clients see NOT_READY from now on (OpenFeature closes the old provider on
    // rebinding: the same close as above, done once).
    try {
      OpenFeature.setProvider(this.domain, new ClosedProvider());
    } catch (error) {
      this.logger.warn('the OpenFeature domain could not be marked closed', { error: messageOf(error) });
    }
  }

  private connectFleet(config: ValidatedConfig): FleetConnection | undefined {
    if (!config.fleet) return undefined;
    return new FleetConnection(config.fleet, {
      logger: this.logger,
      onProblem: (error) => this.fleetProblem(error),
      connectTimeoutMs: this.options.fleetConnectTimeoutMs,
    });
  }

  private fleetProblem(error: SwitchyardError): void {
    this.events.emit('error', { flag: '*', code: error.code, message: error.what });
  }

  /**
   * Puts a reloaded `fleet` block in force: a new connection (or none), the guardrail
   * metrics and the kill state moved onto it (the kill state re-read there), then the old
   * connection closed. Never rejects; the service serves throughout.
   */
  private moveFleet(config: ValidatedConfig): void {
    const old = this.fleetConnection;
    const next = this.connectFleet(config);
    this.fleetConnection = next;
    const where = (c: FleetConnection | undefined) => (c ? `Redis at ${c.label}` : 'off');
    const change = `now ${where(next)} (was ${where(old)})`;
    this.fleetMove = this.fleetMove
      .then(async () => {
        try {
          await this.guardrails.moveFleet(config, next);
          await this.killSwitch.moveFleet(config, next);
        } finally {
          await old?.close();
        }
        this.logger.info(
          next
            ? `fleet: ${change}; kill state re-read there, guardrail metrics pushed there`
            : `fleet: ${change}; kill state in ${stateFilePath(config.exposures.dir)}, guardrail metrics in this process`,
        );
      })
      .catch((error: unknown) => {
        const message = scrubSecrets(String((error as Error)?.message ?? error), this.config.secrets);
        this.logger.error(`fleet: putting the reloaded fleet block in force failed (${change}): ${message}`);
      });
  }

  /** Throws SY_INVALID_ARGUMENT, naming the public method `where`, for an experiment the config does not have. */
  private requireExperiment(experiment: string, where: string): void {
    if (!this.config.experiments.has(experiment)) {
      throw new SwitchyardError('SY_INVALID_ARGUMENT', where, `no experiment ${shown(experiment)} in the config`);
    }
  }

  private finish(ev: Evaluation, ctx: EvaluationContext): VariantResult {
    this.tally(ev.flag, ev.reason);
    this.exposures.logEvaluation(ev, ctx);
    // An evaluation every unit of the same arm shares has one answer, made once and
    // frozen (callers may keep it; none may change it for the others).
    const memo = ev.answer;
    if (memo !== undefined) return memo;
    const answer = answerOf(ev);
    if (ev.shared) ev.answer = Object.freeze(answer);
    return answer;
  }

  /** The flag whose reason counts were found last: most calls in a row are for the same flag. */
  private lastTallyFlag: string | undefined;
  private lastTally: Record<string, number> = {};

  /** Counts an evaluation by flag and reason, for the Prometheus metrics. */
  private tally(flag: string, reason: string): void {
    let byReason = this.lastTally;
    if (flag !== this.lastTallyFlag) {
      let found = this.evaluations.get(flag);
      if (found === undefined) {
        const key = this.evaluations.size < MAX_COUNTED_FLAGS && flag.length <= MAX_KEPT_FLAG_NAME ? flag : '(other)';
        found = this.evaluations.get(key);
        if (found === undefined) this.evaluations.set(key, (found = {}));
      }
      this.lastTallyFlag = flag;
      this.lastTally = byReason = found;
    }
    byReason[reason] = (byReason[reason] ?? 0) + 1;
  }

  private crash(flag: string, error: unknown): VariantResult {
    return this.fallback(flag, 'SY_PROVIDER_ERROR', `evaluation failed: ${messageOf(error)}`);
  }

  /** The answer to a flag name that is not a string (a symbol, an object): no flag, nothing read from it. */
  private notAFlag(flag: unknown): VariantResult {
    return this.fallback(shown(flag), 'SY_INVALID_ARGUMENT', `the flag name must be a string, found ${shown(flag)}`);
  }

  /** The flag's fallback answer (the control, or an undefined value) for a problem found outside the engine. */
  private fallback(flag: string, problem: SwitchyardCode, message: string): VariantResult {
    return this.finish(this.engine.fail(flag, this.engine.planForFlag(flag), problem, message), {});
  }

  private report(whole: string, code: SwitchyardCode, message: string): void {
    const flag = whole.length > MAX_KEPT_FLAG_NAME ? reportedName(whole) : whole;
    const key = `${flag}\u0000${code}`;
    if (this.reported.has(key)) return;
    if (this.reported.size > 10_000) this.reported.clear();
    this.reported.add(key);
    const scrubbed = scrubSecrets(message, this.config.secrets);
    this.logger.warn(scrubbed, { flag, code });
    this.events.emit('error', { flag, code, message: scrubbed });
  }
}

/**
 * A caller's name (an event, an experiment or flag) as a once-only report keys and logs
 * it: cut as shown() cuts, so a caller's huge names are neither kept nor logged whole; a
 * name that is not a string is said by what it is, never converted (its toString may throw).
 */
function reportedName(name: unknown): string {
  if (typeof name !== 'string') return shown(name);
  // Copied, not sliced: V8's slice of a string keeps all of the string it was cut from alive.
  return name.length > 60 ? `${[...name.slice(0, 57)].join('')}...` : name;
}

function sameFleet(a: ValidatedConfig['fleet'], b: ValidatedConfig['fleet']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.redis === b.redis && a.prefix === b.prefix && a.pushIntervalMs === b.pushIntervalMs;
}

/** The flags of experiments added, removed or changed in what decides their answers (variants, control, allocation). */
function changedFlags(before: ValidatedConfig['experiments'], after: ValidatedConfig['experiments']): string[] {
  const answers = (experiments: ValidatedConfig['experiments']) =>
    new Map([...experiments.values()].map((e) => [e.flag, JSON.stringify([e.control, e.variants, e.allocation])]));
  const was = answers(before);
  const now = answers(after);
  return [...new Set([...was.keys(), ...now.keys()])].filter((flag) => was.get(flag) !== now.get(flag));
}

/** The answer for an evaluation: a literal, not a spread, for the common answer; a fault's adds its error fields. */
function answerOf(ev: Evaluation): VariantResult {
  const plan = ev.plan;
  const answer: VariantResult = {
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
  };
  if (!ev.errorCode) return answer;
  return { ...answer, errorCode: ev.errorCode, problem: ev.problem, errorMessage: ev.errorMessage };
}

const notSynchronous = (why: string) => `getVariantSync answered the fallback: ${why}; use getVariant`;
