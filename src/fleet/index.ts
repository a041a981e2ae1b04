export { FleetConnection } from './connection.js';
export type { FleetConnectionOptions } from './connection.js';
export { KillStore } from './kill-store.js';
export type { KillStoreOptions, KillStoreStatus } from './kill-store.js';
export {
  isNewer,
  newerRecords,
  parseKillRecord,
  activeKills,
  pauseKey,
  pausedExperiment,
  LAST_TIME,
} from './kill-record.js';
export type { KillRecord, KillState } from './kill-record.js';
export {
  readStateFile,
  writeStateFile,
  mergeIntoStateFile,
  stateFilePath,
  STATE_FILE,
  STATE_SCHEMA,
} from './state-file.js';
export { fleetKeys, redisLabel, connectRedis } from './redis.js';
export { changeKillState, changePauseState, readKillRecord, readOpsState, operatorName } from './control.js';
export { GUARDRAIL_STATUS_FILE } from '../ports.js';
export type { KillChange, KillChangeResult, OpsState, PauseChange } from './control.js';
export { readAllocationState, writeAllocationState, ALLOCATION_STATE_FILE } from './allocation-state.js';
export type { PublishedAllocation } from './allocation-state.js';
