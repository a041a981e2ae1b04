/**
 * The Split adapter through the provider contract, on the official SDK pointed (its
 * `urls` options) at a local HTTP server that serves Split's real splitChanges and
 * segmentChanges JSON, with streaming off and a fast poll so a flag change arrives.
 */
import { SplitProvider } from 'switchyard/adapters/split';
import { SplitServer } from '../helpers/split-server.js';
import { providerContract } from './provider-contract.js';

providerContract('split', async (flags) => {
  const server = await new SplitServer(flags).start();
  const provider = new SplitProvider({ sdkKey: 'contract-sdk-key', urls: server.urls(), streaming: false, featuresRefreshRate: 0.1, segmentsRefreshRate: 0.1 });
  return {
    provider,
    update: async (flag) => server.set(flag),
    close: async () => {
      await provider.onClose();
      await server.stop();
    },
  };
});
