import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/index.js';

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, 'sy.yaml', { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
  }
  throw new Error('expected the config to be rejected');
}

describe('the fleet block', () => {
  it('defaults: prefix switchyard, push every 2 s; absent: no fleet', () => {
    expect(parseConfig('fleet:\n  redis: redis://127.0.0.1:6379\n').fleet).toEqual({
      redis: 'redis://127.0.0.1:6379',
      prefix: 'switchyard',
      pushIntervalMs: 2000,
    });
    expect(
      parseConfig('fleet: { redis: "rediss://h:6380/2", prefix: "shop:sy", push_interval: 500ms }\n').fleet,
    ).toEqual({ redis: 'rediss://h:6380/2', prefix: 'shop:sy', pushIntervalMs: 500 });
    expect(parseConfig('{}').fleet).toBeUndefined();
  });

  it('bad values are located errors', () => {
    expect(
      problemsOf('fleet:\n  redis: http://127.0.0.1:6379\n  prefix: "a b"\n  push_interval: soon\n  pool: 3\n'),
    ).toEqual([
      expect.stringMatching(/^2:10 fleet.redis: expected a Redis URL such as redis:\/\/127.0.0.1:6379/),
      '3:11 fleet.prefix: expected letters, digits and _ . : - only, found "a b"',
      expect.stringMatching(/^4:18 fleet.push_interval: expected a positive number with a unit/),
      expect.stringMatching(/^5:3 fleet.pool: unknown key "pool"/),
    ]);
    expect(problemsOf('fleet: {}\n')).toEqual([expect.stringMatching(/fleet.redis: missing/)]);
  });

  it('a password from the environment never shows in a problem', () => {
    const problems = problemsOf('fleet:\n  redis: "${REDIS_URL}"\n  push_interval: never\n', {
      REDIS_URL: 'redis://:s3cret-pw@127.0.0.1:6379',
    });
    expect(problems.join('\n')).not.toContain('s3cret-pw');
  });
});
