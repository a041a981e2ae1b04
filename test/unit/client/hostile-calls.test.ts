/**
 * The public calls with hostile arguments and hostile OpenFeature hooks: getVariant always
 * resolves (never rejects, never waits past the evaluation timeout per hook), getVariantSync
 * and track never throw, a fallback logs no exposure, close() and createSwitchyard settle
 * within their bounds even when the provider never answers. (Found by an outside audit.)
 */
import type { Hook, Provider } from '@openfeature/server-sdk';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../helpers/receiver.js';
import { createSwitchyard, type Switchyard, type VariantResult } from 'switchyard';
import { functionSink } from '../../../src/exposure/index.js';

const TIMEOUT_MS = 100;
const made: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((sy) => sy.close()));
});

async function make(extra: Record<string, unknown> = {}): Promise<Switchyard> {
  const sy = await createSwitchyard({
    config: {
      feature_flags: { provider: 'memory', evaluation_timeout_ms: TIMEOUT_MS, init_timeout_ms: 200 },
      exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-hostile-')) },
      experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
    },
    ...extra,
  });
  made.push(sy);
  return sy;
}

const never = () => new Promise<never>(() => {});

/** A logger that keeps its warnings (message and flag). */
function warnings() {
  const warned: { message: string; flag: unknown }[] = [];
  const logger = {
    debug() {},
    info() {},
    warn: (message: string, meta?: Record<string, unknown>) => void warned.push({ message, flag: meta?.flag }),
    error() {},
  };
  return { warned, logger };
}

/** getVariant's answer, or 'still pending' after `ms`. */
async function within<T>(answer: Promise<T>, ms: number): Promise<T | 'still pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still pending'>((resolve) => (timer = setTimeout(() => resolve('still pending'), ms)));
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('getVariant with hooks', () => {
  it('an after hook that throws: the control, and no exposure for the arm it replaced', async () => {
    const sy = await make();
    const exposed: string[] = [];
    sy.on('exposure', (e) => exposed.push(`${e.unit} ${e.variant}`));
    const throwing: Hook = {
      after() {
        throw new Error('after boom');
      },
    };
    for (let i = 0; i < 20; i++) {
      const r = await sy.getVariant('exp', { targetingKey: `u${i}` }, { hooks: [throwing] });
      expect(r).toMatchObject({ variant: 'control', reason: 'ERROR', problem: 'SY_PROVIDER_ERROR' });
      expect(r.errorMessage).toContain('after boom');
    }
    expect(exposed).toEqual([]);
    // The same units without the hook are exposed (the listener hears exposures at all).
    for (let i = 0; i < 20; i++) await sy.getVariant('exp', { targetingKey: `u${i}` });
    expect(exposed).toHaveLength(20);
  });

  it('a hook that never settles: the control within the evaluation timeout (a finally hook: the answer)', async () => {
    const sy = await make();
    for (const stage of ['before', 'after', 'error'] as const) {
      const hooks: Hook[] = [{ [stage]: never }];
      // The error stage runs on an unknown flag (the vendor's error).
      const flag = stage === 'error' ? 'no-such-flag' : 'exp';
      const r = await within(sy.getVariant(flag, { targetingKey: 'u1' }, { hooks }), 10 * TIMEOUT_MS);
      expect(r, stage).not.toBe('still pending');
      expect(r, stage).toMatchObject({ reason: 'ERROR' });
      if (stage !== 'error')
        expect((r as { errorMessage: string }).errorMessage).toContain(`did not settle within ${TIMEOUT_MS} ms`);
    }
    const settled = await within(
      sy.getVariant('exp', { targetingKey: 'u1' }, { hooks: [{ finally: never }] }),
      10 * TIMEOUT_MS,
    );
    expect(settled).toMatchObject({ reason: 'SPLIT', inExperiment: true });
  });

  it('options and contexts that cannot be read: the control, never a rejection', async () => {
    const sy = await make();
    const notAnArray = sy.getVariant('exp', { targetingKey: 'u1' }, { hooks: { length: 1 } as never });
    await expect(notAnArray).resolves.toMatchObject({
      variant: 'control',
      reason: 'ERROR',
      problem: 'SY_INVALID_ARGUMENT',
      errorMessage: 'getVariant: options.hooks must be an array of OpenFeature hooks',
    });
    const unreadable = new Proxy(
      { targetingKey: 'u1' },
      {
        ownKeys() {
          throw new Error('ownKeys boom');
        },
      },
    );
    await expect(sy.getVariant('exp', unreadable, { hooks: [{}] })).resolves.toMatchObject({
      variant: 'control',
      reason: 'ERROR',
    });
  });
});

