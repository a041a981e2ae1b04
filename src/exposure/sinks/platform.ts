/**
 * What the analytics sinks share: switchyard's exposure fields as flat event
 * properties, so every platform gets the same facts under the same names.
 */
import { GUARDRAIL_SCHEMA, type EventRecord, type ExposureRecord, type TrackedRecord } from '../schema.js';

/**
 * Whether a record is a user event (an exposure or a tracked event): guardrail events are
 * about an experiment, not a user, so analytics platforms do not get them.
 */
export const isUserEvent = (r: EventRecord): boolean => (r.schema as string) !== GUARDRAIL_SCHEMA;

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
  return addMembers(into, r.attributes);
}

/** Adds a tracked event's value, service and properties to `into`; its properties never replace a field. */
export function addTrackedProperties(into: Record<string, unknown>, r: TrackedRecord): Record<string, unknown> {
  if (r.value !== undefined) into.value = r.value;
  if (r.service) into.service = r.service;
  return addMembers(into, r.properties);
}

/**
 * Adds the members of `from` whose keys `into` does not have as its own. Keys are the
 * caller's: `toString` or `constructor` are names like any other (an `in` test found them
 * on Object.prototype and dropped them), and `__proto__` is defined as a member, not
 * assigned (which would set the object's prototype and send nothing).
 */
function addMembers(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const key in from) {
    if (Object.hasOwn(into, key)) continue;
    if (key === '__proto__')
      Object.defineProperty(into, key, { value: from[key], enumerable: true, writable: true, configurable: true });
    else into[key] = from[key];
  }
  return into;
}
