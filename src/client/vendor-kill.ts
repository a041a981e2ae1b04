/**
 * The vendor's half of a kill and an unkill: turns the experiment's flag off (kill) or back
 * on (unkill) through the adapter's control plane when it has one (`control_plane`
 * credentials in the vendor's config section), and otherwise says the change acted in
 * switchyard only. One piece of code for the facade (`sy.kill()`, `sy.unkill()`, automatic
 * rollback) and the CLI (`switchyard kill` / `unkill`). Never rejects: a vendor that refuses
 * leaves switchyard's decision standing and is reported in the outcome, with the vendor's
 * message and never a secret.
 */
import type { Provider } from '@openfeature/server-sdk';
import { scrubSecrets, type ValidatedConfig } from '../config/index.js';
import { silentLogger, type ControlPlane, type HasControlPlane, type Logger } from '../ports.js';
import { providerFromConfig } from './providers.js';
import type { KillScope } from './types.js';
import type { KillRecord } from '../fleet/index.js';
import { messageOf } from '../errors.js';

/**
 * Whether the flag should be on at the vendor by the decision in force now in the shared
 * state (false: killed), read after a change reached the vendor; undefined when unknown.
 */
export type FlagOnInForce = () => Promise<boolean | undefined>;

/** FlagOnInForce from a read of the kill record in force (none: unknown). */
export function flagOnBy(read: () => Promise<KillRecord | undefined>): FlagOnInForce {
  return async () => {
    const record = await read();
    return record === undefined ? undefined : !record.killed;
  };
}

/** How many times a change follows a decision that moved while it was sent (see followDecision). */
const MAX_FOLLOWS = 3;

/** Kill: the vendor's flag off. */
export function killAtVendor(
  vendor: Provider,
  flag: string,
  logger: Logger,
  secrets: readonly string[],
  inForce?: FlagOnInForce,
): Promise<KillScope> {
  return switchAtVendor(vendor, flag, false, logger, secrets, inForce);
}

/**
 * Turns the flag off (`on` false) or on at the vendor of `vendor` (an adapter, started or
 * not). Resolves to where the change took effect. With `inForce`, once the change got there
 * the flag follows the decision in force if it moved meanwhile (see followDecision).
 */
export function switchAtVendor(
  vendor: Provider,
  flag: string,
  on: boolean,
  logger: Logger,
  secrets: readonly string[],
  inForce?: FlagOnInForce,
): Promise<KillScope> {
  const plane = (vendor as Partial<HasControlPlane>).controlPlane;
  const state = on ? 'on' : 'off';
  const what = on ? 'the unkill' : 'the kill';
  if (!plane) {
    return Promise.resolve({
      scope: 'local',
      why: `${vendor.metadata.name} has no control plane (no control_plane credentials in the config): ${what} of flag "${flag}" acts in switchyard only, the vendor's flag is left as it is`,
    });
  }
  // A plane of the caller's own (the port is public) may throw where it should reject.
  const sent = inOrder(plane, flag, () => (on ? plane.turnOn(flag) : plane.turnOff(flag)));
  const mine = queuedCount(plane, flag);
  return sent.then(
    async (): Promise<KillScope> => {
      const left = inForce ? await followDecision(plane, flag, on, mine, inForce, logger, secrets) : on;
      return { scope: 'vendor', vendor: plane.vendor, flag, ...(left !== on ? { followed: { on: left } } : {}) };
    },
    (error: unknown): KillScope => {
      const why = scrubSecrets(
        `${plane.vendor} did not turn flag "${flag}" ${state} (${messageOf(error)}): ${what} acts in switchyard only` +
          (on ? ', and units get the control while the vendor serves the flag off' : ''),
        secrets,
      );
      logger.warn(why);
      return { scope: 'local', why };
    },
  );
}

/**
 * After a change reached the vendor: when the decision in force moved while it was on its way
 * (another process's unkill, sent while this kill waited out a 429 and landed first), the
 * flag is switched to where that decision is, then checked again, up to MAX_FOLLOWS times.
 * Before, the slower of two calls from two processes decided the vendor's state: a kill
 * landing after an unkill left the vendor serving the flag off while switchyard had it on.
 * Never rejects: a failure is logged and the change stands as sent. Resolves to where the flag
 * was left (on: true).
 */