describe('flag names and track arguments that are not what they should be', () => {
  it('getVariant and getVariantSync answer a non-string flag name without reading it', async () => {
    const sy = await make();
    const throwingName = {
      toString() {
        throw new Error('tostr');
      },
    };
    for (const flag of [Symbol('f'), throwingName, 42]) {
      const answer = await sy.getVariant(flag as never, { targetingKey: 'u1' });
      expect(answer).toMatchObject({ reason: 'ERROR', problem: 'SY_INVALID_ARGUMENT' });
      expect(answer.errorMessage).toMatch(/^the flag name must be a string, found (a symbol|an object|42)$/);
      expect(sy.getVariantSync(flag as never, { targetingKey: 'u1' })).toMatchObject({
        reason: 'ERROR',
        problem: 'SY_INVALID_ARGUMENT',
      });
    }
  });

  it('track never throws, and says what was wrong', async () => {
    const sy = await make();
    const errors: string[] = [];
    sy.on('error', (e) => errors.push(e.message));
    const boom = () => {
      throw new Error('getter boom');
    };
    const calls: [string, () => boolean][] = [
      ['a bigint value', () => sy.track('buy', { targetingKey: 'u1' }, { value: 10n } as never)],
      ['NaN', () => sy.track('nan', { targetingKey: 'u1' }, { value: NaN })],
      [
        'a throwing getter',
        () => sy.track('getter', { targetingKey: 'u1' }, Object.defineProperty({}, 'value', { get: boom })),
      ],
      ['a throwing context', () => sy.track('ctx', new Proxy({}, { get: boom }) as never, {})],
      ['a symbol name', () => sy.track(Symbol('e') as never, { targetingKey: 'u1' })],
    ];
    for (const [what, call] of calls) expect(call, what).not.toThrow();
    for (const [what, call] of calls) expect(call(), what).toBe(false);
    expect(errors).toEqual(
      expect.arrayContaining([
        'track("buy") rejected: properties.value must be a finite number, found 10n',
        'track("nan") rejected: properties.value must be a finite number, found NaN',
        'track("getter") rejected: reading its arguments threw: getter boom',
        'track("ctx") rejected: reading its arguments threw: getter boom',
        'track("a symbol") rejected: the event name must be a non-empty string',
      ]),
    );
  });
});

describe('track with huge event names', () => {
  it('reports a rejected event under a short name: a 100 KB name is neither kept nor logged whole', async () => {
    const { warned, logger } = warnings();
    const sy = await make({ logger });
    const flags: string[] = [];
    sy.on('error', (e) => flags.push(e.flag));
    for (let i = 0; i < 3; i++)
      expect(sy.track(`${i}${'x'.repeat(100_000)}`, { targetingKey: 'u1' }, { value: NaN })).toBe(false);
    expect(flags).toHaveLength(3);
    for (const flag of flags) expect(flag.length).toBeLessThan(100);
    expect(warned).toHaveLength(3);
    for (const w of warned) {
      expect(w.message).toMatch(
        /^track\("\dx+\.\.\."\) rejected: the event name has 100001 characters, over the limit of 200$/,
      );
      expect(String(w.flag).length).toBeLessThan(100);
    }
  });
});

