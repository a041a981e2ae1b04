/**
 * The LaunchDarkly, Split and Optimizely control planes against local HTTP receivers that
 * check each request's method, path, headers and body as the vendor documents them, and
 * answer as the vendor does, errors included (401, 404, 429 with Retry-After). Unleash's
 * control plane runs against a real Unleash server (unleash-server.test.ts).
 *
 * Pages the requests follow:
 * - LaunchDarkly: https://launchdarkly.com/docs/api/feature-flags/update-feature-flag
 *   (semantic patch: Content-Type "application/json; domain-model=launchdarkly.semanticpatch",
 *   { environmentKey, instructions: [{ kind: turnFlagOff | turnFlagOn |
 *   updateFallthroughVariationOrRollout, rolloutWeights }] }, weights in thousandths of a
 *   percent summing to 100000).
 * - Split: https://docs.split.io/reference/kill-split-in-environment (PUT .../kill),
 *   https://docs.split.io/reference/restore-split-in-environment (PUT .../restore),
 *   https://docs.split.io/reference/partial-update-split-definition-in-environment (PATCH,
 *   JSON Patch), Authorization: Bearer <Admin API key>.
 * - Optimizely: https://docs.developers.optimizely.com/feature-experimentation/docs/manage-rules
 *   (GET/PATCH /flags/v1/projects/{id}/flags/{key}/environments/{env}/ruleset,
 *   POST .../ruleset/enabled | disabled, percentage_included in basis points),
 *   Authorization: Bearer <token>.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LaunchDarklyControlPlane } from '../../adapters/launchdarkly/control-plane.js';
import { OptimizelyControlPlane } from '../../adapters/optimizely/control-plane.js';
import { SplitControlPlane } from '../../adapters/split/control-plane.js';
import { UnleashControlPlane } from '../../adapters/unleash/control-plane.js';
import { Receiver, type Received } from '../helpers/receiver.js';
import { createSwitchyard } from 'switchyard';
import { MemoryProvider } from 'switchyard/adapters/memory';
import { silentLogger, type ControlPlane, type HasControlPlane, type Logger } from '../../src/ports.js';
import { killAtVendor } from '../../src/client/vendor-kill.js';
import { changeKillState, readKillRecord } from '../../src/fleet/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { deletePrefix, randomPrefix, SHARED_REDIS } from '../helpers/redis.js';
import { Redis } from 'ioredis';

const TOKEN = 'api-7c1e9b2f-secret-token';

const receiver = new Receiver();
let answers: Array<(req: Received, res: ServerResponse) => void> = [];

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  receiver.respond = (req, res) => {
    const next = answers.shift();
    if (next) next(req, res);
    else json(res, 200, {});
  };
  await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
});
beforeEach(() => {
  receiver.requests.length = 0;
  answers = [];
});

const body = (r: Received) => JSON.parse(r.body) as unknown;

describe('LaunchDarkly control plane (semantic patch)', () => {
  const cp = () =>
    new LaunchDarklyControlPlane({
      token: TOKEN,
      projectKey: 'shop',
      environmentKey: 'production',
      baseUrl: receiver.url,
    });

  it('turns a flag off and on with turnFlagOff / turnFlagOn for the environment', async () => {
    await cp().turnOff('checkout');
    await cp().turnOn('checkout');
    const [off, on] = receiver.requests;
    for (const r of [off!, on!]) {
      expect(r.method).toBe('PATCH');
      expect(r.path).toBe('/api/v2/flags/shop/checkout');
      expect(r.headers.authorization).toBe(TOKEN);
      expect(r.headers['content-type']).toBe('application/json; domain-model=launchdarkly.semanticpatch');
    }
    expect(body(off!)).toEqual({ environmentKey: 'production', instructions: [{ kind: 'turnFlagOff' }] });
    expect(body(on!)).toEqual({ environmentKey: 'production', instructions: [{ kind: 'turnFlagOn' }] });
  });

  it('sets a rollout: reads the variation ids, then weights the true variation at 25,000 of 100,000', async () => {
    answers.push((_req, res) =>
      json(res, 200, {
        key: 'checkout',
        variations: [
          { _id: 'id-true', value: true },
          { _id: 'id-false', value: false },
        ],
      }),
    );
    await cp().setRollout('checkout', 25);
    const [get, patch] = receiver.requests;
    expect(get).toMatchObject({ method: 'GET', path: '/api/v2/flags/shop/checkout' });
    expect(get!.headers.authorization).toBe(TOKEN);
    expect(body(patch!)).toEqual({
      environmentKey: 'production',
      instructions: [
        { kind: 'updateFallthroughVariationOrRollout', rolloutWeights: { 'id-true': 25000, 'id-false': 75000 } },
      ],
    });
  });
});

describe('Split control plane (Admin API)', () => {
  const cp = () =>
    new SplitControlPlane({ token: TOKEN, workspaceId: 'ws-1', environmentId: 'env-9', baseUrl: receiver.url });

  it('kills and restores a flag in the environment', async () => {
    await cp().turnOff('checkout');
    await cp().turnOn('checkout');
    const [kill, restore] = receiver.requests;
    expect(kill).toMatchObject({
      method: 'PUT',
      path: '/internal/api/v2/splits/ws/ws-1/checkout/environments/env-9/kill',
    });
    expect(restore).toMatchObject({
      method: 'PUT',
      path: '/internal/api/v2/splits/ws/ws-1/checkout/environments/env-9/restore',
    });
    expect(kill!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('sets a rollout by replacing the default rule (JSON Patch)', async () => {
    await cp().setRollout('checkout', 25);
    const [patch] = receiver.requests;
    expect(patch).toMatchObject({
      method: 'PATCH',
      path: '/internal/api/v2/splits/ws/ws-1/checkout/environments/env-9',
    });
    expect(patch!.headers['content-type']).toBe('application/json');
    expect(body(patch!)).toEqual([
      {
        op: 'replace',
        path: '/defaultRule',
        value: [
          { treatment: 'on', size: 25 },
          { treatment: 'off', size: 75 },
        ],
      },
    ]);
  });
});

describe('Optimizely control plane (Flags REST API)', () => {
  const cp = () =>
    new OptimizelyControlPlane({ token: TOKEN, projectId: 4242, environmentKey: 'production', baseUrl: receiver.url });
  const path = '/flags/v1/projects/4242/flags/checkout/environments/production/ruleset';

  it('disables and enables the ruleset', async () => {
    await cp().turnOff('checkout');
    await cp().turnOn('checkout');
    const [off, on] = receiver.requests;
    expect(off).toMatchObject({ method: 'POST', path: `${path}/disabled` });
    expect(on).toMatchObject({ method: 'POST', path: `${path}/enabled` });
    expect(off!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('sets percentage_included (basis points) of the targeted delivery rules', async () => {
    answers.push((_req, res) =>
      json(res, 200, {
        rules: {
          launch: { key: 'launch', type: 'targeted_delivery', percentage_included: 1000 },
          test: { key: 'test', type: 'a/b', percentage_included: 10000 },
        },
      }),
    );
    await cp().setRollout('checkout', 25);
    const [get, patch] = receiver.requests;
    expect(get).toMatchObject({ method: 'GET', path });
    expect(patch).toMatchObject({ method: 'PATCH', path });
    expect(body(patch!)).toEqual([{ op: 'replace', path: '/rules/launch/percentage_included', value: 2500 }]);
  });
});

describe('control plane errors', () => {
  const planes: Array<[string, () => ControlPlane]> = [
    [
      'launchdarkly',
      () => new LaunchDarklyControlPlane({ token: TOKEN, projectKey: 'p', environmentKey: 'e', baseUrl: receiver.url }),
    ],
    [
      'split',
      () => new SplitControlPlane({ token: TOKEN, workspaceId: 'w', environmentId: 'e', baseUrl: receiver.url }),
    ],
    [
      'optimizely',
      () => new OptimizelyControlPlane({ token: TOKEN, projectId: 1, environmentKey: 'e', baseUrl: receiver.url }),
    ],
  ];

  it.each(planes)('%s: 401 carries the vendor message and status, never the token', async (_name, make) => {
    answers.push((_req, res) => json(res, 401, { code: 'unauthorized', message: `Invalid access token ${TOKEN}` }));
    const error = await make()
      .turnOff('checkout')
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(error?.code).toBe('SY_CONTROL_PLANE');
    expect(error?.message).toMatch(/401 Invalid access token \*\*\*/);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect(String(error?.message)).not.toContain(TOKEN);
  });

  it.each(planes)('%s: 404 names the flag and the vendor message', async (_name, make) => {
    answers.push((_req, res) => json(res, 404, { message: 'Unknown resource' }));
    await expect(make().turnOn('nope')).rejects.toThrow(/"nope".*404 Unknown resource/);
  });

  it.each(planes)('%s: 429 waits the Retry-After and retries, then succeeds', async (_name, make) => {
    answers.push((_req, res) => json(res, 429, { message: 'Rate limit exceeded' }, { 'retry-after': '1' }));
    const started = Date.now();
    await make().turnOff('checkout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.path).toBe(receiver.requests[0]!.path);
  });

  it('429 for longer than the retries allow is an error with the vendor message', async () => {
    const cp = new SplitControlPlane({
      token: TOKEN,
      workspaceId: 'w',
      environmentId: 'e',
      baseUrl: receiver.url,
      retries: 1,
    });
    for (let i = 0; i < 2; i++)
      answers.push((_req, res) => json(res, 429, { message: 'Rate limit exceeded' }, { 'retry-after': '0' }));
    await expect(cp.turnOff('checkout')).rejects.toThrow(/429 Rate limit exceeded/);
    expect(receiver.requests).toHaveLength(2);
  });

  it('refuses a rollout outside 0-100 before any request', async () => {
    await expect(planes[0]![1]().setRollout('checkout', 150)).rejects.toThrow(/0 to 100/);
    expect(receiver.requests).toHaveLength(0);
  });
});