async function followDecision(
  plane: ControlPlane,
  flag: string,
  sent: boolean,
  mine: number,
  inForce: FlagOnInForce,
  logger: Logger,
  secrets: readonly string[],
): Promise<boolean> {
  for (let i = 0; i < MAX_FOLLOWS; i++) {
    // A change of this flag this process queued behind this one (its own unkill after its
    // kill) follows the decision in force itself once it lands: following here as well sent
    // that change twice, and logged this process's own decision as another's.
    if (queuedCount(plane, flag) !== mine) return sent;
    let want: boolean | undefined;
    try {
      want = await inForce();
    } catch {
      return sent;
    }
    if (want === undefined || want === sent) return sent;
    const state = want ? 'on' : 'off';
    logger.info(
      `${plane.vendor}: the decision on flag "${flag}" changed while it was turned ${sent ? 'on' : 'off'}: turning it ${state}, as the decision in force says`,
    );
    try {
      const follow = inOrder(plane, flag, () => (want ? plane.turnOn(flag) : plane.turnOff(flag)));
      mine = queuedCount(plane, flag);
      await follow;
    } catch (error) {
      logger.warn(scrubSecrets(`${plane.vendor} did not turn flag "${flag}" ${state} (${messageOf(error)})`, secrets));
      return sent;
    }
    sent = want;
  }
  return sent;
}

/** Per control plane and flag: the change sent last (settled or not). */
const lastChange = new WeakMap<object, Map<string, Promise<unknown>>>();

/** Per control plane and flag: how many changes inOrder has queued so far (one entry per flag). */
const queued = new WeakMap<object, Map<string, number>>();

/** How many changes of the flag have been queued through the plane: a later change moves it on. */
function queuedCount(plane: object, flag: string): number {
  return queued.get(plane)?.get(flag) ?? 0;
}

/**
 * Sends a change of a flag after the one sent before it through the same control plane has
 * settled, so the vendor ends where switchyard's last decision is: sent side by side, a kill
 * waiting out a 429 (or just slower on the wire) landed after the unkill that followed it,
 * and the vendor served the flag off while switchyard had it on.
 */
function inOrder(plane: object, flag: string, send: () => Promise<void>): Promise<void> {
  let counts = queued.get(plane);
  if (counts === undefined) queued.set(plane, (counts = new Map()));
  counts.set(flag, (counts.get(flag) ?? 0) + 1);
  let flags = lastChange.get(plane);
  if (flags === undefined) lastChange.set(plane, (flags = new Map()));
  const sent = (flags.get(flag) ?? Promise.resolve()).then(send);
  const settled = sent.catch(() => undefined);
  flags.set(flag, settled);
  void settled.then(() => {
    if (flags.get(flag) === settled) flags.delete(flag);
  });
  return sent;
}

/**
 * For one-shot tools (the CLI): builds the config's adapter without starting it (no SDK
 * connection) and switches the flag through its control plane. An adapter that cannot be
 * built (its SDK not installed, say) is reported as a local-only outcome, never thrown:
 * switchyard's own decision is already in force. `inForce`: see switchAtVendor.
 */
export async function switchVendorFlag(
  config: ValidatedConfig,
  flag: string,
  on: boolean,
  logger: Logger = silentLogger,
  inForce?: FlagOnInForce,
): Promise<KillScope> {
  let vendor: Provider;
  try {
    vendor = await providerFromConfig(config);
  } catch (error) {
    return {
      scope: 'local',
      why: scrubSecrets(
        `the ${config.featureFlags.provider} adapter could not be built (${messageOf(error)}), so flag "${flag}" was not turned ${on ? 'on' : 'off'} at the vendor`,
        config.secrets,
      ),
    };
  }
  return switchAtVendor(vendor, flag, on, logger, config.secrets, inForce);
}
