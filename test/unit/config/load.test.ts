import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfigFile,
  parseConfig,
  reshuffleProblems,
  scrubSecrets,
  validateConfigObject,
} from '../../../src/config/index.js';

const here = (p: string) => new URL(p, import.meta.url).pathname;

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, 'sy.yaml', { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('SY_CONFIG_INVALID');
    return (error as ConfigError).problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
  }
  throw new Error('expected the config to be rejected');
}

/** The ConfigError that `f` throws. */
function configErrorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the config to be rejected');
}

const experiment = (body: string) => `experiments:\n  checkout:\n${body.replace(/^/gm, '    ')}\n`;

describe('the seed config', () => {
  it('validates exactly as written, list-form monitoring and all', () => {
    const config = loadConfigFile(here('../../fixtures/config/seed.yaml'));
    expect(config.defaults).toEqual({
      minSampleSize: 10000,
      confidenceLevel: 0.95,
      runtimeDays: 14,
      trafficAllocation: 'gradual',
    });
    expect(config.analyticsPlatforms).toEqual(['amplitude', 'segment', 'mixpanel']);
    expect(config.featureFlags.provider).toBe('launchdarkly');
    expect(config.statisticalMethods).toEqual(['frequentist', 'bayesian']);
    expect(config.monitoring).toEqual({
      realTimeMetrics: true,
      anomalyDetection: true,
      automaticRollback: true,
      checkIntervalMs: 10_000,
      srmAction: 'warn',
      srmThreshold: 0.001,
      anomalyAction: 'warn',
      rampBreachAction: 'rollback',
    });
    expect(config.experiments.size).toBe(0);
  });

  it('accepts the map form of monitoring too', () => {
    const config = parseConfig('monitoring:\n  real_time_metrics: false\n  automatic_rollback: true\n');
    expect(config.monitoring).toEqual({
      realTimeMetrics: false,
      anomalyDetection: true,
      automaticRollback: true,
      checkIntervalMs: 10_000,
      srmAction: 'warn',
      srmThreshold: 0.001,
      anomalyAction: 'warn',
      rampBreachAction: 'rollback',
    });
  });

  it('says which monitoring forms are accepted', () => {
    expect(problemsOf('monitoring:\n  - real_time_metrics: true\n    anomaly_detection: true\n')).toEqual([
      expect.stringMatching(
        /^2:5 monitoring\[0\]: expected a map \(real_time_metrics: true\) or a list of one-key maps/,
      ),
    ]);
    // Each item that is not a one-key map, and a monitoring that is neither form, is one located problem.
    const list = problemsOf(
      'monitoring:\n  - 5\n  - ~\n  - [real_time_metrics]\n  - {}\n  - x\n  - real_time_metrics: true\n',
    );
    expect(list.map((p) => p.replace(/: expected a map.*; found /, ' found '))).toEqual([
      '2:5 monitoring[0] found 5',
      '3:5 monitoring[1] found null (an empty value)',
      '4:5 monitoring[2] found a list',
      '5:5 monitoring[3] found a map',
      '6:5 monitoring[4] found "x"', // a string of one character has one key too
    ]);
    for (const [value, found] of [
      ['5', '5'],
      ['~', 'null \\(an empty value\\)'],
      ['text', '"text"'],
    ])
      expect(problemsOf(`monitoring: ${value}\n`)).toEqual([
        expect.stringMatching(new RegExp(`^1:\\d+ monitoring: expected a map .*; found ${found}$`)),
      ]);
  });

  it('the annotated example config validates, with the seed values', () => {
    const config = loadConfigFile(here('../../../examples/switchyard.yaml'));
    expect(config.defaults.minSampleSize).toBe(10000);
    expect(config.defaults.confidenceLevel).toBe(0.95);
    expect(config.defaults.runtimeDays).toBe(14);
    expect([...config.experiments.keys()]).toEqual(['checkout-redesign', 'new-search']);
    const exp = config.experiments.get('checkout-redesign')!;
    expect(exp.allocation.steps.map((s) => s.percent)).toEqual([1, 10, 50, 100]);
    expect(exp.allocation.steps[1]!.startsAt - exp.allocation.steps[0]!.startsAt).toBe(86_400_000);
    expect(exp.allocation.steps[3]!.endsAt).toBe(Infinity);
    expect(exp.variants[1]).toEqual({ key: 'treatment', weight: 50, payload: { layout: 'one-page' } });
  });
});

describe('located errors', () => {
  it('reports every problem at once, each with line, column, path, expected and found', () => {
    const text = [
      'experiment_config:',
      '  confidence_level: 1.5',
      'experiments:',
      '  checkout:',
      '    variants:',
      '      control: { weight: 50 }',
      '      treatment: { weight: 60 }',
      '    allocation:',
      '      mode: gradual',
      '      start: 2026-12-01T09:00:00Z',
      '      schedule:',
      '        - { percent: 10, dwell: 1d }',
      '        - { percent: 5, dwell: 1d }',
      '        - { percent: 150 }',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      '2:21 experiment_config.confidence_level: expected a value < 1, found 1.5',
      '6:7 experiments.checkout.variants: variant weights must add up to exactly 100 (they are percentages), found 110',
      '13:22 experiments.checkout.allocation.schedule[1].percent: schedule percentages may not go down: a step of 5% follows 10% (ramp down by editing earlier steps or pausing)',
      '14:22 experiments.checkout.allocation.schedule[2].percent: expected a value <= 100, found 150',
    ]);
  });

  it('rejects unknown keys with a "did you mean"', () => {
    const problems = problemsOf(experiment('variants:\n  control: { wieght: 50 }\n  b: { weight: 50 }\nallocaton: {}'));
    expect(problems).toContain(
      '6:5 experiments.checkout.allocaton: unknown key "allocaton"; did you mean "allocation"? (allowed here: flag, control, variants, allocation, primary_metric, secondary_metrics, guardrails, hypothesis, owner, description, allow_reshuffle, min_sample_size, confidence_level, runtime_days, funnel, mde)',
    );
    expect(problems.find((p) => p.includes('"wieght"'))).toMatch(
      /^4:18 experiments\.checkout\.variants\.control\.wieght: unknown key "wieght"; did you mean "weight"\?/,
    );
    expect(problems.find((p) => p.includes('variants.control.weight'))).toMatch(/missing; expected a number/);
  });

  it.each([
    [
      'a control that is not a variant',
      'control: ctl\nvariants:\n  a: { weight: 50 }\n  b: { weight: 50 }',
      /control "ctl" is not one of the variants \(a, b\)/,
    ],
    ['one variant', 'variants:\n  control: { weight: 100 }', /at least 2 variants, found 1/],
    [
      'gradual without a schedule',
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation: { mode: gradual }',
      /gradual allocation needs allocation.start/,
    ],
    [
      'a step without a dwell before the last',
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation:\n  mode: gradual\n  start: 2026-12-01T00:00:00Z\n  schedule: [{ percent: 5 }, { percent: 50 }]',
      /every step but the last needs a dwell/,
    ],
    [
      'a malformed dwell',
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation:\n  mode: gradual\n  start: 2026-12-01T00:00:00Z\n  schedule: [{ percent: 5, dwell: 3 days }, { percent: 50 }]',
      /expected a positive number with a unit: ms, s, m, h, d or w \(e.g. 1d, 12h\), found "3 days"/,
    ],
    [
      'a negative percent',
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation: { mode: fixed, percent: -1 }',
      /allocation.percent: expected a value >= 0, found -1/,
    ],
    [
      'adaptive without a primary metric',
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation: { mode: adaptive }',
      /allocation.mode: adaptive allocation needs primary_metric/,
    ],
    [
      'a bad start time',
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation:\n  mode: gradual\n  start: tomorrow\n  schedule: [{ percent: 5 }]',
      /expected an ISO-8601 date-time with a zone, e.g. 2026-12-01T09:00:00Z, found "tomorrow"/,
    ],
    [
      'a guardrail with no limit',
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation: { mode: fixed }\nguardrails: [{ metric: error_rate }]',
      /a guardrail needs at least one limit/,
    ],
    [
      'a variant name that is a number',
      'variants:\n  control: { weight: 50 }\n  1: { weight: 50 }\nallocation: { mode: fixed }',
      /a name that starts with a letter/,
    ],
  ])('rejects %s', (_name, body, message) => {
    expect(problemsOf(experiment(body)).join('\n')).toMatch(message);
  });

  it('rejects two experiments on one flag', () => {
    const text =
      'experiments:\n  a:\n    flag: f\n    variants: { control: { weight: 50 }, b: { weight: 50 } }\n    allocation: { mode: fixed }\n  b:\n    flag: f\n    variants: { control: { weight: 50 }, b: { weight: 50 } }\n    allocation: { mode: fixed }\n';
    expect(problemsOf(text)).toEqual([
      '7:11 experiments.b.flag: flag "f" is already used by experiment "a"; one experiment per flag',
    ]);
  });

  it('names the accepted providers and platforms', () => {
    expect(problemsOf('feature_flags: { provider: flagsmith }\nanalytics_platforms: [segment, heap]')).toEqual([
      '1:28 feature_flags.provider: expected one of "memory", "launchdarkly", "split", "optimizely", "unleash", "openfeature", found "flagsmith"',
      '2:32 analytics_platforms[1]: expected one of "jsonl", "segment", "amplitude", "mixpanel", found "heap"',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problemsOf('experiments:\n  a: [1, 2\n')[0]).toMatch(/^\d+:\d+ : YAML syntax error/);
  });

  it('rejects a document that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n')).toEqual([expect.stringMatching(/the config must be a YAML mapping/)]);
  });
});

