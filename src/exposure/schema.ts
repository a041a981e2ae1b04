/**
 * The one event schema every sink receives, versioned in every event. Exposures and
 * tracked events share the envelope. `schema/events.schema.json` is generated from
 * these zod schemas (`npm run schema`); tests validate emitted events against them.
 */
import { z } from 'zod';

export const EXPOSURE_SCHEMA = 'switchyard.exposure/1';
export const EVENT_SCHEMA = 'switchyard.event/1';
export const GUARDRAIL_SCHEMA = 'switchyard.guardrail/1';

const envelope = {
  /** ULID: unique and time-sortable; receivers dedupe on it (delivery is at least once). */
  id: z.string().length(26),
  ts: z.iso.datetime(),
  /** The unit id, or its HMAC-SHA256 (hex) when `exposures.hash_units_key` is set. */
  unit: z.string().min(1),
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
  event: z.string().min(1),
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
