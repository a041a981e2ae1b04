/** The client module's public surface. */
export { createSwitchyard, Switchyard } from './switchyard.js';
export type { VariantHandlers } from './switchyard.js';
export { AllocationProvider } from './allocation-provider.js';
export { controlPlaneFromConfig } from './providers.js';
export { flagOnBy, switchVendorFlag } from './vendor-kill.js';
export type * from './types.js';
export type { EngineCounters } from './engine.js';
export type { AdaptiveStatus, ArmStatus, AllocationVersion } from './adaptive/adaptive-experiment.js';
export type { ArmStats } from './adaptive/arm-stats.js';
// Custom event destinations: createSwitchyard({ sinks: [functionSink('warehouse', ...)] }), or any Sink.
export { functionSink } from '../exposure/index.js';
export type { Sink, SinkBatch, EventRecord } from '../exposure/index.js';
