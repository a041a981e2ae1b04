/** The facade's kill switch in one process: synchronous effect, the record, persistence across instances. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type KillEvent, type Switchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';
import type { ControlPlane, HasControlPlane } from '../../../src/ports.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const T = Date.parse('2026-12-01T09:00:00Z');

async function make(dir: string): Promise<Switchyard> {
  const sy = await createSwitchyard({
    config: {
      feature_flags: { provider: 'memory' },
      exposures: { enabled: false, dir },
      experiments: { exp: { variants: { control: { weight: 0 }, treatment: { weight: 100 } } } },
    },
    clock: { now: () => T }, // frozen: every decision in the same millisecond
  });
  cleanups.push(() => sy.close());
  return sy;
}

describe('sy.kill / sy.unkill', () => {
  it('take effect before returning, carry who/why/when/evidence, and persist for the next instance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-ks-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sy = await make(dir);
    const events: KillEvent[] = [];
    sy.on('kill', (e) => events.push(e));
    const pending = sy.getVariant('exp', { targetingKey: 'u' });
    const record = sy.kill('exp', 'error rate 0.3% > 0.1%', { rule: 'error_rate', p: 0.001 }, 'guardrails');
    expect((await pending).reason).toBe('SPLIT'); // evaluated before the kill
    expect((await sy.getVariant('exp', { targetingKey: 'u' })).reason).toBe('DISABLED');
    expect(record).toMatchObject({
      experiment: 'exp',
      killed: true,
      reason: 'error rate 0.3% > 0.1%',
      by: 'guardrails',
      at: T,
      evidence: { rule: 'error_rate', p: 0.001 },
    });
    // The receipt adds the vendor outcome (a promise) to the record; events and reads carry the record.
    const { vendor, ...kill } = record;
    expect(await vendor).toMatchObject({ scope: 'local' }); // the memory provider has no control plane
    expect(events).toEqual([{ ...kill, remote: false }]);
    expect(sy.killRecord('exp')).toEqual(kill);

    const next = await make(dir);
    expect((await next.getVariant('exp', { targetingKey: 'u' })).variant).toBe('control');

    const unkill = sy.unkill('exp'); // same frozen millisecond: still the newer decision
    expect(unkill.at).toBe(T + 1);
    expect((await sy.getVariant('exp', { targetingKey: 'u' })).variant).toBe('treatment');
    const third = await make(dir);
    expect((await third.getVariant('exp', { targetingKey: 'u' })).variant).toBe('treatment');
  });

  it('a control plane that throws instead of rejecting: kill() and unkill() still return, the local decision stands, vendor says why', async () => {
    // A provider's own control plane (the port is public) written without async: it throws
    // where the port promises a rejected promise.
    const plane: ControlPlane = {
      vendor: 'acme',
      turnOff: () => {
        throw new Error('acme client not configured');
      },
      turnOn: () => {
        throw new Error('acme client not configured');
      },
      setRollout: () => Promise.resolve(),
    };
    const provider = Object.assign(new MemoryProvider({}), { controlPlane: plane }) satisfies HasControlPlane;
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-ks-')) },
        experiments: { exp: { variants: { control: { weight: 0 }, treatment: { weight: 100 } } } },
      },
      provider,
    });
    cleanups.push(() => sy.close());
    const kill = sy.kill('exp', 'manual');
    expect((await sy.getVariant('exp', { targetingKey: 'u' })).reason).toBe('DISABLED');
    expect(await kill.vendor).toEqual({
      scope: 'local',
      why: expect.stringMatching(/^acme did not turn flag "exp" off \(acme client not configured\)/),
    });
    const unkill = sy.unkill('exp');
    expect(await unkill.vendor).toMatchObject({
      scope: 'local',
      why: expect.stringContaining('did not turn flag "exp" on'),
    });
  });

  it('refuses an experiment the config does not have', async () => {
    const sy = await make(mkdtempSync(join(tmpdir(), 'sy-ks-')));
    expect(() => sy.kill('nope', 'x')).toThrow(/SY_INVALID_ARGUMENT.*no experiment "nope"/);
  });
});

describe('sy.kill from a JavaScript caller with arguments of other types', () => {
  it('keeps the kill across a restart: a reason or who that is not text is written as text, evidence that is not JSON as a note', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-ks-types-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sy = await make(dir);
    const cyclic: Record<string, unknown> = { rule: 'error_rate' };
    cyclic.self = cyclic;
    let record: ReturnType<Switchyard['kill']> | undefined;
    expect(
      () => (record = sy.kill('exp', 42 as never, { big: 1n, cyclic } as never, { team: 'ops' } as never)),
    ).not.toThrow();
    expect(record).toMatchObject({ reason: '42', by: 'an object', killed: true });
    expect(String(record!.evidence)).toMatch(/^evidence not kept: it is not JSON \(/);
    expect((await sy.getVariant('exp', { targetingKey: 'u' })).reason).toBe('DISABLED');
    // The state file holds a record the next instance reads: the kill survives the restart.
    const next = await make(dir);
    expect((await next.getVariant('exp', { targetingKey: 'u' })).reason).toBe('DISABLED');
    expect(next.killRecord('exp')).toMatchObject({ reason: '42', by: 'an object' });
  });
});