describe('checks across fields, each located word for word (issue 19: config/semantic.ts)', () => {
  const DURATION = 'expected a positive number with a unit: ms, s, m, h, d or w (e.g. 1d, 12h)';

  it('unleash: offline needs a bootstrap file, online needs a url', () => {
    const unleash = (body: string) => `feature_flags:\n  provider: unleash\n  unleash: ${body}\n`;
    expect(problemsOf(unleash('{ offline: true }'))).toEqual([
      '3:23 feature_flags.unleash.offline: offline: true serves the bootstrap file only; name one in bootstrap:',
    ]);
    const needsUrl =
      'unleash needs url (the Unleash API, e.g. https://unleash.example.com/api), or offline: true with a bootstrap file';
    expect(problemsOf(unleash('{ offline: false, bootstrap: flags.json }'))).toEqual([
      `3:12 feature_flags.unleash: ${needsUrl}`,
    ]);
    expect(problemsOf('feature_flags:\n  provider: unleash\n  unleash:\n    app_name: shop\n')).toEqual([
      `4:5 feature_flags.unleash: ${needsUrl}`,
    ]);
    const offline = parseConfig(unleash('{ offline: true, bootstrap: flags.json }'));
    expect(offline.featureFlags.options).toMatchObject({ offline: true, bootstrap: 'flags.json' });
    const online = parseConfig(unleash('{ url: "https://u.example/api" }'));
    expect(online.featureFlags.options).toMatchObject({ url: 'https://u.example/api' });
  });

  it('unleash: a control plane needs a url when the client has none (offline), rather than being dropped', () => {
    const text = (cp: string) =>
      `feature_flags:\n  provider: unleash\n  unleash:\n    offline: true\n    bootstrap: flags.json\n    control_plane: ${cp}\n`;
    const env = { UNLEASH_ADMIN_TOKEN: 'admin-token' };
    expect(problemsOf(text("{ token: '${UNLEASH_ADMIN_TOKEN}' }"), env)).toEqual([
      '6:20 feature_flags.unleash.control_plane: the control plane needs url (the Unleash API its Admin API is under, e.g. https://unleash.example.com/api) when feature_flags.unleash.url is not set',
    ]);
    const withUrl = parseConfig(text("{ token: '${UNLEASH_ADMIN_TOKEN}', url: 'https://u.example/api' }"), 'sy.yaml', {
      env,
    });
    expect(withUrl.featureFlags.options).toMatchObject({ control_plane: { url: 'https://u.example/api' } });
  });

  it('memory: a flag whose defaultVariant is not one of its variants', () => {
    const text = [
      'feature_flags:',
      '  provider: memory',
      '  memory:',
      '    flags:',
      '      banner: { variants: { on: true, off: false }, defaultVariant: of }',
      '      ok: { variants: { a: 1 }, defaultVariant: a }',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      '5:69 feature_flags.memory.flags.banner.defaultVariant: defaultVariant "of" is not one of the variants (on, off)',
    ]);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'memory: a defaultVariant that only objects inherit, %s, is not one of the variants (audit r02)',
    (name) => {
      const text = `feature_flags:\n  provider: memory\n  memory:\n    flags:\n      g: { variants: { on: true }, defaultVariant: ${name} }\n`;
      expect(problemsOf(text)).toEqual([
        `5:52 feature_flags.memory.flags.g.defaultVariant: defaultVariant "${name}" is not one of the variants (on)`,
      ]);
    },
  );

  it('a malformed duration anywhere outside experiments', () => {
    expect(problemsOf('exposures:\n  dedupe: { window: 5 minutes }\n')).toEqual([
      `2:21 exposures.dedupe.window: ${DURATION}, found "5 minutes"`,
    ]);
    expect(problemsOf('monitoring:\n  check_interval: 10 seconds\n')).toEqual([
      `2:19 monitoring.check_interval: ${DURATION}, found "10 seconds"`,
    ]);
    expect(problemsOf('analysis:\n  attribution_window: 2 weeks\n')).toEqual([
      `2:23 analysis.attribution_window: ${DURATION}, found "2 weeks"`,
    ]);
    expect(problemsOf('fleet:\n  redis: redis://127.0.0.1:6379\n  push_interval: soon\n')).toEqual([
      `3:18 fleet.push_interval: ${DURATION}, found "soon"`,
    ]);
    const good = parseConfig(
      'exposures:\n  dedupe: { window: 5m }\nmonitoring:\n  check_interval: 30s\nanalysis:\n  attribution_window: 2w\n',
    );
    expect(good.monitoring.checkIntervalMs).toBe(30_000);
  });

  it('a value of the wrong type gets the type problem only (the cross-field checks skip it)', () => {
    const memory =
      'feature_flags:\n  provider: memory\n  memory:\n    flags:\n      banner: { variants: { on: true }, defaultVariant: 1 }\n';
    expect(problemsOf(memory)).toEqual([
      '5:57 feature_flags.memory.flags.banner.defaultVariant: expected a string, found 1',
    ]);
    const durations = [
      'exposures:\n  dedupe: { window: 60 }',
      'monitoring:\n  check_interval: 10',
      'analysis:\n  attribution_window: 14',
      'fleet:\n  redis: redis://h:1\n  push_interval: 2\n',
    ].join('\n');
    expect(problemsOf(durations)).toEqual([
      '2:21 exposures.dedupe.window: expected a string, found 60',
      '4:19 monitoring.check_interval: expected a string, found 10',
      '6:23 analysis.attribution_window: expected a string, found 14',
      '9:18 fleet.push_interval: expected a string, found 2',
    ]);
  });

  it('allocation keys of another mode: percent, start and schedule, each naming the mode that reads it', () => {
    const exp = (allocation: string, extra = '') =>
      `experiments:\n  checkout:\n${extra}    variants: { control: { weight: 50 }, b: { weight: 50 } }\n    allocation: ${allocation}\n`;
    const only = (key: string, mode: string) =>
      `"${key}" is only used by ${mode} allocation; remove it or set mode: ${mode}`;
    expect(
      problemsOf(exp('{ mode: gradual, start: 2026-12-01T00:00:00Z, schedule: [{ percent: 5 }], percent: 50 }')),
    ).toEqual([`4:100 experiments.checkout.allocation.percent: ${only('percent', 'fixed')}`]);
    expect(
      problemsOf(exp('{ mode: adaptive, percent: 50, start: 2026-12-01T00:00:00Z }', '    primary_metric: buy\n')),
    ).toEqual([
      `5:44 experiments.checkout.allocation.percent: ${only('percent', 'fixed')}`,
      `5:55 experiments.checkout.allocation.start: ${only('start', 'gradual')}`,
    ]);
    // fixed reads percent and start (when the experiment begins); a schedule is gradual's.
    expect(
      problemsOf(exp('{ mode: fixed, percent: 50, start: 2026-12-01T00:00:00Z, schedule: [{ percent: 5 }] }')),
    ).toEqual([`4:84 experiments.checkout.allocation.schedule: ${only('schedule', 'gradual')}`]);
    expect(problemsOf(exp('{ mode: provider, start: 2026-12-01T00:00:00Z }'))).toEqual([
      `4:42 experiments.checkout.allocation.start: ${only('start', 'gradual')}`,
    ]);
  });
});

