/**
 * Redis connections for the fleet (ioredis) and the keys switchyard uses in it. Every
 * connection here is built never to throw into the service: commands fail fast while
 * Redis is away (no offline queue) instead of piling up, reconnection is retried every
 * second at most, and connection errors are reported once per outage through `onDown`.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { LAST_TIME } from './kill-record.js';
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
