/**
 * The LaunchDarkly adapter through the provider contract, on the official SDK with its
 * offline TestData source: each neutral flag becomes a real LaunchDarkly flag
 * configuration (test/helpers/launchdarkly-flags.ts), evaluated by the SDK itself.
 */
import { launchdarkly } from '../helpers/vendors.js';
import { providerContract } from './provider-contract.js';

providerContract('launchdarkly', launchdarkly);
