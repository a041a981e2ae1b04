/**
 * Sticky assignments in Redis, fleet-wide and kept across restarts: one hash per
 * experiment, `<prefix>:sticky:<experiment>`, unit id -> variant name. Each round trip
 * renews the hash's time to live (`sticky_ttl`, default 90 days: PEXPIRE), so the hash of
 * an experiment that ended (no instance looks a unit up any more) leaves Redis by itself;
 * without it every experiment's hash, a field per unit ever assigned, stayed for good.
 *
 * The adaptive experiment keeps every unit it has seen in its memory table, so a unit
 * already seen never waits on Redis. A unit not in memory costs one round trip, shared
 * with every other such unit of the same tick (up to 500 a pipeline): one pipeline of HSETNX (propose the arm the
 * current weights give) and HGET (read the winner: the stored arm if another instance or
 * an earlier run had one). When the memory table is full it is cleared and units are
 * read back from Redis as they come (one round trip each, batched).
 *
 * Redis down or slower than `timeoutMs`: the unit gets the proposed arm from memory at
 * once and is queued (up to `maxPending` units; beyond that counted as unsynced). When
 * Redis answers again, the queue is written with HSETNX: an arm stored meanwhile by
 * another instance wins (fleet-wide agreement), the unit's memory entry is corrected, and
 * the conflict is counted. Nothing throws into the caller; the first failure is logged
 * once per outage.
 */
import type { Redis } from 'ioredis';
import { DEFAULT_STICKY_TTL_MS } from '../../config/index.js';
import type { Logger } from '../../ports.js';

/** The unit's arm, and whether this call stored it first (the unit is new to the fleet). */
export interface StickyAnswer {
  readonly name: string;
  readonly isNew: boolean;
}

const MAX_BATCH = 500;

interface Waiter {
  readonly unit: string;
  readonly proposed: string;
  readonly resolve: (answer: StickyAnswer) => void;
}

export interface RedisStickyCounters {
  /** Round trips made for units not in memory. */
  lookups: number;
  /** Units served from memory because Redis was away or slow. */
  servedFromMemory: number;
  /** Units written to Redis after an outage. */
  reconciled: number;
  /** Reconciled units whose arm in Redis differed (Redis won). */
  conflicts: number;
  /** Units served during an outage beyond maxPending, never written. */
  unsynced: number;
}

