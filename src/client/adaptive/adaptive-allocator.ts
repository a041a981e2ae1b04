/**
 * adaptive allocation for a switchyard instance: the adaptive experiments of the config,
 * their re-weighting schedule, and, in a fleet, the allocation versions shared through
 * Redis and the Redis sticky store. The engine asks it for a unit's arm; it hands the
 * engine a new plan whenever the version changes.
 *
 * Schedule: every `reweight_every`, on wall-clock multiples of it (so instances tick
 * together), timers unref'd. In one process the instance re-weights itself; in a fleet
 * the instance that takes the lock does (see fleet-versions.ts) and the others follow
 * within a poll. The arms' numbers come from the guardrails' metric store (the instance's
 * one recorder): in a fleet the leader reads them merged across every instance from Redis
 * just before re-weighting, so conversions recorded on any instance move the weights; in
 * one process it reads its own.
 *
 * State for `switchyard status`: every version carries the arms' numbers, posteriors and
 * P(best) it was made from. In a fleet the leader writes it to Redis with the version;
 * without a fleet the instance writes its experiments' versions to
 * `<exposures dir>/allocation-state.json` (beside the journal and the kill state).
 */
import { Redis } from 'ioredis';
import { adaptivePolicy, type AllocationPlan } from '../../allocation/index.js';
import type { ValidatedConfig } from '../../config/index.js';
import { writeAllocationState } from '../../fleet/index.js';
import type { MetricRecorder } from '../../guardrails/index.js';
import type { Clock, Logger } from '../../ports.js';
import { AdaptiveExperiment, type AdaptiveStatus, type AllocationVersion } from './adaptive-experiment.js';
import { armStatsOf, type ArmStatsSource } from './arm-stats.js';
import { FleetVersions } from './fleet-versions.js';
import { RedisStickyStore } from './redis-sticky.js';

export interface AdaptiveAllocatorOptions {
  /** The instance's metric recorder (the guardrails'), where the bandit records its arm series. */
  readonly recorder: MetricRecorder;
  /** Where the arms' numbers are read: the same store, merged across the fleet. */
  readonly stats: ArmStatsSource;
  /** Without a fleet: the directory of allocation-state.json (the exposures dir); undefined: not written. */
  readonly stateDir?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This instance's name in the fleet (the lock's value). */
  readonly instance: string;
  /** How often fleet versions are polled (default 250 ms). */
  readonly pollMs?: number;
  /** Redis round-trip budget for the sticky store (default 100 ms). */
  readonly stickyTimeoutMs?: number;
  /** Called with the plan of a new allocation version. */
  readonly onPlan: (flag: string, plan: AllocationPlan) => void;
}

export class AdaptiveAllocator {
  private readonly byFlag = new Map<string, AdaptiveExperiment>();
  private readonly byKey = new Map<string, AdaptiveExperiment>();
  private redis: Redis | undefined;
  private fleet: FleetVersions | undefined;
  private redisUrl: string | undefined;
  private prefix = 'switchyard';
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly tickTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;
  private polling = false;

