/**
 * Exposures as the pipeline tests record them: exposure i is unit `user-<i>` of experiment
 * `checkout`, control or treatment by parity, at 2026-12-01T09:00:00Z + i ms.
 */
import type { EventPipeline, ExposureInput } from '../../src/exposure/index.js';

export const exposure = (i: number): ExposureInput => ({
  unit: `user-${i}`,
  experiment: 'checkout',
  flag: 'checkout',
  variant: i % 2 ? 'treatment' : 'control',
  mode: 'gradual' as const,
  version: 7,
  step: 1,
  percent: 10,
  reason: 'SPLIT',
  ts: Date.parse('2026-12-01T09:00:00Z') + i,
  attributes: undefined,
});

/** Records an exposure through the pipeline's hot-path entry, as the exposure recorder does. */
export const record = (p: EventPipeline, e: ExposureInput) =>
  p.recordExposure(e, e.unit, e.ts, e.step, e.percent, e.reason, e.attributes);
