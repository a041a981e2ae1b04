/**
 * Kill state that lasts and travels. The caller applies a kill in its own process first
 * (synchronously, before any I/O); this store then makes it last (the state file beside
 * the journal) and travel (Redis: a hash of records plus a pub/sub message). Changes made
 * elsewhere come back through `onChange`: from a message, from the hash (read at start,
 * on every reconnect and every push interval, so an instance that missed a message
 * converges), or, without a fleet, from the state file when the CLI rewrites it.
 *
 * Nothing here throws into the service: with Redis away the store keeps the last state it
 * knew (in memory and in the file), and on reconnect pushes what it decided meanwhile and
 * takes what it missed; records merge by "last writer wins", so every copy converges.
 * Redis is reached through the instance's fleet connection (src/fleet/connection.ts),
 * shared with the guardrail metrics, which logs an outage once for both.
 */
import type { ValidatedFleet } from '../config/index.js';
import { SwitchyardError } from '../errors.js';
import type { Logger } from '../ports.js';
import { FleetConnection } from './connection.js';
import { isNewer, parseKillRecord, type KillRecord } from './kill-record.js';
import { fleetKeys, setIfNewer } from './redis.js';
import { mergeIntoStateFile, readStateFile, stateFileStamp } from './state-file.js';

export interface KillStoreOptions {
  /** The state file (`<exposures dir>/state.json`). */
  readonly file: string;
  readonly fleet: ValidatedFleet | undefined;
  /**
   * The instance's fleet connection (for `fleet`), shared with its other fleet parts.
   * Without one the store opens and closes its own.
   */
  readonly connection?: FleetConnection;
  /** This instance's id: the origin of its records, so its own messages are not news. */
  readonly instance: string;
  readonly logger: Logger;
  /** A record made elsewhere changed the kill state of an experiment. */
  readonly onChange: (record: KillRecord) => void;
  /** A problem worth an `error` event (already logged once here). */
  readonly onProblem?: (error: SwitchyardError) => void;
  /** How often the state file is checked for changes without a fleet (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** How long start() waits for Redis before serving from the local state (default 2000 ms). */
  readonly connectTimeoutMs?: number;
}

export interface KillStoreStatus {
  readonly mode: 'fleet' | 'file';
  /** Fleet mode: whether Redis answers now. */
  readonly connected: boolean;
  readonly file: string;
  readonly redis: string | undefined;
}

export class KillStore {
  private readonly records = new Map<string, KillRecord>();
  /** Fleet mode: the connection, once start() has run. */
  private link: FleetConnection | undefined;
  private detach: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stamp = '';
  private closed = false;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  private persistPending: NodeJS.Immediate | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly keys;

  constructor(private readonly options: KillStoreOptions) {
    this.keys = fleetKeys(options.fleet?.prefix ?? 'switchyard');
    // Attached at once, so an outage logged before start() says what the kill state does.
    if (options.fleet && options.connection) this.attachTo(options.connection);
  }

  private attachTo(link: FleetConnection): FleetConnection {
    this.link = link;
    this.detach = link.attach({
      whileDown: () =>
        `serving the last known kill state (${this.all().filter((r) => r.killed).length} killed, from ${this.options.file})`,
      whenBack: 'kill state re-read',
      onReady: () => void this.resync(),
    });
    return link;
  }

  /**
   * Reads the state file synchronously, so the kills it holds apply from the first call.
   * Returns the records (kills and unkills) it found. A corrupt file is logged and ignored.
   */
  loadLocal(): KillRecord[] {
    try {
      for (const r of readStateFile(this.options.file).values())
        if (isNewer(r, this.records.get(r.experiment))) this.records.set(r.experiment, r);
    } catch (error) {
      this.problem(error as SwitchyardError);
    }
    this.stamp = stateFileStamp(this.options.file);
    return [...this.records.values()];
  }

