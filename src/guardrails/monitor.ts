/**
 * The guardrail monitor: the scheduler edge around the pure rules. On every check
 * interval (an unref'd timer) it takes the experiment's numbers (merged across the fleet,
 * or this process's), checks each rule, feeds the anomaly charts, gates ramps, acts
 * through its host (kill, pause, hold), records every trip, pause, hold and anomaly as an
 * event with its evidence, and publishes the results for `switchyard status`.
 *
 * Events are emitted on a change only (a rule that stays breached, a ramp that stays
 * held, trips or logs once), so a check every 10 s does not repeat itself.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidatedConfig, ValidatedExperiment } from '../config/index.js';
import { GUARDRAIL_STATUS_FILE, type Clock, type Logger } from '../ports.js';
import { detectAnomalies, type Anomaly, type AnomalyState } from './anomaly.js';
import type { FleetMetrics } from './fleet.js';
import { rampGate } from './gate.js';
import { diffSnapshots, type MetricSnapshot } from './recorder.js';
import { checkExperiment, type CheckMemory, type ExperimentCheck, type RuleResult } from './rules.js';

export type GuardrailKind = 'trip' | 'pause' | 'hold' | 'advance' | 'anomaly' | 'warn';
export type GuardrailAction = 'rollback' | 'pause' | 'hold' | 'advance' | 'warn';

/** One trip, pause, hold, ramp advance, warning or anomaly, with its evidence. */
export interface GuardrailEvent {
  readonly kind: GuardrailKind;
  readonly action: GuardrailAction;
  readonly experiment: string;
  /** The rule's label ("error_rate max 0.001", "srm", "anomaly", "ramp"). */
  readonly rule: string;
  readonly metric: string;
  readonly variant: string | null;
  readonly arms: Readonly<Record<string, { readonly value: number | null; readonly n: number }>>;
  readonly statistic: number | null;
  readonly pValue: number | null;
  readonly bound: { readonly lower: number | null; readonly upper: number | null } | null;
  readonly alpha: number | null;
  readonly minSample: number | null;
  /** A sentence for people and logs. */
  readonly message: string;
  readonly ts: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What `switchyard status` and `sy.guardrailStatus()` show for one experiment. */
export interface ExperimentStatus {
  readonly experiment: string;
  readonly checkedAt: string;
  /** fleet: merged from Redis; stale: Redis did not answer (last merge + local since); local: no fleet. */
  readonly source: 'fleet' | 'stale' | 'local';
  readonly killed: boolean;
  readonly healthy: boolean;
  /** Units exposed per arm in the numbers checked (merged across the fleet when there is one). */
  readonly units: Readonly<Record<string, number>>;
  readonly ramp: { readonly clockStep: number; readonly allowedStep: number; readonly held: boolean } | null;
  readonly rules: readonly RuleStatus[];
  readonly srm: RuleStatus | null;
  readonly anomalies: readonly Anomaly[];
}

export interface RuleStatus {
  readonly rule: string;
  readonly metric: string;
  readonly state: RuleResult['state'];
  readonly arms: RuleResult['arms'];
  readonly variant: string | null;
  readonly statistic: number | null;
  readonly pValue: number | null;
  readonly bound: { readonly lower: number | null; readonly upper: number | null } | null;
  readonly alpha: number;
  readonly minSample: number;
  readonly checkedAt: string;
}

export interface MonitorHost {
  config(): ValidatedConfig;
  isKilled(experiment: string): boolean;
  kill(experiment: string, reason: string, evidence: GuardrailEvent): void;
  /** Freezes a ramp where it is (a breach on a ramp with ramp_breach: pause), until resumed. */
  pause(experiment: string, reason: string): void;
  /** Whether the ramp is paused (here, elsewhere in the fleet, or from a shell). */
  isPaused(experiment: string): boolean;
  /** The ramp gate: hold the ramp at this time (undefined: no gate hold). */
  gate(experiment: string, pausedAt: number | undefined): void;
  emit(event: GuardrailEvent): void;
  local(): MetricSnapshot;
}

export interface MonitorOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fleet?: FleetMetrics;
  /** Where guardrails-status.json goes without a fleet (the exposures dir); undefined: not written. */
  readonly statusDir?: string;
}

interface ExperimentMemory extends CheckMemory {
  breached: Set<string>;
  allowedStep: number;
  held: boolean;
  srmActed: boolean;
}

/** Finite numbers only in events and status (JSON has no Infinity). */
const finite = (x: number | null | undefined): number | null =>
  x !== null && x !== undefined && Number.isFinite(x) ? x : null;