/** What a rejected call threw (undefined when it resolved). */
function failure(call: Promise<unknown>): Promise<(Error & { code?: string }) | undefined> {
  return call.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string },
  );
}

describe('hostile control plane answers', () => {
  const split = (options: { timeoutMs?: number } = {}) =>
    new SplitControlPlane({ token: TOKEN, workspaceId: 'w', environmentId: 'e', baseUrl: receiver.url, ...options });

  it('an answer whose body never ends: SY_CONTROL_PLANE within the timeout, saying what, where and that it timed out', async () => {
    answers.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"killed":');
    });
    const started = Date.now();
    const error = await failure(split({ timeoutMs: 500 }).turnOff('checkout'));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error?.code).toBe('SY_CONTROL_PLANE');
    expect(error?.message).toContain('kill flag "checkout"');
    expect(error?.message).toContain(`no answer from ${receiver.url} within 500 ms`);
  });

  it('an endless body is not read past 16 MiB: SY_CONTROL_PLANE at once, not a read until memory or time runs out', async () => {
    let written = 0;
    answers.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && written < 1024 ** 3) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const error = await failure(split({ timeoutMs: 20_000 }).turnOff('checkout'));
    expect(error?.code).toBe('SY_CONTROL_PLANE');
    expect(error?.message).toMatch(/answer from .* is larger than 16 MiB/);
    expect(written).toBeLessThan(128 * 1024 * 1024);
  });

  it('a vendor message of a megabyte is cut to 300 characters in the error', async () => {
    answers.push((_req, res) => json(res, 400, { message: `bad request ${'x'.repeat(1_000_000)}` }));
    const error = await failure(split().turnOff('checkout'));
    expect(error?.message).toMatch(/400 bad request x+/);
    expect(error!.message.length).toBeLessThan(600);
  });

  it('a token the vendor echoes where its answer is cut leaves no part of it in the error', async () => {
    // Cut first and scrubbed after, the head of the token survived the cut: "api-7c1e9b".
    const head = TOKEN.slice(0, 10);
    answers.push((_req, res) => json(res, 400, { message: `${'x'.repeat(290)}${TOKEN}` }));
    answers.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${'x'.repeat(70)}${TOKEN}`);
    });
    answers.push((_req, res) => {
      res.writeHead(302, { location: `/login?${'x'.repeat(300 - receiver.url.length - 17)}&token=${TOKEN}` });
      res.end();
    });
    for (const expected of [/400 x+\*\*\*/, /not JSON \("x+\*\*\*/, /302 redirect to .*token=\*\*\*/]) {
      const error = await failure(split().turnOff('checkout'));
      expect(error?.code).toBe('SY_CONTROL_PLANE');
      expect(error?.message).toMatch(expected);
      expect(error?.message).not.toContain(head);
    }
  });

  it('a redirect to another host is not followed: the token and the change stay here, and the error names the target', async () => {
    const elsewhere = await new Receiver().start();
    try {
      answers.push((_req, res) => {
        res.writeHead(307, { location: `${elsewhere.url}/collect` });
        res.end();
      });
      const error = await failure(split().turnOff('checkout'));
      expect(error?.code).toBe('SY_CONTROL_PLANE');
      expect(error?.message).toContain(`307 redirect to ${elsewhere.url}`);
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await elsewhere.stop();
    }
  });

  it('a redirect on the same host is not followed either: a PUT that a 303 turns into a GET must not read as done', async () => {
    answers.push((_req, res) => {
      res.writeHead(303, { location: '/login' });
      res.end();
    });
    const error = await failure(split().turnOff('checkout'));
    expect(error?.message).toContain(`303 redirect to ${receiver.url}/login`);
    expect(receiver.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /internal/api/v2/splits/ws/w/checkout/environments/e/kill',
    ]);
  });

  it('a 200 with a web page (a proxy, a base URL that is the vendor site) is an error, not a flag turned off', async () => {
    answers.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Please sign in</body></html>');
    });
    const error = await failure(split().turnOff('checkout'));
    expect(error?.code).toBe('SY_CONTROL_PLANE');
    expect(error?.message).toMatch(/200 with text\/html that is not JSON/);
  });

  const shapes: Array<[string, () => ControlPlane, unknown]> = [
    [
      'launchdarkly: variations not a list',
      () => new LaunchDarklyControlPlane({ token: TOKEN, projectKey: 'p', environmentKey: 'e', baseUrl: receiver.url }),
      { key: 'checkout', variations: 'true,false' },
    ],
    [
      'launchdarkly: a variation without an id',
      () => new LaunchDarklyControlPlane({ token: TOKEN, projectKey: 'p', environmentKey: 'e', baseUrl: receiver.url }),
      { key: 'checkout', variations: [{ _id: 'a', value: true }, null] },
    ],
    [
      'optimizely: a rule that is null',
      () => new OptimizelyControlPlane({ token: TOKEN, projectId: 1, environmentKey: 'e', baseUrl: receiver.url }),
      { rules: { launch: null } },
    ],
    [
      'optimizely: rules not an object',
      () => new OptimizelyControlPlane({ token: TOKEN, projectId: 1, environmentKey: 'e', baseUrl: receiver.url }),
      { rules: 'launch' },
    ],
    [
      'unleash: strategies not a list',
      () => new UnleashControlPlane({ token: TOKEN, url: receiver.url }),
      { strategies: [] },
    ],
    ['unleash: a strategy that is null', () => new UnleashControlPlane({ token: TOKEN, url: receiver.url }), [null]],
  ];

  it.each(shapes)(
    '%s: SY_CONTROL_PLANE naming the flag and what was missing, and nothing is changed',
    async (_name, make, answer) => {
      answers.push((_req, res) => json(res, 200, answer));
      const error = await failure(make().setRollout('checkout', 25));
      expect(error?.code).toBe('SY_CONTROL_PLANE');
      expect(error?.message).toMatch(/flag "checkout".*answered .* without/);
      expect(receiver.requests.map((r) => r.method)).toEqual(['GET']);
    },
  );
});

describe('Unleash control plane: rollouts it refuses rather than report done', () => {
  const strategy = (name: string, extra: Record<string, unknown> = {}) => ({
    id: `s-${name}`,
    name,
    parameters: {},
    constraints: [],
    segments: [],
    ...extra,
  });

  it.each([
    ['the standard strategy alone', [strategy('default')]],
    ['the standard strategy beside a flexibleRollout', [strategy('default'), strategy('flexibleRollout')]],
  ])(
    '%s enables every unit whatever the rollout: SY_CONTROL_PLANE naming it, and nothing is changed',
    async (_name, strategies) => {
      answers.push((_req, res) => json(res, 200, strategies));
      const error = await failure(
        new UnleashControlPlane({ token: TOKEN, url: receiver.url }).setRollout('checkout', 25),
      );
      expect(error?.code).toBe('SY_CONTROL_PLANE');
      expect(error?.message).toMatch(/flag "checkout".*"default" strategy/);
      expect(receiver.requests.map((r) => r.method)).toEqual(['GET']);
    },
  );

  it('a rollout that is not a whole percentage is refused before any request (SDKs that read it as an integer serve 0%)', async () => {
    // Unleash's rollout parameter is a percentage 0-100; the Ruby SDK reads "12.5" with Integer()
    // and, failing, enables no unit, while the Node SDK enables 12%.
    const error = await failure(
      new UnleashControlPlane({ token: TOKEN, url: receiver.url }).setRollout('checkout', 12.5),
    );
    expect(error?.code).toBe('SY_CONTROL_PLANE');
    expect(error?.message).toMatch(/whole percentages; 12\.5 is not one/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('a standard strategy that is disabled, or constrained to some units, does not stand in the way', async () => {
    answers.push((_req, res) =>
      json(res, 200, [
        strategy('default', { disabled: true }),
        strategy('default', { id: 's-beta', constraints: [{ contextName: 'userId', operator: 'IN', values: ['a'] }] }),
      ]),
    );
    await new UnleashControlPlane({ token: TOKEN, url: receiver.url }).setRollout('checkout', 25);
    expect(receiver.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
  });

  it('flexibleRollouts that are all disabled would serve no unit: SY_CONTROL_PLANE naming them, and nothing is changed', async () => {
    answers.push((_req, res) =>
      json(res, 200, [
        strategy('flexibleRollout', { id: 's-a', disabled: true }),
        strategy('flexibleRollout', { id: 's-b', disabled: true }),
      ]),
    );
    const error = await failure(
      new UnleashControlPlane({ token: TOKEN, url: receiver.url }).setRollout('checkout', 25),
    );
    expect(error?.code).toBe('SY_CONTROL_PLANE');
    expect(error?.message).toMatch(
      /flag "checkout".*in development is disabled \(s-a, s-b\).*enable one or remove them/,
    );
    expect(receiver.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('a disabled flexibleRollout beside an enabled one is updated too and stays disabled', async () => {
    answers.push((_req, res) =>
      json(res, 200, [
        strategy('flexibleRollout', { id: 's-off', disabled: true, sortOrder: 2 }),
        strategy('flexibleRollout', { id: 's-on', disabled: false, sortOrder: 1 }),
      ]),
    );
    await new UnleashControlPlane({ token: TOKEN, url: receiver.url }).setRollout('checkout', 25);
    expect(receiver.requests.map((r) => [r.method, r.path.split('/').at(-1)])).toEqual([
      ['GET', 'strategies'],
      ['PUT', 's-off'],
      ['PUT', 's-on'],
    ]);
    expect(receiver.requests.slice(1).map(body)).toMatchObject([
      { disabled: true, sortOrder: 2, parameters: { rollout: '25' } },
      { disabled: false, sortOrder: 1, parameters: { rollout: '25' } },
    ]);
  });
});

/**
 * Instances sharing one state (a state file in a new directory), each with a Split control
 * plane of its own against the fake vendor, as two processes have: make() starts one.
 */
function twoProcesses(name: string) {
  const dir = mkdtempSync(join(tmpdir(), name));
  const config = {
    feature_flags: { provider: 'memory' },
    exposures: { enabled: false, dir },
    experiments: { checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
  };
  const make = (logger?: Logger) =>
    createSwitchyard({
      config,
      provider: Object.assign(new MemoryProvider({}), {
        controlPlane: new SplitControlPlane({
          token: TOKEN,
          workspaceId: 'ws-1',
          environmentId: 'env-9',
          baseUrl: receiver.url,
        }),
      }) satisfies HasControlPlane,
      statePollIntervalMs: 50,
      ...(logger ? { logger } : {}),
    });
  return { dir, make };
}

describe('a kill and an unkill from two processes, the kill landing at the vendor last', () => {
  it('the slower call follows the decision in force once it got there: the vendor ends where switchyard is', async () => {
    const { dir, make } = twoProcesses('sy-cp-race-');
    const infos: string[] = [];
    const a = await make({ debug() {}, info: (m: string) => void infos.push(m), warn() {}, error() {} });
    const b = await make();
    try {
      // A's kill waits out a 429; meanwhile B unkills, and B's restore reaches the vendor first.
      answers = [(_req, res) => json(res, 429, { message: 'rate limited' }, { 'retry-after': '1' })];
      const kill = a.kill('checkout', 'error rate');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const unkill = b.unkill('checkout', 'false alarm');
      expect(await unkill.vendor).toMatchObject({ scope: 'vendor' });
      expect(await kill.vendor).toMatchObject({ scope: 'vendor' });
      const paths = receiver.requests.map((r) => r.path.split('/').at(-1));
      // kill (429), restore (B), kill (A, after the wait), then restore again (A follows B's unkill).
      expect(paths).toEqual(['kill', 'restore', 'kill', 'restore']);
      expect(a.killRecord('checkout')?.killed).toBe(false);
      expect(infos).toEqual([
        expect.stringContaining('the decision on flag "checkout" changed while it was turned off: turning it on'),
      ]);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an unkill and a kill from two processes, the unkill landing at the vendor last', () => {
  it('the slower unkill follows the kill in force once it got there: the vendor ends with the flag off', async () => {
    const { dir, make } = twoProcesses('sy-cp-race-unkill-');
    const a = await make();
    const b = await make();
    try {
      // A's unkill waits out a 429; meanwhile B kills, and B's kill reaches the vendor first.
      answers = [(_req, res) => json(res, 429, { message: 'rate limited' }, { 'retry-after': '1' })];
      const unkill = a.unkill('checkout', 'false alarm');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const kill = b.kill('checkout', 'error rate');
      expect(await kill.vendor).toMatchObject({ scope: 'vendor' });
      expect(await unkill.vendor).toMatchObject({ scope: 'vendor' });
      // restore (429), kill (B), restore (A, after the wait), then kill again (A follows B's kill).
      expect(receiver.requests.map((r) => r.path.split('/').at(-1))).toEqual(['restore', 'kill', 'restore', 'kill']);
      expect(a.killRecord('checkout')?.killed).toBe(true);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('following the decision in force is bounded', () => {
  it('a decision that moves at every read is followed 3 times, then the change stands', async () => {
    const calls: string[] = [];
    const plane: ControlPlane = {
      vendor: 'fake',
      turnOff: async () => void calls.push('off'),
      turnOn: async () => void calls.push('on'),
      setRollout: async () => {},
    };
    // Each read says the opposite of what was sent last (two processes flipping the flag without end);
    // past 20 reads it fails, which ends a follow that has no bound.
    let reads = 0;
    const inForce = async () => {
      if (++reads > 20) throw new Error('read too often');
      return calls.at(-1) === 'off';
    };
    const scope = await killAtVendor(
      Object.assign(new MemoryProvider({}), { controlPlane: plane }),
      'checkout',
      silentLogger,
      [],
      inForce,
    );
    expect(scope).toEqual({ scope: 'vendor', vendor: 'fake', flag: 'checkout', followed: { on: true } });
    expect(calls).toEqual(['off', 'on', 'off', 'on']);
    expect(reads).toBe(3);
  });
});

describe('the decision in force, read from the shared state itself', () => {
  it("with a fleet: an unkill this instance never heard of (written to Redis, its message lost) is what the kill's vendor call follows", async () => {
    const prefix = randomPrefix();
    const infos: string[] = [];
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false, dir: mkdtempSync(join(tmpdir(), 'sy-cp-fleet-')) },
        fleet: { redis: SHARED_REDIS, prefix },
        experiments: { checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
      },
      provider: Object.assign(new MemoryProvider({}), {
        controlPlane: new SplitControlPlane({
          token: TOKEN,
          workspaceId: 'ws-1',
          environmentId: 'env-9',
          baseUrl: receiver.url,
        }),
      }) satisfies HasControlPlane,
      logger: { debug() {}, info: (m: string) => void infos.push(m), warn() {}, error() {} },
    });
    const redis = new Redis(SHARED_REDIS);
    try {
      answers = [(_req, res) => json(res, 429, { message: 'rate limited' }, { 'retry-after': '1' })];
      const kill = sy.kill('checkout', 'error rate');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const unkill = {
        experiment: 'checkout',
        killed: false,
        reason: 'false alarm',
        by: 'ops',
        at: kill.at + 1,
        origin: 'ops:1',
      };
      await redis.hset(`${prefix}:kills`, 'checkout', JSON.stringify(unkill));
      expect(sy.killRecord('checkout')?.killed).toBe(true);
      expect(await kill.vendor).toMatchObject({ scope: 'vendor' });
      expect(receiver.requests.map((r) => r.path.split('/').at(-1))).toEqual(['kill', 'kill', 'restore']);
      expect(sy.killRecord('checkout')).toEqual(unkill);
      expect(infos).toContainEqual(expect.stringContaining('turning it on, as the decision in force says'));
    } finally {
      redis.disconnect();
      await sy.close();
      await deletePrefix(prefix);
    }
  });

  it('readKillRecord reads the record in force from the state file, and from Redis with a fleet', async () => {
    const prefix = randomPrefix();
    const dir = mkdtempSync(join(tmpdir(), 'sy-cp-read-'));
    // A flag named apart from the experiment: the record is kept under the experiment's key.
    const experiments = {
      checkout: { flag: 'checkout-flag', variants: { control: { weight: 50 }, treatment: { weight: 50 } } },
    };
    try {
      for (const config of [
        validateConfigObject({ exposures: { enabled: false, dir }, experiments }),
        validateConfigObject({
          exposures: { enabled: false, dir },
          fleet: { redis: SHARED_REDIS, prefix },
          experiments,
        }),
      ]) {
        expect(await readKillRecord(config, 'checkout')).toBeUndefined();
        await changeKillState(config, { experiment: 'checkout', killed: true, reason: 'r1', by: 'ops', at: 1000 });
        await changeKillState(config, { experiment: 'checkout', killed: false, reason: 'r2', by: 'ops', at: 2000 });
        expect(await readKillRecord(config, 'checkout')).toMatchObject({ killed: false, reason: 'r2', at: 2000 });
      }
    } finally {
      await deletePrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kills and unkills through the facade reach the vendor in the order they were decided', () => {
  it('an unkill made while the kill waits out a 429 leaves the flag on at the vendor, as in switchyard', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cp-order-'));
    const plane = new SplitControlPlane({
      token: TOKEN,
      workspaceId: 'ws-1',
      environmentId: 'env-9',
      baseUrl: receiver.url,
    });
    const provider = Object.assign(new MemoryProvider({}), { controlPlane: plane }) satisfies HasControlPlane;
    const infos: string[] = [];
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory' },
        exposures: { enabled: false, dir },
        experiments: { checkout: { variants: { control: { weight: 50 }, treatment: { weight: 50 } } } },
      },
      provider,
      logger: { debug() {}, info: (m: string) => void infos.push(m), warn() {}, error() {} },
    });
    try {
      answers = [(_req, res) => json(res, 429, { message: 'rate limited' }, { 'retry-after': '1' })];
      const kill = sy.kill('checkout', 'error rate');
      const unkill = sy.unkill('checkout', 'false alarm');
      expect(await kill.vendor).toMatchObject({ scope: 'vendor' });
      expect(await unkill.vendor).toMatchObject({ scope: 'vendor' });
      expect(sy.killRecord('checkout')?.killed).toBe(false);
      // kill (429), kill (after the wait), restore: the kill does not follow the unkill queued
      // behind it (that one is sent anyway), and nothing says another process decided.
      expect(receiver.requests.map((r) => r.path.split('/').at(-1))).toEqual(['kill', 'kill', 'restore']);
      expect(infos).toEqual([]);
      // What the vendor did last is what it serves now.
      expect(receiver.requests.at(-1)!.path).toBe(
        '/internal/api/v2/splits/ws/ws-1/checkout/environments/env-9/restore',
      );
    } finally {
      await sy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