describe('cross-field checks at their edges (issue 19: survivors of config/semantic.ts, planted by hand)', () => {
  it('variants: none at all, no control named, and weights that miss 100 by 1e-4', () => {
    expect(problemsOf(experiment('variants: {}'))).toEqual([
      '3:15 experiments.checkout.variants: an experiment needs at least 2 variants, found 0',
      '3:15 experiments.checkout.variants: variant weights must add up to exactly 100 (they are percentages), found 0',
    ]);
    expect(problemsOf(experiment('variants:\n  a: { weight: 50 }\n  b: { weight: 50 }'))).toEqual([
      '4:7 experiments.checkout.variants: control "control" is not one of the variants (a, b); name a variant in "control:"',
    ]);
    expect(problemsOf(experiment('variants:\n  control: { weight: 50 }\n  b: { weight: 50.0001 }'))).toEqual([
      '4:7 experiments.checkout.variants: variant weights must add up to exactly 100 (they are percentages), found 100.0001',
    ]);
  });

  it('a schedule may repeat a percent; a step below an earlier maximum is named against that maximum', () => {
    const body = [
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }',
      'allocation:\n  mode: gradual\n  start: 2026-12-01T00:00:00Z\n  schedule:',
      '    - { percent: 10, dwell: 1d }\n    - { percent: 10, dwell: 1d }\n    - { percent: 5, dwell: 1d }\n    - { percent: 7 }',
    ].join('\n');
    expect(problemsOf(experiment(body))).toEqual([
      '12:22 experiments.checkout.allocation.schedule[2].percent: schedule percentages may not go down: a step of 5% follows 10% (ramp down by editing earlier steps or pausing)',
      '13:22 experiments.checkout.allocation.schedule[3].percent: schedule percentages may not go down: a step of 7% follows 10% (ramp down by editing earlier steps or pausing)',
    ]);
  });

  it('a guardrail with any one of its four limits is enough', () => {
    const body = [
      'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nguardrails:',
      '  - { metric: a, min: 1 }\n  - { metric: b, max: 2 }',
      '  - { metric: c, max_relative_increase: 0.1 }\n  - { metric: d, max_relative_decrease: 0.1 }',
    ].join('\n');
    const config = parseConfig(experiment(body));
    expect(config.experiments.get('checkout')!.guardrails.map((g) => g.metric)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('adaptive: a primary_metric that is not a name, and floors that fill exactly 100%', () => {
    const adaptive = (metric: string, floor: number) =>
      experiment(
        `primary_metric: ${metric}\nvariants:\n  control: {}\n  b: {}\nallocation: { mode: adaptive, floor: ${floor}, holdout: 20 }`,
      );
    expect(problemsOf(adaptive('5', 10))).toEqual([
      '3:21 experiments.checkout.primary_metric: expected a string, found 5',
      '3:21 experiments.checkout.primary_metric: adaptive allocation needs primary_metric: the tracked event whose rate (or value) the bandit maximises',
    ]);
    expect(parseConfig(adaptive('buy', 40)).experiments.get('checkout')!.allocation.adaptive!.floor).toBe(0.4);
    expect(problemsOf(adaptive('buy', 40.5))).toEqual([
      '7:42 experiments.checkout.allocation.floor: floors cannot add up: 2 arms x floor 40.5% + holdout 20% = 101%, more than 100%',
    ]);
  });

  it('fleet.redis: an empty one is the schema problem only; a URL without a host is not a Redis URL', () => {
    expect(problemsOf('fleet:\n  redis: ""\n')).toEqual(['2:10 fleet.redis: expected at least 1 character, found ""']);
    expect(problemsOf('fleet:\n  redis: "redis://"\n')).toEqual([
      '2:10 fleet.redis: expected a Redis URL such as redis://127.0.0.1:6379 (redis:// or rediss://, optionally user:password@ and /db); put a password in the environment: "${REDIS_URL}"',
    ]);
  });

  it('a string too short says so in characters, not as a number bound ("expected a value >= 8" for a text)', () => {
    expect(problemsOf('exposures:\n  hash_units_key: "${KEY}"\n  service: ""\n', { KEY: 'abc' })).toEqual([
      '2:19 exposures.hash_units_key: expected at least 8 characters, found the value of "${KEY}" (from the environment, not shown)',
      '3:12 exposures.service: expected at least 1 character, found ""',
    ]);
  });

  it('schema: a control that is not a name, and a salt of any length but empty (survivors of config/schema.ts)', () => {
    expect(problemsOf(experiment('control: 1st\nvariants:\n  control: { weight: 50 }\n  b: { weight: 50 }'))).toEqual([
      '3:14 experiments.checkout.control: expected a name that starts with a letter or _ and has only letters, digits, _ . -, found "1st"',
      '3:14 experiments.checkout.control: control "1st" is not one of the variants (control, b); name a variant in "control:"',
    ]);
    const salted = (salt: string) =>
      experiment(
        `variants:\n  control: { weight: 50 }\n  b: { weight: 50 }\nallocation: { mode: fixed, salt: ${salt} }`,
      );
    expect(parseConfig(salted('checkout-2026')).experiments.get('checkout')!.allocation.salt).toBe('checkout-2026');
    expect(problemsOf(salted('""'))).toEqual([
      '6:38 experiments.checkout.allocation.salt: expected at least 1 character, found ""',
    ]);
  });

  it("only Amplitude's server_url selects the Batch API's limits", () => {
    const text =
      'analytics:\n  segment: { write_key: k, server_url: "https://s.example/batch", batch_bytes: 600000 }\n';
    expect(problemsOf(text)).toEqual([
      '2:28 analytics.segment.server_url: unknown key "server_url" (allowed here: write_key, host, path, concurrency, compress, batch_size, batch_bytes)',
      '2:80 analytics.segment.batch_bytes: batch_bytes may be at most 500,000 (Segment takes at most 500 KB a request), found 600000',
    ]);
  });
});

describe('cross-field checks: the last survivors of config/semantic.ts (issue 19, each planted by hand)', () => {
  const twoVariants = 'variants:\n  control: { weight: 50 }\n  b: { weight: 50 }';
  const DURATION = 'expected a positive number with a unit: ms, s, m, h, d or w (e.g. 1d, 12h)';

  it('a null where a map belongs is the schema problem only', () => {
    expect(problemsOf('experiment_config: ~\n')).toEqual([
      '1:20 experiment_config: expected a map, found null (an empty value)',
    ]);
    expect(problemsOf(experiment('variants:\n  control: ~\n  b: { weight: 100 }'))).toEqual([
      '4:16 experiments.checkout.variants.control: expected a map, found null (an empty value)',
    ]);
  });

  it('the default mode is fixed, also when experiment_config names no mode that is a string', () => {
    const started = experiment(`${twoVariants}\nallocation: { start: 2026-12-01T00:00:00Z }`);
    expect(parseConfig(started).experiments.get('checkout')!.allocation.mode).toBe('fixed');
    expect(problemsOf(`experiment_config:\n  traffic_allocation: 5\n${started}`)).toEqual([
      '2:23 experiment_config.traffic_allocation: expected one of "fixed", "gradual", "adaptive", "provider", found 5',
    ]);
  });

  it('adaptive weights are all or none: one left out is missing', () => {
    expect(
      problemsOf(
        experiment(
          'primary_metric: buy\nvariants:\n  control: { weight: 100 }\n  b: {}\nallocation: { mode: adaptive }',
        ),
      ),
    ).toEqual([
      '6:10 experiments.checkout.variants.b.weight: missing; expected a number (fixed and gradual allocation need a weight per variant)',
    ]);
  });

  it('weights that are not finite numbers get the type problem only, not a sum', () => {
    expect(problemsOf(experiment('variants:\n  control: { weight: "50" }\n  b: { weight: "50" }'))).toEqual([
      '4:26 experiments.checkout.variants.control.weight: expected a number, found "50"',
      '5:20 experiments.checkout.variants.b.weight: expected a number, found "50"',
    ]);
    // An infinite weight is shown as itself (JSON would write null).
    expect(problemsOf(experiment('variants:\n  control: { weight: .inf }\n  b: { weight: 50 }'))).toEqual([
      '4:26 experiments.checkout.variants.control.weight: expected a number, found Infinity',
    ]);
    expect(problemsOf(experiment('variants:\n  control: { weight: -.inf }\n  b: { weight: .nan }'))).toEqual([
      '4:26 experiments.checkout.variants.control.weight: expected a number, found -Infinity',
      '5:20 experiments.checkout.variants.b.weight: expected a number, found NaN',
    ]);
  });

  it('floors may exceed 100% by the 1e-9 rounding tolerance exactly', () => {
    const config = parseConfig(
      experiment(
        'primary_metric: buy\nvariants:\n  control: {}\n  b: {}\nallocation: { mode: adaptive, floor: 50.0000000005 }',
      ),
    );
    expect(config.experiments.get('checkout')!.allocation.adaptive!.floor).toBeCloseTo(0.500000000005, 15);
  });

  it('an adaptive-only key under fixed is located at the key', () => {
    expect(problemsOf(experiment(`${twoVariants}\nallocation: { mode: fixed, floor: 10 }`))).toEqual([
      '6:32 experiments.checkout.allocation.floor: "floor" is only used by adaptive allocation; remove it or set mode: adaptive',
    ]);
  });

  it('Split reserves "control" only in provider mode', () => {
    const text = `feature_flags:\n  provider: split\n  split: { sdk_key: k }\n${experiment(`${twoVariants}\nallocation: { mode: fixed }`)}`;
    expect([...parseConfig(text).experiments.keys()]).toEqual(['checkout']);
  });

  it('gradual: a missing start and schedule, a missing and a malformed dwell, located at allocation', () => {
    const gradual = (allocation: string) => experiment(`${twoVariants}\nallocation: ${allocation}`);
    const needs = 'experiments.checkout.allocation: gradual allocation needs allocation';
    expect(problemsOf(gradual('{ mode: gradual }'))).toEqual([
      `6:17 ${needs}.start, the ISO date-time the first step begins (e.g. 2026-12-01T09:00:00Z)`,
      `6:17 ${needs}.schedule, a list of { percent, dwell } steps`,
    ]);
    expect(problemsOf(gradual('{ mode: gradual, start: 2026-12-01T00:00:00Z }'))).toEqual([
      `6:17 ${needs}.schedule, a list of { percent, dwell } steps`,
    ]);
    const steps = '[{ percent: 5 }, { percent: 10, dwell: 3 days }, { percent: 50 }]';
    expect(problemsOf(gradual(`\n  mode: gradual\n  start: 2026-12-01T00:00:00Z\n  schedule: ${steps}`))).toEqual([
      '9:18 experiments.checkout.allocation.schedule[0]: every step but the last needs a dwell (how long it lasts before the next step), e.g. dwell: 1d',
      `9:56 experiments.checkout.allocation.schedule[1].dwell: ${DURATION}, found "3 days"`,
    ]);
  });

  it('a guardrail without a limit is located at the guardrail', () => {
    expect(problemsOf(experiment(`${twoVariants}\nguardrails: [{ metric: error_rate }]`))).toEqual([
      '6:18 experiments.checkout.guardrails[0]: a guardrail needs at least one limit: max, min, max_relative_increase or max_relative_decrease',
    ]);
  });

  it('adaptive: a malformed reweight_every, and sticky: redis without a fleet.redis string', () => {
    const adaptive = (allocation: string) =>
      experiment(
        `primary_metric: buy\nvariants:\n  control: {}\n  b: {}\nallocation: { mode: adaptive, ${allocation} }`,
      );
    expect(problemsOf(adaptive('reweight_every: hourly'))).toEqual([
      `7:51 experiments.checkout.allocation.reweight_every: ${DURATION}, found "hourly"`,
    ]);
    const sticky =
      'experiments.checkout.allocation.sticky: sticky: redis needs fleet.redis (the Redis the instances share); or use sticky: memory';
    expect(problemsOf(`fleet:\n  redis: 5\n${adaptive('sticky: redis')}`)).toEqual([
      '2:10 fleet.redis: expected a string, found 5',
      `9:43 ${sticky}`,
    ]);
  });

  it('fleet.redis that is not a URL at all is not a Redis URL', () => {
    expect(problemsOf('fleet:\n  redis: "127.0.0.1:6379"\n')).toEqual([
      '2:10 fleet.redis: expected a Redis URL such as redis://127.0.0.1:6379 (redis:// or rediss://, optionally user:password@ and /db); put a password in the environment: "${REDIS_URL}"',
    ]);
  });

  it("Amplitude's Batch limits need /batch at the end of server_url's path", () => {
    expect(
      problemsOf(
        'analytics:\n  amplitude: { api_key: a, server_url: "https://a.example/batch/v2", batch_bytes: 1000001 }\n',
      ),
    ).toEqual([
      "2:83 analytics.amplitude.batch_bytes: batch_bytes may be at most 1,000,000 (Amplitude's HTTP V2 API takes at most 2,000 events and 1 MB a request), found 1000001",
    ]);
  });

  it('a server_url that is not a URL says what a URL looks like', () => {
    expect(problemsOf('analytics:\n  amplitude: { api_key: a, server_url: "not a url/batch" }\n')).toEqual([
      '2:40 analytics.amplitude.server_url: expected a URL, e.g. https://api2.amplitude.com/batch, found "not a url/batch"',
    ]);
  });
});

describe('environment interpolation', () => {
  it('fills ${NAME} from the environment and keeps $${ literal', () => {
    const config = parseConfig(
      'feature_flags:\n  provider: launchdarkly\n  launchdarkly: { sdk_key: "${LD_KEY}", context_kind: "$${literal}" }\n',
      'x',
      { env: { LD_KEY: 'sdk-123' } },
    );
    expect(config.featureFlags.options).toEqual({ sdk_key: 'sdk-123', context_kind: '${literal}' });
    expect(config.secrets).toEqual(['sdk-123']);
  });

  it('names a missing variable without guessing a value', () => {
    expect(problemsOf('feature_flags:\n  provider: launchdarkly\n  launchdarkly: { sdk_key: "${LD_KEY}" }\n')).toEqual([
      '3:28 feature_flags.launchdarkly.sdk_key: environment variable LD_KEY is not set (referenced as ${LD_KEY})',
    ]);
  });

  it('never shows a secret value in an error', () => {
    const secret = 'sdk-super-secret-0123';
    const problems = problemsOf('feature_flags:\n  provider: "${LD_KEY}"\n', { LD_KEY: secret });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('feature_flags.provider');
    expect(problems.join('\n')).not.toContain(secret);
  });
});

describe('reshuffle guard', () => {
  const base = (variants: string, extra = '') =>
    validateConfigObject(
      JSON.parse(`{"experiments":{"e":{"variants":${variants},"allocation":{"mode":"fixed"${extra}}}}}`),
    );
  const ab = '{"control":{"weight":50},"b":{"weight":50}}';
  const now = Date.parse('2026-12-05T00:00:00Z');

  it.each([
    ['a new salt', base(ab, ',"salt":"new"'), /salt "e" -> "new"/],
    ['a removed variant', base('{"control":{"weight":100},"c":{"weight":0}}'), /variant b removed/],
    [
      'reordered variants',
      base('{"b":{"weight":50},"control":{"weight":50}}'),
      /variants reordered: control, b -> b, control/,
    ],
  ])('rejects %s on a running experiment', (_name, next, why) => {
    const problems = reshuffleProblems(base(ab), next, now);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(why);
    expect(problems[0]).toMatch(/set allow_reshuffle: true/);
  });

  it('allows weight changes, and anything with allow_reshuffle', () => {
    expect(reshuffleProblems(base(ab), base('{"control":{"weight":30},"b":{"weight":70}}'), now)).toEqual([]);
    const allowed = validateConfigObject({
      experiments: {
        e: {
          allow_reshuffle: true,
          variants: { b: { weight: 50 }, control: { weight: 50 } },
          allocation: { mode: 'fixed' },
        },
      },
    });
    expect(reshuffleProblems(base(ab), allowed, now)).toEqual([]);
  });

  it('rejects renaming a running experiment whose flag stays (its salt was its key): the same units would move', () => {
    const renamed = (key: string, extra: Record<string, unknown> = {}) =>
      validateConfigObject({
        experiments: { [key]: { flag: 'e', variants: JSON.parse(ab), allocation: { mode: 'fixed', ...extra } } },
      });
    expect(reshuffleProblems(base(ab), renamed('e-v2'), now)).toEqual([
      expect.stringMatching(
        /running experiment "e-v2" \(it takes flag "e" over from experiment "e": salt "e" -> "e-v2"\); set allow_reshuffle/,
      ),
    ]);
    // The salt kept, the variants in order: nobody moves, and the rename passes.
    expect(reshuffleProblems(base(ab), renamed('e-v2', { salt: 'e' }), now)).toEqual([]);
    // A new experiment on another flag, beside the old one's removal, is not a rename.
    expect(
      reshuffleProblems(
        base(ab),
        validateConfigObject({ experiments: { f: { variants: JSON.parse(ab), allocation: { mode: 'fixed' } } } }),
        now,
      ),
    ).toEqual([]);
  });

  it('rejects a reorder that keeps the first variant in place', () => {
    const abc = '{"control":{"weight":40},"b":{"weight":30},"c":{"weight":30}}';
    const acb = '{"control":{"weight":40},"c":{"weight":30},"b":{"weight":30}}';
    expect(reshuffleProblems(base(abc), base(acb), now)).toEqual([
      expect.stringMatching(/variants reordered: control, b, c -> control, c, b/),
    ]);
  });

  it('names every removed variant', () => {
    const four = '{"control":{"weight":40},"b":{"weight":20},"c":{"weight":20},"d":{"weight":20}}';
    const problems = reshuffleProblems(base(four), base('{"control":{"weight":50},"d":{"weight":50}}'), now);
    expect(problems).toEqual([expect.stringMatching(/variants b, c removed/)]);
  });

  it('lets a config add an experiment, or a variant at the end (with new weights)', () => {
    const added = validateConfigObject({
      experiments: {
        e: { variants: JSON.parse(ab), allocation: { mode: 'fixed' } },
        f: { variants: JSON.parse(ab), allocation: { mode: 'fixed' } },
      },
    });
    expect(reshuffleProblems(base(ab), added, now)).toEqual([]);
    expect(
      reshuffleProblems(base(ab), base('{"control":{"weight":40},"b":{"weight":40},"c":{"weight":20}}'), now),
    ).toEqual([]);
  });

  it('guards a gradual experiment from the instant it starts, when units are first allocated', () => {
    const gradual = (salt: string) =>
      validateConfigObject({
        experiments: {
          e: {
            variants: JSON.parse(ab),
            allocation: { mode: 'gradual', salt, start: '2026-12-10T00:00:00Z', schedule: [{ percent: 5 }] },
          },
        },
      });
    const start = Date.parse('2026-12-10T00:00:00Z');
    expect(reshuffleProblems(gradual('a'), gradual('b'), start - 1)).toEqual([]);
    expect(reshuffleProblems(gradual('a'), gradual('b'), start)).toHaveLength(1);
  });

  it('allows any change before a gradual experiment starts', () => {
    const gradual = (salt: string) =>
      validateConfigObject({
        experiments: {
          e: {
            variants: JSON.parse(ab),
            allocation: { mode: 'gradual', salt, start: '2026-12-10T00:00:00Z', schedule: [{ percent: 5 }] },
          },
        },
      });
    expect(reshuffleProblems(gradual('a'), gradual('b'), now)).toEqual([]);
    expect(reshuffleProblems(gradual('a'), gradual('b'), Date.parse('2026-12-11T00:00:00Z'))).toHaveLength(1);
  });
});

describe('durations in the config', () => {
  const ramp = (dwells: string[]) =>
    validateConfigObject({
      experiments: {
        e: {
          variants: { control: { weight: 50 }, b: { weight: 50 } },
          allocation: {
            mode: 'gradual',
            start: '2026-12-01T00:00:00Z',
            schedule: [...dwells.map((dwell, i) => ({ percent: i + 1, dwell })), { percent: 100 }],
          },
        },
      },
    }).experiments.get('e')!.allocation.steps;

  it('reads every unit, decimals and a space before the unit: a ramp step lasts what its dwell says', () => {
    const cases: [string, number][] = [
      ['250ms', 250],
      ['45s', 45_000],
      ['30m', 1_800_000],
      ['12h', 43_200_000],
      ['1d', 86_400_000],
      ['2w', 1_209_600_000],
      ['1.5h', 5_400_000],
      ['3 d', 259_200_000],
      [' 10m ', 600_000],
    ];
    const steps = ramp(cases.map(([dwell]) => dwell));
    cases.forEach(([dwell, ms], i) => {
      expect({ dwell, lasts: steps[i]!.endsAt - steps[i]!.startsAt }).toEqual({ dwell, lasts: ms });
      expect(steps[i + 1]!.startsAt).toBe(steps[i]!.endsAt);
    });
    expect(steps[cases.length]!.endsAt).toBe(Infinity); // the last step has no dwell
  });

  it.each(['0d', '0.0h', '5', 'd', '1y', '1 day', '-1d', '1e3s', '1.d'])(
    'rejects the dwell %j, naming the format',
    (dwell) => {
      expect(() => ramp([dwell])).toThrow(
        /schedule\[0\]\.dwell: expected a positive number with a unit: ms, s, m, h, d or w \(e\.g\. 1d, 12h\)/,
      );
    },
  );
});

describe('did you mean', () => {
  const unknownKey = (key: string): string => {
    try {
      validateConfigObject({
        experiments: { e: { variants: { control: { weight: 50 }, b: { weight: 50 } }, [key]: 1 } },
      });
    } catch (error) {
      return (error as ConfigError).problems[0]!.message;
    }
    throw new Error('expected the config to be rejected');
  };

  it('suggests the allowed key closest by edit distance, whatever the case', () => {
    expect(unknownKey('varaints')).toContain('did you mean "variants"?');
    expect(unknownKey('HYPOTHESIS')).toContain('did you mean "hypothesis"?');
    expect(unknownKey('allow_reshufle')).toContain('did you mean "allow_reshuffle"?');
    expect(unknownKey('primary_metrc')).toContain('did you mean "primary_metric"?');
  });

  it('allows up to a third of the name in edits, at least two (a longer name may carry more typos)', () => {
    expect(unknownKey('hipotesys')).toContain('did you mean "hypothesis"?'); // 9 characters, 3 edits
    expect(unknownKey('hipotesi')).not.toContain('did you mean'); // 8 characters, 3 edits
    expect(unknownKey('hypotxxxs')).not.toContain('did you mean'); // 9 characters, 4 edits
    expect(unknownKey('owenr')).toContain('did you mean "owner"?'); // 5 characters, 2 edits: two are always allowed
  });

  it('suggests nothing for a name too far from any allowed key', () => {
    for (const key of ['xyzzy', 'colour_scheme', 'q']) {
      const message = unknownKey(key);
      expect(message).toContain(`unknown key "${key}"`);
      expect(message).not.toContain('did you mean');
    }
  });
});

describe('the committed JSON Schema', () => {
  it('is the one generated from the zod schema (run npm run schema after a change)', async () => {
    const { configSchema } = await import('../../../src/config/index.js');
    const { z } = await import('zod');
    const committed = JSON.parse(readFileSync(here('../../../schema/switchyard.schema.json'), 'utf8'));
    const { $id: _id, title: _title, ...rest } = committed;
    expect(rest).toEqual(
      JSON.parse(JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }))),
    );
  });
});

