export { murmur3, murmur3After, hashPrefix, bucket, fingerprint64 } from './murmur3.js';
export type { HashPrefix } from './murmur3.js';
export { compilePlan, trafficAt, assign } from './plan.js';
export type { AllocationPlan, Traffic, ExperimentHold } from './plan.js';
