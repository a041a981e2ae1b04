/**
 * What an analysis returns: plain data, the contract of the report module and of the
 * JSON output (`schema: switchyard.analysis/1`, documented in README: Analysis).
 * Numbers are plain numbers; null means "not defined" (a ratio over a zero control).
 */
export const ANALYSIS_SCHEMA = 'switchyard.analysis/1';

export interface Ci {
  readonly lower: number;
  readonly upper: number;
}

export type Statistic = 'conversion' | 'mean_value' | 'events_per_unit' | 'error_rate' | 'latency_mean';

export interface ArmValue {
  readonly variant: string;
  /** Units (or run() calls for error_rate / latency_mean). */
  readonly n: number;
  /** Rate or mean per unit (per call for run metrics). */
  readonly value: number;
}

/** One statistic of one metric, one treatment arm against control. */
export interface Effect {
  readonly metric: string;
  readonly role: 'primary' | 'secondary' | 'guardrail' | 'behaviour';
  readonly statistic: Statistic;
  readonly variant: string;
  readonly control: ArmValue;
  readonly treatment: ArmValue;
  readonly absolute: number;
  readonly absoluteCi: Ci;
  readonly relative: number | null;
  readonly relativeCi: Ci | null;
  readonly pValue: number;
  /** After the configured correction across its family (see README). */
  readonly adjustedPValue: number;
  /** adjustedPValue < 1 - confidence level; an adaptive experiment's: the stratified test's corrected p. */
  readonly significant: boolean;
  readonly bayes?: { readonly probabilityBeatsControl: number; readonly expectedLoss: number };
  readonly cuped?: {
    readonly absolute: number;
    readonly absoluteCi: Ci;
    readonly pValue: number;
    /**
     * CUPED's p after the configured correction, across the decision family with CUPED's
     * p-values in place of the raw ones where it ran: what the decision reads.
     */
    readonly adjustedPValue: number;
    readonly varianceReduction: number;
  };
  /**
   * An adaptive experiment's difference stratified by allocation version (each unit in the
   * version of its first exposure; versions combined weighted by units): what its decision
   * reads, since the pooled one credits a drift in the metric to the arm the bandit moved
   * traffic to. conversion, mean_value and events_per_unit only.
   */
  readonly stratified?: {
    readonly absolute: number;
    readonly absoluteCi: Ci;
    readonly pValue: number;
    /** Its p after the configured correction across its family, with the stratified p-values in place of the raw ones. */
    readonly adjustedPValue: number;
    /** Allocation versions combined. */
    readonly strata: number;
    /** Units of versions where an arm had fewer than 2 units (no difference within that version). */
    readonly unitsLeftOut: number;
  };
}

export interface SrmCheck {
  readonly variants: readonly { readonly variant: string; readonly units: number; readonly expectedShare: number }[];
  readonly chiSquare: number;
  readonly pValue: number;
  readonly threshold: number;
  readonly mismatch: boolean;
  /**
   * Why the split was not tested against the configured weights, when it was not: an
   * adaptive experiment's split follows the bandit (the configured weights are only its
   * burn-in split). Units in a variant the config does not have are a mismatch still.
   */
  readonly notTested?: string;
}

export type GuardrailStatus = 'ok' | 'near' | 'breach' | 'insufficient' | 'no_data';

export interface GuardrailResult {
  readonly metric: string;
  readonly variant: string;
  readonly rule: string;
  readonly control: number | null;
  readonly treatment: number | null;
  readonly relative: number | null;
  readonly pValue: number | null;
  readonly status: GuardrailStatus;
  readonly sentence: string;
}

export interface PowerCheck {
  readonly metric: string;
  readonly baseline: number;
  readonly mde: number;
  /** Power the smallest arm reached for the MDE. */
  readonly power: number;
  readonly targetPower: number;
  readonly neededPerArm: number;
  readonly minSampleSize: number;
  readonly smallestArm: number;
  readonly dailyUnitsPerArm: number;
  readonly elapsedDays: number;
  readonly runtimeDays: number;
  /** Days more at the current traffic to reach both the needed sample and min_sample_size. */
  readonly daysToSample: number;
}

export interface SegmentRow {
  readonly attribute: string;
  readonly value: string;
  readonly variant: string;
  readonly control: ArmValue;
  readonly treatment: ArmValue;
  readonly relative: number | null;
  readonly absolute: number;
  readonly absoluteCi: Ci;
  readonly pValue: number;
  readonly adjustedPValue: number;
  /** Does this segment's effect differ from the rest of the experiment's (corrected)? */
  readonly differsPValue: number;
  readonly differsAdjustedPValue: number;
  readonly differs: boolean;
}

