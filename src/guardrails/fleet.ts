/**
 * Fleet metrics through Redis (the I/O edge of the guardrails). Every instance pushes what
 * it recorded since its last push (deltas of counts, sums and histogram buckets) into one
 * hash per experiment, and reads the hashes back for the checks, so a breach spread over
 * ten small instances is seen as one.
 *
 * Exactly once: each push carries the instance's id and a sequence number, and one Lua
 * script applies the increments and records the sequence atomically, skipping a sequence
 * already applied. A push whose reply was lost is retried with the same sequence and the
 * same delta, so it counts once whether or not the first try landed; deltas recorded
 * meanwhile wait for the next sequence.
 *
 * Redis away: nothing throws into the service. Pushes fail fast (no offline queue), the
 * unpushed deltas stay in the pusher and go out on reconnect, and reads fall back to the
 * last merged numbers plus everything recorded locally since. The connection is the
 * instance's fleet link (shared with the kill store), which logs an outage once for both.
 *
 * Layout: `<prefix>:metrics:<experiment>` hash, field `<variant>|<metric>|<stat>` (stat n,
 * sum, sumSq, min, max, b<bucket>) and `<variant>||units`; `<prefix>:pushseq:<instance>`.
 */
import { randomUUID } from 'node:crypto';
import type { FleetLink, Logger } from '../ports.js';
import { dict, diffSnapshots, mergeSnapshots, type ArmData, type MetricSnapshot, type SeriesData } from './recorder.js';

export interface FleetOptions {
  /** The instance's fleet connection (shared with its kill store). */
  readonly link: FleetLink;
  readonly prefix: string;
  readonly pushIntervalMs: number;
  /** What this instance recorded so far (cumulative). */
  readonly local: () => MetricSnapshot;
  /** Where a metrics key that another writer filled with garbage is reported (once per key). */
  readonly logger?: Logger;
}

/**
 * Checks every key and field first and writes after: a key another writer filled with
 * something else (not a hash, a field that is not a number, a sum that would overflow) is
 * refused before anything of the push is applied, since a push applied half-way would be
 * applied again at its retry. Refused: {key index, why, ...}, nothing written, the sequence
 * not recorded (the caller pushes the rest under the same sequence).
 */
