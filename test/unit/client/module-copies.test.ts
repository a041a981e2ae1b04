/**
 * Two copies of switchyard in one process (two installed versions, an ESM and a CJS build,
 * a test runner that reloads modules) share OpenFeature's API, which lives on globalThis:
 * each instance still gets a domain of its own and keeps its own provider.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Switchyard } from 'switchyard';

type Module = typeof import('switchyard');

const config = (control: number) => ({
  feature_flags: { provider: 'memory' },
  exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-copies-')) },
  experiments: {
    checkout: {
      // One instance serves everybody control, the other everybody treatment: whose provider answers shows.
      variants: { control: { weight: control }, treatment: { weight: 100 - control } },
      allocation: { mode: 'fixed' },
    },
  },
});

const made: Switchyard[] = [];
afterAll(async () => {
  await Promise.all(made.map((sy) => sy.close()));
});

describe('two copies of the module in one process', () => {
  it('give their instances distinct domains, each served by its own provider', async () => {
    const first = (await import('switchyard')) as Module;
    vi.resetModules();
    const second = (await import('switchyard')) as Module;
    expect(second.createSwitchyard).not.toBe(first.createSwitchyard);
    const a = await first.createSwitchyard({ config: config(100) });
    made.push(a);
    const b = await second.createSwitchyard({ config: config(0) });
    made.push(b);
    expect(a.domain).not.toBe(b.domain);
    for (let i = 0; i < 20; i++) {
      const ctx = { targetingKey: `user-${i}` };
      const [fromA, fromB] = [await a.getVariant('checkout', ctx), await b.getVariant('checkout', ctx)];
      expect([fromA.variant, fromA.reason, fromA.errorCode]).toEqual(['control', 'SPLIT', undefined]);
      expect([fromB.variant, fromB.reason, fromB.errorCode]).toEqual(['treatment', 'SPLIT', undefined]);
      // Through OpenFeature too: each domain's client reaches its own instance's provider.
      expect(await a.openfeature.getStringValue('checkout', 'none', ctx)).toBe('control');
      expect(await b.openfeature.getStringValue('checkout', 'none', ctx)).toBe('treatment');
    }
  });
});
