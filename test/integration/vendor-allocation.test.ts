/**
 * Allocation over each vendor, through createSwitchyard with the vendor's real SDK:
 * - fixed and gradual modes: the vendor decides eligibility (flag on, targeting) and
 *   switchyard allocates by hashing, so the split is the configured one on every vendor;
 * - provider mode: the vendor's own variant stands (the same answer as asking the vendor
 *   directly), and switchyard logs it as an exposure.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, type ExposureEvent, type Switchyard } from 'switchyard';
import type { ContractFlag } from '../contract/flags.js';
import { VENDORS, type VendorSubject } from '../helpers/vendors.js';
import { privateStateDir } from '../helpers/state-dir.js';

const START = Date.parse('2026-12-01T09:00:00Z');
const HOUR = 3_600_000;
const UNITS = 4000;

const FLAGS: ContractFlag[] = [
  // Eligible: units in DE only.
  {
    key: 'checkout-gate',
    kind: 'boolean',
    variants: { on: true, off: false },
    defaultVariant: 'off',
    targeting: { attribute: 'country', equals: 'DE', variant: 'on' },
  },
  { key: 'ramp-gate', kind: 'boolean', variants: { on: true, off: false }, defaultVariant: 'on' },
  { key: 'off-gate', kind: 'boolean', variants: { on: true, off: false }, defaultVariant: 'on', disabled: true },
  // The vendor runs this experiment itself: a 20/80 split. (Not "control": Split reserves
  // that treatment name for "could not evaluate".)
  {
    key: 'vendor-exp',
    kind: 'string',
    variants: { baseline: 'baseline', treatment: 'treatment' },
    defaultVariant: 'baseline',
    rollout: { baseline: 20, treatment: 80 },
  },
];

const variants = { control: { weight: 50 }, treatment: { weight: 50, payload: { layout: 'one-page' } } };

function config() {
  return {
    feature_flags: { provider: 'memory', evaluation_timeout_ms: 1000, init_timeout_ms: 5000 },
    exposures: { enabled: false, dir: privateStateDir() },
    experiments: {
      checkout: { flag: 'checkout-gate', variants, allocation: { mode: 'fixed' } },
      ramp: {
        flag: 'ramp-gate',
        variants,
        allocation: {
          mode: 'gradual',
          start: new Date(START).toISOString(),
          schedule: [{ percent: 10, dwell: '1d' }, { percent: 100 }],
        },
      },
      killed: { flag: 'off-gate', variants, allocation: { mode: 'fixed' } },
      vendor: {
        flag: 'vendor-exp',
        control: 'baseline',
        variants: { baseline: { weight: 50 }, treatment: { weight: 50 } },
        allocation: { mode: 'provider' },
      },
    },
  };
}

function pValue(observed: number[], expectedShares: number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  const chi2 = observed.reduce((acc, o, i) => acc + (o - n * expectedShares[i]!) ** 2 / (n * expectedShares[i]!), 0);
  return 1 - chisquareCdf(chi2, observed.length - 1);
}

type Vendor = keyof typeof VENDORS;
/** Per vendor, every unit's answer in fixed and gradual mode, compared across vendors at the end. */
const assigned = new Map<Vendor, { fixed: string[]; gradual: string[] }>();