function toStatus(r: RuleResult): RuleStatus {
  return {
    rule: r.rule,
    metric: r.metric,
    state: r.state,
    arms: r.arms,
    variant: r.variant,
    statistic: finite(r.statistic),
    pValue: finite(r.pValue),
    bound: r.bound && { lower: finite(r.bound.lower), upper: finite(r.bound.upper) },
    alpha: r.alpha,
    minSample: r.minSample,
    checkedAt: new Date(r.checkedAt).toISOString(),
  };
}

export class GuardrailMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly memory = new Map<string, ExperimentMemory>();
  private readonly anomalyState: AnomalyState = new Map();
  private previous: MetricSnapshot | undefined;
  private readonly statuses = new Map<string, ExperimentStatus>();
  private running: Promise<void> | undefined;
  private statusWarned = false;
  readonly counters = { checks: 0, failures: 0 };
  private fleet: FleetMetrics | undefined;

  constructor(
    private readonly host: MonitorHost,
    private readonly options: MonitorOptions,
  ) {
    this.fleet = options.fleet;
  }

  /**
   * Reads the fleet's numbers from another pusher (a reloaded `fleet` block), or only this
   * process's without one. The next check's interval starts afresh: the new source's totals
   * are not comparable with the old one's.
   */
  setFleet(fleet: FleetMetrics | undefined): void {
    this.fleet = fleet;
    this.previous = undefined;
  }

  start(): void {
    const ms = this.host.config().monitoring.checkIntervalMs;
    this.timer = setInterval(() => void this.check(), ms);
    this.timer.unref();
    // Ramp gates apply from the start: a ramp never runs ahead of its guardrails.
    for (const exp of this.host.config().experiments.values()) this.gateInitial(exp);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Another instance rolled `experiment` back on `rule` (a trip's kill, come through the
   * fleet): the breach is acted on, as in the instance that tripped, so this one does not
   * kill again for it once the kill is undone (an unkill), whether it saw the breach itself
   * and left it to the claimer, or was killed before it checked. A claimer that died before
   * killing sends no kill, and the others claim the breach again at their next check.
   */
  trippedElsewhere(experiment: string, rule: string): void {
    if (!this.host.config().experiments.has(experiment)) return;
    const m = this.memoryOf({ key: experiment });
    if (rule === 'srm') m.srmActed = true;
    else if (rule !== 'anomaly') m.breached.add(rule);
  }

  /** The results of the last check, per experiment. */
  status(): Record<string, ExperimentStatus> {
    return Object.fromEntries(this.statuses);
  }

  /** Runs one check now (the timer calls this); never rejects. Overlapping calls share one run. */
  check(): Promise<void> {
    this.running ??= this.runCheck()
      .catch((error: unknown) => {
        this.counters.failures++;
        this.options.logger.error(`guardrail check failed: ${(error as Error)?.message ?? String(error)}`);
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private memoryOf(exp: Pick<ValidatedExperiment, 'key'>): ExperimentMemory {
    let m = this.memory.get(exp.key);
    if (m === undefined) {
      m = { breached: new Set(), allowedStep: -1, held: false, srmActed: false };
      this.memory.set(exp.key, m);
    }
    return m;
  }

  private gateInitial(exp: ValidatedExperiment): void {
    if (!gated(exp)) return;
    const m = this.memoryOf(exp);
    const d = rampGate(exp.allocation.steps, this.options.clock.now(), m.allowedStep, false);
    m.allowedStep = d.allowedStep;
    this.host.gate(exp.key, d.pausedAt);
  }

  private async runCheck(): Promise<void> {
    let config = this.host.config();
    let experiments = [...config.experiments.values()];
    let snapshot: MetricSnapshot;
    let source: ExperimentStatus['source'] = 'local';
    if (this.fleet) {
      const merged = await this.fleet.merged(experiments.map((e) => e.key));
      snapshot = merged.snapshot;
      source = merged.source;
      // A reload may have landed while Redis answered: act on the config in force now (an
      // experiment it removed can no longer be killed; one it added has no numbers yet).
      config = this.host.config();
      experiments = [...config.experiments.values()];
    } else snapshot = this.host.local();
    const now = this.options.clock.now();
    const interval = this.previous === undefined ? snapshot : diffSnapshots(snapshot, this.previous);
    this.previous = snapshot;
    this.counters.checks++;
    for (const exp of experiments) {
      const m = this.memoryOf(exp);
      const killed = this.host.isKilled(exp.key);
      const check = checkExperiment(exp, snapshot[exp.key], now, m, {
        srmThreshold: config.monitoring.srmThreshold,
      });
      const anomalies =
        config.monitoring.anomalyDetection && !killed
          ? detectAnomalies(exp.key, exp.control, interval[exp.key], this.anomalyState)
          : [];
      let ramp: ExperimentStatus['ramp'] = null;
      if (!killed) {
        await this.act(exp, check, anomalies, m, now, source);
        if (gated(exp)) ramp = this.gateRamp(exp, check, m, now);
      }
      const status: ExperimentStatus = {
        experiment: exp.key,
        checkedAt: new Date(now).toISOString(),
        source,
        killed: this.host.isKilled(exp.key),
        healthy: check.healthy,
        units: Object.fromEntries(Object.entries(snapshot[exp.key] ?? {}).map(([v, arm]) => [v, arm.units])),
        ramp,
        rules: check.rules.map(toStatus),
        srm: check.srm && toStatus(check.srm),
        anomalies,
      };
      this.statuses.set(exp.key, status);
    }
    for (const key of [...this.statuses.keys()]) if (!config.experiments.has(key)) this.statuses.delete(key);
    await this.publish(config);
  }

  private async act(
    exp: ValidatedExperiment,
    check: ExperimentCheck,
    anomalies: readonly Anomaly[],
    m: ExperimentMemory,
    now: number,
    source: ExperimentStatus['source'],
  ): Promise<void> {
    const mon = this.host.config().monitoring;
    const onRamp = gated(exp) && m.allowedStep < exp.allocation.steps.length - 1;
    // On the fleet's merged numbers every instance sees a breach at once: one rolls back (the
    // one whose claim lands), the others leave it unmarked here and get that kill through Redis.
    const mine = async (action: GuardrailAction) =>
      action !== 'rollback' || source !== 'fleet' || this.fleet === undefined || (await this.fleet.claimTrip(exp.key));
    for (const r of check.rules) {
      if (r.state !== 'breached') {
        m.breached.delete(r.rule);
        continue;
      }
      if (m.breached.has(r.rule)) continue;
      let action: GuardrailAction;
      if (onRamp) action = mon.rampBreachAction;
      else action = mon.automaticRollback ? 'rollback' : 'warn';
      if (!(await mine(action))) return;
      m.breached.add(r.rule);
      this.perform(exp, action, evidence(exp.key, r, action, now));
      if (this.host.isKilled(exp.key)) return;
    }
    if (check.srm?.state === 'breached' && !m.srmActed) {
      const action = mon.srmAction === 'hold' ? 'hold' : mon.srmAction;
      if (!(await mine(action))) return;
      m.srmActed = true;
      this.perform(exp, action, evidence(exp.key, check.srm, action, now));
      if (this.host.isKilled(exp.key)) return;
    }
    for (const a of anomalies) {
      const action = mon.anomalyAction;
      if (!(await mine(action))) return;
      this.perform(exp, action, anomalyEvidence(a, action, now));
      if (this.host.isKilled(exp.key)) return;
    }
  }

  private perform(exp: ValidatedExperiment, action: GuardrailAction, event: GuardrailEvent): void {
    this.host.emit(event);
    if (action === 'rollback') this.host.kill(exp.key, `guardrail: ${event.rule}`, event);
    else if (action === 'pause' && gated(exp)) this.host.pause(exp.key, `guardrail: ${event.rule}`);
    else if (action === 'hold') this.memoryOf(exp).held = true;
  }

  private gateRamp(
    exp: ValidatedExperiment,
    check: ExperimentCheck,
    m: ExperimentMemory,
    now: number,
  ): ExperimentStatus['ramp'] {
    const srmHold = m.srmActed && this.host.config().monitoring.srmAction === 'hold';
    const ready = check.healthy && !srmHold && !this.host.isPaused(exp.key);
    const before = m.allowedStep;
    const d = rampGate(exp.allocation.steps, now, m.allowedStep, ready);
    m.allowedStep = d.allowedStep;
    this.host.gate(exp.key, d.pausedAt);
    const blocked = d.clockStep > d.allowedStep;
    const base = {
      experiment: exp.key,
      rule: 'ramp',
      metric: 'ramp',
      variant: null,
      arms: {},
      statistic: null,
      pValue: null,
      bound: null,
      alpha: null,
      minSample: null,
      ts: now,
      details: {
        clock_step: d.clockStep,
        allowed_step: d.allowedStep,
        rules: check.rules.map((r) => ({ rule: r.rule, state: r.state })),
      },
    };
    if (d.allowedStep > before && before >= 0) {
      this.host.emit({
        ...base,
        kind: 'advance',
        action: 'advance',
        message: `${exp.key}: guardrails healthy, ramp advanced to step ${d.allowedStep}`,
      });
    }
    if (blocked && !m.held) {
      m.held = true;
      const why = check.rules
        .filter((r) => r.state !== 'healthy')
        .map((r) => `${r.rule}: ${r.state}`)
        .join('; ');
      this.host.emit({
        ...base,
        kind: 'hold',
        action: 'hold',
        message: `${exp.key}: ramp held at step ${d.allowedStep} (the clock says ${d.clockStep}): ${why || (srmHold ? 'sample-ratio mismatch' : 'paused')}`,
      });
    } else if (!blocked) m.held = false;
    return { clockStep: d.clockStep, allowedStep: d.allowedStep, held: blocked };
  }

  private async publish(config: ValidatedConfig): Promise<void> {
    const fleet = this.fleet;
    if (fleet) {
      const ttl = 3 * config.monitoring.checkIntervalMs;
      await Promise.all([...this.statuses.values()].map((s) => fleet.publish(`status:${s.experiment}`, s, ttl)));
      return;
    }
    if (this.options.statusDir === undefined) return;
    try {
      mkdirSync(this.options.statusDir, { recursive: true });
      const file = join(this.options.statusDir, GUARDRAIL_STATUS_FILE);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ experiments: this.status() }, null, 2) + '\n');
      renameSync(tmp, file);
      this.statusWarned = false;
    } catch (error) {
      if (!this.statusWarned) {
        this.statusWarned = true;
        this.options.logger.warn(`cannot write guardrails-status.json: ${(error as Error).message}`);
      }
    }
  }
}

