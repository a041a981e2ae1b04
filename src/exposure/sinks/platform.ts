/**
 * What the analytics sinks share: switchyard's exposure fields as flat event
 * properties, so every platform gets the same facts under the same names.
 */
import { GUARDRAIL_SCHEMA, type EventRecord, type ExposureRecord, type TrackedRecord } from '../schema.js';
import type { SinkBatch } from '../sink.js';

/**
 * The batch's user events (exposures and tracked events): guardrail events are about an
 * experiment, not a user, so analytics platforms do not get them.
 */
export function userEvents(batch: SinkBatch): EventRecord[] {
  return batch.records().filter((r) => (r.schema as string) !== GUARDRAIL_SCHEMA);
}

export const isExposure = (r: EventRecord): r is ExposureRecord => r.schema === 'switchyard.exposure/1';

/** Exposure facts beyond each platform's own experiment/variant fields. */
export function exposureProperties(r: ExposureRecord): Record<string, unknown> {
  return {
    ...r.attributes,
    flag: r.flag,
    allocation_mode: r.allocation.mode,
    allocation_version: r.allocation.version,
    ramp_step: r.allocation.step,
    traffic_percent: r.allocation.percent,
    reason: r.reason,
    provider: r.provider,
    ...(r.service ? { service: r.service } : {}),
    ...(r.instance ? { instance: r.instance } : {}),
  };
}

export function trackedProperties(r: TrackedRecord): Record<string, unknown> {
  return {
    ...r.properties,
    ...(r.value === undefined ? {} : { value: r.value }),
    ...(r.service ? { service: r.service } : {}),
  };
}

/** Loads an optional SDK, or says which npm package to install. */
export async function loadSdk<T>(pkg: string, platform: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (cause) {
    const error = new Error(`the ${platform} sink needs the npm package ${pkg}: npm install ${pkg}`, { cause });
    (error as Error & { code: string }).code = 'SY_NOT_AVAILABLE';
    throw error;
  }
}