export interface FunnelStep {
  readonly event: string;
  /** Units per variant that reached this step in order. */
  readonly reached: Readonly<Record<string, number>>;
  /** Share of the previous step's units, per variant. */
  readonly conversion: Readonly<Record<string, number>>;
  /** Treatment vs control on the step conversion, per treatment variant. */
  readonly tests: readonly {
    readonly variant: string;
    readonly absolute: number;
    readonly pValue: number;
    readonly adjustedPValue: number;
    readonly significant: boolean;
  }[];
}

export interface Funnel {
  readonly steps: readonly FunnelStep[];
  /** Per variant, the step (by event name) with the lowest conversion. */
  readonly biggestDropOff: Readonly<Record<string, string>>;
  /** The step where a treatment converts significantly worse than control, if any. */
  readonly frictionPoint: {
    readonly event: string;
    readonly variant: string;
    readonly absolute: number;
    readonly adjustedPValue: number;
  } | null;
}

export interface Behaviour {
  /** Events per unit by event name and variant. */
  readonly eventsPerUnit: readonly { readonly event: string; readonly perVariant: Readonly<Record<string, number>> }[];
  /** Significant (corrected) differences in events per unit, as effects. */
  readonly differences: readonly Effect[];
  /** Most common first three events after exposure, per variant. */
  readonly paths: Readonly<
    Record<string, readonly { readonly path: readonly string[]; readonly units: number; readonly share: number }[]>
  >;
  /** Mean time from exposure to first primary-metric event, seconds, per variant. */
  readonly timeToConversion: Readonly<Record<string, { readonly units: number; readonly meanSeconds: number }>>;
  readonly sentences: readonly string[];
}

export interface DailyPoint {
  readonly day: string;
  readonly variant: string;
  readonly units: number;
  readonly conversions: number;
  /** Cumulative rate from the start to this day. */
  readonly cumulativeRate: number;
}

export type DecisionKind = 'ship' | 'dont_ship' | 'keep_running' | 'stop';

export interface Decision {
  readonly decision: DecisionKind;
  /** One sentence. */
  readonly reason: string;
  readonly evidence: readonly string[];
  /** For keep_running: days more at the current traffic. */
  readonly moreDays?: number;
  /** The variant to ship, for ship. */
  readonly variant?: string;
}

export interface FollowUp {
  readonly title: string;
  readonly why: string;
  /** A ready-to-paste experiments entry (YAML) that validates. */
  readonly config: string;
}

export interface ExperimentAnalysis {
  readonly experiment: string;
  readonly hypothesis?: string;
  readonly owner?: string;
  readonly control: string;
  readonly variants: readonly string[];
  readonly primaryMetric: string | null;
  /** The primary metric's statistic the decision reads (`analysis.decision.primary_statistic`). */
  readonly primaryStatistic: Statistic;
  readonly period: { readonly start: string; readonly end: string; readonly days: number };
  readonly units: Readonly<Record<string, number>>;
  readonly excluded: { readonly multipleVariants: number; readonly botLike: Readonly<Record<string, number>> };
  readonly srm: SrmCheck;
  readonly metrics: readonly Effect[];
  readonly guardrails: readonly GuardrailResult[];
  readonly power: PowerCheck | null;
  readonly decision: Decision;
  readonly daily: readonly DailyPoint[];
  readonly segments: readonly SegmentRow[];
  readonly funnel: Funnel | null;
  readonly behaviour: Behaviour;
  readonly followUps: readonly FollowUp[];
  readonly insights: readonly string[];
}

export interface Analysis {
  readonly schema: typeof ANALYSIS_SCHEMA;
  readonly generatedAt: string;
  readonly engine: 'duckdb' | 'postgres';
  readonly settings: {
    readonly corrections: string;
    readonly attributionWindowSeconds: number;
    readonly confidenceLevel: number;
    readonly methods: readonly string[];
  };
  readonly dataQuality: {
    readonly lines: number;
    readonly empty: number;
    readonly malformed: number;
    /**
     * Where malformed lines are, as far as a byte scan tells: the first 10 lines (by file
     * path, then line number, 1-based) that cannot be a JSON object (a write cut short, a
     * line that is not JSON). Lines that are objects but not valid records are only counted.
     */
    readonly incomplete: readonly { readonly file: string; readonly line: number }[];
    /**
     * Valid exposures (each id once) whose time is before 2000-01-01 or more than a day after
     * the analysis time (`generatedAt`): a wrong clock, not a real exposure. Left out of the analysis.
     */
    readonly outOfRange: number;
    /** Valid events (each id once) at such times: left out of the analysis too. */
    readonly outOfRangeEvents: number;
    readonly files: number;
  };
  readonly experiments: readonly ExperimentAnalysis[];
  /** Experiments with exposures that were not analysed, and why (one arm to compare). */
  readonly notAnalysed: readonly NotAnalysed[];
}

export interface NotAnalysed {
  readonly experiment: string;
  /** e.g. "has exposures of one variant only (control 300 units): nothing to compare" */
  readonly reason: string;
}
