/**
 * The facade's guardrail side: metrics recorded per arm (run, observe, track), the fleet
 * pusher, the monitor and what it acts through (kill, pause, the ramp gate), and guardrail
 * events into the journal, to listeners and the log.
 *
 * Ramp holds come from two places, a pause (sy.pause(), `switchyard pause`, or a breach with
 * ramp_breach_action: pause; persisted and shared like a kill) and the guardrails' gate; the
 * engine gets the earlier of the two, so neither releases the other.
 */
import type { EvaluationContext } from '@openfeature/server-sdk';
import type { ValidatedConfig } from '../config/index.js';
import { shown } from '../errors.js';
import { MAX_EVENT_NAME_LENGTH, unitProblem, type EventPipeline } from '../exposure/index.js';
import {
  FleetMetrics,
  GuardrailMonitor,
  isRecordable,
  MAX_METRIC_MAGNITUDE,
  type MetricRecorder,
  resolveMetric,
  type ArmData,
  type ExperimentStatus,
  type GuardrailEvent,
} from '../guardrails/index.js';
import type { Clock, FleetLink, Logger } from '../ports.js';
import type { SafeEmitter } from './emitter.js';
import type { Engine } from './engine.js';
import type { SwitchyardEvents } from './types.js';

export interface GuardrailParts {
  readonly engine: Engine;
  readonly pipeline: EventPipeline | undefined;
  readonly events: SafeEmitter<SwitchyardEvents>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: () => ValidatedConfig;
  /** The facade's kill (the fleet makes it persistent and fleet-wide). */
  readonly kill: (experiment: string, reason: string, evidence: GuardrailEvent) => void;
  /** The instance's fleet connection, when the config has a fleet. */
  readonly fleetLink: FleetLink | undefined;
  /** The one recorder of the instance: guardrail series and the bandit's arm series. */
  readonly metrics: MetricRecorder;
  /** The facade's ramp pause (persistent and fleet-wide like a kill); it comes back through setPause. */
  readonly pause: (experiment: string, reason: string) => void;
}

const hasAdaptive = (config: ValidatedConfig) =>
  [...config.experiments.values()].some((e) => e.allocation.adaptive !== undefined);

/** The longest metric name observe() records (as long as an event name: a metric is often one). */
export const MAX_METRIC_NAME = MAX_EVENT_NAME_LENGTH;
/** The most metric names observe() records per experiment. */
export const MAX_OBSERVED_METRICS = 256;

export class GuardrailWiring {
  /**
   * The instance's one recorder (the facade makes it): observe() and track() values wait in
   * its buffer and a drain is scheduled once a batch waits, off the caller's path.
   */
  readonly metrics: MetricRecorder;
  /** Undefined when `monitoring.real_time_metrics` is off: no guardrail series are recorded or checked. */
  readonly monitor: GuardrailMonitor | undefined;
  /**
   * The fleet-merged store: with a fleet, when guardrails or an adaptive experiment read
   * it (the bandit's arm series are merged like any guardrail series).
   */
  private fleet: FleetMetrics | undefined;
  /** The fleet connection in force (a reload of the `fleet` block replaces it). */
  private link: FleetLink | undefined;
  private started = false;
  /** Tracked event name -> experiments whose guardrails read it. */
  private watchedEvents = new Map<string, string[]>();
  private readonly userPauses = new Map<string, number>();
  private readonly gateHolds = new Map<string, number>();

  constructor(private readonly parts: GuardrailParts) {
    this.metrics = parts.metrics;
    const config = parts.config();
    this.link = parts.fleetLink;
    this.fleet = this.pusher(config, this.link);
    if (!config.monitoring.realTimeMetrics) return;
    this.monitor = new GuardrailMonitor(
      {
        config: parts.config,
        isKilled: (experiment) => parts.engine.isKilled(experiment),
        kill: parts.kill,
        pause: (experiment, reason) => parts.pause(experiment, reason),
        isPaused: (experiment) => this.userPauses.has(experiment),
        gate: (experiment, pausedAt) => this.gate(experiment, pausedAt),
        emit: (event) => this.emit(event),
        local: () => this.metrics.snapshot(),
      },
      {
        clock: parts.clock,
        logger: parts.logger,
        fleet: this.fleet,
        // Beside the kill state (state.json), which is kept there with exposures off too.
        statusDir: config.exposures.dir,
      },
    );
    this.configure(config);
    // Another instance's trip: its breach is acted on here too (one kill per breach in a fleet).
    parts.events.on('kill', (e) => {
      const trip = e.evidence as Partial<GuardrailEvent> | null | undefined;
      if (e.remote && e.killed && e.by === 'guardrails' && trip?.kind === 'trip' && typeof trip.rule === 'string')
        this.monitor?.trippedElsewhere(e.experiment, trip.rule);
    });
  }

