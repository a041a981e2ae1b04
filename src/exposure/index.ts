export { EventPipeline } from './pipeline.js';
export type { PipelineOptions, PipelineCounters, ExposureInput } from './pipeline.js';
export { JsonlSink } from './sinks/jsonl.js';
export type { JsonlSinkOptions } from './sinks/jsonl.js';
export { functionSink } from './sinks/function.js';
export type { Sink, SinkBatch } from './sink.js';
export { EXPOSURE_SCHEMA, EVENT_SCHEMA, exposureEventSchema, trackedEventSchema } from './schema.js';
export type { EventRecord, ExposureRecord, TrackedRecord } from './schema.js';
export { ExposureDedupe } from './dedupe.js';
