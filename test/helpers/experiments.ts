/**
 * The two experiments several client tests use: `checkout` (fixed, with a payload on the
 * treatment) and `ramp` (gradual from 2026-12-01T09:00Z: 5% for a day, 25% for a day, then 100%).
 */
export function checkoutAndRamp(checkoutPercent = 80, weights: readonly [number, number] = [30, 70]) {
  return {
    checkout: {
      variants: {
        control: { weight: weights[0] },
        treatment: { weight: weights[1], payload: { layout: 'one-page' } },
      },
      allocation: { mode: 'fixed', percent: checkoutPercent },
    },
    ramp: rampExperiment(),
  };
}

/** `ramp`: gradual from 2026-12-01T09:00Z, 5% for a day, 25% for a day, then 100%. */
export function rampExperiment() {
  return {
    variants: { control: { weight: 50 }, treatment: { weight: 50 } },
    allocation: {
      mode: 'gradual',
      start: '2026-12-01T09:00:00Z',
      schedule: [{ percent: 5, dwell: '1d' }, { percent: 25, dwell: '1d' }, { percent: 100 }],
    },
  };
}
