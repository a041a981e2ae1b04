export { murmur3, bucket, fingerprint64 } from './murmur3.js';
export { compilePlan, trafficAt, assign } from './plan.js';
export type { AllocationPlan, Traffic, ExperimentHold } from './plan.js';
