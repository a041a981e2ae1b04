/**
 * What the analytics sinks share: switchyard's exposure fields as flat event
 * properties, so every platform gets the same facts under the same names.
 */
import type { EventRecord, ExposureRecord, TrackedRecord } from '../schema.js';

export const isExposure = (r: EventRecord): r is ExposureRecord => r.schema === 'switchyard.exposure/1';

/**
 * Adds the exposure's facts beyond each platform's own experiment/variant fields to
 * `into`, which already holds the platform's fields; context attributes come last and
 * never replace a field. Fields are assigned, not spread: spreading a fresh object per
 * event cost the sinks a third of their time.
 */
export function addExposureProperties(into: Record<string, unknown>, r: ExposureRecord): Record<string, unknown> {
  into.flag = r.flag;
  into.allocation_mode = r.allocation.mode;
  into.allocation_version = r.allocation.version;
  into.ramp_step = r.allocation.step;
  into.traffic_percent = r.allocation.percent;
  into.reason = r.reason;
  into.provider = r.provider;
  if (r.service) into.service = r.service;
  if (r.instance) into.instance = r.instance;
  for (const key in r.attributes) if (!(key in into)) into[key] = r.attributes[key];
  return into;
}

/** Adds a tracked event's value, service and properties to `into`; its properties never replace a field. */
export function addTrackedProperties(into: Record<string, unknown>, r: TrackedRecord): Record<string, unknown> {
  if (r.value !== undefined) into.value = r.value;
  if (r.service) into.service = r.service;
  for (const key in r.properties) if (!(key in into)) into[key] = r.properties[key];
  return into;
}
