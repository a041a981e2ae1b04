/**
 * Unit ids and event names past their limits (MAX_UNIT_LENGTH, MAX_EVENT_NAME_LENGTH): a
 * caller that passes a request body or a header as the targetingKey gets the control with
 * INVALID_CONTEXT on every surface (getVariant, getVariantSync, the OpenFeature client), and
 * nothing is hashed into an arm, logged or recorded for it; the message says the length and
 * the limit, never the key. At the limit, everything works as for any unit.
 */
import { OpenFeature } from '@openfeature/server-sdk';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from 'switchyard';
import {
  EVENT_SCHEMA,
  EXPOSURE_SCHEMA,
  functionSink,
  MAX_EVENT_NAME_LENGTH,
  MAX_UNIT_LENGTH,
  type EventRecord,
} from '../../../src/exposure/index.js';

const made: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((sy) => sy.close()));
});

async function make(delivered: EventRecord[]): Promise<Switchyard> {
  const sy = await createSwitchyard({
    config: {
      feature_flags: { provider: 'memory' },
      exposures: { dir: mkdtempSync(join(tmpdir(), 'sy-limits-')), flush_interval_ms: 10 },
      experiments: { exp: { variants: { control: { weight: 0 }, treatment: { weight: 100 } } } },
    },
    sinks: [functionSink('fn', (records) => void delivered.push(...records))],
  });
  made.push(sy);
  return sy;
}

/** A key of n characters that is not made of one repeated character (hashing sees all of it). */
const keyOf = (n: number, tag: string) => `${tag}:`.padEnd(n, 'abcdefghij0123456789');

describe('a unit id past MAX_UNIT_LENGTH', () => {
  it('gets the control with INVALID_CONTEXT on every surface, and no exposure; one at the limit is allocated and logged', async () => {
    expect(MAX_UNIT_LENGTH).toBe(1024);
    const delivered: EventRecord[] = [];
    const sy = await make(delivered);
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    const atLimit = keyOf(MAX_UNIT_LENGTH, 'ok');
    const tooLong = keyOf(MAX_UNIT_LENGTH + 1, 'long');

    expect(await sy.getVariant('exp', { targetingKey: atLimit })).toMatchObject({ variant: 'treatment' });
    const answer = await sy.getVariant('exp', { targetingKey: tooLong });
    expect(answer).toMatchObject({ variant: 'control', reason: 'ERROR', errorCode: 'INVALID_CONTEXT' });
    expect(sy.getVariantSync('exp', { targetingKey: tooLong })).toMatchObject({
      variant: 'control',
      errorCode: 'INVALID_CONTEXT',
    });
    const client = OpenFeature.getClient(sy.domain);
    const details = await client.getStringDetails('exp', 'fallback', { targetingKey: tooLong });
    // OpenFeature gives the caller's default on an error, as for a missing targetingKey.
    expect(details).toMatchObject({ value: 'fallback', reason: 'ERROR', errorCode: 'INVALID_CONTEXT' });
    expect((await client.getStringDetails('exp', 'fallback', { targetingKey: atLimit })).value).toBe('treatment');

    // Said once per flag, with the length and the limit, without the key.
    expect(errors).toContain(
      `the targetingKey has ${MAX_UNIT_LENGTH + 1} characters, over the limit of ${MAX_UNIT_LENGTH} for a unit id`,
    );
    for (const e of errors) expect(e).not.toContain('long:abc');

    await sy.close();
    const exposures = delivered.filter((r) => r.schema === EXPOSURE_SCHEMA);
    expect(exposures.map((r) => r.unit)).toEqual([atLimit]);
  });

  it('is refused by track() and observe(), and run() records no latency event for it', async () => {
    const delivered: EventRecord[] = [];
    const sy = await make(delivered);
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    const tooLong = keyOf(MAX_UNIT_LENGTH + 1, 'long');
    const atLimit = keyOf(MAX_UNIT_LENGTH, 'ok');

    expect(sy.track('buy', { targetingKey: tooLong }, { value: 1 })).toBe(false);
    expect(sy.track('buy', { targetingKey: atLimit }, { value: 1 })).toBe(true);
    expect(sy.observe('exp', { targetingKey: tooLong }, 'latency_ms', 5)).toBe(false);
    expect(sy.observe('exp', { targetingKey: atLimit }, 'latency_ms', 5)).toBe(true);
    expect(await sy.run('exp', { targetingKey: tooLong }, { default: () => 'ran' })).toBe('ran');

    expect(errors).toEqual(
      expect.arrayContaining([
        `track("buy") rejected: the targetingKey has ${MAX_UNIT_LENGTH + 1} characters, over the limit of ${MAX_UNIT_LENGTH} for a unit id`,
        `observe() ignored: the targetingKey has ${MAX_UNIT_LENGTH + 1} characters, over the limit of ${MAX_UNIT_LENGTH} for a unit id`,
      ]),
    );
    await sy.close();
    const events = delivered.filter((r) => r.schema === EVENT_SCHEMA);
    expect(events.map((r) => [r.unit, (r as { event: string }).event])).toEqual([[atLimit, 'buy']]);
    expect(sy.counters().exposures.pipeline?.rejected).toBe(1);
  });
});

describe('an event name past MAX_EVENT_NAME_LENGTH', () => {
  it('is refused by track(), saying its length; one at the limit is logged', async () => {
    expect(MAX_EVENT_NAME_LENGTH).toBe(200);
    const delivered: EventRecord[] = [];
    const sy = await make(delivered);
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    const atLimit = 'e'.repeat(MAX_EVENT_NAME_LENGTH);
    expect(sy.track(`${atLimit}x`, { targetingKey: 'u1' })).toBe(false);
    expect(sy.track(atLimit, { targetingKey: 'u1' })).toBe(true);
    expect(errors.some((e) => e.endsWith(`the event name has 201 characters, over the limit of 200`))).toBe(true);
    await sy.close();
    expect(delivered.filter((r) => r.schema === EVENT_SCHEMA).map((r) => (r as { event: string }).event)).toEqual([
      atLimit,
    ]);
  });
});
