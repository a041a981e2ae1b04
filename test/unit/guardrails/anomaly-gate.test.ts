/** EWMA anomalies against history and control; the ramp gate as a pure function. */
import { describe, expect, it } from 'vitest';
import { detectAnomalies, rampGate, type AnomalyState, type ArmData } from '../../../src/guardrails/index.js';

/** One interval's error series: n requests, `errors` of them failed. */
const interval = (n: number, errors: number): ArmData => ({
  units: 0,
  metrics: { error: { n, sum: errors, sumSq: errors, min: 0, max: errors > 0 ? 1 : 0, buckets: {} } },
});

describe('anomaly detection (EWMA on per-interval rates)', () => {
  it('a spike in treatment only is an anomaly; the same spike in control too is not; steady intervals are quiet', () => {
    const state: AnomalyState = new Map();
    const found = [];
    for (let i = 0; i < 20; i++)
      found.push(
        ...detectAnomalies(
          'exp',
          'control',
          { control: interval(1000, 10 + (i % 3)), treatment: interval(1000, 9 + (i % 4)) },
          state,
        ),
      );
    expect(found).toEqual([]);
    const both = detectAnomalies(
      'exp',
      'control',
      { control: interval(1000, 80), treatment: interval(1000, 80) },
      state,
    );
    expect(both).toEqual([]);
    const spike = detectAnomalies(
      'exp',
      'control',
      { control: interval(1000, 10), treatment: interval(1000, 80) },
      state,
    );
    expect(spike).toHaveLength(1);
    expect(spike[0]).toMatchObject({ variant: 'treatment', control: 'control', metric: 'error', value: 0.08 });
    expect(spike[0]!.upperLimit).toBeLessThan(0.08);
    expect(spike[0]!.zAgainstControl).toBeGreaterThan(4);
  });

  it('nothing during burn-in or on intervals below the minimum of observations', () => {
    const state: AnomalyState = new Map();
    expect(
      detectAnomalies('exp', 'control', { control: interval(1000, 10), treatment: interval(1000, 10) }, state),
    ).toEqual([]);
    expect(
      detectAnomalies('exp', 'control', { control: interval(1000, 10), treatment: interval(1000, 90) }, state),
    ).toEqual([]);
    expect(detectAnomalies('exp', 'control', { control: interval(10, 0), treatment: interval(10, 10) }, state)).toEqual(
      [],
    );
  });
});

describe('ramp gate', () => {
  const steps = [
    { percent: 5, startsAt: 0, endsAt: 100 },
    { percent: 25, startsAt: 100, endsAt: 200 },
    { percent: 100, startsAt: 200, endsAt: Infinity },
  ];
  it.each([
    // now, allowed so far, ready -> clock step, allowed step, pausedAt
    [50, -1, false, 0, 0, 99],
    [150, -1, false, 1, 1, 199], // at start: the clock's step
    [150, 0, false, 1, 0, 99],
    [150, 0, true, 1, 1, 199],
    [250, 0, true, 2, 1, 199], // one step per check
    [250, 1, true, 2, 2, undefined],
    [250, 2, false, 2, 2, undefined], // never back down
  ] as const)('at %d, allowed %d, ready %s', (now, allowed, ready, clockStep, allowedStep, pausedAt) => {
    expect(rampGate(steps, now, allowed, ready)).toEqual({ clockStep, allowedStep, pausedAt });
  });
});