describe('vendor sections', () => {
  it('rejects a provider-mode Split experiment whose control is named "control" (Split reserves it)', () => {
    const text =
      'feature_flags:\n  provider: split\n  split: { sdk_key: "${SPLIT_KEY}" }\nexperiments:\n  e:\n    variants:\n      control: { weight: 50 }\n      b: { weight: 50 }\n    allocation: { mode: provider }\n';
    expect(problemsOf(text, { SPLIT_KEY: 'k-1' })).toEqual([
      expect.stringMatching(/^7:7 experiments\.e\.variants\.control: Split reserves the treatment name "control"/),
    ]);
  });

  it('refuses a Node.js built-in as the OpenFeature provider module, rather than suggest npm install node:path', () => {
    const of = (module: string) => `feature_flags:\n  provider: openfeature\n  openfeature: { module: ${module} }\n`;
    for (const module of ['node:path', 'fs'])
      expect(problemsOf(of(module))).toEqual([
        `3:26 feature_flags.openfeature.module: "${module}" is a module built into Node.js, not an OpenFeature provider; name the npm package (or the path of the file) that exports the provider`,
      ]);
    expect(parseConfig(of('"@openfeature/flagd-provider"')).featureFlags.options).toEqual({
      module: '@openfeature/flagd-provider',
    });
  });

  it('checks each vendor section strictly, with the allowed keys', () => {
    const problems = problemsOf(
      'feature_flags:\n  provider: optimizely\n  optimizely: { sdk_key: "${K}", datafile_url: "x" }\n',
      { K: 'k-1' },
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /feature_flags\.optimizely\.datafile_url: unknown key "datafile_url".*allowed here: sdk_key, datafile, url_template/,
    );
  });

  it('never shows an SDK key that came from the environment, even in a vendor section problem', () => {
    const secret = 'sdk-live-0123456789';
    const problems = problemsOf(
      'feature_flags:\n  provider: launchdarkly\n  launchdarkly: { sdk_key: "${K}", base_uri: "${K}" }\n',
      { K: secret },
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).not.toContain(secret);
  });
});