describe('lifecycle bounds', () => {
  it('a second instance of this process on the same journal is refused at creation, naming the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-hostile-journal-'));
    const config = {
      feature_flags: { provider: 'memory' },
      exposures: { dir },
      experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
    };
    const first = await createSwitchyard({ config });
    made.push(first);
    await expect(createSwitchyard({ config })).rejects.toThrow(
      `SY_JOURNAL_LOCKED in exposures.dir: the journal in ${dir} is already used by another switchyard instance in this process`,
    );
    expect(await first.getVariant('exp', { targetingKey: 'u1' })).toMatchObject({ reason: 'SPLIT' });
    // Once the first is closed the directory is free again.
    await first.close();
    made.splice(made.indexOf(first), 1);
    const next = await createSwitchyard({ config });
    made.push(next);
    expect(next.counters().exposures.pipeline?.journalInMemory).toBe(false);
  });

  it('close() settles when the provider never closes', async () => {
    const provider: Provider = {
      metadata: { name: 'never-closes' },
      runsOn: 'server',
      onClose: never,
      resolveBooleanEvaluation: async () => ({ value: true }),
      resolveStringEvaluation: async () => ({ value: '' }),
      resolveNumberEvaluation: async () => ({ value: 0 }),
      resolveObjectEvaluation: async () => ({ value: {} as never }),
    };
    const sy = await make({ provider });
    made.splice(made.indexOf(sy), 1);
    expect(
      await within(
        sy.close().then(() => 'closed'),
        2000,
      ),
    ).toBe('closed');
  });

  it('a script awaiting a provider that never starts, or never answers, gets its answer and exits normally', () => {
    // The timers that bound them keep the process alive: unref'd, Node exited (code 13) with the await unsettled.
    const dir = mkdtempSync(join(tmpdir(), 'sy-hostile-script-'));
    const script = join(dir, 'script.mts');
    const index = fileURLToPath(new URL('../../../src/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { createSwitchyard } from ${JSON.stringify(index)};
const hangs = () => new Promise(() => {});
const provider = { metadata: { name: 'hangs' }, runsOn: 'server', initialize: hangs,
  resolveBooleanEvaluation: hangs, resolveStringEvaluation: hangs, resolveNumberEvaluation: hangs, resolveObjectEvaluation: hangs };
const config = (n) => ({
  feature_flags: { provider: 'memory', init_timeout_ms: 200, evaluation_timeout_ms: 100 },
  exposures: { enabled: false, dir: ${JSON.stringify(dir)} + '/events-' + n } });
const starts = await createSwitchyard({ provider, config: config(1) });
console.log('created');
console.log((await starts.getVariant('anything', { targetingKey: 'u1' })).problem);
await starts.close();
const { initialize, ...ready } = provider;
const answers = await createSwitchyard({ provider: ready, config: config(2) });
console.log((await answers.getVariant('anything', { targetingKey: 'u1' })).problem);
await answers.close();
console.log('closed');
`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stdout.trim().split('\n')).toEqual([
      'created',
      'SY_PROVIDER_NOT_READY',
      'SY_PROVIDER_TIMEOUT',
      'closed',
    ]);
    expect(child.status).toBe(0);
  });

  it('a script whose sink is down at close() waits out close_timeout_ms, keeps the events in the journal and exits normally', () => {
    // Everything close() waits on is a sink's back-off timer, unref'd: when its own bound was too,
    // Node exited (code 13) in the middle of close(), silently, the cursors unsaved.
    const dir = mkdtempSync(join(tmpdir(), 'sy-close-script-'));
    const script = join(dir, 'script.mts');
    const index = fileURLToPath(new URL('../../../src/index.ts', import.meta.url));
    const exposure = fileURLToPath(new URL('../../../src/exposure/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { createSwitchyard } from ${JSON.stringify(index)};
import { functionSink } from ${JSON.stringify(exposure)};
const down = functionSink('down', () => { throw new Error('the receiver is down'); });
const sy = await createSwitchyard({
  config: {
    feature_flags: { provider: 'memory' },
    exposures: { dir: ${JSON.stringify(join(dir, 'events'))}, close_timeout_ms: 300 },
    experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
  },
  sinks: [down],
});
for (let i = 0; i < 20; i++) await sy.getVariant('exp', { targetingKey: 'u' + i });
await sy.close();
const c = sy.counters().exposures.pipeline;
console.log('closed', c.journaled, c.dropped);
`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect({ status: child.status, stdout: child.stdout.trim() }).toEqual({ status: 0, stdout: 'closed 20 0' });
    // The 20 exposures wait in the journal for the next start, with the sink's cursor saved.
    expect(JSON.parse(readFileSync(join(dir, 'events', 'cursors.json'), 'utf8'))).toHaveProperty('down');
  });
});