/** A ramp that guardrails gate: gradual, with a schedule and at least one guardrail. */
function gated(exp: ValidatedExperiment): boolean {
  return exp.allocation.mode === 'gradual' && exp.allocation.steps.length > 1 && exp.guardrails.length > 0;
}

const VERB: Record<GuardrailAction, string> = {
  rollback: 'rolled back (killed: every unit gets the control)',
  pause: 'ramp paused',
  hold: 'ramp held',
  advance: 'ramp advanced',
  warn: 'warning only',
};

function evidence(experiment: string, r: RuleResult, action: GuardrailAction, ts: number): GuardrailEvent {
  const arms = Object.entries(r.arms)
    .map(([v, a]) => `${v} ${a.value === null ? 'no data' : a.value.toPrecision(4)} (n=${a.n})`)
    .join(', ');
  const kind: GuardrailKind =
    action === 'rollback' ? 'trip' : action === 'pause' ? 'pause' : action === 'hold' ? 'hold' : 'warn';
  return {
    kind,
    action,
    experiment,
    rule: r.rule,
    metric: r.metric,
    variant: r.variant,
    arms: r.arms,
    statistic: finite(r.statistic),
    pValue: finite(r.pValue),
    bound: r.bound && { lower: finite(r.bound.lower), upper: finite(r.bound.upper) },
    alpha: r.alpha,
    minSample: r.minSample,
    message: `${experiment}: guardrail "${r.rule}" breached (${arms}; p=${r.pValue?.toPrecision(3) ?? 'n/a'}): ${VERB[action]}`,
    ts,
  };
}

function anomalyEvidence(a: Anomaly, action: GuardrailAction, ts: number): GuardrailEvent {
  return {
    kind: 'anomaly',
    action,
    experiment: a.experiment,
    rule: 'anomaly',
    metric: a.metric,
    variant: a.variant,
    arms: { [a.variant]: { value: a.value, n: a.n }, [a.control]: { value: a.controlValue, n: a.controlN } },
    statistic: finite(a.zAgainstControl),
    pValue: null,
    bound: { lower: null, upper: finite(a.upperLimit) },
    alpha: null,
    minSample: null,
    message: `${a.experiment}: anomaly in ${a.variant} ${a.metric}: ${a.value.toPrecision(4)} this interval, above its EWMA limit ${a.upperLimit.toPrecision(4)} and control's ${a.controlValue.toPrecision(4)} (z=${a.zAgainstControl.toPrecision(3)}): ${VERB[action]}`,
    ts,
    details: { ewma: a.ewma },
  };
}