describe('analysis settings', () => {
  it('apply their defaults and reject bad values with located errors', () => {
    const ok = parseConfig('analysis:\n  corrections: bh\n  attribution_window: 7d\n');
    expect(ok.analysis.corrections).toBe('bh');
    expect(ok.analysis.attributionWindowMs).toBe(7 * 86_400_000);
    expect(ok.analysis.decision.minRuntimeDays).toBe(7);
    expect(() => parseConfig('analysis:\n  corrections: bonferoni\n  attribution_window: soon\n')).toThrow(
      /2:16 analysis\.corrections: expected one of "none", "bonferroni", "holm", "bh", "by", found "bonferoni"[\s\S]*3:23 analysis\.attribution_window/,
    );
  });
});

describe('analytics send tuning', () => {
  const platforms = (body: string) => `analytics_platforms: [segment, amplitude, mixpanel]\nanalytics:\n${body}`;

  it('takes compress, batch_size, batch_bytes and concurrency within each platform limit', () => {
    const config = parseConfig(
      platforms(
        '  segment: { write_key: "${W}", compress: false, batch_size: 2500, batch_bytes: 500000, concurrency: 8 }\n' +
          '  amplitude: { api_key: "${A}", compress: 6, batch_size: 2000, batch_bytes: 1000000 }\n' +
          '  mixpanel: { token: "${M}", compress: true, batch_size: 2000, batch_bytes: 2000000 }\n',
      ),
      'sy.yaml',
      { env: { W: 'w-1', A: 'a-1', M: 'm-1' } },
    );
    expect(config.analytics.segment).toMatchObject({
      compress: false,
      batchSize: 2500,
      batchBytes: 500_000,
      concurrency: 8,
    });
    expect(config.analytics.amplitude).toMatchObject({ compress: 6, batchSize: 2000, batchBytes: 1_000_000 });
    expect(config.analytics.mixpanel).toMatchObject({ compress: true, batchSize: 2000, batchBytes: 2_000_000 });
  });

  it('names the platform limit, where it is exceeded', () => {
    expect(
      problemsOf(
        platforms(
          '  segment: { write_key: "${W}", batch_bytes: 600000 }\n' +
            '  amplitude: { api_key: "${A}", batch_size: 2001, batch_bytes: 1000001 }\n' +
            '  mixpanel: { token: "${M}", batch_size: 5000, batch_bytes: 2000001 }\n',
        ),
        { W: 'w-1', A: 'a-1', M: 'm-1' },
      ),
    ).toEqual([
      '3:46 analytics.segment.batch_bytes: batch_bytes may be at most 500,000 (Segment takes at most 500 KB a request), found 600000',
      "4:45 analytics.amplitude.batch_size: batch_size may be at most 2,000 (Amplitude's HTTP V2 API takes at most 2,000 events and 1 MB a request), found 2001",
      "4:64 analytics.amplitude.batch_bytes: batch_bytes may be at most 1,000,000 (Amplitude's HTTP V2 API takes at most 2,000 events and 1 MB a request), found 1000001",
      "5:42 analytics.mixpanel.batch_size: batch_size may be at most 2,000 (Mixpanel's /import takes at most 2,000 events and 2 MB a request), found 5000",
      "5:61 analytics.mixpanel.batch_bytes: batch_bytes may be at most 2,000,000 (Mixpanel's /import takes at most 2,000 events and 2 MB a request), found 2000001",
    ]);
  });

  it("takes Amplitude's Batch API limit (20 MB) when server_url is its /batch endpoint", () => {
    const text = (bytes: number) =>
      `analytics_platforms: [amplitude]\nanalytics:\n  amplitude: { api_key: "\${A}", server_url: "https://api2.amplitude.com/batch", batch_bytes: ${bytes} }\n`;
    expect(parseConfig(text(20_000_000), 'sy.yaml', { env: { A: 'a-1' } }).analytics.amplitude?.batchBytes).toBe(
      20_000_000,
    );
    expect(problemsOf(text(20_000_001), { A: 'a-1' })).toEqual([
      expect.stringMatching(
        /^3:\d+ analytics\.amplitude\.batch_bytes: batch_bytes may be at most 20,000,000 \(Amplitude's Batch Event Upload API/,
      ),
    ]);
  });

  it('rejects a compress that is not true, false or a gzip level 1-9, and sizes below one', () => {
    const problems = problemsOf(
      platforms('  segment: { write_key: "${W}", compress: 10, batch_size: 0, batch_bytes: 100, concurrency: 65 }\n'),
      { W: 'w-1' },
    );
    expect(problems).toEqual([
      '3:43 analytics.segment.compress: expected a value <= 9, found 10',
      '3:59 analytics.segment.batch_size: expected a value >= 1, found 0',
      '3:75 analytics.segment.batch_bytes: expected a value >= 1024, found 100',
      '3:93 analytics.segment.concurrency: expected a value <= 64, found 65',
    ]);
    expect(problemsOf(platforms('  segment: { write_key: "${W}", compress: "fast" }\n'), { W: 'w-1' })).toEqual([
      '3:43 analytics.segment.compress: expected one of the accepted forms, found "fast"',
    ]);
  });
});

describe('the config error as a whole (issue 19)', () => {
  it('counts its problems, names the file, says nothing was applied, and locates each problem', () => {
    const one = configErrorOf(() => parseConfig('experiments:\n  e:\n    variants: 5\n'));
    expect(one.where).toBe('config');
    expect(one.what).toMatch(
      /^1 problem in <text>; the config was not applied:\n {2}<text>:3:15 experiments\.e\.variants: /,
    );
    const two = configErrorOf(() => parseConfig('experiments: 1\nfoo: 2\n', 'sy.yaml'));
    expect(two.what).toMatch(
      /^2 problems in sy\.yaml; the config was not applied:\n {2}sy\.yaml:\d+:\d+ \S+: .+\n {2}sy\.yaml:\d+:\d+ \S+: /,
    );
    // An object has no lines: the problem names the source only; a problem about the whole config says so.
    const object = configErrorOf(() => validateConfigObject({ experiments: { e: { variants: 5 } } }));
    expect(object.what).toMatch(
      /^1 problem in <object>; the config was not applied:\n {2}<object> experiments\.e\.variants: /,
    );
    const list = configErrorOf(() => parseConfig('- a\n- b\n', 'sy.yaml'));
    expect(list.problems.map((p) => [p.line, p.col, p.path, p.message])).toEqual([
      [1, 1, '', 'the config must be a YAML mapping of keys such as experiment_config, feature_flags, experiments'],
    ]);
    expect(list.what).toContain('\n  sy.yaml:1:1 (top level): the config must be a YAML mapping');
    for (const value of [null, 'text', [1]])
      expect(configErrorOf(() => validateConfigObject(value)).what).toContain(
        '<object> (top level): the config must be a YAML mapping',
      );
  });

  it('rejects a key written twice, with the first line of the YAML error', () => {
    const e = configErrorOf(() => parseConfig('experiments: {}\nexperiments: {}\n', 'sy.yaml'));
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]!.line).toBe(2);
    expect(e.problems[0]!.message).toMatch(/unique/i);
    expect(e.problems[0]!.message).not.toContain('\n');
  });

  it('finds every key written twice, in block and flow maps, as yaml compares keys; and a second document', () => {
    const text = [
      'feature_flags:',
      '  provider: memory',
      '  memory:',
      '    flags:',
      '      f: { variants: { a: 1, "1": 2, 1: 3, a: 4 }, defaultVariant: a }',
      '      g:',
      '        variants: { b: 1 }',
      '        defaultVariant: b',
      '        variants: { b: 2 }',
      '---',
      'experiments: {}',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      '5:44 : YAML syntax error: Map keys must be unique',
      '9:9 : YAML syntax error: Map keys must be unique',
      '10:1 : YAML syntax error: a second YAML document starts here (after ---); the config is one document',
    ]);
  });

  it('checks a map of 60,000 keys for duplicates: all kept, and a repeat of the first found at the end', () => {
    // (Each map's keys go through a set: about 1 s here, where comparing every key with every
    // earlier one took about 14 s; speed is for benchmarks, this checks the answers.)
    const n = 60_000;
    const variants = Array.from({ length: n }, (_, i) => `          v${i}: ${i}`).join('\n');
    const text = `feature_flags:\n  provider: memory\n  memory:\n    flags:\n      f:\n        defaultVariant: v0\n        variants:\n${variants}\n`;
    expect(Object.keys(parseConfig(text).featureFlags.memoryFlags.f!.variants)).toHaveLength(n);
    expect(problemsOf(`${text}          v0: again\n`)).toEqual([
      `${n + 8}:11 : YAML syntax error: Map keys must be unique`,
    ]);
  }, 30_000);

  it('rejects a literal token where the environment must give it, and takes it from there', () => {
    const unleash = (token: string) =>
      `feature_flags:\n  provider: unleash\n  unleash: { url: "https://u.example/api", client_token: "${token}" }\n`;
    const e = configErrorOf(() => parseConfig(unleash('default:development.abc'), 'sy.yaml'));
    expect(e.problems.map((p) => [p.path, p.message])).toEqual([
      [
        'feature_flags.unleash.client_token',
        'a token must come from the environment: write it as "${ENV_NAME}", not the token itself',
      ],
    ]);
    expect(e.what).not.toContain('default:development.abc');
    const config = parseConfig(unleash('${UNLEASH_TOKEN}'), 'sy.yaml', {
      env: { UNLEASH_TOKEN: 'default:development.abc' },
    });
    expect(config.featureFlags.options).toMatchObject({ client_token: 'default:development.abc' });
  });
});