describe("a host's logger that throws", () => {
  it('never throws out of a call, a timer or a sink delivery loop: the service goes on and close() delivers', async () => {
    const calls: string[] = [];
    const throwing = (level: string) => (msg: string) => {
      calls.push(`${level}: ${msg}`);
      throw new Error(`logger ${level} broke`);
    };
    const logger = {
      debug: throwing('debug'),
      info: throwing('info'),
      warn: throwing('warn'),
      error: throwing('error'),
    };
    let up = false;
    const delivered: string[] = [];
    const sink = functionSink('flaky', (records) => {
      if (!up) throw new Error('sink down');
      for (const r of records) delivered.push(r.unit);
    });
    const dir = mkdtempSync(join(tmpdir(), 'sy-logger-'));
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { dir, flush_interval_ms: 10 },
        experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
      },
      sinks: [sink],
      logger,
    });
    made.push(sy);
    for (let i = 0; i < 20; i++) await sy.getVariant('exp', { targetingKey: `u${i}` });
    // A bad call logs a warning from inside the call.
    expect((await sy.getVariant('exp', {})).errorCode).toBeDefined();
    sy.flush();
    // The sink's failures are logged from its delivery loop, on timers.
    await until(() => calls.some((c) => c.includes('sink flaky failed')), 5000, 'a failure logged');
    up = true;
    await sy.close();
    expect(new Set(delivered)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `u${i}`)));
    expect(calls.some((c) => c.startsWith('warn: '))).toBe(true);
  });
});