export class RedisStickyStore {
  readonly key: string;
  readonly counters: RedisStickyCounters = {
    lookups: 0,
    servedFromMemory: 0,
    reconciled: 0,
    conflicts: 0,
    unsynced: 0,
  };
  private batch: Waiter[] = [];
  private scheduled = false;
  private inFlight = false;
  private readonly pending = new Map<string, string>();
  private down = false;
  private reconciling: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly experiment: string,
    private readonly logger: Logger,
    /** Called when reconciliation finds another arm stored for a unit served from memory. */
    private readonly onCorrect: (unit: string, name: string) => void,
    private readonly timeoutMs = 100,
    private readonly maxPending = 1_000_000,
    /** The hash's time to live, renewed by every round trip (read at each: a config reload may change it). */
    private readonly ttlMs: () => number = () => DEFAULT_STICKY_TTL_MS,
  ) {
    this.key = `${prefix}:sticky:${experiment}`;
  }

  get pendingUnits(): number {
    return this.pending.size;
  }

  get isDown(): boolean {
    return this.down;
  }

  /** The unit's stored arm, or `proposed` stored for it now (or kept in memory while Redis is away). */
  resolve(unit: string, proposed: string): Promise<StickyAnswer> {
    return new Promise<StickyAnswer>((resolve) => {
      this.batch.push({ unit, proposed, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => void this.flush());
      }
    });
  }

  /**
   * One round trip in flight at a time, of at most MAX_BATCH units, so a burst queues
   * behind it instead of racing many pipelines against one timeout; units arriving
   * meanwhile go in the next one.
   */
  private async flush(): Promise<void> {
    if (this.inFlight) return;
    const batch = this.batch.splice(0, MAX_BATCH);
    if (batch.length === 0) {
      this.scheduled = false;
      return;
    }
    if (this.down || this.redis.status !== 'ready') {
      this.serveFromMemory(batch);
      return this.flush();
    }
    this.inFlight = true;
    this.counters.lookups++;
    const pipeline = this.redis.pipeline();
    for (const w of batch) pipeline.hsetnx(this.key, w.unit, w.proposed).hget(this.key, w.unit);
    // Last, so the answers of the units keep their places; its own answer is not read.
    pipeline.pexpire(this.key, this.ttlMs());
    const result = await this.within(pipeline.exec().catch((e: unknown) => e as Error));
    this.inFlight = false;
    if (result === 'timeout' || result instanceof Error || result === null) {
      this.wentDown(result === 'timeout' ? `no answer within ${this.timeoutMs} ms` : String(result));
      this.serveFromMemory(batch);
    } else {
      // A pipeline answers command by command: a connection lost mid-flight (before the client
      // saw it go) fails every command, not the exec. Such a unit is served from memory and
      // written later, as for a timeout; answering it without remembering it would leave it
      // out of Redis for good, and another instance could give it another arm.
      const failed: Waiter[] = [];
      let why = '';
      batch.forEach((w, i) => {
        const [setError, created] = result[i * 2] ?? [null, 0];
        const [error, stored] = result[i * 2 + 1] ?? [null, null];
        if (setError || error) {
          why ||= (setError ?? error)!.message;
          failed.push(w);
        } else if (typeof stored !== 'string') w.resolve({ name: w.proposed, isNew: created === 1 });
        else w.resolve({ name: stored, isNew: created === 1 });
      });
      if (failed.length > 0) {
        this.wentDown(why);
        this.serveFromMemory(failed);
      }
    }
    return this.flush();
  }

  /** A round trip, or 'timeout' after `timeoutMs`. */
  private async within<T>(roundTrip: Promise<T>): Promise<T | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      timer.unref?.();
    });
    try {
      return await Promise.race([roundTrip, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private serveFromMemory(batch: readonly Waiter[]): void {
    for (const w of batch) {
      this.counters.servedFromMemory++;
      if (this.pending.size < this.maxPending) this.pending.set(w.unit, w.proposed);
      else this.counters.unsynced++;
      // Counted as new here; reconciliation cannot take the count back, so a unit that
      // turns out to be stored already is counted twice (and counted as a conflict).
      w.resolve({ name: w.proposed, isNew: true });
    }
  }

  private wentDown(why: string): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn(
      `sticky store: Redis unreachable for ${this.experiment} (${why}); new units are assigned from memory and written to Redis when it is back`,
      { experiment: this.experiment },
    );
  }

  /** Writes units served from memory to Redis; call when Redis is ready again. Safe to call often. */
  reconcile(): Promise<void> {
    if (this.reconciling) return this.reconciling;
    if (this.redis.status !== 'ready') return Promise.resolve();
    this.reconciling = this.reconcileNow().finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private async reconcileNow(): Promise<void> {
    if (this.down && this.pending.size === 0) {
      this.down = false;
      this.logger.info(`sticky store: Redis is back for ${this.experiment}`, { experiment: this.experiment });
    }
    while (this.pending.size > 0) {
      const chunk = [...this.pending].slice(0, 1000);
      const pipeline = this.redis.pipeline();
      for (const [unit, name] of chunk) pipeline.hsetnx(this.key, unit, name).hget(this.key, unit);
      pipeline.pexpire(this.key, this.ttlMs());
      // Bounded like a lookup: a Redis that stopped answering keeps the units pending
      // (written at a later call) instead of holding close() for as long as it lasts.
      const result = await this.within(pipeline.exec().catch(() => null));
      if (!result || result === 'timeout') return;
      let failed = false;
      chunk.forEach(([unit, name], i) => {
        // A command that failed (the connection went again, or the key is unusable) leaves
        // its unit pending, for the next try.
        if (result[i * 2]?.[0] || result[i * 2 + 1]?.[0]) {
          failed = true;
          return;
        }
        this.pending.delete(unit);
        this.counters.reconciled++;
        const stored = result[i * 2 + 1]?.[1];
        if (typeof stored === 'string' && stored !== name) {
          this.counters.conflicts++;
          this.onCorrect(unit, stored);
        }
      });
      if (failed) return;
      if (this.pending.size === 0 && this.down) {
        this.down = false;
        this.logger.info(`sticky store: Redis is back for ${this.experiment}; units served from memory are written`, {
          experiment: this.experiment,
        });
      }
    }
  }
}
