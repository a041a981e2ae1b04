/**
 * The config watcher against real files, polled by hand: what a reload applies, what it
 * refuses, and that the last good config stays in force when it refuses.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  ConfigWatcher,
  parseConfig,
  reshuffleProblems,
  type ValidatedConfig,
} from '../../../src/config/index.js';

const experiment = (allocation = '') =>
  `experiments:\n  exp:\n${allocation}    variants: { control: { weight: 50 }, treatment: { weight: 50 } }\n`;

let watcher: ConfigWatcher | undefined;
afterEach(() => watcher?.stop());

/**
 * A watcher on a fresh file holding `text`, wired as the client's reloader wires it: the
 * reshuffle guard against the config in force, which an applied change replaces.
 */
function watch(text: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'sy-watch-')), 'switchyard.yaml');
  writeFileSync(file, text);
  const state = { current: parseConfig(text, file), applied: [] as ValidatedConfig[], rejected: [] as Error[] };
  watcher = new ConfigWatcher(file, {
    intervalMs: 60_000,
    check: (next) => reshuffleProblems(state.current, next, Date.now()),
    onApply: (next) => {
      state.current = next;
      state.applied.push(next);
    },
    onReject: (error) => state.rejected.push(error),
  });
  watcher.start();
  const write = (next: string) => {
    writeFileSync(file, next);
    watcher!.poll();
  };
  return { file, state, write };
}

describe('an empty config file on reload (audit r08)', () => {
  it.each([
    ['empty', ''],
    ['whitespace', '  \n\n'],
    ['comments only', '# switchyard.yaml\n  # nothing yet\n'],
    ['null', '~\n'],
  ])('refuses a file that is %s, and the config in force stays', (_, text) => {
    const { file, state, write } = watch(experiment());
    const before = state.current;
    write(text);
    expect(state.applied).toEqual([]);
    expect(state.rejected).toHaveLength(1);
    const error = state.rejected[0] as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('SY_CONFIG_INVALID');
    expect(error.what).toBe(
      `1 problem in ${file}; the config was not applied:\n  ${file} (top level): the file is empty (nothing but whitespace, comments or null): the last good config stays in force`,
    );
    expect(state.current).toBe(before);
    // The whole file written at last is applied.
    write(experiment().replace('weight: 50 }, treatment: { weight: 50', 'weight: 40 }, treatment: { weight: 60'));
    expect(state.applied.map((c) => c.experiments.get('exp')!.variants.map((v) => v.weight))).toEqual([[40, 60]]);
  });

  it('keeps the reshuffle guard: a salt change refused before an empty write is refused after it', () => {
    const { state, write } = watch(experiment());
    const salted = experiment('    allocation: { salt: new-salt }\n');
    write(salted);
    write('');
    write(salted);
    expect(state.applied).toEqual([]);
    expect(state.rejected.map((e) => (e as ConfigError).code)).toEqual([
      'SY_CONFIG_RESHUFFLE',
      'SY_CONFIG_INVALID',
      'SY_CONFIG_RESHUFFLE',
    ]);
    expect(state.current.experiments.get('exp')!.allocation.salt).toBe('exp');
  });

  it('still takes an empty file at start, as every default', () => {
    for (const text of ['', '# nothing yet\n', '~\n']) expect(parseConfig(text, 'sy.yaml').experiments.size).toBe(0);
  });
});

describe('a config file that cannot be read on reload (audit r15)', () => {
  it('refuses a deleted file once, with its path and the reason, and applies the file once it is back', () => {
    const { file, state, write } = watch(experiment());
    const before = state.current;
    unlinkSync(file);
    watcher!.poll();
    watcher!.poll();
    expect(state.rejected).toHaveLength(1);
    const error = state.rejected[0] as ConfigError;
    expect(error.code).toBe('SY_CONFIG_READ');
    expect(error.what).toMatch(
      /^cannot read config file (\S+) \(ENOENT: no such file or directory, open '\1'\); the last good config stays in force$/,
    );
    expect(error.what).toContain(file);
    expect(state.current).toBe(before);
    expect(state.applied).toEqual([]);
    write(experiment().replace('weight: 50 }, treatment: { weight: 50', 'weight: 40 }, treatment: { weight: 60'));
    expect(state.applied).toHaveLength(1);
    // Gone again: reported again.
    unlinkSync(file);
    watcher!.poll();
    expect(state.rejected.map((e) => (e as ConfigError).code)).toEqual(['SY_CONFIG_READ', 'SY_CONFIG_READ']);
  });

  it('refuses a path that is no longer a readable file (a directory in its place)', () => {
    const { file, state } = watch(experiment());
    rmSync(file);
    mkdirSync(file);
    watcher!.poll();
    expect(state.rejected.map((e) => (e as ConfigError).what)).toEqual([
      `cannot read config file ${file} (it is a directory, not a file); the last good config stays in force`,
    ]);
  });

  it('refuses a pipe put in its place without waiting for a writer (a read would block the service for good)', () => {
    const { file, state } = watch(experiment());
    const before = state.current;
    rmSync(file);
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    watcher!.poll();
    expect(state.rejected.map((e) => (e as ConfigError).what)).toEqual([
      `cannot read config file ${file} (it is not a regular file (a pipe, socket or device)); the last good config stays in force`,
    ]);
    expect(state.current).toBe(before);
  });

  it('notices a deleted file on its own timer, once', async () => {
    const { file, state } = watch(experiment());
    watcher!.stop();
    const timed = new ConfigWatcher(file, {
      intervalMs: 10,
      onApply: (next) => state.applied.push(next),
      onReject: (error) => state.rejected.push(error),
    });
    timed.start();
    try {
      unlinkSync(file);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      timed.stop();
    }
    expect(state.rejected.map((e) => (e as ConfigError).code)).toEqual(['SY_CONFIG_READ']);
  });
});

describe('a file caught while an editor writes it in place, in pieces', () => {
  it('is read once its size and time have held for one interval: a valid prefix seen mid-write is not applied', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const two = `${experiment()}  other:\n    control: a\n    variants: { a: { weight: 50 }, b: { weight: 50 } }\n`;
      const file = join(mkdtempSync(join(tmpdir(), 'sy-watch-')), 'switchyard.yaml');
      writeFileSync(file, two);
      const applied: string[][] = [];
      watcher = new ConfigWatcher(file, {
        intervalMs: 250,
        onApply: (next) => applied.push([...next.experiments.keys()]),
        onReject: (e) => applied.push(['rejected', e.message]),
      });
      watcher.start();
      const changed = two.replace('weight: 50 }, treatment: { weight: 50', 'weight: 40 }, treatment: { weight: 60');
      // The first piece: a whole experiment, valid on its own, without the second one.
      writeFileSync(file, changed.slice(0, changed.indexOf('  other:')));
      vi.advanceTimersByTime(250);
      writeFileSync(file, changed); // the rest, before the next tick
      vi.advanceTimersByTime(250);
      vi.advanceTimersByTime(250);
      expect(applied).toEqual([['exp', 'other']]);
    } finally {
      vi.useRealTimers();
    }
  });
});