const PUSH_SCRIPT = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if last >= tonumber(ARGV[1]) then return 0 end
local refused = {}
local i = 2
for k = 2, #KEYS do
  local nf = tonumber(ARGV[i])
  local first = i + 1
  i = first + 3 * nf
  local why = nil
  local t = redis.call('TYPE', KEYS[k]).ok
  if t ~= 'hash' and t ~= 'none' then why = 'holds a ' .. t .. ', not a hash' end
  for j = 0, nf - 1 do
    if why then break end
    local op, f, v = ARGV[first + 3 * j], ARGV[first + 3 * j + 1], ARGV[first + 3 * j + 2]
    local cur = redis.call('HGET', KEYS[k], f)
    if cur then
      local c = (string.find(cur, '^[-+]?[%d.eE+-]+$') and tonumber(cur)) or nil
      if c == nil or c ~= c or c == math.huge or c == -math.huge then
        why = 'field ' .. f .. ' holds ' .. string.format('%q', string.sub(cur, 1, 40)) .. ', not a number'
      elseif op == 'i' and (not string.find(cur, '^-?%d+$') or math.abs(c + tonumber(v)) >= 9e18) then
        why = 'field ' .. f .. ' holds ' .. string.format('%q', string.sub(cur, 1, 40)) .. ', not a count'
      elseif op == 'f' and math.abs(c + tonumber(v)) == math.huge then
        why = 'field ' .. f .. ' would overflow'
      end
    end
  end
  if why then
    refused[#refused + 1] = k - 1
    refused[#refused + 1] = why
  end
end
if #refused > 0 then return refused end
i = 2
for k = 2, #KEYS do
  local nf = tonumber(ARGV[i]); i = i + 1
  for j = 1, nf do
    local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]; i = i + 3
    if op == 'i' then redis.call('HINCRBY', KEYS[k], f, v)
    elseif op == 'f' then redis.call('HINCRBYFLOAT', KEYS[k], f, v)
    else
      local cur = redis.call('HGET', KEYS[k], f)
      if (not cur) or (op == 'M' and tonumber(v) > tonumber(cur)) or (op == 'm' and tonumber(v) < tonumber(cur)) then
        redis.call('HSET', KEYS[k], f, v)
      end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', 604800)
return 1
`;

/** A Redis URL with its password replaced, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

/**
 * How long a rollback claim holds (see claimTrip): long enough for the claimer's kill to
 * reach the fleet, short enough that a claimer that died before killing holds nothing for
 * long (the others trip at their next check after it).
 */
export const TRIP_CLAIM_MS = 2000;

/**
 * The rollback claim (see claimTrip): set with its expiry unless a claim holds. A key there
 * that no claimer wrote (another type, a string without an expiry or with a longer one)
 * would refuse every claim for good, so no instance would ever roll back: it is replaced
 * (returns 2).
 */
const CLAIM_SCRIPT = `
local ttl = redis.call('PTTL', KEYS[1])
if redis.call('TYPE', KEYS[1]).ok == 'string' and ttl >= 0 and ttl <= tonumber(ARGV[2]) then return 0 end
local replaced = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1 + replaced
`;

export class FleetMetrics {
  readonly instanceId = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  /** What Redis holds from this instance (acknowledged pushes). */
  private pushed: MetricSnapshot = dict();
  private inflight: { seq: number; delta: MetricSnapshot } | undefined;
  private seq = 0;
  /**
   * Per experiment: the fleet's totals at its last read, and this instance's part of them
   * then. Kept per experiment because readers read different experiments at different
   * times (the guardrail monitor its guarded ones, the bandit its adaptive one).
   */
  private readonly lastRemote = new Map<string, Readonly<Record<string, ArmData>>>();
  private readonly pushedAtRead = new Map<string, Readonly<Record<string, ArmData>>>();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly detach: () => void;
  /** Metrics keys found holding what switchyard does not write (logged once each). */
  private readonly unusable = new Set<string>();
  readonly counters = { pushes: 0, pushFailures: 0, reads: 0, readFailures: 0 };

  constructor(private readonly options: FleetOptions) {
    this.detach = options.link.attach({
      whileDown: () =>
        'guardrail checks run on the numbers this instance has and its metric deltas are kept until Redis answers',
      whenBack: 'metric deltas kept meanwhile pushed',
      onReady: () => void this.push(),
    });
  }

  /** Connects (the shared link: waiting at most its connect timeout) and starts pushing; never throws. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.push(), this.options.pushIntervalMs);
    this.timer.unref();
    await this.options.link.start();
  }

  get connected(): boolean {
    return this.options.link.connected;
  }

  private get redis() {
    return this.options.link.redis;
  }

  private lost(error: Error): void {
    if (!this.closed) this.options.link.failed(error);
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.chain.then(job, job);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Claims the rollback of `experiment` for this instance (CLAIM_SCRIPT: a key set with a
   * short expiry, under the fleet's prefix). Every instance checks the same merged numbers,
   * so several may see a breach in the same moment; the one whose claim lands trips, and the others, refused, get
   * its kill through Redis instead of each making one of their own. True when claimed, and
   * when Redis cannot answer (the instance then acts on its own, as without a fleet); false
   * only when another instance claimed it within the last TRIP_CLAIM_MS.
   */
  async claimTrip(experiment: string): Promise<boolean> {
    if (!this.connected) return true;
    const key = `${this.options.prefix}:trip:${experiment}`;
    try {
      const reply = await this.redis.eval(CLAIM_SCRIPT, 1, key, this.instanceId, TRIP_CLAIM_MS);
      if (reply === 2)
        this.options.logger?.warn(
          `fleet metrics: ${key} in Redis held what no rollback claim writes (another type, no expiry or a longer one), which would have held off every instance's rollback of ${experiment}; replaced by this instance's claim`,
          { experiment, key },
        );
      return reply !== 0;
    } catch {
      return true;
    }
  }

  /** Pushes the deltas recorded since the last acknowledged push (or retries the one in flight). */
  push(): Promise<void> {
    return this.serial(async () => {
      if (!this.connected) return;
      if (this.inflight === undefined) {
        const pending = this.pending(this.options.local());
        if (isEmpty(pending)) return;
        this.inflight = { seq: ++this.seq, delta: pending };
      }
      const seq = this.inflight.seq;
      let delta = this.inflight.delta;
      try {
        // Experiments whose key Redis holds something else in are refused as a whole: they
        // are left out of this push (so they stay pending, and count once when they land).
        for (;;) {
          const experiments = Object.keys(delta);
          const keys = [`${this.options.prefix}:pushseq:${this.instanceId}`];
          const args: (string | number)[] = [seq];
          for (const experiment of experiments) {
            const fields = fieldsOf(delta[experiment]!);
            keys.push(this.metricsKey(experiment));
            args.push(fields.length / 3, ...fields);
          }
          const reply: unknown = await this.redis.eval(PUSH_SCRIPT, keys.length, ...keys, ...args);
          if (!Array.isArray(reply)) {
            this.pushed = mergeSnapshots(this.pushed, delta);
            this.inflight = undefined;
            this.counters.pushes++;
            for (const key of keys) this.unusable.delete(key);
            return;
          }
          const rest = dict<Readonly<Record<string, ArmData>>>();
          Object.assign(rest, delta);
          for (let j = 0; j + 1 < reply.length; j += 2) {
            const experiment = experiments[Number(reply[j]) - 1]!;
            delete rest[experiment];
            this.refused(this.metricsKey(experiment), experiment, String(reply[j + 1]), 'push');
          }
          if (isEmpty(rest)) {
            this.inflight = undefined;
            return;
          }
          delta = rest;
          this.inflight = { seq, delta };
        }
      } catch (error) {
        this.counters.pushFailures++;
        this.lost(error as Error);
      }
    });
  }

  /**
   * A metrics key that holds something switchyard did not write: logged once (until the key
   * is usable again). Its experiment's numbers are this instance's own meanwhile, and its
   * deltas stay here until a push lands.
   */
  private refused(key: string, experiment: string, why: string, what: 'push' | 'read'): void {
    if (this.unusable.has(key)) return;
    this.unusable.add(key);
    this.options.logger?.warn(
      `fleet metrics: ${key} in Redis ${why} (written by something other than switchyard), so the ${what} of ` +
        `${experiment} was refused; its guardrail checks use this instance's numbers and its deltas are kept here ` +
        `until the key is deleted or fixed`,
      { experiment, key },
    );
  }

  private metricsKey(experiment: string): string {
    return `${this.options.prefix}:metrics:${experiment}`;
  }

  /** Recorded locally and not yet acknowledged by Redis (the in-flight push included). */
  private pending(local: MetricSnapshot): MetricSnapshot {
    return diffSnapshots(local, this.pushed);
  }

  /**
   * The fleet's numbers for these experiments: read from Redis (after pushing), or, when
   * Redis does not answer, the last read plus everything recorded here since.
   */
  merged(experiments: readonly string[]): Promise<{ snapshot: MetricSnapshot; source: 'fleet' | 'stale' }> {
    return this.serial(async () => {
      let source: 'fleet' | 'stale' = 'stale';
      if (this.connected) {
        try {
          const seqKey = `${this.options.prefix}:pushseq:${this.instanceId}`;
          const pipeline = this.redis.multi();
          pipeline.get(seqKey);
          for (const e of experiments) pipeline.hgetall(this.metricsKey(e));
          const replies = (await pipeline.exec()) ?? [];
          if (replies[0]?.[0]) throw replies[0][0];
          const applied = Number(replies[0]?.[1] ?? 0);
          // A push whose reply was lost may have landed: Redis's sequence says.
          if (this.inflight !== undefined && applied >= this.inflight.seq) {
            this.pushed = mergeSnapshots(this.pushed, this.inflight.delta);
            this.inflight = undefined;
          }
          let fresh = true;
          experiments.forEach((e, i) => {
            const [error, hash] = replies[i + 1] ?? [null, {}];
            if (error) {
              // Not a hash (another writer's key): this experiment keeps its last read.
              if (!/^WRONGTYPE/.test(error.message)) throw error;
              this.refused(this.metricsKey(e), e, 'is not a hash', 'read');
              fresh = false;
              return;
            }
            this.lastRemote.set(e, parseHash(hash as Record<string, string>));
            this.pushedAtRead.set(e, this.pushed[e] ?? dict());
          });
          this.counters.reads++;
          source = fresh ? 'fleet' : 'stale';
        } catch (error) {
          this.counters.readFailures++;
          this.lost(error as Error);
        }
      }
      return { snapshot: this.cached(experiments), source };
    });
  }

  /**
   * Without a round trip: each experiment's numbers at its last read plus everything
   * recorded here since (this instance's own numbers alone for an experiment never read).
   */
  cached(experiments: readonly string[]): MetricSnapshot {
    const local = this.options.local();
    const out = dict<Readonly<Record<string, ArmData>>>();
    for (const e of experiments) {
      const since = diffSnapshots({ [e]: local[e] ?? dict() }, { [e]: this.pushedAtRead.get(e) ?? dict() });
      out[e] = mergeSnapshots({ [e]: this.lastRemote.get(e) ?? dict() }, since)[e] ?? dict();
    }
    return out;
  }

  /** Writes a JSON value with a TTL; false when Redis does not answer. */
  async publish(key: string, value: unknown, ttlMs: number): Promise<boolean> {
    if (!this.connected) return false;
    try {
      await this.redis.set(`${this.options.prefix}:${key}`, JSON.stringify(value), 'PX', Math.max(1, ttlMs));
      return true;
    } catch (error) {
      this.lost(error as Error);
      return false;
    }
  }

  /** One last push, then stops (the instance closes the shared connection). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.push();
    this.closed = true;
    await this.chain;
    this.detach();
  }
}

function isEmpty(s: MetricSnapshot): boolean {
  return Object.values(s).every((arms) => Object.keys(arms).length === 0);
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(17));

/** A delta of one experiment as (op, field, value) triples for the push script. */
function fieldsOf(arms: Readonly<Record<string, ArmData>>): string[] {
  const out: string[] = [];
  for (const [variant, arm] of Object.entries(arms)) {
    if (arm.units !== 0) out.push('i', `${variant}||units`, num(arm.units));
    for (const [metric, s] of Object.entries(arm.metrics)) {
      if (s.n === 0) continue;
      const f = `${variant}|${metric}|`;
      out.push('i', `${f}n`, num(s.n), 'f', `${f}sum`, num(s.sum), 'f', `${f}sumSq`, num(s.sumSq));
      out.push('m', `${f}min`, num(s.min), 'M', `${f}max`, num(s.max));
      for (const [k, c] of Object.entries(s.buckets)) out.push('i', `${f}b${k}`, num(c));
    }
  }
  return out;
}

