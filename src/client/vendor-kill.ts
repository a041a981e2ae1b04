/**
 * The vendor's half of a kill: turns the experiment's flag off through the adapter's
 * control plane when it has one (`control_plane` credentials in the vendor's config
 * section), and otherwise says the kill acted in this process only. Never rejects: a
 * vendor that refuses leaves the local kill standing and is reported in the outcome.
 */
import type { Provider } from '@openfeature/server-sdk';
import { scrubSecrets } from '../config/index.js';
import type { HasControlPlane, Logger } from '../ports.js';
import type { KillScope } from './types.js';

export function killAtVendor(
  vendor: Provider,
  flag: string,
  logger: Logger,
  secrets: readonly string[],
): Promise<KillScope> {
  const plane = (vendor as Partial<HasControlPlane>).controlPlane;
  if (!plane) {
    return Promise.resolve({
      scope: 'local',
      why: `${vendor.metadata.name} has no control plane (no control_plane credentials in the config), so flag "${flag}" is off in this process only`,
    });
  }
  return plane.turnOff(flag).then(
    (): KillScope => ({ scope: 'vendor', vendor: plane.vendor, flag }),
    (error: unknown): KillScope => {
      const why = scrubSecrets(
        `${plane.vendor} did not turn flag "${flag}" off (${(error as Error)?.message ?? String(error)}); it is off in this process only`,
        secrets,
      );
      logger.warn(why);
      return { scope: 'local', why };
    },
  );
}
