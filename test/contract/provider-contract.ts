/**
 * The provider contract: one suite, written against OpenFeature's provider interface,
 * that every switchyard adapter runs by supplying a factory. Flags are described once, in
 * a neutral form (`ContractFlag`); each factory translates them into its vendor's own
 * configuration (the memory provider's flags here; LaunchDarkly TestData, an Optimizely
 * datafile or Split's splitChanges for the vendor adapters). Gaps a vendor cannot close
 * are listed per adapter with a reason (`knownGaps`), never skipped silently.
 * Requirement numbers refer to the OpenFeature specification.
 */
import { OpenFeature, ProviderEvents, type EvaluationContext } from '@openfeature/server-sdk';
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VendorFactory, VendorSubject } from '../helpers/vendors.js';
import { CONTRACT_FLAGS } from './flags.js';

export type ContractProvider = VendorSubject;
export type ContractFactory = VendorFactory;

export type ContractCase =
  'types' | 'payloads' | 'targeting' | 'rollout' | 'disabled' | 'unknown' | 'mismatch' | 'change' | 'close';

let domains = 0;

export function providerContract(
  name: string,
  factory: ContractFactory,
  knownGaps: Partial<Record<ContractCase, string>> = {},
): void {
  describe(`provider contract: ${name}`, () => {
    let subject: ContractProvider;
    const domain = `contract-${name}-${++domains}`;
    const client = () => OpenFeature.getClient(domain);
    const v = (flag: string, variant: string) => subject.variantOf?.(flag, variant) ?? variant;
    /** A known gap shows as skipped, its reason in the name, so it is counted and seen. */
    const test = (c: ContractCase, title: string, fn: () => Promise<void>) =>
      it.skipIf(knownGaps[c] !== undefined)(knownGaps[c] ? `${title} [known gap: ${knownGaps[c]}]` : title, fn);

    beforeAll(async () => {
      subject = await factory(CONTRACT_FLAGS.map((f) => structuredClone(f)));
      await OpenFeature.setProviderAndWait(domain, subject.provider);
    });
    afterAll(async () => {
      await subject.close();
    });

    test('types', 'resolves boolean, string, number and object flags with their variant (1.3, 2.2.1)', async () => {
      const ctx = { targetingKey: 'user-1' };
      expect(await client().getBooleanDetails('bool-flag', false, ctx)).toMatchObject({
        value: true,
        variant: v('bool-flag', 'on'),
      });
      expect(await client().getStringDetails('string-flag', 'x', ctx)).toMatchObject({
        value: 'blue',
        variant: v('string-flag', 'blue'),
      });
      expect(await client().getNumberDetails('number-flag', 0, ctx)).toMatchObject({
        value: 100,
        variant: v('number-flag', 'high'),
      });
    });

    test('payloads', 'resolves an object flag to the variant payload', async () => {
      expect(await client().getObjectDetails('object-flag', {}, { targetingKey: 'user-1' })).toMatchObject({
        value: { layout: 'one-page', steps: 1 },
        variant: v('object-flag', 'onePage'),
      });
    });

    test('targeting', 'targets by attribute (reason TARGETING_MATCH)', async () => {
      expect(
        await client().getStringDetails('targeted-flag', 'x', { targetingKey: 'u1', country: 'DE' }),
      ).toMatchObject({ value: 'hallo', variant: v('targeted-flag', 'de'), reason: 'TARGETING_MATCH' });
      expect((await client().getStringDetails('targeted-flag', 'x', { targetingKey: 'u1', country: 'FR' })).value).toBe(
        'hello',
      );
    });

    test(
      'rollout',
      'splits a 30/70 rollout over 20,000 units (chi-square, p > 0.001), the same unit always in the same variant',
      async () => {
        const counts: Record<string, number> = { a: 0, b: 0 };
        const first: string[] = [];
        for (let i = 0; i < 20_000; i++) {
          const value = await client().getStringValue('rollout-flag', 'x', { targetingKey: `unit-${i}` });
          counts[value]!++;
          first.push(value);
        }
        const chi2 = (counts.a! - 6000) ** 2 / 6000 + (counts.b! - 14000) ** 2 / 14000;
        expect(1 - chisquareCdf(chi2, 1)).toBeGreaterThan(0.001);
        // Sticky: a second pass over 2,000 of the units, in reverse order, gives each its first answer.
        // (Only within one vendor: each vendor buckets its own rollouts with its own hash.)
        let moved = 0;
        for (let i = 1999; i >= 0; i--)
          if ((await client().getStringValue('rollout-flag', 'x', { targetingKey: `unit-${i}` })) !== first[i]) moved++;
        expect(moved).toBe(0);
      },
    );

    test('disabled', 'answers a disabled flag with the default value and reason DISABLED (2.2.x)', async () => {
      expect(await client().getBooleanDetails('disabled-flag', false, { targetingKey: 'u' })).toMatchObject({
        value: false,
        reason: 'DISABLED',
      });
    });

    test('unknown', 'answers an unknown flag with the default and FLAG_NOT_FOUND (1.4.8)', async () => {
      expect(await client().getStringDetails('no-such-flag', 'fallback', { targetingKey: 'u' })).toMatchObject({
        value: 'fallback',
        reason: 'ERROR',
        errorCode: 'FLAG_NOT_FOUND',
      });
    });

    test('mismatch', 'answers a type mismatch with the default and TYPE_MISMATCH', async () => {
      expect(await client().getNumberDetails('string-flag', 42, { targetingKey: 'u' })).toMatchObject({
        value: 42,
        reason: 'ERROR',
        errorCode: 'TYPE_MISMATCH',
      });
    });

    test('change', 'emits ConfigurationChanged when a flag changes and then serves the new value (5.x)', async () => {
      const changed = new Promise<string[]>((resolve) =>
        client().addHandler(ProviderEvents.ConfigurationChanged, (d) => resolve(d?.flagsChanged ?? [])),
      );
      await subject.update({
        key: 'string-flag',
        kind: 'string',
        variants: { red: 'red', blue: 'blue' },
        defaultVariant: 'red',
      });
      // Every adapter names the flags that changed (the README promises it for Optimizely and
      // Split): exactly the one updated, not none and not all.
      expect(await changed).toEqual(['string-flag']);
      expect(await client().getStringValue('string-flag', 'x', { targetingKey: 'user-1' })).toBe('red');
    });

    test('close', 'closes without error (1.6.x)', async () => {
      await expect(Promise.resolve(subject.provider.onClose?.())).resolves.toBeUndefined();
    });
  });
}

export type { EvaluationContext };