describe.each(Object.keys(VENDORS) as Vendor[])('allocation over %s', (name) => {
  let subject: VendorSubject;
  let sy: Switchyard;
  const exposures: ExposureEvent[] = [];

  beforeAll(async () => {
    subject = await VENDORS[name](FLAGS.map((f) => structuredClone(f)));
    sy = await createSwitchyard({ config: config(), provider: subject.provider, clock: { now: () => START + HOUR } });
    sy.on('exposure', (e) => exposures.push(e));
  }, 20_000);
  afterAll(async () => {
    await sy.close();
    await subject.close();
  });

  it('fixed: units the vendor targets are split 50/50 by switchyard; the others get control, not exposed', async () => {
    const counts = { control: 0, treatment: 0 };
    const fixed: string[] = [];
    for (let i = 0; i < UNITS; i++) {
      const de = await sy.getVariant('checkout-gate', { targetingKey: `u${i}`, country: 'DE' });
      expect(de).toMatchObject({ reason: 'SPLIT', inExperiment: true });
      expect(de.errorCode).toBeUndefined();
      counts[de.variant as 'control' | 'treatment']++;
      fixed.push(de.variant!);
      if (i < 200) {
        const fr = await sy.getVariant('checkout-gate', { targetingKey: `u${i}`, country: 'FR' });
        expect(fr).toMatchObject({ variant: 'control', inExperiment: false });
        expect(fr.errorCode).toBeUndefined();
      }
    }
    expect(pValue([counts.control, counts.treatment], [0.5, 0.5])).toBeGreaterThan(0.001);
    // switchyard's hash decides, so the split is the same on every vendor (compared at the end).
    assigned.set(name, { fixed, gradual: [] });
    expect(exposures.filter((e) => e.experiment === 'checkout')).toHaveLength(UNITS);
  });

  it('gradual: at the first step 10% of eligible units are in the experiment', async () => {
    let inside = 0;
    const gradual: string[] = [];
    for (let i = 0; i < UNITS; i++) {
      const r = await sy.getVariant('ramp-gate', { targetingKey: `r${i}` });
      if (r.inExperiment) inside++;
      gradual.push(r.inExperiment ? r.variant! : 'outside');
    }
    expect(pValue([inside, UNITS - inside], [0.1, 0.9])).toBeGreaterThan(0.001);
    assigned.get(name)!.gradual = gradual;
  });

  it('a flag the vendor has turned off sends every unit to control, reason DISABLED, no exposure', async () => {
    const before = exposures.length;
    const r = await sy.getVariant('off-gate', { targetingKey: 'u1' });
    expect(r).toMatchObject({ variant: 'control', reason: 'DISABLED', inExperiment: false });
    expect(exposures.length).toBe(before);
  });

  it('provider mode: the vendor variant stands (20/80, as the vendor splits) and is an exposure', async () => {
    const counts = { baseline: 0, treatment: 0 };
    const client = OpenFeature.getClient(`direct-${name}`);
    await OpenFeature.setProviderAndWait(`direct-${name}`, subject.provider);
    for (let i = 0; i < UNITS; i++) {
      const r = await sy.getVariant('vendor-exp', { targetingKey: `v${i}` });
      expect(r.inExperiment).toBe(true);
      counts[r.variant as 'baseline' | 'treatment']++;
      if (i < 300) expect(r.variant).toBe(await client.getStringValue('vendor-exp', 'x', { targetingKey: `v${i}` }));
    }
    expect(pValue([counts.baseline, counts.treatment], [0.2, 0.8])).toBeGreaterThan(0.001);
    expect(exposures.filter((e) => e.experiment === 'vendor')).toHaveLength(UNITS);
  });
});

describe('across vendors', () => {
  it('fixed and gradual: every unit gets the same answer on every vendor (switchyard hashes, not the vendor)', () => {
    const vendors = Object.keys(VENDORS) as Vendor[];
    const reference = assigned.get('memory')!;
    expect(reference.fixed).toHaveLength(UNITS);
    expect(reference.gradual).toHaveLength(UNITS);
    for (const vendor of vendors.slice(1)) {
      const other = assigned.get(vendor);
      const differ = (a: string[], b: string[] | undefined) =>
        b === undefined ? UNITS : a.filter((v, i) => v !== b[i]).length + Math.abs(a.length - b.length);
      expect({
        vendor,
        fixed: differ(reference.fixed, other?.fixed),
        gradual: differ(reference.gradual, other?.gradual),
      }).toEqual({
        vendor,
        fixed: 0,
        gradual: 0,
      });
    }
  });
});
