/**
 * The one event schema every sink receives, versioned in every event. Exposures and
 * tracked events share the envelope. `schema/events.schema.json` is generated from
 * these zod schemas (`npm run schema`); tests validate emitted events against them.
 */
import { z } from 'zod';

export const EXPOSURE_SCHEMA = 'switchyard.exposure/1';
export const EVENT_SCHEMA = 'switchyard.event/1';
export const GUARDRAIL_SCHEMA = 'switchyard.guardrail/1';

/**
 * The longest unit id (targetingKey) switchyard takes, in UTF-16 code units. Every call
 * hashes the unit and every exposure and event line carries it, so a caller that passes a
 * request body or a header as the key would make each call hash it and each line carry it;
 * the analytics platforms refuse far shorter ids (Mixpanel's distinct_id: 255 bytes). 1024
 * holds any id, email or composite key.
 */
export const MAX_UNIT_LENGTH = 1024;

/** The longest event name track() takes, and metric name observe() takes. */
export const MAX_EVENT_NAME_LENGTH = 200;

/** Why `unit` cannot be a unit id (a non-empty string of at most MAX_UNIT_LENGTH), or undefined. */
export function unitProblem(unit: unknown): string | undefined {
  if (typeof unit !== 'string' || unit.length === 0) return 'the context has no targetingKey';
  if (unit.length > MAX_UNIT_LENGTH)
    return `the targetingKey has ${unit.length} characters, over the limit of ${MAX_UNIT_LENGTH} for a unit id`;
  return undefined;
}

const envelope = {
  /** ULID: unique and time-sortable; receivers dedupe on it (delivery is at least once). */
  id: z.string().length(26),
  ts: z.iso.datetime(),
  /** The unit id, or its HMAC-SHA256 (hex) when `exposures.hash_units_key` is set. */
  unit: z.string().min(1).max(MAX_UNIT_LENGTH),
  service: z.string().optional(),
  instance: z.string().optional(),
};

export const exposureEventSchema = z.strictObject({
  schema: z.literal(EXPOSURE_SCHEMA),
  ...envelope,
  experiment: z.string().min(1),
  flag: z.string().min(1),
  variant: z.string().min(1),
  allocation: z.strictObject({
    mode: z.enum(['fixed', 'gradual', 'adaptive', 'provider']),
    version: z.number().int().nonnegative(),
    step: z.number().int().min(-1),
    percent: z.number().min(0).max(100),
  }),
  reason: z.string(),
  provider: z.string(),
  /** Context attributes on the configured allow-list only. */
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

export const trackedEventSchema = z.strictObject({
  schema: z.literal(EVENT_SCHEMA),
  ...envelope,
  event: z.string().min(1).max(MAX_EVENT_NAME_LENGTH),
  value: z.number().optional(),
  properties: z.record(z.string(), z.unknown()),
});

const nullableNumber = z.number().nullable();

/**
 * A guardrail trip, pause, hold, ramp advance, warning or anomaly with its evidence. No
 * unit: it is about an experiment. Analytics platforms do not receive these (they are not
 * user events); JSONL and custom sinks do.
 */
export const guardrailEventSchema = z.strictObject({
  schema: z.literal(GUARDRAIL_SCHEMA),
  id: envelope.id,
  ts: envelope.ts,
  service: envelope.service,
  instance: envelope.instance,
  experiment: z.string().min(1),
  kind: z.enum(['trip', 'pause', 'hold', 'advance', 'anomaly', 'warn']),
  action: z.enum(['rollback', 'pause', 'hold', 'advance', 'warn']),
  /** The rule's label, e.g. "error_rate max 0.001", or srm, anomaly, ramp. */
  rule: z.string().min(1),
  metric: z.string(),
  /** The treatment arm the statistic is about. */
  variant: z.string().nullable(),
  /** The observed value and sample size per arm. */
  arms: z.record(z.string(), z.strictObject({ value: nullableNumber, n: z.number().nonnegative() })),
  statistic: nullableNumber,
  p_value: nullableNumber,
  /** The always-valid confidence sequence (or control limit) the decision was made on. */
  bound: z.strictObject({ lower: nullableNumber, upper: nullableNumber }).nullable(),
  alpha: nullableNumber,
  min_sample: nullableNumber,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export type ExposureRecord = z.infer<typeof exposureEventSchema>;
export type GuardrailRecord = z.infer<typeof guardrailEventSchema>;
export type TrackedRecord = z.infer<typeof trackedEventSchema>;
export type EventRecord = ExposureRecord | TrackedRecord;
