/**
 * The in-memory provider is a drop-in for OpenFeature's InMemoryProvider: the same flag
 * configuration evaluated through a real OpenFeature client gives the same details
 * (value, variant, reason, error code) for every case (spec requirements 1.4.x on
 * evaluation details, 2.2.x on provider resolution).
 */
import {
  InMemoryProvider,
  OpenFeature,
  ProviderEvents,
  TypeMismatchError,
  type EvaluationContext,
} from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryProvider, type MemoryFlagConfiguration } from 'switchyard/adapters/memory';
import { SYNC_RESOLVE } from '../../src/ports.js';

const flags: MemoryFlagConfiguration = {
  'bool-flag': { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
  'string-flag': { variants: { red: 'red', blue: 'blue' }, defaultVariant: 'red', disabled: false },
  'number-flag': { variants: { one: 1, two: 2 }, defaultVariant: 'two', disabled: false },
  'object-flag': {
    variants: { a: { layout: 'one-page' }, b: { layout: 'classic' } },
    defaultVariant: 'a',
    disabled: false,
  },
  'disabled-flag': { variants: { on: true, off: false }, defaultVariant: 'on', disabled: true },
  'targeted-flag': {
    variants: { de: 'hallo', other: 'hello' },
    defaultVariant: 'other',
    disabled: false,
    contextEvaluator: (ctx: EvaluationContext) => (ctx.country === 'DE' ? 'de' : 'other'),
  },
  'broken-flag': { variants: { on: true }, defaultVariant: 'missing', disabled: false },
};

type Kind = 'Boolean' | 'String' | 'Number' | 'Object';
const cases: [string, Kind, unknown, EvaluationContext][] = [
  ['bool-flag', 'Boolean', false, {}],
  ['string-flag', 'String', 'x', {}],
  ['number-flag', 'Number', 0, {}],
  ['object-flag', 'Object', {}, {}],
  ['disabled-flag', 'Boolean', false, {}],
  ['targeted-flag', 'String', 'x', { country: 'DE' }],
  ['targeted-flag', 'String', 'x', { country: 'FR' }],
  ['missing-flag', 'Boolean', false, {}],
  ['string-flag', 'Boolean', false, {}],
  ['number-flag', 'String', 'x', {}],
  ['broken-flag', 'Boolean', false, {}],
];

describe('MemoryProvider matches OpenFeature InMemoryProvider', () => {
  beforeAll(async () => {
    await OpenFeature.setProviderAndWait('reference', new InMemoryProvider(flags as never));
    await OpenFeature.setProviderAndWait('ours', new MemoryProvider(flags));
  });
  afterAll(() => OpenFeature.clearProviders());

  it.each(cases)('%s as %s gives the same details', async (flag, kind, def, ctx) => {
    const evaluate = (domain: string) =>
      (
        OpenFeature.getClient(domain) as unknown as Record<
          string,
          (f: string, d: unknown, c: EvaluationContext) => Promise<Record<string, unknown>>
        >
      )[`get${kind}Details`]!(flag, def, ctx);
    const [reference, ours] = await Promise.all([evaluate('reference'), evaluate('ours')]);
    const strip = ({ errorMessage: _m, ...rest }: Record<string, unknown>) => rest;
    expect(strip(ours)).toEqual(strip(reference));
    expect(typeof ours.reason).toBe('string');
  });
});

describe('MemoryProvider test helpers', () => {
  it('forces a variant for one unit (TARGETING_MATCH) and leaves the others alone', async () => {
    const provider = new MemoryProvider(flags);
    await OpenFeature.setProviderAndWait('helpers', provider);
    const client = OpenFeature.getClient('helpers');
    provider.forceVariant('string-flag', 'user-1', 'blue');
    expect(await client.getStringDetails('string-flag', 'x', { targetingKey: 'user-1' })).toMatchObject({
      value: 'blue',
      variant: 'blue',
      reason: 'TARGETING_MATCH',
    });
    expect(await client.getStringDetails('string-flag', 'x', { targetingKey: 'user-2' })).toMatchObject({
      value: 'red',
      reason: 'STATIC',
    });
    provider.reset();
    expect(await client.getStringValue('string-flag', 'x', { targetingKey: 'user-1' })).toBe('red');
  });

  it('emits ConfigurationChanged naming the flags that changed', async () => {
    const provider = new MemoryProvider(flags);
    await OpenFeature.setProviderAndWait('events', provider);
    const client = OpenFeature.getClient('events');
    const seen: string[][] = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (details) => seen.push(details?.flagsChanged ?? []));
    provider.setFlag('string-flag', { variants: { green: 'green' }, defaultVariant: 'green', disabled: false });
    provider.removeFlag('bool-flag');
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([['string-flag'], ['bool-flag']]);
    expect(await client.getStringValue('string-flag', 'x')).toBe('green');
    expect((await client.getBooleanDetails('bool-flag', false)).errorCode).toBe('FLAG_NOT_FOUND');
  });

  it("shares a flag's static answer on the synchronous path, frozen, and makes it again when the flag changes", async () => {
    const provider = new MemoryProvider(flags);
    const sync = (flag: string, unit: string, kind: 'string' | 'boolean' = 'string') =>
      provider[SYNC_RESOLVE](flag, kind, kind === 'string' ? '' : false, { targetingKey: unit });
    const first = sync('string-flag', 'user-1');
    expect(first).toEqual({ value: 'red', variant: 'red', reason: 'STATIC' });
    expect(sync('string-flag', 'user-2')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // Asked in the wrong type, the shared answer still says so.
    expect(() => sync('string-flag', 'user-3', 'boolean')).toThrow(TypeMismatchError);
    // Forced, targeted and disabled answers are per call.
    provider.forceVariant('string-flag', 'user-1', 'blue');
    expect(sync('string-flag', 'user-1')).toEqual({ value: 'blue', variant: 'blue', reason: 'TARGETING_MATCH' });
    expect(sync('string-flag', 'user-2')).toBe(first);
    // Changed in place (the flag object a test keeps), replaced, or reset: a new answer.
    provider.getFlag('string-flag')!.defaultVariant = 'blue';
    const moved = sync('string-flag', 'user-2');
    expect(moved).toEqual({ value: 'blue', variant: 'blue', reason: 'STATIC' });
    provider.getFlag('string-flag')!.variants.blue = 'navy';
    expect(sync('string-flag', 'user-2')).toEqual({ value: 'navy', variant: 'blue', reason: 'STATIC' });
    provider.setFlag('string-flag', { variants: { green: 'green' }, defaultVariant: 'green', disabled: false });
    expect(sync('string-flag', 'user-2')).toEqual({ value: 'green', variant: 'green', reason: 'STATIC' });
    // The OpenFeature methods hand out a copy: changing it changes nothing for the next caller.
    const copy = await provider.resolveStringEvaluation('string-flag', '', { targetingKey: 'user-4' });
    expect(copy).not.toBe(sync('string-flag', 'user-4'));
    copy.value = 'changed';
    expect(sync('string-flag', 'user-4').value).toBe('green');
    provider.getFlag('string-flag')!.disabled = true;
    expect(sync('string-flag', 'user-4')).toEqual({ value: '', reason: 'DISABLED' });
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'serves no inherited property as the value of variant %s (audit r02)',
    async (name) => {
      const provider = new MemoryProvider({
        g: { variants: { on: true }, defaultVariant: name, disabled: false },
        t: { variants: { on: true }, defaultVariant: 'on', disabled: false, contextEvaluator: () => name },
      });
      const message = `no value associated with variant ${name}`;
      expect(() => provider[SYNC_RESOLVE]('g', 'object', {}, { targetingKey: 'u1' })).toThrow(message);
      expect(() => provider[SYNC_RESOLVE]('t', 'object', {}, { targetingKey: 'u1' })).toThrow(message);
      provider.forceVariant('t', 'u2', name);
      expect(() => provider[SYNC_RESOLVE]('t', 'object', {}, { targetingKey: 'u2' })).toThrow(message);
      await OpenFeature.setProviderAndWait(`inherited-${name}`, provider);
      const details = await OpenFeature.getClient(`inherited-${name}`).getObjectDetails('g', {});
      expect(details).toMatchObject({ value: {}, reason: 'ERROR', errorCode: 'GENERAL' });
      expect(details.value).not.toBe(Object.prototype);
    },
  );
});