describe('listeners that fail', () => {
  it('an async listener whose promise rejects is logged once per event, and the process goes on', () => {
    // Node 20 ends a process on an unhandled rejection: the emitter called the listener and
    // dropped its promise, so one `async` listener that threw ended the host service (exit 1).
    const dir = mkdtempSync(join(tmpdir(), 'sy-async-listener-'));
    const script = join(dir, 'script.mts');
    const index = fileURLToPath(new URL('../../../src/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { createSwitchyard } from ${JSON.stringify(index)};
const logger = { debug() {}, info() {}, warn() {}, error: (m) => console.log(m) };
const sy = await createSwitchyard({
  logger,
  config: {
    feature_flags: { provider: 'memory' },
    exposures: { enabled: false, dir: ${JSON.stringify(join(dir, 'events'))} },
    experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
  },
});
for (const event of ['exposure', 'track', 'run', 'error']) {
  sy.on(event, async () => { throw new Error(event + ' listener broke'); });
  sy.on(event, () => Promise.reject(new Error(event + ' listener rejected')));
}
for (let i = 0; i < 3; i++) {
  await sy.getVariant('exp', { targetingKey: 'u' + i });
  await sy.getVariant('no-such-flag', { targetingKey: 'u' + i });
  sy.track('buy', { targetingKey: 'u' + i }, { value: 1 });
  await sy.run('exp', { targetingKey: 'u' + i }, { default: () => 1 });
}
await new Promise((resolve) => setTimeout(resolve, 50));
await sy.close();
console.log('alive');
`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect({ status: child.status, stdout: child.stdout.trim().split('\n').sort() }).toEqual({
      status: 0,
      stdout: [
        'a listener of "error" threw; it was skipped and switchyard went on',
        'a listener of "exposure" threw; it was skipped and switchyard went on',
        'a listener of "run" threw; it was skipped and switchyard went on',
        'a listener of "track" threw; it was skipped and switchyard went on',
        'alive',
      ],
    });
  });
});

describe('listeners that throw what cannot be made text', () => {
  it('a listener that throws or rejects with an object without prototype or with a throwing toString never reaches the caller', async () => {
    // The emitter logged String(error), which throws for such a value: track() threw it to its caller.
    const lines: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (m: string, meta?: Record<string, unknown>) => void lines.push(`${m} ${String(meta?.error)}`),
    };
    const sy = await make({ logger });
    const bare = Object.create(null) as object;
    const unprintable = {
      toString() {
        throw new Error('toString broke');
      },
    };
    sy.on('track', () => {
      throw bare;
    });
    sy.on('exposure', () => {
      throw unprintable;
    });
    sy.on('run', () => Promise.reject(bare as Error));
    expect(() => sy.track('buy', { targetingKey: 'u1' })).not.toThrow();
    expect(await sy.getVariant('exp', { targetingKey: 'u1' })).toMatchObject({ reason: 'SPLIT' });
    await expect(sy.run('exp', { targetingKey: 'u1' }, { default: () => 'ran' })).resolves.toBe('ran');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines.sort()).toEqual([
      'a listener of "exposure" threw; it was skipped and switchyard went on a thrown object that cannot be shown',
      'a listener of "run" threw; it was skipped and switchyard went on a thrown object that cannot be shown',
      'a listener of "track" threw; it was skipped and switchyard went on a thrown object that cannot be shown',
    ]);
  });
});

describe('run() handlers', () => {
  it("finds a variant's handler among the handlers' own keys: variants named toString, valueOf, hasOwnProperty run default", async () => {
    // handlers[variant] found Object.prototype's methods: the default handler never ran, and
    // run() answered "[object Undefined]" or threw "Cannot convert undefined or null to object".
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-run-names-')) },
        experiments: {
          exp: {
            control: 'toString',
            variants: { toString: { weight: 34 }, valueOf: { weight: 33 }, hasOwnProperty: { weight: 33 } },
          },
        },
      },
    });
    made.push(sy);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const ctx = { targetingKey: `u${i}` };
      const variant = (await sy.getVariant('exp', ctx)).variant!;
      seen.add(variant);
      await expect(sy.run('exp', ctx, { default: (r) => `default ${r.variant}` })).resolves.toBe(`default ${variant}`);
      // Without a default, a variant with no handler of its own runs the control's.
      await expect(sy.run('exp', ctx, { toString: (r: VariantResult) => `control for ${r.variant}` })).resolves.toBe(
        `control for ${variant}`,
      );
    }
    expect([...seen].sort()).toEqual(['hasOwnProperty', 'toString', 'valueOf']);
  });
});

describe('run() with handlers that are not an object', () => {
  it('rejects with SY_INVALID_ARGUMENT saying what it found, before evaluating', async () => {
    // They failed with JavaScript's own TypeError ("Cannot read properties of null (reading
    // 'treatment')", "Number.prototype.valueOf requires that 'this' be a Number"), after the
    // evaluation had logged the unit's exposure.
    const sy = await make();
    const exposed: string[] = [];
    sy.on('exposure', (e) => exposed.push(e.unit));
    for (const [handlers, found] of [
      [null, 'null'],
      [undefined, 'undefined'],
      [5, '5'],
      ['control', '"control"'],
      [[() => 1], 'an array'],
    ] as const) {
      await expect(sy.run('exp', { targetingKey: 'u1' }, handlers as never)).rejects.toThrow(
        `SY_INVALID_ARGUMENT in run: handlers must be an object of functions by variant key, found ${found}`,
      );
    }
    expect(exposed).toEqual([]);
  });
});

describe('run() with a context that throws when read', () => {
  it("passes the handler's result through: the context is not read again after the handler", async () => {
    // run() read ctx.targetingKey again in its finally (and String() of it for the run event):
    // a getter or Proxy that throws, or a key whose toString throws, replaced the result of a
    // handler that had already run with the context's error.
    const sy = await make();
    const heard: string[] = [];
    sy.on('run', (e) => heard.push(`${e.variant} ${JSON.stringify(e.unit)} ${e.error}`));
    const boom = () => {
      throw new Error('context boom');
    };
    const contexts: [string, unknown][] = [
      ['a throwing Proxy', new Proxy({}, { get: boom })],
      ['a throwing getter', Object.defineProperty({}, 'targetingKey', { get: boom, enumerable: true })],
      ['a key whose toString throws', { targetingKey: { toString: boom } }],
    ];
    for (const [what, ctx] of contexts) {
      let ran = 0;
      await expect(
        sy.run('exp', ctx as never, {
          default: () => {
            ran++;
            return 'handled';
          },
        }),
        what,
      ).resolves.toBe('handled');
      expect(ran, what).toBe(1);
    }
    expect(heard).toEqual(['control "" false', 'control "" false', 'control "" false']);
  });
});

describe('observe() with names and values that are not what they should be', () => {
  it('never throws, says what was wrong, and neither keeps nor logs a huge name whole', async () => {
    // observe() keyed its once-only report with String(experimentOrFlag): a name whose
    // toString throws threw out of observe(), and each 100 KB name was kept whole in the
    // report's set (up to 10,000 of them: a gigabyte) and logged whole, where track() cut it.
    const { warned, logger } = warnings();
    const sy = await make({ logger });
    const unprintable = {
      toString() {
        throw new Error('toString broke');
      },
    };
    const ctx = { targetingKey: 'u1' };
    expect(() => sy.observe(unprintable as never, ctx, 'm', 1)).not.toThrow();
    expect(sy.observe(unprintable as never, ctx, 'm', 1)).toBe(false);
    expect(sy.observe(`0${'x'.repeat(100_000)}`, ctx, 'm', 1)).toBe(false);
    expect(sy.observe('exp', ctx, 'm', 10n as never)).toBe(false);
    expect(sy.observe('exp-by-proxy', new Proxy({}, { get: unprintable.toString }) as never, 'm', 1)).toBe(false);
    expect(warned.map((w) => w.message)).toEqual([
      'observe() ignored: no experiment or experiment flag an object in the config',
      `observe() ignored: no experiment or experiment flag "0${'x'.repeat(56)}..." in the config`,
      'observe() ignored: the value must be a finite number, found 10n',
      'observe() ignored: reading its arguments threw: toString broke',
    ]);
    for (const w of warned) expect(String(w.flag).length).toBeLessThan(100);
  });
});

describe('huge names passed as flag, experiment and event names', () => {
  it('are not kept whole: 2,000 distinct 100 KB names each to getVariant, observe and track leave the heap as it was', () => {
    // The once-only report set (up to 10,000 keys) and the metrics' counts per flag (up to
    // 1,000) kept each flag name whole: 5,000 flag names of 100 KB held 1 GB. The names
    // track() and observe() cut for their reports were V8 slices, which keep the whole name
    // alive: 5,000 observe names held 500 MB.
    const dir = mkdtempSync(join(tmpdir(), 'sy-huge-names-'));
    const script = join(dir, 'script.mts');
    const index = fileURLToPath(new URL('../../../src/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { createSwitchyard } from ${JSON.stringify(index)};
const sy = await createSwitchyard({
  config: {
    feature_flags: { provider: 'memory' },
    exposures: { enabled: false, dir: ${JSON.stringify(join(dir, 'events'))} },
    experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
  },
});
const flags = new Set();
sy.on('error', (e) => flags.add(e.flag.length));
const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
const big = 'x'.repeat(100_000);
const before = heap();
for (let i = 0; i < 2000; i++) {
  sy.getVariantSync(i + big, { targetingKey: 'u1' });
  sy.observe(i + big, { targetingKey: 'u1' }, 'm', 1);
  sy.track(i + big, { targetingKey: 'u1' });
}
const grown = Math.round((heap() - before) / 1e6);
console.log(JSON.stringify({ grown: grown < 20 ? 'under 20 MB' : grown + ' MB', longestFlag: Math.max(...flags) }));
await sy.close();
`,
    );
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ grown: 'under 20 MB', longestFlag: 68 });
  });
});

