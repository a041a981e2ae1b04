export { MetricRecorder } from './recorder.js';
export type { MetricSummary } from './recorder.js';
