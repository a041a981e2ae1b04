/**
 * Where adaptive allocation reads each arm's numbers: the guardrails' metric store, the one
 * recorder of the instance, whose series the fleet merges through Redis. The bandit records
 * two series per arm into it (see AdaptiveExperiment): its units (UNITS_METRIC, +1 per new
 * sticky unit) and its primary metric (banditSeries: a conversion once per unit, or every
 * value of a continuous metric, attributed to the unit's sticky arm). Those are apart from
 * the guardrails' series of the same event, which count every event by the unit's bucket.
 */
import type { ArmData } from '../../guardrails/index.js';

/** Units assigned to an arm, and its primary metric's conversions (units) or value sums. */
export interface ArmStats {
  readonly units: number;
  /** The primary metric's count: units converted, or values recorded for a continuous metric. */
  readonly conversions: number;
  readonly sum: number;
  readonly sumSq: number;
}

/** One experiment's arms by variant, as the metric store holds them. */
export type ExperimentArms = Readonly<Record<string, ArmData>> | undefined;

export interface ArmStatsSource {
  /** Merged across the fleet (a Redis read), or this process's numbers without a fleet. */
  read(experiment: string): Promise<ExperimentArms>;
  /** The same without a round trip: the last fleet read plus this process's numbers since. */
  peek(experiment: string): ExperimentArms;
}

/** The series a new sticky unit adds 1 to, per arm: the arm's units. */
export const UNITS_METRIC = 'switchyard.units';

/** The series the bandit records its primary metric under. */
export function banditSeries(metric: string): string {
  return `switchyard.adaptive:${metric}`;
}

/** The arms' statistics in the variants' order (zeros for an arm with no data yet). */
export function armStatsOf(arms: ExperimentArms, variants: readonly string[], metric: string): ArmStats[] {
  const series = banditSeries(metric);
  return variants.map((v) => {
    const arm = arms?.[v];
    const m = arm?.metrics[series];
    return {
      units: arm?.metrics[UNITS_METRIC]?.n ?? 0,
      conversions: m?.n ?? 0,
      sum: m?.sum ?? 0,
      sumSq: m?.sumSq ?? 0,
    };
  });
}
