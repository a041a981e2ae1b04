/**
 * switchyard analysis: SQL aggregation of exposures and events to sufficient statistics
 * on DuckDB (JSONL files in place) or PostgreSQL, statistics from switchyard/stats, and
 * the go/no-go decision. The only module other folders may import.
 */
export { analyze, DEFAULT_ANALYSIS, RUN_EVENT } from './analyze.js';
export type { AnalyzeOptions } from './analyze.js';
export { decide, describeEffect } from './decide.js';
export type { DecisionInput } from './decide.js';
export { openDuckDbStore, jsonlFiles, parseSize } from './stores/duckdb.js';
export type { DuckDbStoreOptions } from './stores/duckdb.js';
export {
  openPostgresStore,
  loadJsonlIntoPostgres,
  POSTGRES_DDL,
  DEFAULT_CONNECT_TIMEOUT_MS,
} from './stores/postgres.js';
export type { LoadResult, PostgresOptions } from './stores/postgres.js';
export type { AnalysisStore, DataQuality, Row, SqlValue } from './store.js';
export * from './types.js';
export { ATTRIBUTED_BASELINE as ATTRIBUTED_BASELINE_SQL, BASELINE as BASELINE_SQL } from './sql.js';
export {
  appendLearning,
  readLearning,
  learningEntries,
  planExperiment,
  LEARNING_SCHEMA,
  LEARNING_FILE,
} from './learning-log.js';
export type { LearningEntry, LogLocation, Plan, PlanInput } from './learning-log.js';
