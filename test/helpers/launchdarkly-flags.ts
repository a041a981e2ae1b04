/**
 * A LaunchDarkly flag configuration (the server-side flag JSON that LaunchDarkly's
 * streaming API sends and `TestData.usePreconfiguredFlag` accepts) from a neutral flag:
 * variations in the flag's variant order, a rule with an `in` clause for targeting, a
 * fallthrough rollout with weights in units of 1/100000.
 */
import type { ContractFlag } from '../contract/flags.js';

let version = 1;

export function launchDarklyFlag(flag: ContractFlag): Record<string, unknown> {
  const names = Object.keys(flag.variants);
  const index = (name: string) => names.indexOf(name);
  const rules = flag.targeting
    ? [
        {
          id: `${flag.key}-rule`,
          variation: index(flag.targeting.variant),
          clauses: [
            {
              contextKind: 'user',
              attribute: flag.targeting.attribute,
              op: 'in',
              values: [flag.targeting.equals],
              negate: false,
            },
          ],
        },
      ]
    : [];
  const fallthrough = flag.rollout
    ? {
        rollout: {
          variations: names.map((n, i) => ({ variation: i, weight: Math.round((flag.rollout![n] ?? 0) * 1000) })),
        },
      }
    : { variation: index(flag.defaultVariant) };
  return {
    key: flag.key,
    version: ++version,
    on: !flag.disabled,
    variations: names.map((n) => flag.variants[n]),
    offVariation: index(flag.defaultVariant),
    fallthrough,
    targets: [],
    contextTargets: [],
    rules,
    prerequisites: [],
    salt: flag.key,
  };
}
