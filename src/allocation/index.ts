export {
  murmur3,
  murmur3After,
  hashPrefix,
  bucket,
  fingerprint64,
  unitHash,
  unitHashes,
  exposureKey,
} from './murmur3.js';
export type { HashPrefix } from './murmur3.js';
export { compilePlan, trafficAt, assign } from './plan.js';
export type { AllocationPlan, Traffic, ExperimentHold } from './plan.js';
export { adaptivePolicy, burnInWeights, isBurningIn, nextWeights, versionPlan, withinFloors } from './adaptive.js';
export type { AdaptivePolicy, Reweighting } from './adaptive.js';
export { StickyTable, MAX_ARM_CODE } from './sticky-table.js';
