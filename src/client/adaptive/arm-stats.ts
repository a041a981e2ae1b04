/**
 * Where adaptive allocation reads each arm's numbers: units assigned and the primary
 * metric. One small interface, so that moving from the in-process recorder to the
 * fleet-merged metric store is one adapter.
 */
import type { MetricRecorder } from '../../guardrails/index.js';

/** Units assigned to an arm, and its primary metric's conversions (units) or value sums. */
export interface ArmStats {
  readonly units: number;
  readonly conversions: number;
  readonly sum: number;
  readonly sumSq: number;
}

export interface ArmStatsSource {
  armStats(experiment: string, variants: readonly string[], metric: string): ArmStats[];
}

/** The metric a new sticky unit adds 1 to, per arm: the arm's units. */
export const UNITS_METRIC = 'switchyard.units';

/**
 * The in-process recorder as an arm-stats source: units from UNITS_METRIC, conversions as
 * the primary metric's count (recorded once per converted unit), sums of its values.
 */
export class RecorderArmStats implements ArmStatsSource {
  constructor(private readonly recorder: MetricRecorder) {}

  armStats(experiment: string, variants: readonly string[], metric: string): ArmStats[] {
    return variants.map((v) => {
      const units = this.recorder.summary(experiment, v, UNITS_METRIC)?.n ?? 0;
      const m = this.recorder.summary(experiment, v, metric);
      return { units, conversions: m?.n ?? 0, sum: m?.sum ?? 0, sumSq: m?.sumSq ?? 0 };
    });
  }
}
