/**
 * The Optimizely adapter through the provider contract, on the official SDK: once with a
 * static datafile, once polling the datafile from a local HTTP server (the way it polls
 * Optimizely's CDN), which is also how a flag change arrives.
 */
import { OptimizelyProvider } from 'switchyard/adapters/optimizely';
import { optimizelyDatafile } from '../helpers/optimizely-datafile.js';
import { Receiver } from '../helpers/receiver.js';
import type { ContractFlag } from './flags.js';
import { providerContract } from './provider-contract.js';

/** Serves the current datafile at /datafiles/<sdk key>.json, as Optimizely's CDN does. */
async function datafileServer(flags: ContractFlag[]) {
  const current = new Map(flags.map((f) => [f.key, f]));
  let revision = 1;
  let body = JSON.stringify(optimizelyDatafile([...current.values()], revision));
  const receiver = new Receiver();
  receiver.respond = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };
  await receiver.start();
  return {
    receiver,
    url: `http://127.0.0.1:${receiver.port}/datafiles/%s.json`,
    update(flag: ContractFlag) {
      current.set(flag.key, flag);
      body = JSON.stringify(optimizelyDatafile([...current.values()], ++revision));
    },
  };
}

providerContract(
  'optimizely (static datafile)',
  async (flags) => {
    const provider = new OptimizelyProvider({ datafile: optimizelyDatafile(flags) });
    return { provider, update: async () => {}, close: async () => {} };
  },
  { change: 'a static datafile never changes; the polling variant of this suite covers changes' },
);

providerContract('optimizely (datafile polled over HTTP)', async (flags) => {
  const server = await datafileServer(flags);
  const provider = new OptimizelyProvider({ sdkKey: 'contract-sdk-key', urlTemplate: server.url, updateIntervalMs: 100 });
  return {
    provider,
    update: async (flag) => server.update(flag),
    close: async () => {
      await provider.onClose();
      await server.receiver.stop();
    },
  };
});