  get enabled(): boolean {
    return this.monitor !== undefined;
  }

  async start(): Promise<void> {
    this.started = true;
    await this.fleet?.start();
    this.monitor?.start();
  }

  /**
   * A reloaded `fleet` block: metrics go to the new connection (everything recorded here
   * so far, since the new Redis has none of it), or stay in the process without a fleet;
   * the old pusher sends its last deltas to the old Redis first.
   */
  async moveFleet(config: ValidatedConfig, link: FleetLink | undefined): Promise<void> {
    const old = this.fleet;
    this.link = link;
    this.fleet = this.pusher(config, link);
    this.monitor?.setFleet(this.fleet);
    await old?.close();
    if (this.started) await this.fleet?.start();
  }

  /** The fleet store, when there is a fleet and guardrails or an adaptive experiment read it. */
  private pusher(config: ValidatedConfig, link: FleetLink | undefined): FleetMetrics | undefined {
    if (!config.fleet || link === undefined) return undefined;
    if (!config.monitoring.realTimeMetrics && !hasAdaptive(config)) return undefined;
    return new FleetMetrics({
      link,
      prefix: config.fleet.prefix,
      pushIntervalMs: config.fleet.pushIntervalMs,
      local: () => this.metrics.snapshot(),
      logger: this.parts.logger,
    });
  }

  /**
   * One experiment's arms as the bandit reads them: merged across the fleet (read from
   * Redis now, or the last read plus this process's numbers since when Redis does not
   * answer), this process's numbers without a fleet.
   */
  async armData(experiment: string): Promise<Readonly<Record<string, ArmData>> | undefined> {
    if (this.fleet === undefined) return this.metrics.snapshot()[experiment];
    return (await this.fleet.merged([experiment])).snapshot[experiment];
  }

  /** The same without a round trip (for status): the last fleet read plus this process's numbers since. */
  armDataNow(experiment: string): Readonly<Record<string, ArmData>> | undefined {
    return (this.fleet ? this.fleet.cached([experiment]) : this.metrics.snapshot())[experiment];
  }

  async close(): Promise<void> {
    this.monitor?.stop();
    await this.fleet?.close();
  }

  /** After a config change: which tracked events feed which experiments' guardrails. */
  configure(config: ValidatedConfig): void {
    // A reload that brings the first adaptive experiment into a fleet without guardrail metrics.
    if (config.fleet && this.fleet === undefined && hasAdaptive(config)) {
      this.fleet = this.pusher(config, this.link);
      if (this.started) void this.fleet?.start();
    }
    const watched = new Map<string, string[]>();
    for (const exp of config.experiments.values()) {
      for (const g of exp.guardrails) {
        const series = resolveMetric(g.metric).series;
        if (series === 'latency_ms' || series === 'error') continue;
        const list = watched.get(series) ?? [];
        if (!list.includes(exp.key)) list.push(exp.key);
        watched.set(series, list);
      }
    }
    this.watchedEvents = watched;
  }

  /** run()'s latency and error, per arm. */
  recordRun(experiment: string, variant: string, latencyMs: number, failed: boolean): void {
    if (this.monitor !== undefined) this.metrics.recordRun(experiment, variant, latencyMs, failed);
  }

  /** A tracked event, for the experiments whose guardrails name it (value, or 1 for a count). */
  recordTrack(event: string, unit: string, value: number | undefined): void {
    if (this.monitor === undefined || this.watchedEvents.size === 0) return;
    const experiments = this.watchedEvents.get(event);
    if (experiments === undefined) return;
    for (const experiment of experiments) {
      const plan = this.parts.engine.planForExperiment(experiment);
      const index = plan ? this.parts.engine.armOf(plan, unit) : -1;
      if (index >= 0) this.metrics.recordAt(experiment, plan!.variants, index, event, value ?? 1);
    }
  }