/** A bucket field's index: a whole number, or z (values <= 0), as Series.data() writes them. */
const BUCKET = /^(?:-?\d{1,10}|z)$/;

/**
 * The fleet's hash back into arms. The names in it come from Redis, where any writer may
 * have put anything: they are keys of prototype-less records, and a field that is not one
 * switchyard writes (or whose value is not a finite number) is skipped.
 */
function parseHash(hash: Record<string, string> | undefined): Record<string, ArmData> {
  const arms = dict<{ units: number; metrics: Record<string, SeriesData> }>();
  for (const [field, raw] of Object.entries(hash ?? {})) {
    const first = field.indexOf('|');
    const last = field.lastIndexOf('|');
    if (first < 0 || last === first) continue;
    const variant = field.slice(0, first);
    const metric = field.slice(first + 1, last);
    const stat = field.slice(last + 1);
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    const isUnits = metric === '' && stat === 'units';
    const isBucket = stat.startsWith('b') && BUCKET.test(stat.slice(1));
    const isMoment = stat === 'n' || stat === 'sum' || stat === 'sumSq' || stat === 'min' || stat === 'max';
    if (!isUnits && (metric === '' || !(isBucket || isMoment))) continue;
    const arm = (arms[variant] ??= { units: 0, metrics: dict() });
    if (isUnits) {
      arm.units = value;
      continue;
    }
    const s = (arm.metrics[metric] ??= { n: 0, sum: 0, sumSq: 0, min: Infinity, max: -Infinity, buckets: dict() }) as {
      -readonly [K in keyof SeriesData]: SeriesData[K];
    } & { buckets: Record<string, number> };
    if (isBucket) s.buckets[stat.slice(1)] = value;
    else s[stat as 'n' | 'sum' | 'sumSq' | 'min' | 'max'] = value;
  }
  return arms;
}
