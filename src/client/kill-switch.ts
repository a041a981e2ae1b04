/**
 * The facade's kill switch: applies a kill to the engine synchronously (the engine checks
 * it before allocation, from memory, never over the network), then hands the record to
 * the store that makes it last and travel; kills made elsewhere come back from the store
 * and are applied and announced the same way, marked remote.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ValidatedConfig } from '../config/index.js';
import { messageOf, shown, type SwitchyardError } from '../errors.js';
import {
  KillStore,
  pauseKey,
  pausedExperiment,
  stateFilePath,
  type FleetConnection,
  type KillRecord,
} from '../fleet/index.js';
import type { Clock, Logger } from '../ports.js';
import type { KillEvent } from './types.js';

export interface KillTarget {
  kill(experiment: string, reason: string): void;
  unkill(experiment: string): void;
  /** A ramp pause (frozen at `pausedAt`) or its end (undefined), made here or elsewhere. */
  pause?(experiment: string, pausedAt: number | undefined): void;
}

export class KillSwitch {
  /** This instance's id in kill records (`<instance or host>:<pid>:<random>`). */
  readonly instance: string;
  private store: KillStore;
  /** experiment -> kills seen here, by origin: for the metrics. */
  readonly tally = new Map<string, { local: number; remote: number }>();

  constructor(
    config: ValidatedConfig,
    private readonly engine: KillTarget,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly announce: (event: KillEvent) => void,
    private readonly onProblem: (error: SwitchyardError) => void,
    private readonly options: {
      pollIntervalMs?: number;
      connectTimeoutMs?: number;
      /** The instance's fleet connection (shared with the guardrail metrics) when the config has a fleet. */
      connection?: FleetConnection;
    } = {},
  ) {
    this.instance = `${config.exposures.instance ?? hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.store = this.storeFor(config, options.connection);
  }

  private storeFor(config: ValidatedConfig, connection: FleetConnection | undefined): KillStore {
    return new KillStore({
      file: stateFilePath(config.exposures.dir),
      fleet: config.fleet,
      connection,
      instance: this.instance,
      logger: this.logger,
      onChange: (record) => this.applied(record, true),
      onProblem: this.onProblem,
      pollIntervalMs: this.options.pollIntervalMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
    });
  }

  /**
   * A reloaded `fleet` block: a new store on the new connection (or on the state file
   * without a fleet) takes over every record known here, the old one finishes its writes,
   * and the new one starts: it pushes what it knows and re-reads the shared state there,
   * applying whatever is newer. Kills made meanwhile go to the new store.
   */
  async moveFleet(config: ValidatedConfig, connection: FleetConnection | undefined): Promise<void> {
    const old = this.store;
    const store = this.storeFor(config, connection);
    store.seed(old.all());
    this.store = store;
    await old.close();
    await store.start();
  }

  /** Applies the persisted kills (synchronous), so they hold from the first evaluation. */
  load(): void {
    for (const r of this.store.loadLocal()) {
      const paused = pausedExperiment(r);
      if (paused !== undefined) {
        if (r.killed) this.engine.pause?.(paused, r.pausedAt ?? r.at);
      } else if (r.killed) this.engine.kill(r.experiment, r.reason);
    }
  }

  /** Connects to the fleet (bounded wait) or starts watching the state file. */
  start(): Promise<void> {
    return this.store.start();
  }

  set(experiment: string, killed: boolean, reason: string, by: string, evidence?: unknown): KillRecord {
    // A decision made here supersedes the one it follows, even within a millisecond, on a
    // fake clock, or over a record stamped by a clock ahead of this one.
    const previous = this.store.get(experiment)?.at ?? -Infinity;
    const kept = evidence === undefined ? undefined : asJson(evidence);
    const record: KillRecord = {
      experiment,
      killed,
      reason: asText(reason),
      by: asText(by),
      at: Math.max(this.clock.now(), previous + 1),
      origin: this.instance,
      ...(kept !== undefined ? { evidence: kept } : {}),
    };
    this.applied(record, false);
    this.store.record(record);
    return record;
  }

  /**
   * Pauses (freezes at its step now) or resumes a gradual ramp, here at once, then persisted
   * and broadcast like a kill, under `pause:<experiment>`. Pausing a paused ramp keeps the
   * time it was frozen at.
   */
  setPause(experiment: string, paused: boolean, reason: string, by: string): KillRecord {
    const key = pauseKey(experiment);
    const previous = this.store.get(key);
    const now = this.clock.now();
    const pausedAt = previous?.killed ? (previous.pausedAt ?? previous.at) : now;
    const record: KillRecord = {
      experiment: key,
      killed: paused,
      reason: asText(reason),
      by: asText(by),
      at: Math.max(now, (previous?.at ?? -Infinity) + 1),
      origin: this.instance,
      ...(paused ? { pausedAt } : {}),
    };
    this.applied(record, false);
    this.store.record(record);
    return record;
  }

  record(experiment: string): KillRecord | undefined {
    return this.store.get(experiment);
  }

  /** The kill record in force now in the shared state, read from it (see KillStore.current). */
  current(experiment: string): Promise<KillRecord | undefined> {
    return this.store.current(experiment);
  }

  /** The latest pause record of an experiment's ramp (pause or resume), if any. */
  pauseRecord(experiment: string): KillRecord | undefined {
    return this.store.get(pauseKey(experiment));
  }

  killed(): string[] {
    return this.store
      .all()
      .filter((r) => r.killed && pausedExperiment(r) === undefined)
      .map((r) => r.experiment);
  }

  fleetConnected(): boolean | undefined {
    const s = this.store.status();
    return s.mode === 'fleet' ? s.connected : undefined;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private applied(record: KillRecord, remote: boolean): void {
    const paused = pausedExperiment(record);
    if (paused !== undefined) {
      this.engine.pause?.(paused, record.killed ? (record.pausedAt ?? record.at) : undefined);
      return;
    }
    if (record.killed) {
      this.engine.kill(record.experiment, record.reason);
      let t = this.tally.get(record.experiment);
      if (!t) this.tally.set(record.experiment, (t = { local: 0, remote: 0 }));
      if (remote) t.remote++;
      else t.local++;
    } else this.engine.unkill(record.experiment);
    this.announce({ ...record, remote });
  }
}

/**
 * A record's who and why as text: a JavaScript caller may pass anything, and a record whose
 * reason is not a string is no record to the store that reads it back (parseKillRecord):
 * the kill held in this process and was gone after a restart.
 */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : shown(value);
}

/** Evidence as it will be read back: JSON, or a note saying why it was not kept (a BigInt, a cycle). */
function asJson(evidence: unknown): unknown {
  try {
    const text = JSON.stringify(evidence);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch (error) {
    return `evidence not kept: it is not JSON (${messageOf(error)})`;
  }
}