describe('kill, unkill, pause, resume and reweight with an experiment that is not a name', () => {
  it('throw SY_INVALID_ARGUMENT naming the method and saying what was found', async () => {
    // The message quoted the argument with a template literal: a symbol threw JavaScript's
    // "Cannot convert a Symbol value to a string", an object whose toString throws its own error.
    const sy = await make();
    const unprintable = {
      toString() {
        throw new Error('toString broke');
      },
    };
    const calls = {
      kill: (e: never) => sy.kill(e),
      unkill: (e: never) => sy.unkill(e),
      pause: (e: never) => sy.pause(e),
      resume: (e: never) => sy.resume(e),
      reweight: (e: never) => sy.reweight(e),
    };
    for (const [method, call] of Object.entries(calls)) {
      for (const [experiment, found] of [
        [Symbol('exp'), 'a symbol'],
        [unprintable, 'an object'],
        ['no\u001b[2Jpe', '"no\\u001b[2Jpe"'],
      ] as const) {
        expect(() => call(experiment as never), method).toThrow(
          `SY_INVALID_ARGUMENT in ${method}: no experiment ${found} in the config`,
        );
      }
    }
  });
});

describe('two instances of this process created at once on one journal', () => {
  it('one is refused with SY_JOURNAL_LOCKED, the other journals on disk; the directory is free again after close', async () => {
    // The check was made at the start of createSwitchyard and the journal taken after its
    // awaits: two creations at once (Promise.all at start-up) both passed it, and the second
    // ran on a journal in memory only, its events lost with the process.
    const dir = mkdtempSync(join(tmpdir(), 'sy-hostile-race-'));
    const config = {
      feature_flags: { provider: 'memory' },
      exposures: { dir },
      experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
    };
    const settled = await Promise.allSettled([createSwitchyard({ config }), createSwitchyard({ config })]);
    const created = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    made.push(...created);
    expect(created.map((sy) => sy.counters().exposures.pipeline?.journalInMemory)).toEqual([false]);
    const refused = settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
    expect(refused).toEqual([
      `SwitchyardError: SY_JOURNAL_LOCKED in exposures.dir: the journal in ${dir} is already used by another switchyard instance in this process; give each instance its own exposures.dir`,
    ]);
    await created[0]!.close();
    made.splice(made.indexOf(created[0]!), 1);
    const next = await createSwitchyard({ config });
    made.push(next);
    expect(next.counters().exposures.pipeline?.journalInMemory).toBe(false);
  });
});