  /**
   * observe(): the unit's arm now, then the value. Returns a problem sentence for bad
   * input, true when recorded, false when not (unit outside the traffic, killed, provider mode).
   */
  observe(experimentOrFlag: string, ctx: EvaluationContext, metric: string, value: number): boolean | string {
    const engine = this.parts.engine;
    const plan = engine.planForExperiment(experimentOrFlag) ?? engine.planForFlag(experimentOrFlag);
    const unit = ctx?.targetingKey;
    if (plan === undefined) return `no experiment or experiment flag ${shown(experimentOrFlag)} in the config`;
    const noUnit = unitProblem(unit);
    if (noUnit !== undefined) return noUnit;
    if (typeof metric !== 'string' || metric.length === 0) return 'the metric name must be a non-empty string';
    if (typeof value !== 'number' || !Number.isFinite(value))
      return `the value must be a finite number, found ${shown(value)}`;
    if (!isRecordable(value))
      return `the value must be a finite number between -${MAX_METRIC_MAGNITUDE} and ${MAX_METRIC_MAGNITUDE}, found ${value}`;
    if (this.monitor === undefined) return false;
    if (metric !== this.lastObserved || plan.experiment !== this.lastObservedExperiment) {
      const problem = this.admitMetric(plan.experiment, metric);
      if (problem !== undefined) return problem;
      this.lastObserved = metric;
      this.lastObservedExperiment = plan.experiment;
    }
    const index = engine.armOf(plan, unit as string);
    return index >= 0 && this.metrics.recordAt(plan.experiment, plan.variants, index, metric, value);
  }

  /** The metric observe() recorded last, and its experiment: a call for the same pair skips admitMetric. */
  private lastObserved: string | undefined;
  private lastObservedExperiment: string | undefined;
  /** The metric names observe() has recorded, per experiment (each a series per arm, in memory and in Redis). */
  private readonly observedMetrics = new Map<string, Set<string>>();

  /**
   * Whether observe() may record `metric` for `experiment`: a name of at most
   * MAX_METRIC_NAME characters, one of at most MAX_OBSERVED_METRICS names per experiment.
   * Each name is a series per arm kept for the experiment's life (and pushed to Redis in a
   * fleet), so names made per user or per request would grow without bound.
   */
  private admitMetric(experiment: string, metric: string): string | undefined {
    if (metric.length > MAX_METRIC_NAME)
      return `the metric name must be at most ${MAX_METRIC_NAME} characters, found ${metric.length}`;
    let names = this.observedMetrics.get(experiment);
    if (names === undefined) this.observedMetrics.set(experiment, (names = new Set()));
    if (names.has(metric)) return undefined;
    if (names.size >= MAX_OBSERVED_METRICS)
      return `${experiment} already has ${MAX_OBSERVED_METRICS} observed metrics, the most it keeps; "${metric.slice(0, 60)}" is not recorded (a metric name is a series kept per arm, not a per-user label)`;
    names.add(metric);
    return undefined;
  }

  /** A unit exposed (admitted by the exposure rule), per arm. */
  exposure(experiment: string, variant: string): void {
    this.metrics.exposure(experiment, variant);
  }

  status(): Record<string, ExperimentStatus> {
    return this.monitor?.status() ?? {};
  }

  async check(): Promise<void> {
    await this.fleet?.push();
    await this.monitor?.check();
  }

  /** A ramp pause in force (frozen at `pausedAt`) or ended (undefined), from the kill switch's store. */
  setPause(experiment: string, pausedAt: number | undefined): void {
    if (pausedAt !== undefined) this.userPauses.set(experiment, pausedAt);
    else this.userPauses.delete(experiment);
    this.applyHold(experiment);
  }

  private gate(experiment: string, pausedAt: number | undefined): void {
    if (pausedAt === undefined) this.gateHolds.delete(experiment);
    else this.gateHolds.set(experiment, pausedAt);
    this.applyHold(experiment);
  }

  private applyHold(experiment: string): void {
    const user = this.userPauses.get(experiment);
    const gate = this.gateHolds.get(experiment);
    const at = user === undefined ? gate : gate === undefined ? user : Math.min(user, gate);
    this.parts.engine.hold(experiment, at === undefined ? undefined : { pausedAt: at });
  }

  /** A guardrail event: into the journal, to `on('guardrail')` listeners, and one log line. */
  private emit(event: GuardrailEvent): void {
    this.parts.pipeline?.recordGuardrail(
      {
        experiment: event.experiment,
        kind: event.kind,
        action: event.action,
        rule: event.rule,
        metric: event.metric,
        variant: event.variant,
        arms: event.arms,
        statistic: event.statistic,
        p_value: event.pValue,
        bound: event.bound,
        alpha: event.alpha,
        min_sample: event.minSample,
        message: event.message,
        ...(event.details ? { details: event.details } : {}),
      },
      event.ts,
    );
    this.parts.events.emit('guardrail', event);
    const logger = this.parts.logger;
    const data = { experiment: event.experiment, rule: event.rule, kind: event.kind };
    if (event.kind === 'trip' || event.kind === 'pause') logger.error(event.message, data);
    else logger.warn(event.message, data);
  }
}
