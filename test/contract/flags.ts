/**
 * The contract's flags, described once in a neutral form; each adapter's factory
 * translates them into its vendor's own configuration. Kept apart from the suite so the
 * benchmarks and fixture builders can use them without vitest.
 */
import type { JsonValue } from '@openfeature/server-sdk';

export interface ContractFlag {
  key: string;
  kind: 'boolean' | 'string' | 'number' | 'object';
  variants: Record<string, JsonValue>;
  defaultVariant: string;
  disabled?: boolean;
  /** Units whose `attribute` equals `equals` get `variant`. */
  targeting?: { attribute: string; equals: string; variant: string };
  /** Percentage rollout by targeting key: variant -> weight (percent). */
  rollout?: Record<string, number>;
}

export const CONTRACT_FLAGS: ContractFlag[] = [
  { key: 'bool-flag', kind: 'boolean', variants: { on: true, off: false }, defaultVariant: 'on' },
  { key: 'string-flag', kind: 'string', variants: { red: 'red', blue: 'blue' }, defaultVariant: 'blue' },
  { key: 'number-flag', kind: 'number', variants: { low: 10, high: 100 }, defaultVariant: 'high' },
  {
    key: 'object-flag',
    kind: 'object',
    variants: { onePage: { layout: 'one-page', steps: 1 }, classic: { layout: 'classic', steps: 3 } },
    defaultVariant: 'onePage',
  },
  {
    key: 'targeted-flag',
    kind: 'string',
    variants: { de: 'hallo', other: 'hello' },
    defaultVariant: 'other',
    targeting: { attribute: 'country', equals: 'DE', variant: 'de' },
  },
  { key: 'rollout-flag', kind: 'string', variants: { a: 'a', b: 'b' }, defaultVariant: 'a', rollout: { a: 30, b: 70 } },
  { key: 'disabled-flag', kind: 'boolean', variants: { on: true, off: false }, defaultVariant: 'on', disabled: true },
];

/** Helper for factories: the unit's rollout variant, from a bucket in [0, 1). */
export function rolloutVariant(rollout: Record<string, number>, bucket: number): string {
  let acc = 0;
  const entries = Object.entries(rollout);
  for (const [variant, weight] of entries) {
    acc += weight / 100;
    if (bucket < acc) return variant;
  }
  return entries[entries.length - 1]![0];
}