describe('secrets from the environment (issue 19)', () => {
  it('writes *** for every occurrence of a secret, and keeps an empty value out of the secrets', () => {
    expect(scrubSecrets('token s3cr3t, again s3cr3t; other', ['s3cr3t', 'other'])).toBe('token ***, again ***; ***');
    const env = { EMPTY: '', TOKEN: 's3cr3t' };
    const config = validateConfigObject(
      { experiments: { e: { variants: { control: { weight: 50 }, b: { weight: 50 } }, owner: '${EMPTY}${TOKEN}' } } },
      { env },
    );
    expect(config.secrets).toEqual(['s3cr3t']);
    // A problem's message is scrubbed of the secrets, and only of them.
    const e = (() => {
      try {
        validateConfigObject(
          { experiments: { e: { variants: 5, owner: '${TOKEN}${EMPTY}' } }, x: '${TOKEN}' },
          { env },
        );
      } catch (error) {
        return error as ConfigError;
      }
      throw new Error('expected the config to be rejected');
    })();
    expect(e.what).not.toContain('s3cr3t');
    expect(e.what).toContain('experiments.e.variants');
  });
});

describe('secrets in messages, escaped or cut (audit r01)', () => {
  /** The first run of six characters of the secret that the text contains, if any. */
  const leak = (text: string, secret: string) => {
    for (let i = 0; i + 6 <= secret.length; i++)
      if (text.includes(secret.slice(i, i + 6))) return secret.slice(i, i + 6);
    return undefined;
  };
  const secrets = ['ab"c\\d-secret', 'S3CR3T'.repeat(20), 'hunter2'];

  it.each(secrets)('shows a placeholder, never the value, wherever a value is quoted: %s', (secret) => {
    const text = [
      'feature_flags:',
      '  provider: launchdarkly',
      '  launchdarkly: { sdk_key: "${LD}", base_uri: "${LD}" }',
      'exposures:',
      '  dedupe: { window: "${LD}" }',
      'experiments:',
      '  e:',
      '    control: "${LD}"',
      '    variants: { a: { weight: 50 }, b: { weight: 50 } }',
    ].join('\n');
    const e = configErrorOf(() => parseConfig(text, 'sy.yaml', { env: { LD: secret } }));
    // The schema's problems (a URL, a duration; a name, for the first secret) and control not a variant.
    const placeholder = 'the value of "${LD}" (from the environment, not shown)';
    const shown = e.problems.filter((p) => p.message.includes(placeholder)).map((p) => p.path);
    expect(shown).toEqual(expect.arrayContaining(['feature_flags.launchdarkly.base_uri', 'exposures.dedupe.window']));
    expect(e.problems.map((p) => p.message)).toContain(
      `control ${placeholder} is not one of the variants (a, b); name a variant in "control:"`,
    );
    expect(shown).toHaveLength(e.problems.length);
    expect(leak(e.what, secret)).toBeUndefined();
  });

  it('scrubs a secret inside a longer value before quoting it, and a salt from the environment in a reshuffle', () => {
    for (const secret of secrets) {
      // The same text written literally is no secret of its own, but the secret's value is scrubbed from it.
      const e = configErrorOf(() =>
        parseConfig(`exposures:\n  dedupe: { window: ${JSON.stringify(`x${secret}y`)} }\nx: "\${S}"\n`, 'sy.yaml', {
          env: { S: secret },
        }),
      );
      expect(e.problems[0]!.message).toMatch(/, found "x\*\*\*y"$/);
      expect(leak(e.what, secret)).toBeUndefined();

      const exp = (salt: string) => ({
        experiments: { e: { variants: { control: { weight: 50 }, b: { weight: 50 } }, allocation: { salt } } },
      });
      const before = validateConfigObject(exp('${S}'), { env: { S: secret } });
      const after = validateConfigObject(exp('fresh'));
      const [problem] = reshuffleProblems(before, after, Date.now());
      expect(problem).toContain('salt "***" -> "fresh"');
      expect(leak(problem!, secret)).toBeUndefined();
    }
  });
});

