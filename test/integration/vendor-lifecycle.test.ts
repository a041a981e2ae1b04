/**
 * Vendor lifecycle, in a child process per case so "the process exits by itself" is what
 * is checked: no stray timers or sockets after close(), also when the vendor endpoint is
 * unreachable (initialize gives up at init_timeout_ms; evaluations answer the control
 * with PROVIDER_NOT_READY, never a hang), and the SDK key never appears in what the
 * process reports. A vendor down at start recovers when it comes back.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderEvents } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard } from 'switchyard';
import { OptimizelyProvider } from 'switchyard/adapters/optimizely';
import { SplitProvider } from 'switchyard/adapters/split';
import { CONTRACT_FLAGS } from '../contract/flags.js';
import { launchDarklyFlag } from '../helpers/launchdarkly-flags.js';
import { Receiver } from '../helpers/receiver.js';
import { optimizelyDatafile } from '../helpers/optimizely-datafile.js';
import { SplitServer } from '../helpers/split-server.js';
import { unleashFeature } from '../helpers/unleash-features.js';
import { privateStateDir } from '../helpers/state-dir.js';

const SDK_KEY = 'sdk-live-secret-7f3a9c';

/** One local server answering each vendor's documented endpoints. */
class VendorEndpoints extends SplitServer {
  constructor() {
    super(CONTRACT_FLAGS);
    const split = this.receiver.respond;
    this.receiver.respond = (req, res) => {
      const json = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      // LaunchDarkly polling: GET /sdk/latest-all answers { flags, segments }.
      if (req.path.startsWith('/sdk/latest-all'))
        return json({
          flags: Object.fromEntries(CONTRACT_FLAGS.map((f) => [f.key, launchDarklyFlag(f)])),
          segments: {},
        });
      if (req.path.startsWith('/datafiles/')) return json(optimizelyDatafile(CONTRACT_FLAGS));
      // Unleash's client API: GET /api/client/features answers { version, features }.
      if (req.path.startsWith('/api/client/features'))
        return json({ version: 2, features: CONTRACT_FLAGS.map((f) => unleashFeature(f)) });
      // An Unleash server that holds the request for 2.5 s and then refuses the token: the
      // answer arrives after close() has destroyed the client.
      if (req.path.startsWith('/slow-unleash/')) {
        setTimeout(() => {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end('{"message":"invalid token"}');
        }, 2500);
        return;
      }
      return split(req, res);
    };
  }
}

interface ChildReport {
  variant: string;
  reason: string;
  errorCode: string | null;
  errors: string[];
  sdkKeySeen: boolean;
  ms: number;
}

function runChild(
  vendor: string,
  base: string,
): Promise<{ code: number | null; report: ChildReport; elapsed: number; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), `sy-life-${vendor}-`));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/vendor-lifecycle-child.ts'], {
      env: { ...process.env, VENDOR: vendor, BASE: base, DIR: dir, SDK_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // The process must leave on its own; 20 s is far beyond any timer the adapters set.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve({ code, report: JSON.parse(line) as ChildReport, elapsed: Date.now() - started, stderr: err });
      } catch {
        reject(new Error(`child ${vendor} (exit ${code}) printed no report: ${out}\n${err}`));
      }
    });
  });
}

const server = new VendorEndpoints();
beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