  constructor(private readonly options: AdaptiveAllocatorOptions) {}

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Takes a config's compiled plans: new adaptive experiments start at their initial
   * version, running ones keep their version (and sticky units) on the new plan, removed
   * ones stop. Returns the plans to serve (adaptive ones replaced by their version's).
   */
  applyConfig(config: ValidatedConfig, plans: Map<string, AllocationPlan>): Map<string, AllocationPlan> {
    const hasAdaptive = [...config.experiments.values()].some((e) => e.allocation.adaptive !== undefined);
    if (config.fleet && hasAdaptive && config.fleet.redis !== this.redisUrl)
      this.connect(config.fleet.redis, config.fleet.prefix);
    const seen = new Set<string>();
    for (const exp of config.experiments.values()) {
      const options = exp.allocation.adaptive;
      const base = plans.get(exp.flag);
      if (!options || !base || exp.primaryMetric === undefined) continue;
      seen.add(exp.key);
      let running = this.byKey.get(exp.key);
      if (running && running.options.sticky === options.sticky) {
        running.options = options;
        running.metric = exp.primaryMetric;
        running.rebase(base);
      } else {
        const experiment = exp.key;
        const store =
          options.sticky === 'redis' && this.redis
            ? new RedisStickyStore(
                this.redis,
                this.prefix,
                experiment,
                this.options.logger,
                (unit, name) => this.byKey.get(experiment)?.correct(unit, name),
                this.options.stickyTimeoutMs,
                undefined,
                () => this.byKey.get(experiment)?.options.stickyTtlMs ?? options.stickyTtlMs,
              )
            : undefined;
        running = new AdaptiveExperiment(
          base,
          options,
          exp.primaryMetric,
          adaptivePolicy(base, options),
          this.options.recorder,
          store,
        );
        running.onOverflow = (capacity) =>
          this.options.logger.warn(
            `adaptive: the sticky table of ${experiment} is full (${capacity} units); new units are served by the current weights without being remembered`,
            { experiment },
          );
        this.byKey.set(exp.key, running);
      }
      for (const [flag, e] of this.byFlag) if (e === running) this.byFlag.delete(flag);
      this.byFlag.set(exp.flag, running);
      plans.set(exp.flag, running.plan);
      this.schedule(running);
    }
    for (const [key, e] of this.byKey) {
      if (seen.has(key)) continue;
      this.byKey.delete(key);
      for (const [flag, f] of this.byFlag) if (f === e) this.byFlag.delete(flag);
      clearTimeout(this.tickTimers.get(key));
      this.tickTimers.delete(key);
    }
    return plans;
  }

  /** Fleet mode: reads the fleet's versions once, so the first calls serve them. */
  async start(): Promise<void> {
    if (this.fleet) {
      await this.waitReady(1000);
      await this.poll();
      this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs ?? 250);
      this.pollTimer.unref?.();
    }
  }

  /** The unit's variant index in the plan of its flag's adaptive experiment. */
  assign(plan: AllocationPlan, unit: string): number | Promise<number> {
    const e = this.byFlag.get(plan.flag);
    if (e === undefined) return -1;
    return e.assign(unit);
  }

  /** The unit's sticky arm in its flag's adaptive experiment, or -1 (read only). */
  stickyArm(plan: AllocationPlan, unit: string): number {
    return this.byFlag.get(plan.flag)?.stickyArm(unit) ?? -1;
  }

  /** A tracked event: counts toward every adaptive experiment whose primary metric it is. */
  track(event: string, unit: string, value: number | undefined): void {
    for (const e of this.byKey.values()) if (e.metric === event) e.track(unit, value);
  }

  /**
   * Re-weights an experiment now. In a fleet only the lock holder does, and the others
   * follow within a poll; returns the new version, or undefined when another instance
   * holds the lock or Redis is away (the current version stays).
   */
  async reweight(experiment: string): Promise<AllocationVersion | undefined> {
    const e = this.byKey.get(experiment);
    if (!e || this.closed) return undefined;
    if (this.fleet) {
      const hold = Math.min(e.options.reweightEveryMs / 2, 60_000);
      if (!(await this.fleet.tryLead(experiment, hold))) return undefined;
      const next = e.reweight(await this.armStats(e), this.options.clock.now());
      if (!(await this.fleet.publish(experiment, next))) return undefined;
      this.adopt(e, next);
      return next;
    }
    const next = e.reweight(await this.armStats(e), this.options.clock.now());
    this.adopt(e, next);
    this.writeState();
    return next;
  }

  private async armStats(e: AdaptiveExperiment) {
    const arms = await this.options.stats.read(e.experiment);
    return armStatsOf(arms, e.plan.variants, e.metric);
  }

