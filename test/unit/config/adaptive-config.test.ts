import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/index.js';

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'sy.yaml', { env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
  }
  throw new Error('expected the config to be rejected');
}

const adaptive = (allocation: string, extra = 'primary_metric: purchase\n', variants = 3) =>
  `experiments:\n  hero:\n    variants:\n${['control', 'b', 'c']
    .slice(0, variants)
    .map((v) => `      ${v}: {}\n`)
    .join('')}${extra ? `    ${extra}` : ''}    allocation:\n${allocation.replace(/^/gm, '      ')}\n`;

describe('adaptive allocation config', () => {
  it('validates with its options and fills the defaults', () => {
    const config = parseConfig(
      adaptive(
        'mode: adaptive\nreweight_every: 30m\nmin_sample: 500\nfloor: 10\nholdout: 20\nmax_step: 5\ndraws: 2000\nseed: 7\nsticky: memory',
      ),
    );
    const exp = config.experiments.get('hero')!;
    expect(exp.variants.map((v) => v.weight)).toEqual([100 / 3, 100 / 3, 100 / 3]);
    expect(exp.allocation.adaptive).toEqual({
      reweightEveryMs: 1_800_000,
      minSample: 500,
      floor: 0.1,
      holdout: 0.2,
      maxStep: 0.05,
      draws: 2000,
      seed: 7,
      metricKind: 'conversion',
      sticky: 'memory',
      stickyCapacity: 1_000_000,
      stickyTtlMs: 90 * 86_400_000,
    });
    const defaults = parseConfig(adaptive('mode: adaptive')).experiments.get('hero')!.allocation.adaptive!;
    expect(defaults).toMatchObject({
      reweightEveryMs: 3_600_000,
      minSample: 100,
      floor: 0.05,
      holdout: 0,
      draws: 10_000,
    });
  });

  it('accepts traffic_allocation: adaptive as the default mode', () => {
    const config = parseConfig(`experiment_config:\n  traffic_allocation: adaptive\n${adaptive('{}')}`);
    expect(config.defaults.trafficAllocation).toBe('adaptive');
    expect(config.experiments.get('hero')!.allocation.mode).toBe('adaptive');
  });

  it('takes configured weights as the burn-in split', () => {
    const text = `experiments:\n  hero:\n    variants: { control: { weight: 70 }, b: { weight: 30 } }\n    primary_metric: buy\n    allocation: { mode: adaptive }\n`;
    expect(
      parseConfig(text)
        .experiments.get('hero')!
        .variants.map((v) => v.weight),
    ).toEqual([70, 30]);
  });

  it.each([
    [
      'an unknown key',
      'mode: adaptive\nreweigh_every: 1h',
      /allocation\.reweigh_every: unknown key "reweigh_every"; did you mean "reweight_every"\?/,
    ],
    [
      'floors that cannot add up',
      'mode: adaptive\nfloor: 30\nholdout: 20',
      /allocation\.floor: floors cannot add up: 3 arms x floor 30% \+ holdout 20% = 110%/,
    ],
    ['a holdout above 100', 'mode: adaptive\nholdout: 120', /allocation\.holdout: expected a value <= 100, found 120/],
    ['a holdout of 100', 'mode: adaptive\nholdout: 100', /allocation\.holdout: a holdout of 100% leaves no traffic/],
    [
      'a bad reweight_every',
      'mode: adaptive\nreweight_every: hourly',
      /reweight_every: expected a positive number with a unit/,
    ],
    [
      'sticky: redis without a fleet',
      'mode: adaptive\nsticky: redis',
      /allocation\.sticky: sticky: redis needs fleet\.redis/,
    ],
    [
      'a bad sticky_ttl',
      'mode: adaptive\nsticky_ttl: forever',
      /allocation\.sticky_ttl: expected a positive number with a unit/,
    ],
    [
      'sticky_ttl without sticky: redis (nothing would expire)',
      'mode: adaptive\nsticky: memory\nsticky_ttl: 30d',
      /allocation\.sticky_ttl: sticky_ttl is how long the Redis hash of sticky: redis lives after its last use; with sticky: memory or none nothing expires/,
    ],
    [
      'a sticky_ttl under an hour (a returning unit would get a new arm)',
      'mode: adaptive\nsticky: redis\nsticky_ttl: 10m',
      /allocation\.sticky_ttl: sticky_ttl "10m" is under an hour/,
    ],
    [
      'a sticky_ttl over ten years (past what Redis takes)',
      'mode: adaptive\nsticky: redis\nsticky_ttl: 1000000d',
      /allocation\.sticky_ttl: sticky_ttl "1000000d" is over ten years/,
    ],
    [
      'a bad metric kind',
      'mode: adaptive\nmetric_kind: revenue',
      /metric_kind: expected one of "conversion", "continuous"/,
    ],
    ['draws below 100', 'mode: adaptive\ndraws: 5', /allocation\.draws: expected a value >= 100, found 5/],
    [
      'adaptive keys on a fixed experiment',
      'mode: fixed\nfloor: 5',
      /allocation\.floor: "floor" is only used by adaptive allocation/,
    ],
  ])('rejects %s, located', (_name, allocation, message) => {
    const problems = problemsOf(adaptive(allocation));
    expect(problems.join('\n')).toMatch(message);
    expect(problems.every((p) => /^\d+:\d+ /.test(p) && !p.startsWith('0:'))).toBe(true);
  });

  it('rejects an adaptive experiment without a primary metric, at its mode', () => {
    expect(problemsOf(adaptive('mode: adaptive', ''))).toEqual([
      expect.stringMatching(/^8:13 experiments\.hero\.allocation\.mode: adaptive allocation needs primary_metric/),
    ]);
  });

  it('still requires weights in fixed mode', () => {
    expect(problemsOf(adaptive('mode: fixed', 'primary_metric: x\n', 2)).join('\n')).toMatch(
      /variants\.control\.weight: missing; expected a number/,
    );
  });

  it('accepts a fleet with a prefix', () => {
    const config = parseConfig(
      `fleet: { redis: "redis://127.0.0.1:6379", prefix: sy-test }\n${adaptive('mode: adaptive\nsticky: redis')}`,
    );
    expect(config.fleet).toEqual({ redis: 'redis://127.0.0.1:6379', prefix: 'sy-test', pushIntervalMs: 2000 });
    expect(config.experiments.get('hero')!.allocation.adaptive!.sticky).toBe('redis');
  });
});
