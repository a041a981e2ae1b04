import type { Guardrail, MemoryFlagConfig, PlatformName, ProviderName, StatisticalMethod } from './schema.js';

export type { Guardrail, MemoryFlagConfig, PlatformName, ProviderName, StatisticalMethod };

export type AllocationMode = 'fixed' | 'gradual' | 'adaptive' | 'provider';

/** adaptive mode's options, with defaults filled in; shares are fractions of all traffic. */
export interface ValidatedAdaptive {
  readonly reweightEveryMs: number;
  /** Burn-in: the weights stay at the configured split until every arm has this many units. */
  readonly minSample: number;
  /** Minimum share of traffic per arm, 0-1. */
  readonly floor: number;
  /** Share of traffic that always goes to the control, 0-1 (0: none). */
  readonly holdout: number;
  /** Most a weight may move in one re-weighting, 0-1. */
  readonly maxStep: number;
  readonly draws: number;
  readonly seed: number;
  readonly metricKind: 'conversion' | 'continuous';
  readonly sticky: 'memory' | 'redis' | 'none';
  readonly stickyCapacity: number;
  /** sticky: redis: the experiment's hash expires this long after its last lookup or write (PEXPIRE, renewed by each). */
  readonly stickyTtlMs: number;
}

export interface ValidatedVariant {
  readonly key: string;
  /** Percent of the experiment's traffic, 0-100; all variants add up to 100. */
  readonly weight: number;
  readonly payload: unknown;
}

/** One step of a gradual ramp, with its absolute time window. */
export interface RampStep {
  readonly percent: number;
  readonly startsAt: number;
  /** Exclusive; Infinity for the step that holds forever. */
  readonly endsAt: number;
}

export interface ValidatedAllocation {
  readonly mode: AllocationMode;
  readonly salt: string;
  /** fixed: share of units in the experiment. gradual: unused (see steps). */
  readonly percent: number;
  /** gradual only; empty otherwise. */
  readonly steps: readonly RampStep[];
  /** adaptive only; undefined otherwise. */
  readonly adaptive: ValidatedAdaptive | undefined;
}

export interface ValidatedExperiment {
  readonly key: string;
  readonly flag: string;
  readonly control: string;
  readonly variants: readonly ValidatedVariant[];
  readonly allocation: ValidatedAllocation;
  readonly primaryMetric: string | undefined;
  readonly secondaryMetrics: readonly string[];
  readonly guardrails: readonly Guardrail[];
  readonly hypothesis: string | undefined;
  readonly owner: string | undefined;
  readonly description: string | undefined;
  readonly allowReshuffle: boolean;
  readonly minSampleSize: number;
  readonly confidenceLevel: number;
  readonly runtimeDays: number;
  /** Ordered funnel events; empty when none is configured. */
  readonly funnel: readonly string[];
  /** Relative MDE of the primary metric; undefined means analysis.mde. */
  readonly mde: number | undefined;
}

export type CorrectionSetting = 'none' | 'bonferroni' | 'holm' | 'bh' | 'by';
export type PrimaryStatistic = 'conversion' | 'mean_value' | 'events_per_unit';

/** The `analysis` section with its defaults applied. */
export interface ValidatedAnalysis {
  readonly corrections: CorrectionSetting;
  readonly attributionWindowMs: number;
  readonly segments: readonly string[];
  readonly botMaxEventsPerDay: number;
  readonly srmThreshold: number;
  readonly mde: number;
  readonly power: number;
  readonly decision: {
    readonly minRuntimeDays: number;
    readonly requireMinSample: boolean;
    readonly primaryStatistic: PrimaryStatistic;
    readonly guardrailRequiresSignificance: boolean;
  };
}

export interface ValidatedFleet {
  /** The Redis URL as written (after `${ENV}` interpolation); a password in it is a secret. */
  readonly redis: string;
  /** Namespace of every Redis key and channel (default switchyard). */
  readonly prefix: string;
  readonly pushIntervalMs: number;
}

export interface ValidatedConfig {
  readonly defaults: {
    readonly minSampleSize: number;
    readonly confidenceLevel: number;
    readonly runtimeDays: number;
    readonly trafficAllocation: AllocationMode;
  };
  readonly analyticsPlatforms: readonly PlatformName[];
  readonly featureFlags: {
    readonly provider: ProviderName;
    readonly evaluationTimeoutMs: number;
    readonly initTimeoutMs: number;
    readonly memoryFlags: Readonly<Record<string, MemoryFlagConfig>>;
    /** The section named after the provider, e.g. feature_flags.launchdarkly. */
    readonly options: Readonly<Record<string, unknown>>;
  };
  readonly statisticalMethods: readonly StatisticalMethod[];
  readonly monitoring: {
    readonly realTimeMetrics: boolean;
    readonly anomalyDetection: boolean;
    readonly automaticRollback: boolean;
    readonly checkIntervalMs: number;
    readonly srmAction: 'hold' | 'rollback' | 'warn';
    readonly srmThreshold: number;
    readonly anomalyAction: 'warn' | 'pause' | 'rollback';
    readonly rampBreachAction: 'pause' | 'rollback';
  };
  readonly exposures: {
    readonly enabled: boolean;
    readonly dir: string;
    readonly batchSize: number;
    readonly flushIntervalMs: number;
    readonly queueCapacity: number;
    readonly closeTimeoutMs: number;
    /** How long a sink's send may take before it counts as failed and is retried. */
    readonly sendTimeoutMs: number;
    readonly dedupeCapacity: number;
    readonly dedupeWindowMs: number | undefined;
    readonly hashUnitsKey: string | undefined;
    readonly attributes: readonly string[];
    readonly service: string | undefined;
    readonly instance: string | undefined;
  };
  /** Per-platform options, keyed by platform name. */
  readonly analytics: {
    readonly jsonl: { readonly dir: string; readonly maxFileBytes: number };
    readonly segment?: { readonly writeKey: string; readonly host?: string; readonly path?: string } & SendTuning;
    readonly amplitude?: { readonly apiKey: string; readonly serverUrl?: string } & SendTuning;
    readonly mixpanel?: {
      readonly token: string;
      readonly host?: string;
      readonly protocol?: 'http' | 'https';
    } & SendTuning;
  };
  readonly analysis: ValidatedAnalysis;
  /** Instances sharing a Redis: kill state, metrics and status travel through it. Undefined: one process. */
  readonly fleet: ValidatedFleet | undefined;
  /** In config order. */
  readonly experiments: ReadonlyMap<string, ValidatedExperiment>;
  /** Secret values interpolated from the environment, to scrub from any text. */
  readonly secrets: readonly string[];
}

export interface ConfigProblem {
  readonly file: string;
  /** 1-based; 0 where the config did not come from text. */
  readonly line: number;
  readonly col: number;
  /** e.g. experiments.checkout.allocation.schedule[2].percent */
  readonly path: string;
  readonly message: string;
}

/** How an analytics sink sends (analytics.<platform>): unset fields take the sink's defaults. */
export interface SendTuning {
  /** Sends in flight at most. */
  readonly concurrency?: number;
  /** Gzip request bodies: true (level 1), a level 1-9, or false. */
  readonly compress?: boolean | number;
  /** Events at most a request, within the platform's limit. */
  readonly batchSize?: number;
  /** Uncompressed bytes at most a request, within the platform's limit. */
  readonly batchBytes?: number;
}