describe('nesting depth (audit r10)', () => {
  const deep = (levels: number) => `experiments: ${'['.repeat(levels)}${']'.repeat(levels)}\n`;
  const tooDeep = 'lists and maps nest more than 64 levels deep here; a switchyard config needs far fewer';

  it('refuses 50,000 nested lists after an earlier syntax error, located, and the process survives', () => {
    // The repro's order: a YAML syntax error first, then the deep document (the old code's
    // process died of "RegExpCompiler Allocation failed" on the second).
    expect(() => parseConfig('experiments:\n  exp: [\n  : : :\n', 'a.yaml')).toThrow(ConfigError);
    const e = configErrorOf(() => parseConfig(deep(50_000), 'b.yaml'));
    expect(e.problems.map((p) => [p.line, p.col, p.path, p.message])).toEqual([[1, 77, '', tooDeep]]);
    expect(e.what).toContain(`b.yaml:1:77 (top level): ${tooDeep}`);
  });

  it('allows 64 levels, refuses 65, in YAML and in an object', () => {
    // The top-level map is the first level.
    expect(problemsOf(deep(63))).toEqual([expect.stringMatching(/^1:14 experiments: expected a map, found a list$/)]);
    expect(problemsOf(deep(64))).toEqual([`1:77 : ${tooDeep}`]);
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = [value];
      return { experiments: { e: { variants: { control: { weight: 50 }, b: { weight: 50 } }, funnel: value } } };
    };
    // Top-level map, experiments, e: 3 levels; the funnel's lists fill the rest.
    expect(() => validateConfigObject(nested(61))).toThrow(/funnel\[0\]: expected a string, found a list/);
    const e = configErrorOf(() => validateConfigObject(nested(62)));
    expect(e.problems.map((p) => [p.path, p.message])).toEqual([[`experiments.e.funnel${'[0]'.repeat(61)}`, tooDeep]]);
  });

  it('refuses a value inside itself: a YAML alias inside the node it names, an object cycle', () => {
    const e = configErrorOf(() => parseConfig('experiments: &x { a: *x, b: *x }\n', 'sy.yaml'));
    expect(e.problems.map((p) => [p.line, p.col, p.path, p.message])).toEqual([
      [
        1,
        29,
        'experiments.b',
        'this is inside itself (an alias inside the node it names), so it would nest without end',
      ],
    ]);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => validateConfigObject({ experiments: cycle })).toThrow(/experiments\.self: this is inside itself/);
  });
});

describe('aliases (audit r11)', () => {
  it('refuses an alias bomb as a config error naming the file, not a bare ReferenceError', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 12; i++) {
      const [p, c] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      lines.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    const e = configErrorOf(() => parseConfig(lines.join('\n'), 'sy.yaml'));
    expect(e.code).toBe('SY_CONFIG_INVALID');
    expect(e.what).toMatch(
      /^1 problem in sy\.yaml; the config was not applied:\n {2}sy\.yaml \(top level\): too many aliases/,
    );
    expect((e.cause as Error).message).toMatch(/Excessive alias count/);
    // A few aliases are fine.
    expect(problemsOf('x: &x [1]\ny: [*x, *x]\n')).toEqual([
      expect.stringMatching(/ x: unknown key "x"/),
      expect.stringMatching(/ y: unknown key "y"/),
    ]);
  });
});

