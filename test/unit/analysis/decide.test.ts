/** The decision rule, case by case, on hand-made numbers (decide is a pure function). */
import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput, type Effect, type GuardrailResult } from '../../../src/analysis/index.js';

const effect = (absolute: number, adjustedPValue: number): Effect => ({
  metric: 'purchase',
  role: 'primary',
  statistic: 'conversion',
  variant: 'treatment',
  control: { variant: 'control', n: 20_000, value: 0.1 },
  treatment: { variant: 'treatment', n: 20_000, value: 0.1 + absolute },
  absolute,
  absoluteCi: { lower: absolute - 0.004, upper: absolute + 0.004 },
  relative: absolute / 0.1,
  relativeCi: { lower: (absolute - 0.004) / 0.1, upper: (absolute + 0.004) / 0.1 },
  pValue: adjustedPValue,
  adjustedPValue,
  significant: adjustedPValue < 0.05,
});

const cuped = (absolute: number, pValue: number, adjustedPValue = pValue): NonNullable<Effect['cuped']> => ({
  absolute,
  absoluteCi: { lower: absolute - 0.003, upper: absolute + 0.003 },
  pValue,
  adjustedPValue,
  varianceReduction: 0.4,
});

const base: DecisionInput = {
  srm: { variants: [], chiSquare: 0.1, pValue: 0.7, threshold: 0.001, mismatch: false },
  guardrails: [],
  primary: [effect(0.006, 0.001)],
  primaryMetric: 'purchase',
  power: {
    metric: 'purchase',
    baseline: 0.1,
    mde: 0.05,
    power: 0.9,
    targetPower: 0.8,
    neededPerArm: 15_000,
    minSampleSize: 10_000,
    smallestArm: 20_000,
    dailyUnitsPerArm: 2000,
    elapsedDays: 10,
    runtimeDays: 14,
    daysToSample: 0,
  },
  elapsedDays: 10,
  runtimeDays: 14,
  minRuntimeDays: 7,
  requireMinSample: true,
  minSampleSize: 10_000,
  smallestArm: 20_000,
  alpha: 0.05,
};
const breach: GuardrailResult = {
  metric: 'error_rate',
  variant: 'treatment',
  rule: '<= 0.001',
  control: 0.0005,
  treatment: 0.004,
  relative: 7,
  pValue: 0.0001,
  status: 'breach',
  sentence: 'error_rate for treatment is 0.004 against 0.0005 in control (limit <= 0.001, p = 0.0001): breached.',
};

describe('decide', () => {
  it.each<[string, Partial<DecisionInput>, string, RegExp]>([
    ['significant lift, runtime and sample reached', {}, 'ship', /^Ship treatment: purchase is 6\.00% better/],
    ['SRM overrides a lift', { srm: { ...base.srm, pValue: 1e-6, mismatch: true } }, 'stop', /^Sample ratio mismatch/],
    ['a breached guardrail overrides a lift', { guardrails: [breach] }, 'stop', /^Guardrail breached: error_rate/],
    ['lift before the minimum runtime', { elapsedDays: 3 }, 'keep_running', /run 3\.0 of the 7 days.*4 more days/],
    [
      'lift below min_sample_size',
      { smallestArm: 5000, power: { ...base.power!, daysToSample: 3 } },
      'keep_running',
      /5000 of the 10000 units.*3 more days/,
    ],
    [
      'significantly worse',
      { primary: [effect(-0.006, 0.001)] },
      'dont_ship',
      /^Don't ship: treatment is significantly worse/,
    ],
    [
      'no effect, powered',
      { primary: [effect(0.001, 0.6)] },
      'dont_ship',
      /no significant effect on purchase after 10\.0 days, with 90% power/,
    ],
    [
      'no effect, runtime over',
      { primary: [effect(0.001, 0.6)], power: { ...base.power!, power: 0.3 }, elapsedDays: 14 },
      'dont_ship',
      /the planned runtime is over/,
    ],
    [
      'no effect, underpowered',
      { primary: [effect(0.001, 0.6)], power: { ...base.power!, power: 0.3, daysToSample: 2 }, elapsedDays: 5 },
      'keep_running',
      /^Keep running 2 more days/,
    ],
    ['no primary metric', { primary: [], primaryMetric: null }, 'dont_ship', /No primary metric/],
    [
      'a lift CUPED finds and the raw test misses',
      { primary: [{ ...effect(0.004, 0.2), cuped: cuped(0.005, 0.001) }] },
      'ship',
      /^Ship treatment: .*\(corrected p = 0\.001\)/,
    ],
    [
      // audit: the direction was read from the raw difference and the p from CUPED, so this shipped
      'CUPED significantly worse where the raw difference is a hair above zero',
      { primary: [{ ...effect(0.0005, 0.6), cuped: cuped(-0.005, 0.001) }] },
      'dont_ship',
      /^Don't ship: treatment is significantly worse/,
    ],
    [
      // audit: the CUPED p was read as it came, uncorrected, so with two treatment arms it shipped at p 0.03 (Holm: 0.06)
      'a CUPED lift whose p does not survive the correction across the arms',
      { primary: [{ ...effect(0.004, 0.2), cuped: cuped(0.005, 0.03, 0.06) }] },
      'dont_ship',
      /^Don't ship/,
    ],
  ])('%s', (_name, change, decision, reason) => {
    const d = decide({ ...base, ...change });
    expect(d.decision).toBe(decision);
    expect(d.reason).toMatch(reason);
    expect(d.evidence.length).toBeGreaterThan(0);
  });
});