describe('vendor lifecycle (each in its own process)', () => {
  describe.each(['launchdarkly', 'optimizely', 'split', 'unleash'])('%s', (vendor) => {
    it('starts against the vendor endpoint, evaluates, closes, and the process exits by itself', async () => {
      const { code, report, stderr } = await runChild(vendor, server.url);
      expect(code).toBe(0);
      expect(report).toMatchObject({ reason: 'SPLIT', errorCode: null, errors: [] });
      expect(['on', 'off']).toContain(report.variant);
      expect(report.sdkKeySeen).toBe(false);
      expect(stderr).not.toContain(SDK_KEY);
    }, 30_000);

    it('with the endpoint unreachable: gives up at init_timeout_ms, answers control with PROVIDER_NOT_READY, exits by itself', async () => {
      const { code, report, stderr } = await runChild(vendor, 'http://127.0.0.1:9');
      expect(code).toBe(0);
      expect(report).toMatchObject({ variant: 'off', reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
      expect(report.errors.join('\n')).toMatch(/SY_PROVIDER_NOT_READY/);
      expect(report.ms).toBeLessThan(10_000);
      expect(report.sdkKeySeen).toBe(false);
      expect(stderr).not.toContain(SDK_KEY);
    }, 30_000);
  });
});

/** Every path answers 200 with a web page: a proxy's login page, or a URL that is the vendor's site, not its API. */
const webPage = new Receiver();
webPage.respond = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<html><body>Please sign in</body></html>');
};
beforeAll(async () => {
  await webPage.start();
});
afterAll(async () => {
  await webPage.stop();
});

describe('a vendor endpoint that answers a web page instead of flags', () => {
  // Optimizely's SDK fails for good on a datafile that is not JSON; its onReady() timer then
  // stays armed (2^31-1 ms) and its close() never settles, so the process could not exit.
  it.each(['launchdarkly', 'optimizely', 'split', 'unleash'])(
    '%s: answers control with PROVIDER_NOT_READY, closes, and the process exits by itself',
    async (vendor) => {
      const { code, report, stderr } = await runChild(vendor, webPage.url);
      expect(code).toBe(0);
      expect(report).toMatchObject({ variant: 'off', reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
      expect(report.sdkKeySeen).toBe(false);
      expect(stderr).not.toContain(SDK_KEY);
    },
    30_000,
  );

  it("optimizely: the adapter's own close() settles after the SDK failed to start", async () => {
    const provider = new OptimizelyProvider({
      sdkKey: SDK_KEY,
      urlTemplate: `${webPage.url}/datafiles/%s.json`,
      initTimeoutMs: 5000,
    });
    await expect(provider.initialize()).rejects.toThrow();
    const closed = await Promise.race([
      provider.onClose().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still closing after 3 s'), 3000).unref()),
    ]);
    expect(closed).toBe('closed');
  });
});

describe('unleash closed while its client waits on the server', () => {
  // unleash-client's destroy() removes its repository's listeners while a fetch may be in
  // flight; the fetch's later failure is re-emitted as 'error' with nobody listening, which
  // throws from the SDK's own code and ends the process. The adapter guards that.
  it('close() returns at once, the late failure is harmless, and the process exits by itself with code 0', async () => {
    const { code, report, stderr, elapsed } = await runChild('unleash', `${server.url}/slow-unleash`);
    expect(code).toBe(0);
    expect(report).toMatchObject({ variant: 'off', reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
    expect(report.ms).toBeLessThan(2500);
    expect(elapsed).toBeGreaterThan(2500);
    expect(stderr).not.toContain(SDK_KEY);
    expect(stderr).not.toMatch(/Unhandled|Error:/);
  }, 30_000);
});

describe('a vendor that is down at start', () => {
  it('answers control with PROVIDER_NOT_READY, then serves variants once the SDK gets ready (READY event)', async () => {
    const server = await new SplitServer(CONTRACT_FLAGS).start();
    server.failing = true;
    const provider = new SplitProvider({
      sdkKey: SDK_KEY,
      urls: server.urls(),
      streaming: false,
      featuresRefreshRate: 0.1,
      segmentsRefreshRate: 0.1,
      initTimeoutMs: 300,
    });
    const sy = await createSwitchyard({
      config: {
        feature_flags: { provider: 'memory', init_timeout_ms: 1000 },
        exposures: { enabled: false, dir: privateStateDir() },
        experiments: {
          checkout: { flag: 'bool-flag', control: 'off', variants: { off: { weight: 50 }, on: { weight: 50 } } },
        },
      },
      provider,
    });
    try {
      expect(await sy.getVariant('bool-flag', { targetingKey: 'u1' })).toMatchObject({
        variant: 'off',
        errorCode: 'PROVIDER_NOT_READY',
      });
      const ready = new Promise<void>((resolve) => sy.openfeature.addHandler(ProviderEvents.Ready, () => resolve()));
      server.failing = false;
      await ready;
      const after = await sy.getVariant('bool-flag', { targetingKey: 'u1' });
      expect(after).toMatchObject({ reason: 'SPLIT', inExperiment: true });
      expect(after.errorCode).toBeUndefined();
    } finally {
      await sy.close();
      await server.stop();
    }
  }, 20_000);
});
