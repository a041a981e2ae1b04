/**
 * Example: a service's own test suite swaps in the in-memory provider and drives flags
 * from code. Runs in CI, so it cannot rot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';

// The code under test: picks a checkout layout from its variant.
async function checkoutLayout(sy: Switchyard, userId: string): Promise<string> {
  const { payload } = await sy.getVariant('checkout-redesign', { targetingKey: userId });
  return (payload as { layout?: string } | undefined)?.layout ?? 'classic';
}

describe('checkout with the in-memory provider', () => {
  const provider = new MemoryProvider({
    'checkout-redesign': { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
  });
  let sy: Switchyard;

  beforeAll(async () => {
    sy = await createSwitchyard({
      config: 'examples/switchyard.yaml',
      provider,
      watch: false,
      clock: { now: () => Date.parse('2027-01-01T00:00:00Z') },
    });
  });
  afterAll(() => sy.close());

  it('serves the one-page layout to treated users and classic to the rest', async () => {
    const layouts = new Set<string>();
    for (let i = 0; i < 100; i++) layouts.add(await checkoutLayout(sy, `user-${i}`));
    expect([...layouts].sort()).toEqual(['classic', 'one-page']);
  });

  it('turning the flag off at the vendor sends everyone to classic', async () => {
    provider.setFlag('checkout-redesign', {
      variants: { on: true, off: false },
      defaultVariant: 'off',
      disabled: false,
    });
    for (let i = 0; i < 100; i++) expect(await checkoutLayout(sy, `user-${i}`)).toBe('classic');
    provider.reset();
  });

  it('the kill switch sends everyone to classic', async () => {
    sy.kill('checkout-redesign', 'test');
    for (let i = 0; i < 100; i++) expect(await checkoutLayout(sy, `user-${i}`)).toBe('classic');
    sy.unkill('checkout-redesign');
  });
});