  /**
   * Fleet mode: connects, subscribes and reads the shared state, waiting at most the
   * connect timeout (a Redis that does not answer is logged, and the instance serves
   * from its local state while reconnecting in the background). File mode: starts
   * polling the state file.
   */
  async start(): Promise<void> {
    const fleet = this.options.fleet;
    if (!fleet) {
      this.timer = setInterval(() => this.pollFile(), this.options.pollIntervalMs ?? 250);
      this.timer.unref();
      return;
    }
    const timeoutMs = this.options.connectTimeoutMs ?? 2000;
    const link =
      this.link ??
      this.attachTo(
        new FleetConnection(fleet, {
          logger: this.options.logger,
          onProblem: this.options.onProblem,
          connectTimeoutMs: timeoutMs,
        }),
      );
    const initial = (async () => {
      await link.start();
      await link.subscribe(this.keys.killChannel, (message) => this.onMessage(message));
      await this.resync();
    })().catch((error: unknown) => link.failed(error as Error));
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timeout = setTimeout(() => {
        link.failed(new Error(`no answer within ${timeoutMs} ms`));
        resolve();
      }, timeoutMs);
      timeout.unref();
    });
    await Promise.race([initial, timedOut]);
    clearTimeout(timeout);
    this.timer = setInterval(() => void this.resync(), fleet.pushIntervalMs);
    this.timer.unref();
  }

  /**
   * Takes records known before this store (the one it replaces on a config reload) as its
   * own, without announcing them: they are already in force.
   */
  seed(records: Iterable<KillRecord>): void {
    for (const r of records) if (isNewer(r, this.records.get(r.experiment))) this.records.set(r.experiment, r);
  }

  get(experiment: string): KillRecord | undefined {
    return this.records.get(experiment);
  }

  /**
   * The record in force now in the shared state, read from it (the state file; Redis with a
   * fleet, when it answers), not only what this instance has heard so far, and taken in as
   * any newer record is. For a change sent somewhere slow (the vendor) to check that it is
   * still the decision in force once it got there.
   */
  async current(experiment: string): Promise<KillRecord | undefined> {
    if (this.closed) return this.records.get(experiment);
    if (!this.options.fleet) this.pollFile();
    else if (this.link?.connected) {
      const link = this.link;
      try {
        const text = await link.redis.hget(this.keys.kills, experiment);
        // Taken in as a broadcast record is: parsed, and kept when newer.
        if (text !== null) this.onMessage(text);
      } catch (error) {
        link.failed(error as Error);
      }
    }
    return this.records.get(experiment);
  }

  all(): KillRecord[] {
    return [...this.records.values()];
  }

  status(): KillStoreStatus {
    return {
      mode: this.options.fleet ? 'fleet' : 'file',
      connected: this.link?.connected ?? false,
      file: this.options.file,
      redis: this.link?.label,
    };
  }

  /**
   * A decision made in this process (already applied by the caller): persisted to the
   * state file at once, then written to Redis and published. Never throws; a write that
   * fails now is pushed at the next resync.
   */
  record(record: KillRecord): void {
    this.records.set(record.experiment, record);
    if (this.link && !this.closed) {
      // Redis first: the other instances should not wait for this one's disk. Not connected
      // (yet, or any more): the next resync pushes it, on 'ready' or at the push interval.
      if (this.link.connected)
        this.track(setIfNewer(this.link.redis, this.keys, record.experiment, JSON.stringify(record)));
      this.persistSoon();
    } else this.persist(); // without a fleet the file is the state: written before kill() returns
  }

  /** Waits (up to `timeoutMs`) for writes in flight, then disconnects and stops polling. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.persistPending) {
      clearImmediate(this.persistPending);
      this.persistPending = undefined;
      this.persist();
    }
    if (this.inflight.size > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((resolve) => (t = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(t);
    }
    this.detach?.();
    // A connection given by the instance is closed by the instance, after every part is done.
    if (this.link && this.link !== this.options.connection) await this.link.close();
  }

  /** Takes the records that supersede ours, tells the caller about each change, saves the result. */
  /** Takes the records newer than ours; `persist`: write the local copy after (not when they came from it). */
  private accept(incoming: Iterable<KillRecord>, persist = true): void {
    let changed = false;
    for (const r of incoming) {
      const previous = this.records.get(r.experiment);
      if (!isNewer(r, previous)) continue;
      this.records.set(r.experiment, r);
      changed = true;
      if (r.killed || previous?.killed) this.options.onChange(r);
    }
    if (changed && persist) this.persistSoon();
  }

  private onMessage(message: string): void {
    let record: KillRecord | undefined;
    try {
      record = parseKillRecord(JSON.parse(message));
    } catch {
      record = undefined;
    }
    if (record) this.accept([record]);
  }

  /**
   * Anti-entropy with Redis: pushes every record of ours that Redis lacks or holds older
   * (decided while Redis was away), then takes every newer one it holds. Calls that come
   * while one runs are folded into one more run.
   */
  private resync(): Promise<void> {
    if (this.closed || !this.link) return Promise.resolve();
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    const link = this.link;
    const cmd = link.redis;
    const run = async () => {
      do {
        this.resyncAgain = false;
        const raw = await cmd.hgetall(this.keys.kills);
        const remote = new Map<string, KillRecord>();
        for (const text of Object.values(raw)) {
          let r: KillRecord | undefined;
          try {
            r = parseKillRecord(JSON.parse(text));
          } catch {
            r = undefined;
          }
          if (r) remote.set(r.experiment, r);
        }
        for (const mine of this.records.values())
          if (isNewer(mine, remote.get(mine.experiment)))
            await setIfNewer(cmd, this.keys, mine.experiment, JSON.stringify(mine));
        this.accept(remote.values());
      } while (this.resyncAgain && !this.closed);
    };
    this.resyncing = run()
      .catch((error: unknown) => link.failed(error as Error))
      .finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private pollFile(): void {
    const stamp = stateFileStamp(this.options.file);
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.accept(readStateFile(this.options.file).values());
    } catch (error) {
      this.problem(error as SwitchyardError);
    }
  }

  /**
   * Writes the local copy after the current turn of the event loop, so the evaluations a
   * change unblocks (and the 'kill' listeners) run before the disk is touched; changes
   * arriving meanwhile share one write.
   */
  private persistSoon(): void {
    if (this.persistPending) return;
    this.persistPending = setImmediate(() => {
      this.persistPending = undefined;
      this.persist();
    });
  }

  private persist(): void {
    try {
      const merged = mergeIntoStateFile(this.options.file, this.records.values());
      this.stamp = stateFileStamp(this.options.file);
      // Without a fleet the file is the state, and the merge may have found another
      // writer's newer records in it (the CLI's, another process's): the new stamp covers
      // them, so polling would not read them again; they are taken now. (With a fleet the
      // file is this process's copy of Redis, not a source.)
      if (!this.options.fleet) this.accept(merged.values(), false);
    } catch (error) {
      this.problem(error as SwitchyardError);
    }
  }

  private track(promise: Promise<unknown>): void {
    const p = promise
      .catch((error: unknown) => this.link?.failed(error as Error))
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private problem(error: SwitchyardError | Error): void {
    const e =
      error instanceof SwitchyardError
        ? error
        : new SwitchyardError('SY_STATE_FILE', 'fleet', String((error as Error)?.message ?? error));
    this.options.logger.error(`${e.code}: ${e.what}`, { code: e.code });
    this.options.onProblem?.(e);
  }
}
