/**
 * `switchyard ramp`: the YAML is edited in place (comments, quoting, key order and layout
 * survive; only the value changes), validated as a service would load it, written
 * atomically, and a service running in another process picks the new percentage up by
 * hot reload. Refusals leave the file byte for byte as it was.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assign, compilePlan, parseConfig } from 'switchyard';
import { cli } from '../../helpers/cli.js';
import { Receiver } from '../../helpers/receiver.js';

const CONFIG = `# checkout service flags
feature_flags:
  provider: memory   # in-memory for the test
exposures: { enabled: false }
experiments:
  # the new checkout
  checkout:
    flag: checkout-gate
    variants:
      control:   { weight: 50 }   # aligned on purpose
      treatment: { weight: 50, payload: { layout: "one-page" } }
    allocation:
      percent: 10   # ops ramp this
      mode: fixed
  search:
    control: a
    variants: { a: { weight: 50 }, b: { weight: 50 } }
    allocation:
      mode: gradual
      start: "2026-12-01T09:00:00Z"
      schedule: [{ percent: 5, dwell: 1d }, { percent: 100 }]
`;

function fixture(text = CONFIG): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-ramp-'));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, text);
  return file;
}

describe('switchyard ramp', () => {
  it('changes only the value: comments, alignment, quoting and key order survive', async () => {
    const file = fixture();
    const r = await cli('ramp', 'checkout', '--to', '25', '--config', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${file}: checkout: allocation.percent 10 -> 25\n`);
    expect(readFileSync(file, 'utf8')).toBe(
      CONFIG.replace('percent: 10   # ops ramp this', 'percent: 25   # ops ramp this'),
    );
    expect(readdirSync(join(file, '..'))).toEqual(['switchyard.yaml']);
  });

  it('adds allocation.percent when the experiment has none, keeping the comments', async () => {
    const file = fixture(CONFIG.replace('      percent: 10   # ops ramp this\n', ''));
    expect((await cli('ramp', 'checkout', '--to', '30', '--config', file)).code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# the new checkout');
    expect(text).toContain('# in-memory for the test');
    expect(text).toMatch(/allocation:\n\s+mode: fixed\n\s+percent: 30\n/);
  });

  it('adds allocation.percent as one new line: line endings, alignment and long lines elsewhere stay as written', async () => {
    const long = `hypothesis: "${'a long hypothesis, '.repeat(6)}well past eighty columns"`;
    const withoutPercent = CONFIG.replace('      percent: 10   # ops ramp this\n', '')
      .replace('      mode: fixed\n', '      mode:   fixed   # aligned too\n')
      .replace('    flag: checkout-gate\n', `    flag: checkout-gate\n    ${long}\n`);
    for (const eol of ['\n', '\r\n']) {
      const file = fixture(withoutPercent.replaceAll('\n', eol));
      const r = await cli('ramp', 'checkout', '--to', '30', '--config', file);
      expect(r.err).toBe('');
      expect(readFileSync(file, 'utf8')).toBe(
        withoutPercent
          .replace('      mode:   fixed   # aligned too\n', '      mode:   fixed   # aligned too\n      percent: 30\n')
          .replaceAll('\n', eol),
      );
    }
  });

  it('adds percent to a flow-style allocation, and an allocation to an experiment without one, in place', async () => {
    const flow = CONFIG.replace(
      '    allocation:\n      percent: 10   # ops ramp this\n      mode: fixed\n',
      '    allocation: { mode: fixed }   # note\n',
    );
    const file = fixture(flow);
    expect((await cli('ramp', 'checkout', '--to', '30', '--config', file)).err).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(flow.replace('{ mode: fixed }', '{ mode: fixed, percent: 30 }'));

    const none = CONFIG.replace('    allocation:\n      percent: 10   # ops ramp this\n      mode: fixed\n', '');
    const other = fixture(none);
    expect((await cli('ramp', 'checkout', '--to', '40', '--config', other)).err).toBe('');
    expect(readFileSync(other, 'utf8')).toBe(
      none.replace(
        '      treatment: { weight: 50, payload: { layout: "one-page" } }\n',
        '      treatment: { weight: 50, payload: { layout: "one-page" } }\n    allocation: { percent: 40 }\n',
      ),
    );
  });

  it('--dry-run prints the diff and writes nothing', async () => {
    const file = fixture();
    const r = await cli('ramp', 'checkout', '--to', '50', '--config', file, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '@@ -13,1 +13,1 @@\n-      percent: 10   # ops ramp this\n+      percent: 50   # ops ramp this\n',
    );
    expect(r.out).toContain('dry run: nothing written');
    expect(readFileSync(file, 'utf8')).toBe(CONFIG);
  });

  it("refuses 150 with the validator's located error and leaves the file untouched", async () => {
    const file = fixture();
    const r = await cli('ramp', 'checkout', '--to', '150', '--config', file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `${file}:13:16 experiments.checkout.allocation.percent: expected a value <= 100, found 150`,
    );
    expect(readFileSync(file, 'utf8')).toBe(CONFIG);
    expect(readdirSync(join(file, '..'))).toEqual(['switchyard.yaml']);
  });

  it('no ramp reshuffles: down and up again, every unit in the experiment keeps its variant, so the reshuffle guard passes', async () => {
    // The ranges grow from fixed starts (src/allocation/plan.ts), so a percent change only adds
    // or removes units; the guard ramp runs (salt, variant order) cannot trip on one. Checked here
    // on 5000 units across a sweep of ramps, each accepted and written.
    const file = fixture();
    const units = Array.from({ length: 5000 }, (_, i) => `unit-${i}`);
    const variants = (): (string | undefined)[] => {
      const exp = parseConfig(readFileSync(file, 'utf8'), file).experiments.get('checkout')!;
      const plan = compilePlan(exp);
      return units.map((u) => plan.variants[assign(plan, u, plan.fixedCoverage)]);
    };
    let before = variants();
    for (const to of [25, 5, 0, 60, 1, 100, 30]) {
      const r = await cli('ramp', 'checkout', '--to', String(to), '--config', file);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const after = variants();
      const inBoth = units.filter((_, i) => before[i] !== undefined && after[i] !== undefined);
      for (const u of inBoth) expect(after[units.indexOf(u)]).toBe(before[units.indexOf(u)]);
      expect(after.filter((v) => v !== undefined).length / units.length).toBeCloseTo(to / 100, 1);
      before = after;
    }
  });

  it('writes through a symlink to the file it names, keeping its mode (a ConfigMap, a config kept elsewhere)', async () => {
    const file = fixture();
    chmodSync(file, 0o600);
    const dir = mkdtempSync(join(tmpdir(), 'sy-ramp-link-'));
    const link = join(dir, 'switchyard.yaml');
    symlinkSync(file, link);
    const r = await cli('ramp', 'checkout', '--to', '25', '--config', link);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // A service watching either path sees the change; the link still names the file.
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(
      CONFIG.replace('percent: 10   # ops ramp this', 'percent: 25   # ops ramp this'),
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(file, '..'))).toEqual(['switchyard.yaml']);
    expect(readdirSync(dir)).toEqual(['switchyard.yaml']);
  });

  it('refuses a gradual experiment, an unknown one and a non-number, file untouched', async () => {
    const file = fixture();
    expect((await cli('ramp', 'search', '--to', '20', '--config', file)).err).toMatch(/gradual allocation.*schedule/);
    expect((await cli('ramp', 'nope', '--to', '20', '--config', file)).err).toMatch(
      /no experiment "nope".*checkout, search/,
    );
    expect((await cli('ramp', 'checkout', '--to', 'lots', '--config', file)).code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe(CONFIG);
  });

  it('refuses --to in any notation but decimal (0x10 is not 16%), exit 2, file untouched', async () => {
    const file = fixture();
    for (const to of ['0x10', '0b1', '0o17', '1e1', 'Infinity', ''])
      expect((await cli('ramp', 'checkout', '--to', to, '--config', file)).code, to).toBe(2);
    // The message goes to the real stderr (commander's), so it is read from a real CLI process.
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'ramp', 'checkout', '--to', '0x10', '--config', file],
      { encoding: 'utf8' },
    );
    expect(child.status).toBe(2);
    expect(child.stderr).toContain('--to must be a percentage written in decimal (e.g. 25 or 2.5), found "0x10"');
    expect(child.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(file, 'utf8')).toBe(CONFIG);
  });

  it('a service running in another process picks the new percentage up', async () => {
    const file = fixture();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/ramp-service-child.ts'], {
      env: { ...process.env, CONFIG: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const shares: number[] = [];
    let waiting: ((share: number) => void) | undefined;
    let buffer = '';
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const share = (JSON.parse(line) as { share: number }).share;
        shares.push(share);
        waiting?.(share);
      }
    });
    const until = (ok: (share: number) => boolean) =>
      new Promise<number>((resolve, reject) => {
        const last = shares.at(-1);
        if (last !== undefined && ok(last)) return resolve(last);
        const timer = setTimeout(() => reject(new Error(`shares seen: ${shares.join(', ')}`)), 20_000);
        waiting = (share) => {
          if (ok(share)) {
            clearTimeout(timer);
            resolve(share);
          }
        };
      });
    try {
      expect(await until((s) => s > 0)).toBeCloseTo(0.1, 1);
      expect((await cli('ramp', 'checkout', '--to', '60', '--config', file)).code).toBe(0);
      expect(await until((s) => s > 0.4)).toBeCloseTo(0.6, 1);
    } finally {
      child.kill('SIGKILL');
    }
  }, 40_000);
});

describe('switchyard ramp on shared YAML (anchors, aliases, merge keys)', () => {
  const shared = (body: string) =>
    fixture(`feature_flags: { provider: memory }
exposures: { enabled: false }
experiments:
${body}`);

  it.each([
    [
      'a percent anchored and aliased by another experiment',
      `  checkout:
    variants: { control: { weight: 50 }, treatment: { weight: 50 } }
    allocation: { mode: fixed, percent: &p 10 }
  search:
    variants: { control: { weight: 50 }, b: { weight: 50 } }
    allocation: { mode: fixed, percent: *p }
`,
      /would also change experiments\.search\.allocation\.percent/,
    ],
    [
      'an allocation that comes from a merge key',
      `  checkout:
    <<: &common
      allocation: { mode: fixed, percent: 10 }
    variants: { control: { weight: 50 }, treatment: { weight: 50 } }
  search:
    <<: *common
    variants: { control: { weight: 50 }, b: { weight: 50 } }
`,
      /would also change experiments\.checkout\.allocation \(/,
    ],
  ])('%s: refused, exit 2, the file byte for byte as it was', async (_name, body, why) => {
    const file = shared(body);
    const before = readFileSync(file, 'utf8');
    const r = await cli('ramp', 'checkout', '--to', '30', '--config', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(why);
    expect(r.err).toMatch(/edit the file by hand/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('an anchor used nowhere else is edited as any value', async () => {
    const file = shared(`  checkout:
    variants: { control: { weight: 50 }, treatment: { weight: 50 } }
    allocation: { mode: fixed, percent: &p 10 }
`);
    expect((await cli('ramp', 'checkout', '--to', '30', '--config', file)).code).toBe(0);
    expect(parseConfig(readFileSync(file, 'utf8')).experiments.get('checkout')!.allocation.percent).toBe(30);
  });
});

describe('switchyard ramp --vendor, the vendor refusing', () => {
  it('exits 1 saying the config file was changed but the vendor’s rollout was not, with no token', async () => {
    const receiver = await new Receiver().start();
    receiver.mode = 'error';
    process.env.SY_TEST_RAMP_ADMIN = 'admin-token-7f3a9c';
    process.env.SY_TEST_RAMP_CLIENT = 'client-token-5b1d';
    try {
      const file = fixture(`feature_flags:
  provider: unleash
  unleash:
    url: ${receiver.url}/api
    client_token: "\${SY_TEST_RAMP_CLIENT}"
    control_plane: { token: "\${SY_TEST_RAMP_ADMIN}" }
exposures: { enabled: false }
experiments:
  checkout:
    variants: { control: { weight: 50 }, treatment: { weight: 50 } }
    allocation: { mode: fixed, percent: 10 }
`);
      const r = await cli('ramp', 'checkout', '--to', '30', '--config', file, '--vendor');
      expect(r.code).toBe(1);
      expect(r.out).toContain('checkout: allocation.percent 10 -> 30');
      expect(r.err).toMatch(
        /^SY_CONTROL_PLANE: the config file was changed \(checkout: allocation\.percent 30\), but the vendor's rollout was not: /,
      );
      expect(`${r.out}${r.err}`).not.toMatch(/admin-token|client-token/);
      expect(
        parseConfig(readFileSync(file, 'utf8'), file, { env: process.env }).experiments.get('checkout')!.allocation
          .percent,
      ).toBe(30);
    } finally {
      delete process.env.SY_TEST_RAMP_ADMIN;
      delete process.env.SY_TEST_RAMP_CLIENT;
      await receiver.stop();
    }
  });
});
