/**
 * Hot reload against a real file: valid edits take effect within 1 s without a restart;
 * invalid ones and reshuffles are rejected with a located error, the last good config
 * stays in force, and an event plus a counter record each.
 */
import { mkdtempSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSwitchyard, type ConfigEvent, type Switchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';
import { privateStateDir } from '../helpers/state-dir.js';

// Kill state persists beside the journal: a directory of this file's own.
const stateDir = privateStateDir();
const yaml = (control: number, treatment: number, extra = '') => `
feature_flags: { provider: memory }
exposures: { enabled: false, dir: ${JSON.stringify(stateDir)} }
experiments:
  checkout:
    variants:
      control: { weight: ${control} }
      treatment: { weight: ${treatment} }
    allocation: { mode: fixed${extra} }
`;

async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let sy: Switchyard | undefined;
afterEach(async () => sy?.close());

/** Writes the config to a fresh file, starts an instance watching it, and records its config events. */
async function start(
  text: string,
  logged: string[] = [],
): Promise<{ dir: string; file: string; events: ConfigEvent[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-reload-'));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, text);
  const log = (level: string) => (message: string, fields?: unknown) =>
    logged.push(`${level} ${message} ${JSON.stringify(fields)}`);
  sy = await createSwitchyard({
    config: file,
    watchIntervalMs: 100,
    logger: { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') },
  });
  const events: ConfigEvent[] = [];
  sy.on('config', (e) => events.push(e));
  return { dir, file, events };
}

describe('hot reload of switchyard.yaml', () => {
  it('applies a valid edit within 1 s, rejects a bad one and keeps the last good config', async () => {
    const { file, events } = await start(yaml(100, 0));
    const treatedShare = async () => {
      let treated = 0;
      for (let i = 0; i < 200; i++)
        if ((await sy!.getVariant('checkout', { targetingKey: `u${i}` })).variant === 'treatment') treated++;
      return treated / 200;
    };
    expect(await treatedShare()).toBe(0);

    // An ops edit: all traffic to treatment (weights change, order and salt unchanged).
    writeFileSync(file, yaml(0, 100));
    const applied = await waitFor(async () => ((await treatedShare()) === 1 ? true : undefined), 1000);
    expect(applied.ms).toBeLessThan(1000);
    expect(events).toEqual([{ type: 'applied', source: file, experiments: ['checkout'] }]);

    // A broken edit: located error, last good config stays.
    writeFileSync(file, yaml(0, 100).replace('weight: 100', 'weight: 1000'));
    const rejected = await waitFor(() => events.find((e) => e.type === 'rejected'), 1000);
    expect(rejected.value.type === 'rejected' && rejected.value.error.message).toMatch(
      /switchyard\.yaml:8:\d+ experiments\.checkout\.variants\.treatment\.weight: expected a value <= 100, found 1000/,
    );
    expect(await treatedShare()).toBe(1);
    expect(sy!.counters().config).toEqual({ applied: 1, rejected: 1 });
  });

  it('rejects a change that would reshuffle a running experiment unless allow_reshuffle is set', async () => {
    const { dir, file, events } = await start(yaml(50, 50));
    const before = await Promise.all(
      Array.from({ length: 100 }, (_, i) => sy!.getVariant('checkout', { targetingKey: `u${i}` })),
    );

    writeFileSync(file, yaml(50, 50, ', salt: new-salt'));
    const rejected = await waitFor(() => events.find((e) => e.type === 'rejected'), 1000);
    expect(rejected.value.type === 'rejected' && (rejected.value.error as { code?: string }).code).toBe(
      'SY_CONFIG_RESHUFFLE',
    );
    const same = await Promise.all(
      Array.from({ length: 100 }, (_, i) => sy!.getVariant('checkout', { targetingKey: `u${i}` })),
    );
    expect(same.map((r) => r.variant)).toEqual(before.map((r) => r.variant));

    // Editors often write a new file and rename it over the old one.
    const tmp = join(dir, '.switchyard.yaml.swp');
    writeFileSync(
      tmp,
      yaml(50, 50, ', salt: new-salt').replace('checkout:\n', 'checkout:\n    allow_reshuffle: true\n'),
    );
    renameSync(tmp, file);
    await waitFor(() => events.find((e) => e.type === 'applied'), 1000);
    expect(sy!.config.experiments.get('checkout')!.allocation.salt).toBe('new-salt');
  });

  it('rejects an emptied file and a deleted one like any bad change: one log line, event and count each (audit r08, r15)', async () => {
    const logged: string[] = [];
    const { file, events } = await start(yaml(100, 0), logged);
    writeFileSync(file, '');
    await waitFor(() => (events.length === 1 ? true : undefined), 1000);
    unlinkSync(file);
    await waitFor(() => (events.length === 2 ? true : undefined), 1000);
    sy!.reload();
    await new Promise((r) => setTimeout(r, 300)); // several polls of a file still missing
    expect(events.map((e) => e.type === 'rejected' && [e.source, (e.error as { code?: string }).code])).toEqual([
      [file, 'SY_CONFIG_INVALID'],
      [file, 'SY_CONFIG_READ'],
    ]);
    const [empty, missing] = events.map((e) => (e.type === 'rejected' ? e.error.message : ''));
    expect(empty).toContain(
      'the file is empty (nothing but whitespace, comments or null): the last good config stays in force',
    );
    expect(missing).toContain(`cannot read config file ${file} (ENOENT`);
    expect(logged.filter((l) => !l.startsWith('info') && l.includes(file))).toHaveLength(2);
    expect(sy!.counters().config).toEqual({ applied: 0, rejected: 2 });
    expect(sy!.config.experiments.has('checkout')).toBe(true);
  });

  it('applies an edit saved while the service was starting, between reading the file and watching it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-reload-'));
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, yaml(100, 0));
    // The vendor takes its time to start (up to init_timeout_ms), and ops save a change meanwhile.
    class SlowStart extends MemoryProvider {
      async initialize(): Promise<void> {
        writeFileSync(file, yaml(0, 100));
      }
    }
    sy = await createSwitchyard({
      config: file,
      provider: new SlowStart({ checkout: { variants: { on: true }, defaultVariant: 'on', disabled: false } }),
      watchIntervalMs: 100,
    });
    const treatment = () => sy!.config.experiments.get('checkout')!.variants[1]!.weight;
    await waitFor(() => (treatment() === 100 ? true : undefined), 1000);
    expect((await sy.getVariant('checkout', { targetingKey: 'u1' })).variant).toBe('treatment');
    expect(sy.counters().config).toEqual({ applied: 1, rejected: 0 });
  });
});
