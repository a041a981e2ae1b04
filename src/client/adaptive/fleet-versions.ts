/**
 * Allocation versions shared by a fleet through Redis.
 *
 * Leader per re-weighting: the instance whose `SET <prefix>:adaptive:<exp>:lock <id> NX PX`
 * succeeds makes the next version; the lock expires on its own (half the re-weighting
 * interval, at most a minute), so a leader that dies holds nothing. It writes the version
 * to `<prefix>:adaptive:<exp>:version` (JSON) only if that key's version is older
 * (a Lua compare-and-set), so a slow leader can never put an older version back.
 * Every instance polls the version keys (one MGET for all adaptive experiments, every
 * `pollMs`, 250 ms by default) and switches to a newer version, so the whole fleet serves
 * the same version within a poll interval of its writing.
 *
 * Redis unreachable: the instance keeps serving the last version it knew, logs that once,
 * and logs once more when Redis answers again.
 */
import type { Redis } from 'ioredis';
import { fleetKeys, LAST_TIME } from '../../fleet/index.js';
import type { Logger } from '../../ports.js';
import type { AllocationVersion, ArmStatus } from './adaptive-experiment.js';

const WRITE_NEWER = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and tonumber(v.version) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

export class FleetVersions {
  private unreachable = false;
  private readonly keys: ReturnType<typeof fleetKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly instance: string,
    private readonly logger: Logger,
    private readonly timeoutMs = 500,
  ) {
    this.keys = fleetKeys(prefix);
  }

  versionKey(experiment: string): string {
    return this.keys.allocation(experiment);
  }

  lockKey(experiment: string): string {
    return this.keys.allocationLock(experiment);
  }

  /** True when this instance may make the experiment's next version. */
  async tryLead(experiment: string, holdMs: number): Promise<boolean> {
    const ok = await this.call(() =>
      this.redis.set(this.lockKey(experiment), this.instance, 'PX', Math.max(1, Math.round(holdMs)), 'NX'),
    );
    return ok === 'OK';
  }

  /** Publishes a version; false when Redis already has a newer one or is away. */
  async publish(experiment: string, version: AllocationVersion): Promise<boolean> {
    const written = await this.call(() =>
      this.redis.eval(WRITE_NEWER, 1, this.versionKey(experiment), JSON.stringify(version), version.version),
    );
    return written === 1;
  }

  /** The fleet's versions of these experiments (undefined where none is published), or undefined when Redis is away. */
  async read(experiments: readonly string[]): Promise<(AllocationVersion | undefined)[] | undefined> {
    if (experiments.length === 0) return [];
    const raw = await this.call(() => this.redis.mget(experiments.map((e) => this.versionKey(e))));
    if (raw === undefined) return undefined;
    return raw.map((text, i) => {
      if (typeof text !== 'string') return undefined;
      const key = this.versionKey(experiments[i]!);
      const parsed = parseVersion(text);
      if (typeof parsed !== 'string') {
        this.garbage.delete(key);
        return parsed;
      }
      // Another writer's value: the instance keeps the version it serves; one warning per value.
      if (this.garbage.get(key) !== text) {
        this.garbage.set(key, text);
        this.logger.warn(
          `fleet: ${key} in Redis is not an allocation version (${parsed}); ${experiments[i]} keeps serving the version it has`,
          { experiment: experiments[i], key },
        );
      }
      return undefined;
    });
  }

  /** Version keys holding garbage, with the value warned about. */
  private readonly garbage = new Map<string, string>();

  /** Runs a Redis call with a timeout; undefined (and one log line per outage) when it fails. */
  private async call<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.redis.status !== 'ready') {
      this.wentAway(`connection ${this.redis.status}`);
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      timer.unref?.();
    });
    try {
      const result = await Promise.race([fn(), timeout]);
      if (result === 'timeout') {
        this.wentAway(`no answer within ${this.timeoutMs} ms`);
        return undefined;
      }
      if (this.unreachable) {
        this.unreachable = false;
        this.logger.info('fleet: Redis answers again; allocation versions follow the fleet');
      }
      return result;
    } catch (error) {
      this.wentAway((error as Error).message);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private wentAway(why: string): void {
    if (this.unreachable) return;
    this.unreachable = true;
    this.logger.warn(
      `fleet: Redis unreachable (${why}); each adaptive experiment keeps serving the last allocation version it knew`,
    );
  }

  get isUnreachable(): boolean {
    return this.unreachable;
  }
}

/**
 * A published version read back from Redis, or why it is not one: its weights are served
 * as they are, so each must be a share (a finite number in [0, 1]) and together they add
 * up to 1, as every re-weighting makes them; of its arms' summaries only those that are
 * summaries are kept.
 */
function parseVersion(text: string): AllocationVersion | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'not an object';
  const { version, weights } = v as { version?: unknown; weights?: unknown };
  // Versions are the re-weighting's time in ms, or one more than the last: a number past any
  // clock (1e300, whose + 1 is itself) could never be replaced, freezing the bandit for good.
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > LAST_TIME)
    return 'its version is not a whole number within the range of a clock in ms';
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) return 'its weights are not a map';
  let sum = 0;
  for (const [arm, w] of Object.entries(weights)) {
    if (typeof w !== 'number' || !(w >= 0 && w <= 1))
      return `the weight of ${JSON.stringify(arm)} is not a share in [0, 1]`;
    sum += w;
  }
  if (Math.abs(sum - 1) > 1e-6) return `its weights add up to ${sum}, not 1`;
  // The arms' summaries are shown, not served (status reads each arm's P(best)): another
  // writer's that are no summaries are left out, not the version.
  const { arms } = v as { arms?: unknown };
  return { ...(v as AllocationVersion), arms: Array.isArray(arms) ? arms.filter(isArmSummary) : undefined };
}

function isArmSummary(a: unknown): a is ArmStatus {
  if (typeof a !== 'object' || a === null) return false;
  const { variant, probabilityBest: p } = a as { variant?: unknown; probabilityBest?: unknown };
  return typeof variant === 'string' && (p === undefined || (typeof p === 'number' && p >= 0 && p <= 1));
}
