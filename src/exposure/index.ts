/** The exposure module's public surface. */
export { EventPipeline, JOURNAL_RETRY_MS } from './pipeline.js';
export type { PipelineOptions, PipelineCounters, ExposureInput, ExposureDescriptor } from './pipeline.js';
export { JsonlSink } from './sinks/jsonl.js';
export type { JsonlSinkOptions } from './sinks/jsonl.js';
export { functionSink } from './sinks/function.js';
export type { Sink, SinkBatch } from './sink.js';
export {
  EXPOSURE_SCHEMA,
  EVENT_SCHEMA,
  GUARDRAIL_SCHEMA,
  MAX_UNIT_LENGTH,
  MAX_EVENT_NAME_LENGTH,
  unitProblem,
  exposureEventSchema,
  trackedEventSchema,
  guardrailEventSchema,
} from './schema.js';
export type { EventRecord, ExposureRecord, TrackedRecord, GuardrailRecord } from './schema.js';
export { ExposureDedupe } from './dedupe.js';
export { segmentSink } from './sinks/segment.js';
export type { SegmentSinkOptions } from './sinks/segment.js';
export { amplitudeSink } from './sinks/amplitude.js';
export type { AmplitudeSinkOptions } from './sinks/amplitude.js';
export { mixpanelSink } from './sinks/mixpanel.js';
export type { MixpanelSinkOptions } from './sinks/mixpanel.js';
export { reserveInThisProcess } from './dir-lock.js';
