/** The public types of the facade: options, answers and the events it emits. */
import type { ErrorCode, EvaluationContext, Hook, HookHints, Provider } from '@openfeature/server-sdk';
import type { SwitchyardCode } from '../errors.js';
import type { Clock, Logger } from '../ports.js';
import type { AllocationMode } from '../config/index.js';
import type { GuardrailEvent } from '../guardrails/index.js';

export type { GuardrailEvent, ExperimentStatus, RuleStatus, Anomaly } from '../guardrails/index.js';

/** What getVariant returns: never thrown, always a value. */
export interface VariantResult {
  readonly flag: string;
  /** The variant key; for an experiment flag, the control on any fault or outside the traffic. */
  readonly variant: string | undefined;
  /** Experiment flags: the variant key. Other flags: the provider's value. */
  readonly value: unknown;
  /** The variant's payload from the config (experiment flags) or the provider's object value. */
  readonly payload: unknown;
  /** OpenFeature reason: SPLIT, DISABLED, DEFAULT, TARGETING_MATCH, STATIC, ERROR, ... */
  readonly reason: string;
  /** True only for units in the experiment's traffic; only these are exposures. */
  readonly inExperiment: boolean;
  readonly experiment: string | undefined;
  readonly allocationVersion: number | undefined;
  readonly allocationMode: AllocationMode | undefined;
  /** Ramp step index for gradual allocation, -1 otherwise. */
  readonly rampStep: number;
  /** Share of units in the experiment at evaluation time, 0-100. */
  readonly trafficPercent: number;
  readonly errorCode?: ErrorCode;
  readonly problem?: SwitchyardCode;
  readonly errorMessage?: string;
}

export interface GetVariantOptions {
  /** Invocation hooks, run after API and client hooks, before provider hooks. */
  hooks?: Hook[];
  hookHints?: HookHints;
}

export interface SwitchyardOptions {
  /** Path to switchyard.yaml, YAML text is not accepted here; or a config object. */
  config: string | Record<string, unknown>;
  /** An OpenFeature provider, overriding `feature_flags.provider`. */
  provider?: Provider;
  clock?: import('../ports.js').Clock;
  logger?: Logger;
  /** Watch the config file and apply valid changes (default true for a path). */
  watch?: boolean;
  /** How often the watcher checks the file, in ms (default 250). */
  watchIntervalMs?: number;
  /** Extra event sinks (custom destinations), next to those of `analytics_platforms`. */
  sinks?: import('../exposure/index.js').Sink[];
  /** Environment for `${NAME}` interpolation (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Without a fleet: how often the kill-state file is checked for changes made by the CLI, in ms (default 250). */
  statePollIntervalMs?: number;
  /** With a fleet: how long createSwitchyard waits for Redis before serving from the local state, in ms (default 2000). */
  fleetConnectTimeoutMs?: number;
  /** adaptive allocation tunables (tests and benchmarks shorten them). */
  adaptive?: {
    /** How often fleet allocation versions are polled from Redis, in ms (default 250). */
    pollMs?: number;
    /** Round-trip budget of the Redis sticky store before a unit is served from memory, in ms (default 100). */
    stickyTimeoutMs?: number;
  };
}

export type { Clock, EvaluationContext };

export interface ExposureEvent {
  readonly unit: string;
  readonly experiment: string;
  readonly flag: string;
  readonly variant: string;
  readonly allocationMode: AllocationMode;
  readonly allocationVersion: number;
  readonly rampStep: number;
  readonly trafficPercent: number;
  readonly reason: string;
  readonly ts: number;
  readonly context: EvaluationContext;
}

export interface TrackEvent {
  readonly event: string;
  readonly unit: string;
  readonly value: number | undefined;
  readonly properties: Readonly<Record<string, unknown>>;
  readonly ts: number;
}

export interface RunEvent {
  readonly flag: string;
  readonly experiment: string | undefined;
  readonly variant: string | undefined;
  readonly unit: string;
  readonly latencyMs: number;
  readonly error: boolean;
  readonly ts: number;
}

export type ConfigEvent =
  | { readonly type: 'applied'; readonly source: string; readonly experiments: readonly string[] }
  | { readonly type: 'rejected'; readonly source: string; readonly error: Error };

/** Where a kill took effect: at the vendor too, or in this process only (and why). */
export type KillScope =
  | {
      readonly scope: 'vendor';
      readonly vendor: string;
      readonly flag: string;
      /**
       * Where the flag was left when it followed the decision in force, which another
       * process's kill or unkill moved while this change was on its way (on: true); absent
       * when the change sent is where the flag stays.
       */
      readonly followed?: { readonly on: boolean };
    }
  | { readonly scope: 'local'; readonly why: string };

/** What `kill()` did: the local kill at once, the vendor's when `vendor` settles (it never rejects). */
export interface KillReceipt {
  readonly experiment: string;
  readonly vendor: Promise<KillScope>;
}

export interface SwitchyardEvents {
  exposure: ExposureEvent;
  track: TrackEvent;
  run: RunEvent;
  config: ConfigEvent;
  /** Problems, once per (flag, code) so a broken flag does not log per request. */
  error: { readonly flag: string; readonly code: SwitchyardCode; readonly message: string };
  /** A kill or unkill, made here (`remote: false`) or elsewhere in the fleet / by the CLI (`remote: true`). */
  kill: KillEvent;
  /** Guardrail trips, pauses, holds, ramp advances, warnings and anomalies, with their evidence. */
  guardrail: GuardrailEvent;
}

/** A kill record as announced: who (`by`), why (`reason`), when (`at`), on what `evidence`, from which `origin`. */
export interface KillEvent {
  readonly experiment: string;
  readonly killed: boolean;
  readonly reason: string;
  readonly by: string;
  readonly at: number;
  /** The instance (or CLI invocation) that made the decision. */
  readonly origin: string;
  readonly evidence?: unknown;
  /** True when the decision was made in another process. */
  readonly remote: boolean;
}
