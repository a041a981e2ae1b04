export {
  MetricRecorder,
  isRecordable,
  MAX_METRIC_MAGNITUDE,
  mergeSnapshots,
  diffSnapshots,
  quantileOf,
  LATENCY_METRIC,
  ERROR_METRIC,
} from './recorder.js';
export type { MetricSummary, MetricSnapshot, ArmData, SeriesData } from './recorder.js';
export { checkExperiment, resolveMetric, expectedTripSample, ruleLabel } from './rules.js';
export type { RuleState, RuleResult, ArmReading, Comparison, ExperimentCheck, CheckMemory } from './rules.js';
export { detectAnomalies } from './anomaly.js';
export type { Anomaly, AnomalyState, AnomalyOptions } from './anomaly.js';
export { rampGate, stepAt } from './gate.js';
export type { GateDecision } from './gate.js';
export { FleetMetrics, redactUrl } from './fleet.js';
export type { FleetOptions } from './fleet.js';
export { GuardrailMonitor } from './monitor.js';
export type {
  GuardrailEvent,
  GuardrailKind,
  GuardrailAction,
  ExperimentStatus,
  RuleStatus,
  MonitorHost,
  MonitorOptions,
} from './monitor.js';
