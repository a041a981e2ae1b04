/**
 * Redis connections for the fleet (ioredis) and the keys switchyard uses in it. Every
 * connection here is built never to throw into the service: commands fail fast while
 * Redis is away (no offline queue) instead of piling up, reconnection is retried every
 * second at most, and connection errors are reported once per outage through `onDown`.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { LAST_TIME, type KillRecord } from './kill-record.js';
import { messageOf } from '../errors.js';

/** Keys and channels under the fleet's prefix. */
export function fleetKeys(prefix: string) {
  return {
    /** Hash: experiment -> kill record (JSON), tombstones included. */
    kills: `${prefix}:kills`,
    /** Pub/sub channel: each kill record as it is written. */
    killChannel: `${prefix}:kills:changes`,
    /** Per experiment: the guardrail checks' latest results (JSON), written by the monitor. */
    status: (experiment: string) => `${prefix}:status:${experiment}`,
    /** Per adaptive experiment: its current allocation version (JSON), written by the re-weighting leader. */
    allocation: (experiment: string) => `${prefix}:adaptive:${experiment}:version`,
    /** Per adaptive experiment: the re-weighting lock (value: the leader instance). */
    allocationLock: (experiment: string) => `${prefix}:adaptive:${experiment}:lock`,
  } as const;
}

/** The URL without credentials, for messages: a password never reaches a log. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'redis://(unparseable URL)';
  }
}

/**
 * What went wrong with Redis, for a message: Redis answered with an error (a key of another
 * type under the prefix: WRONGTYPE) is a refusal on the keys under `prefix`, not Redis being
 * out of reach; anything else is Redis out of reach.
 */
export function redisFailure(label: string, prefix: string, error: unknown): string {
  return (error as Error | null)?.name === 'ReplyError'
    ? `Redis at ${label} refused a command on the keys under "${prefix}:" (${messageOf(error)}: a key there holds what switchyard did not write?)`
    : `cannot reach Redis at ${label} (${messageOf(error)})`;
}

export interface ConnectOptions {
  /**
   * ms to wait for a connection before a command fails (default 2000), and, on a connection
   * that does not queue, for a command's answer: a Redis that stops answering without
   * closing the connection (paused, hung, a blackholed network) fails the command then
   * instead of holding its caller (a guardrail check, close()) for as long as it lasts.
   */
  connectTimeoutMs?: number;
  /** Keep commands while disconnected and send them on reconnect (subscribers need it). */
  queueWhileDown?: boolean;
  /** Retry connecting (default true); a one-shot CLI call says false. */
  reconnect?: boolean;
}

export function connectRedis(url: string, options: ConnectOptions = {}): Redis {
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // A subscriber's SUBSCRIBE waits for the connection on purpose, and then never answers again.
    ...(options.queueWhileDown ? {} : { commandTimeout: options.connectTimeoutMs ?? 2000 }),
    enableOfflineQueue: options.queueWhileDown ?? false,
    maxRetriesPerRequest: options.queueWhileDown ? null : 0,
    retryStrategy: options.reconnect === false ? () => null : (times) => Math.min(50 * 2 ** times, 1000),
    // Without this ioredis sends INFO first and waits for "loading" to finish: fine, but
    // the first command should not wait on a check switchyard does not need.
    enableReadyCheck: false,
  };
  return new Redis(url, redisOptions);
}

/**
 * Compare-and-set of one kill record: written (and published) only if it supersedes the
 * stored one by (at, origin), so a late or repeated write never undoes a newer decision.
 * A stored value that is not a record, or is stamped beyond any clock (parseKillRecord
 * skips it), is overwritten. Returns 1 when written.
 */
export const SET_IF_NEWER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and type(c) == 'table' and type(c.at) == 'number' and math.abs(c.at) <= ${LAST_TIME} then
    local n = cjson.decode(ARGV[2])
    if c.at > n.at or (c.at == n.at and tostring(c.origin) >= tostring(n.origin)) then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1
`;

/** Runs SET_IF_NEWER; true when the record was written and published. */
export async function setIfNewer(
  redis: Redis,
  keys: ReturnType<typeof fleetKeys>,
  experiment: string,
  json: string,
): Promise<boolean> {
  const written = await redis.eval(SET_IF_NEWER, 2, keys.kills, keys.killChannel, experiment, json);
  return written === 1;
}

/**
 * An operator's overrule of one kill record (see stampedAfter): ARGV[2] is the record,
 * ARGV[3] the same record without its `at`. Written (and published) as is when it
 * supersedes the stored one, else stamped just after the stored one (its at + 1 ms) and
 * written. The stamp is taken here, in the script, from the record actually stored: a
 * client that read the record first and wrote after could be stamped after a record that
 * a newer decision replaced in between, and lose it. The restamped JSON is ARGV[3] with
 * `"at"` put first ('%.17g' gives the double back exactly), not a re-encoding of the
 * record (cjson would round numbers in `evidence` and turn empty arrays into objects).
 * Returns {1, json} when written as is, {2, json, stored} when restamped, {0, stored}
 * when no stamp can follow the stored record (stamped at the end of the Date range).
 */
export const OVERRULE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local rec = ARGV[2]
local code = 1
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and type(c) == 'table' and type(c.at) == 'number' and math.abs(c.at) <= ${LAST_TIME} then
    local n = cjson.decode(ARGV[2])
    if c.at > n.at or (c.at == n.at and tostring(c.origin) >= tostring(n.origin)) then
      local at = c.at + 1
      if at > ${LAST_TIME} then return {0, cur} end
      rec = '{"at":' .. string.format('%.17g', at) .. ',' .. string.sub(ARGV[3], 2)
      code = 2
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], rec)
redis.call('PUBLISH', KEYS[2], rec)
if code == 2 then return {2, rec, cur} end
return {1, rec}
`;

/**
 * Runs OVERRULE on a record: the JSON written (undefined when nothing could be) and, when
 * the record was restamped or refused, the JSON of the record that was in force.
 */
export async function overrule(
  redis: Redis,
  keys: ReturnType<typeof fleetKeys>,
  record: KillRecord,
): Promise<{ written: string | undefined; current: string | undefined }> {
  const withoutAt = Object.fromEntries(Object.entries(record).filter(([key]) => key !== 'at'));
  const reply = (await redis.eval(
    OVERRULE,
    2,
    keys.kills,
    keys.killChannel,
    record.experiment,
    JSON.stringify(record),
    JSON.stringify(withoutAt),
  )) as [number, string, string?];
  const [code, first, second] = reply;
  if (code === 0) return { written: undefined, current: first };
  return { written: first, current: code === 2 ? second : undefined };
}
