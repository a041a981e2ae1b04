/**
 * switchyard: an OpenFeature-native experimentation layer. This is the one public entry
 * point of the library; everything not exported here is internal.
 */
export {
  createSwitchyard,
  Switchyard,
  AllocationProvider,
  controlPlaneFromConfig,
  flagOnBy,
  switchVendorFlag,
  functionSink,
} from './client/index.js';
export type * from './client/index.js';
export {
  loadConfigFile,
  readConfigText,
  parseConfig,
  validateConfigObject,
  ConfigError,
  formatProblem,
  configSchema,
  reshuffleProblems,
} from './config/index.js';
export type { ValidatedConfig, ValidatedExperiment, ConfigProblem, LoadOptions } from './config/index.js';
export { murmur3, bucket, compilePlan, trafficAt, assign } from './allocation/index.js';
export type { AllocationPlan, Traffic } from './allocation/index.js';
export { changeKillState, changePauseState, readKillRecord, readOpsState, operatorName } from './fleet/index.js';
export type { KillRecord, KillChange, KillChangeResult, OpsState, PauseChange } from './fleet/index.js';
export { SwitchyardError } from './errors.js';
export type { SwitchyardCode, Problem } from './errors.js';
export type { Clock, Logger, ControlPlane } from './ports.js';
export {
  analyze,
  decide,
  openDuckDbStore,
  parseSize,
  openPostgresStore,
  loadJsonlIntoPostgres,
  POSTGRES_DDL,
  ANALYSIS_SCHEMA,
  appendLearning,
  readLearning,
  learningEntries,
  planExperiment,
} from './analysis/index.js';
export type {
  Analysis,
  AnalyzeOptions,
  AnalysisStore,
  ExperimentAnalysis,
  Decision,
  DecisionKind,
  Effect,
  LoadResult,
  LearningEntry,
  LogLocation,
  Plan,
} from './analysis/index.js';
export { renderTerminal, renderJson, renderMarkdown, renderHtml, terminalSafe } from './report/index.js';