  /** Without a fleet: every adaptive experiment's current version into allocation-state.json. */
  private writeState(): void {
    if (this.fleet || this.options.stateDir === undefined) return;
    try {
      writeAllocationState(
        this.options.stateDir,
        [...this.byKey.values()].map((e) => ({ experiment: e.experiment, ...e.current })),
      );
    } catch (error) {
      this.options.logger.warn(
        `adaptive: cannot write the allocation state for switchyard status (${(error as Error).message}); serving goes on`,
      );
    }
  }

  /** Current weights, version and posterior summaries per adaptive experiment. */
  status(experiment?: string): AdaptiveStatus[] {
    return [...this.byKey.values()]
      .filter((e) => experiment === undefined || e.experiment === experiment)
      .map((e) => e.status(armStatsOf(this.options.stats.peek(e.experiment), e.plan.variants, e.metric)));
  }

  /** Counters of the Redis sticky stores and the fleet link. */
  health(): { fleetUnreachable: boolean; sticky: Record<string, RedisStickyStore['counters'] & { pending: number }> } {
    const sticky: Record<string, RedisStickyStore['counters'] & { pending: number }> = {};
    for (const e of this.byKey.values())
      if (e.redis) sticky[e.experiment] = { ...e.redis.counters, pending: e.redis.pendingUnits };
    return { fleetUnreachable: this.fleet?.isUnreachable ?? false, sticky };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    for (const t of this.tickTimers.values()) clearTimeout(t);
    this.tickTimers.clear();
    for (const e of this.byKey.values()) await e.redis?.reconcile();
    this.redis?.disconnect();
  }

  private adopt(e: AdaptiveExperiment, version: AllocationVersion): void {
    e.adopt(version);
    this.options.onPlan(e.plan.flag, e.plan);
  }

  /** Next tick on the next wall-clock multiple of reweight_every. */
  private schedule(e: AdaptiveExperiment): void {
    if (this.closed) return;
    clearTimeout(this.tickTimers.get(e.experiment));
    const every = e.options.reweightEveryMs;
    const now = this.options.clock.now();
    const delay = Math.min(every - (now % every), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      void this.reweight(e.experiment).finally(() => {
        if (this.byKey.get(e.experiment) === e) this.schedule(e);
      });
    }, delay);
    timer.unref?.();
    this.tickTimers.set(e.experiment, timer);
  }

  private connect(url: string, prefix: string): void {
    this.redis?.disconnect();
    this.redisUrl = url;
    this.prefix = prefix;
    let reported = false;
    const redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      lazyConnect: false,
    });
    redis.on('error', (error: Error) => {
      if (reported) return;
      reported = true;
      this.options.logger.warn(`fleet: Redis connection error (${error.message}); serving from the last known state`);
    });
    redis.on('ready', () => {
      reported = false;
      for (const e of this.byKey.values()) void e.redis?.reconcile();
    });
    this.redis = redis;
    this.fleet = new FleetVersions(redis, prefix, this.options.instance, this.options.logger);
  }

  private async waitReady(ms: number): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref?.();
      function done() {
        clearTimeout(timer);
        redis!.off('ready', done);
        resolve();
      }
      redis.once('ready', done);
    });
  }

  /** Switches every experiment whose fleet version is newer; reconciles sticky stores when Redis is back. */
  private async poll(): Promise<void> {
    if (!this.fleet || this.polling || this.closed) return;
    this.polling = true;
    try {
      const experiments = [...this.byKey.values()];
      const versions = await this.fleet.read(experiments.map((e) => e.experiment));
      if (versions === undefined) return;
      experiments.forEach((e, i) => {
        const v = versions[i];
        if (v && v.version !== e.current.version && (v.version > e.current.version || e.current.phase === 'initial'))
          this.adopt(e, v);
        if (e.redis && (e.redis.isDown || e.redis.pendingUnits > 0)) void e.redis.reconcile();
      });
    } finally {
      this.polling = false;
    }
  }
}
