/**
 * Builds the exposure pipeline from the `exposures` section of the config (none when logging is off).
 */
import type { Provider } from '@openfeature/server-sdk';
import type { ValidatedConfig } from '../config/index.js';
import { EventPipeline, type ExposureDedupe, type ExposureDescriptor, type Sink } from '../exposure/index.js';
import type { Clock, Logger } from '../ports.js';

export interface PipelineParts {
  provider: Provider;
  /** The provider was passed in rather than built from the config. */
  providerGiven: boolean;
  sinks: Sink[];
  clock: Clock;
  logger: Logger;
  dedupe: ExposureDedupe;
  /** Each exposure admitted by the rule at flush (units exposed per arm, for guardrails). */
  onAdmitted?: (descriptor: ExposureDescriptor) => void;
}

export function pipelineFromConfig(config: ValidatedConfig, parts: PipelineParts): EventPipeline | undefined {
  const exposures = config.exposures;
  if (!exposures.enabled) return undefined;
  return new EventPipeline({
    dir: exposures.dir,
    sinks: parts.sinks,
    clock: parts.clock,
    logger: parts.logger,
    // Exposures name the vendor: the config's, or the given provider's own name.
    provider:
      config.featureFlags.provider === 'openfeature' || parts.providerGiven
        ? parts.provider.metadata.name
        : config.featureFlags.provider,
    batchSize: exposures.batchSize,
    flushIntervalMs: exposures.flushIntervalMs,
    queueCapacity: exposures.queueCapacity,
    sendTimeoutMs: exposures.sendTimeoutMs,
    hashUnitsKey: exposures.hashUnitsKey,
    dedupe: parts.dedupe,
    attributes: exposures.attributes,
    service: exposures.service,
    instance: exposures.instance,
    onAdmitted: parts.onAdmitted,
  });
}
