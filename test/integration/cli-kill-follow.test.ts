/**
 * `switchyard kill` / `unkill` with a control plane, another process's decision landing while
 * the CLI's vendor call is on its way: the vendor's flag follows the decision in force, read
 * from the shared state (the state file) once the CLI's change got there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { Receiver } from '../helpers/receiver.js';
import { changeKillState, loadConfigFile } from '../../src/index.js';

const ADMIN = 'admin-token-9d2e41c7';

let receiver: Receiver;
let dir: string;
let file: string;

beforeEach(async () => {
  receiver = await new Receiver().start();
  process.env.SY_TEST_FOLLOW_ADMIN = ADMIN;
  process.env.SY_TEST_FOLLOW_CLIENT = 'client-token-3a8f';
  dir = mkdtempSync(join(tmpdir(), 'sy-cli-follow-'));
  file = join(dir, 'switchyard.yaml');
  writeFileSync(
    file,
    [
      'feature_flags:',
      '  provider: unleash',
      '  unleash:',
      `    url: ${receiver.url}/api`,
      '    client_token: "${SY_TEST_FOLLOW_CLIENT}"',
      '    control_plane: { token: "${SY_TEST_FOLLOW_ADMIN}" }',
      `exposures: { enabled: false, dir: ${join(dir, 'state')} }`,
      'experiments:',
      '  checkout:',
      '    variants: { control: { weight: 50 }, treatment: { weight: 50 } }',
      '',
    ].join('\n'),
  );
});

afterEach(async () => {
  await receiver.stop();
  delete process.env.SY_TEST_FOLLOW_ADMIN;
  delete process.env.SY_TEST_FOLLOW_CLIENT;
  rmSync(dir, { recursive: true, force: true });
});

/** The last segment of each request's path: 'on' or 'off'. */
const sent = () => receiver.requests.map((r) => r.path.split('/').at(-1));

/** While the vendor answers the CLI's first call, another process decides `killed` (newer). */
function raceWith(killed: boolean): void {
  const ok = receiver.respond;
  let raced = false;
  receiver.respond = (req, res) => {
    if (raced) return ok(req, res);
    raced = true;
    const config = loadConfigFile(file);
    void changeKillState(config, {
      experiment: 'checkout',
      killed,
      reason: 'the other process',
      by: 'ops',
      // Newer than the CLI's record even within one millisecond.
      at: Date.now() + 1,
    }).then(() => ok(req, res));
  };
}

describe('switchyard kill / unkill with a control plane: the vendor follows the decision in force', () => {
  it('kill and unkill alone: one call each, in the direction decided, and no follow', async () => {
    const kill = await cli('kill', 'checkout', '--reason', 'errors up', '--config', file);
    expect(kill.err).toBe('');
    expect(kill.code).toBe(0);
    expect(sent()).toEqual(['off']);
    expect(kill.out).toContain('vendor: unleash turned flag "checkout" off\n');
    const unkill = await cli('unkill', 'checkout', '--config', file);
    expect(unkill.code).toBe(0);
    expect(sent()).toEqual(['off', 'on']);
    expect(unkill.out).toContain('vendor: unleash turned flag "checkout" on\n');
  });

  it("a kill whose vendor call lands after another process's unkill: the flag is turned on again", async () => {
    raceWith(false);
    const kill = await cli('kill', 'checkout', '--reason', 'errors up', '--config', file);
    expect(kill.code).toBe(0);
    expect(sent()).toEqual(['off', 'on']);
    expect(`${kill.out}${kill.err}`).not.toContain(ADMIN);
    // The output says where the flag was left, not only what was sent first.
    expect(kill.out).toContain(
      'vendor: unleash turned flag "checkout" off, then on: another decision was in force by the time it got there\n',
    );
    // In JSON, `followed` says so; a change that stays where it was sent has none.
    raceWith(false);
    const json = await cli('kill', 'checkout', '--reason', 'errors up', '--config', file, '--json');
    expect(JSON.parse(json.out).vendor).toEqual({
      scope: 'vendor',
      vendor: 'unleash',
      flag: 'checkout',
      followed: { on: true },
    });
    const plain = await cli('kill', 'checkout', '--reason', 'errors up', '--config', file, '--json');
    expect(JSON.parse(plain.out).vendor).toEqual({ scope: 'vendor', vendor: 'unleash', flag: 'checkout' });
  });

  it("an unkill whose vendor call lands after another process's kill: the flag is turned off again", async () => {
    await cli('kill', 'checkout', '--reason', 'errors up', '--config', file);
    receiver.requests.length = 0;
    raceWith(true);
    const unkill = await cli('unkill', 'checkout', '--config', file);
    expect(unkill.code).toBe(0);
    expect(sent()).toEqual(['on', 'off']);
    expect(unkill.out).toContain('vendor: unleash turned flag "checkout" on, then off: another decision was in force');
  });
});
