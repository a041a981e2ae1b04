/**
 * Builds an Optimizely datafile (version 4, the format Optimizely's CDN serves) from the
 * contract's neutral flags, so the Optimizely SDK runs on real project configuration:
 * - every flag has one variable `value` of the flag's type (json for objects), plus, for
 *   object flags, one variable per field, so `decide().variables` carries the payload;
 * - targeting is a targeted-delivery rule with an audience on a custom attribute;
 * - a percentage rollout is an A/B test rule (traffic ranges in units of 1/10000);
 * - the "everyone else" rule serves the default variant, or the disabled `off` variation.
 */
import type { ContractFlag } from '../contract/flags.js';

type VarType = 'boolean' | 'string' | 'integer' | 'double' | 'json';

interface Variable {
  id: string;
  key: string;
  type: VarType;
  defaultValue: string;
  subType?: string;
}

// Ids are stable per entity across datafiles, as in a real project: a new revision that
// changes one flag leaves every other flag's entities (and so its shape) as they were.
const ids = new Map<string, string>();
const idOf = (entity: string) => ids.get(entity) ?? (ids.set(entity, String(1001 + ids.size)), ids.get(entity)!);

function varType(value: unknown): VarType {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'double';
  if (typeof value === 'string') return 'string';
  return 'json';
}

function encode(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function optimizelyDatafile(flags: ContractFlag[], revision = 1): Record<string, unknown> {
  const featureFlags: unknown[] = [];
  const rollouts: unknown[] = [];
  const experiments: unknown[] = [];
  const audiences: unknown[] = [];
  const attributes = new Map<string, string>();

  for (const flag of flags) {
    const first = Object.values(flag.variants)[0];
    const variables: Variable[] = [
      {
        id: idOf(`variable ${flag.key} value`),
        key: 'value',
        type: varType(first),
        defaultValue: encode(first),
        ...(varType(first) === 'json' ? { type: 'string', subType: 'json' } : {}),
      } as Variable,
    ];
    if (flag.kind === 'object' && first && typeof first === 'object') {
      for (const [k, v] of Object.entries(first))
        variables.push({ id: idOf(`variable ${flag.key} ${k}`), key: k, type: varType(v), defaultValue: encode(v) });
    }
    const variation = (name: string) => {
      const value = flag.variants[name];
      // A boolean flag's variation is the flag on or off; others are on with their variables.
      const enabled = typeof value === 'boolean' ? value : true;
      const vars = variables.map((v) => ({
        id: v.id,
        value: encode(v.key === 'value' ? value : (value as Record<string, unknown>)[v.key]),
      }));
      return { id: `${flag.key}-${name}`, key: name, featureEnabled: enabled, variables: vars };
    };
    const rule = (key: string, variations: unknown[], ranges: [string, number][], audienceIds: string[] = []) => ({
      id: idOf(`rule ${key}`),
      key,
      layerId: idOf(`layer ${key}`),
      status: 'Running',
      audienceIds,
      audienceConditions: audienceIds.length ? ['or', ...audienceIds] : [],
      variations,
      trafficAllocation: ranges.map(([entityId, endOfRange]) => ({ entityId, endOfRange })),
      forcedVariations: {},
    });

    const rolloutRules: unknown[] = [];
    const experimentIds: string[] = [];
    if (flag.targeting) {
      const t = flag.targeting;
      if (!attributes.has(t.attribute)) attributes.set(t.attribute, idOf(`attribute ${t.attribute}`));
      const audienceId = idOf(`audience ${flag.key} ${t.attribute}`);
      audiences.push({
        id: audienceId,
        name: `${t.attribute} is ${t.equals}`,
        conditions: JSON.stringify([
          'and',
          ['or', ['or', { match: 'exact', name: t.attribute, type: 'custom_attribute', value: t.equals }]],
        ]),
      });
      rolloutRules.push(
        rule(`${flag.key}-targeted`, [variation(t.variant)], [[`${flag.key}-${t.variant}`, 10000]], [audienceId]),
      );
    }
    if (flag.rollout) {
      let end = 0;
      const names = Object.keys(flag.rollout);
      const exp = rule(
        `${flag.key}-ab`,
        names.map((n) => variation(n)),
        names.map((n) => [`${flag.key}-${n}`, (end += flag.rollout![n]! * 100)]),
      );
      experiments.push(exp);
      experimentIds.push((exp as { id: string }).id);
    }
    const everyone = flag.disabled
      ? rule(
          `default-rollout-${flag.key}`,
          [{ id: `${flag.key}-off`, key: 'off', featureEnabled: false, variables: [] }],
          [[`${flag.key}-off`, 10000]],
        )
      : rule(
          `default-rollout-${flag.key}`,
          [variation(flag.defaultVariant)],
          [[`${flag.key}-${flag.defaultVariant}`, 10000]],
        );
    rolloutRules.push(everyone);
    const rolloutId = idOf(`rollout ${flag.key}`);
    rollouts.push({ id: rolloutId, experiments: rolloutRules });
    featureFlags.push({ id: idOf(`flag ${flag.key}`), key: flag.key, rolloutId, experimentIds, variables });
  }

  return {
    version: '4',
    projectId: '100',
    accountId: '100',
    revision: String(revision),
    anonymizeIP: true,
    botFiltering: false,
    sdkKey: 'contract',
    environmentKey: 'test',
    attributes: [...attributes].map(([key, id]) => ({ id, key })),
    audiences,
    typedAudiences: [],
    events: [],
    groups: [],
    integrations: [],
    experiments,
    featureFlags,
    rollouts,
  };
}