describe('a vendor that answers any flag name (a lenient third-party provider)', () => {
  it('does not make the engine keep an entry per name a caller sends: the types learnt for unknown flags are capped', async () => {
    // Answers every name with the caller's default and no error, as some OpenFeature providers do.
    const lenient: Provider = {
      metadata: { name: 'lenient' },
      runsOn: 'server',
      resolveBooleanEvaluation: async (_f, value) => ({ value, reason: 'DEFAULT' }),
      resolveStringEvaluation: async (_f, value) => ({ value, reason: 'DEFAULT' }),
      resolveNumberEvaluation: async (_f, value) => ({ value, reason: 'DEFAULT' }),
      resolveObjectEvaluation: async (_f, value) => ({ value, reason: 'DEFAULT' }),
    };
    const sy = await make({ provider: lenient });
    const flags = () => (sy as unknown as { engine: { flags: Map<string, unknown> } }).engine.flags.size;
    const before = flags();
    const experiment = await sy.getVariant('exp', { targetingKey: 'u' });
    for (let i = 0; i < 25_000; i++) await sy.getVariant(`request-${i}`, { targetingKey: 'u' });
    expect(flags() - before).toBeLessThanOrEqual(10_000);
    // A flag of the vendor's is still answered, in its type, and the experiment as before.
    expect((await sy.getVariant('request-3', { targetingKey: 'u' })).value).toBe(false);
    expect(await sy.getVariant('exp', { targetingKey: 'u' })).toEqual(experiment);
  }, 60_000);
});

describe('calls after close()', () => {
  it('answer as the README says: getVariant PROVIDER_NOT_READY, track and observe false with nothing recorded', async () => {
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { dir: mkdtempSync(join(tmpdir(), 'sy-after-close-')) },
        experiments: { exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
      },
    });
    made.push(sy);
    const ctx = { targetingKey: 'u1' };
    expect(sy.observe('exp', ctx, 'latency_ms', 5)).toBe(true);
    const recorded = () => sy.metrics.summary('exp', 'control', 'latency_ms')?.n ?? 0;
    const treated = () => sy.metrics.summary('exp', 'treatment', 'latency_ms')?.n ?? 0;
    const before = recorded() + treated();
    await sy.close();
    expect((await sy.getVariant('exp', ctx)).errorCode).toBe('PROVIDER_NOT_READY');
    expect(sy.track('buy', ctx)).toBe(false);
    expect(sy.observe('exp', ctx, 'latency_ms', 7)).toBe(false);
    expect(recorded() + treated()).toBe(before);
  });
});

describe('killRecord and pauseRecord with a name that is not text', () => {
  it('answer undefined, never throw', async () => {
    const sy = await make();
    for (const name of [Symbol('x'), 42, null, undefined, {}, ['exp']])
      for (const read of [sy.killRecord, sy.pauseRecord]) expect(read.call(sy, name as never)).toBeUndefined();
    await sy.kill('exp', 'r');
    expect(sy.killRecord('exp')?.killed).toBe(true);
  });
});