describe('reserved names (audit r09)', () => {
  const reserved = (name: string, kind: string) =>
    `"${name}" is reserved (JavaScript objects use the name), so it cannot name ${kind}; choose another name`;
  const variants = (names: [string, string]) =>
    `variants: { ${JSON.stringify(names[0])}: { weight: 50 }, ${JSON.stringify(names[1])}: { weight: 50 } }`;

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses %s as an experiment, variant, flag or metric name',
    (name) => {
      const q = JSON.stringify(name);
      const text = [
        'feature_flags:',
        '  provider: memory',
        '  memory:',
        '    flags:',
        `      ${q}: { variants: { "on": true }, defaultVariant: "on" }`,
        `      f: { variants: { ${q}: true, "on": false }, defaultVariant: "on" }`,
        'experiments:',
        `  ${q}:`,
        `    ${variants(['control', 'b'])}`,
        '  exp:',
        `    flag: ${q}`,
        `    ${variants(['control', name])}`,
        `    primary_metric: ${q}`,
        `    secondary_metrics: [${q}]`,
        `    funnel: [a, ${q}]`,
        `    guardrails: [{ metric: ${q}, max: 1 }]`,
      ].join('\n');
      const col = (line: string) => line.indexOf(q) + 1;
      const lines = text.split('\n');
      expect(problemsOf(text)).toEqual(
        expect.arrayContaining([
          `5:${col(lines[4]!)} feature_flags.memory.flags.${name}: ${reserved(name, 'a flag')}`,
          `6:${col(lines[5]!)} feature_flags.memory.flags.f.variants.${name}: ${reserved(name, 'a variant')}`,
          `8:3 experiments.${name}: ${reserved(name, 'an experiment')}`,
          `11:11 experiments.exp.flag: ${reserved(name, 'a flag')}`,
          `12:${col(lines[11]!)} experiments.exp.variants.${name}: ${reserved(name, 'a variant')}`,
          `13:21 experiments.exp.primary_metric: ${reserved(name, 'a metric')}`,
          `14:25 experiments.exp.secondary_metrics[0]: ${reserved(name, 'a metric')}`,
          `15:17 experiments.exp.funnel[1]: ${reserved(name, 'a metric')}`,
          `16:28 experiments.exp.guardrails[0].metric: ${reserved(name, 'a metric')}`,
        ]),
      );
    },
  );

  it('still takes names that merely contain a reserved one', () => {
    const config = parseConfig(`experiments:\n  constructor_test:\n    ${variants(['control', 'prototype_b'])}\n`);
    expect(config.experiments.get('constructor_test')!.variants.map((v) => v.key)).toEqual(['control', 'prototype_b']);
  });
});

describe('control characters in names (audit r12)', () => {
  it('escapes them in paths and messages as in quoted values, so each problem stays one plain line', () => {
    const text = [
      'experiments:',
      '  "e\\u001b[2J\\u001b[31mRED\\nFAKE sy.yaml:1:1 all good":',
      '    variants: { control: { weight: 50 }, b: { weight: 50 } }',
      '  f:',
      '    variants: { "a\\u009b31m": { weight: 50 }, "b\\r\\n": { weight: 50 } }',
      '"x\\u2028y": 1',
    ].join('\n');
    const e = configErrorOf(() => parseConfig(text, 'sy.yaml'));
    // Only the newlines that separate the problems, and no control character at all.
    expect(e.what.split('\n')).toHaveLength(1 + e.problems.length);
    expect(e.what).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    const lines = e.problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
    expect(lines).toEqual([
      '3:5 experiments.e\\u001b[2J\\u001b[31mRED\\nFAKE sy.yaml:1:1 all good: expected a name that starts with a letter or _ and has only letters, digits, _ . -, found "e\\u001b[2J\\u001b[31mRED\\nFAKE sy.yaml:1:1 all good"',
      '5:15 experiments.f.variants: control "control" is not one of the variants (a\\u009b31m, b\\r\\n); name a variant in "control:"',
      '5:31 experiments.f.variants.a\\u009b31m: expected a name that starts with a letter or _ and has only letters, digits, _ . -, found "a\\u009b31m"',
      '5:56 experiments.f.variants.b\\r\\n: expected a name that starts with a letter or _ and has only letters, digits, _ . -, found "b\\r\\n"',
      '6:1 x\\u2028y: unknown key "x\\u2028y" (allowed here: experiment_config, analytics_platforms, feature_flags, statistical_methods, monitoring, exposures, analytics, experiments, analysis, fleet)',
    ]);
  });
});

describe('bounds in messages (issue 19)', () => {
  it('names an exclusive bound with < or >, and a list bound in items', () => {
    expect(problemsOf('experiment_config: { confidence_level: 1 }\n')).toEqual([
      '1:40 experiment_config.confidence_level: expected a value < 1, found 1',
    ]);
    expect(problemsOf('experiment_config: { confidence_level: 0 }\n')).toEqual([
      '1:40 experiment_config.confidence_level: expected a value > 0, found 0',
    ]);
    expect(problemsOf('feature_flags:\n  provider: launchdarkly\n  launchdarkly: { file_paths: [] }\n')).toEqual([
      expect.stringMatching(/^3:\d+ feature_flags\.launchdarkly\.file_paths: expected at least 1 items, found /),
    ]);
  });
});

describe('defaults (issue 19)', () => {
  it('fills what an empty config leaves out with the documented defaults', () => {
    const config = validateConfigObject({});
    expect(config.analyticsPlatforms).toEqual(['jsonl']);
    expect(config.statisticalMethods).toEqual(['frequentist', 'bayesian']);
    expect(config.monitoring).toMatchObject({
      realTimeMetrics: true,
      anomalyDetection: true,
      automaticRollback: true,
      checkIntervalMs: 10_000,
      rampBreachAction: 'rollback',
    });
    expect(config.exposures).toMatchObject({ enabled: true, dir: '.switchyard/events', attributes: [] });
    expect(config.analytics.jsonl).toEqual({ dir: '.switchyard/exposures', maxFileBytes: 64 * 1024 * 1024 });
    expect(config.analysis).toMatchObject({ attributionWindowMs: 14 * 86_400_000, segments: [] });
    expect(config.analysis.decision).toMatchObject({ requireMinSample: true, guardrailRequiresSignificance: true });
    // The analysis segments by the exposures' attributes unless it names its own.
    expect(validateConfigObject({ exposures: { attributes: ['country'] } }).analysis.segments).toEqual(['country']);
    const e = validateConfigObject({
      experiments: { e: { variants: { control: { weight: 50 }, b: { weight: 50 } } } },
    }).experiments.get('e')!;
    expect(e).toMatchObject({ control: 'control', secondaryMetrics: [], funnel: [] });
    expect(e.allocation.adaptive).toBeUndefined(); // fixed by default
  });

  it('pauses a ramp on a breach by default when automatic rollback is off', () => {
    expect(validateConfigObject({ monitoring: { automatic_rollback: false } }).monitoring.rampBreachAction).toBe(
      'pause',
    );
  });
});

describe('YAML merge keys', () => {
  const text = (runtime: string) => `
experiments:
  checkout:
    <<: &common
      primary_metric: purchase
      runtime_days: ${runtime}
    variants: { control: { weight: 50 }, treatment: { weight: 50 } }
  search:
    <<: *common
    runtime_days: 21
    variants: { control: { weight: 50 }, ranked: { weight: 50 } }
`;

  it('are read as YAML 1.1 and most tools read them: the anchored keys merged, a key written beside them wins', () => {
    const config = parseConfig(text('14'));
    expect(config.experiments.get('checkout')).toMatchObject({ primaryMetric: 'purchase', runtimeDays: 14 });
    expect(config.experiments.get('search')).toMatchObject({ primaryMetric: 'purchase', runtimeDays: 21 });
  });

  it('a bad merged value is a located problem, not "unknown key <<"', () => {
    const problems = problemsOf(text('"two weeks"'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^\d+:\d+ experiments\.checkout\.runtime_days: expected a number/);
    expect(problems.join('\n')).not.toContain('<<');
  });
});

describe('a timestamp under %YAML 1.1', () => {
  it('read as a date is named as one, with the way out, not "a map"', () => {
    const problems = problemsOf(`%YAML 1.1
---
experiments:
  checkout:
    variants: { control: { weight: 50 }, treatment: { weight: 50 } }
    allocation: { mode: gradual, start: 2026-12-01T09:00:00Z, schedule: [{ percent: 5 }] }
`);
    expect(problems.join('\n')).toMatch(
      /experiments\.checkout\.allocation\.start: .*found a date \(an unquoted timestamp under %YAML 1\.1; quote it\)/,
    );
  });
});

describe('analytics_platforms', () => {
  it('lists each platform once: a second jsonl would send every event twice under one sink name', () => {
    expect(
      problemsOf('analytics_platforms: [jsonl, segment, jsonl]\nanalytics: { segment: { write_key: k } }\n'),
    ).toEqual([
      expect.stringMatching(/^1:\d+ analytics_platforms\[2\]: "jsonl" is listed twice; list each platform once$/),
    ]);
  });
});
