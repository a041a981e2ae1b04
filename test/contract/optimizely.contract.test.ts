/**
 * The Optimizely adapter through the provider contract, on the official SDK: once with a
 * static datafile, once polling the datafile from a local HTTP server (the way it polls
 * Optimizely's CDN), which is also how a flag change arrives.
 */
import { optimizely, optimizelyStatic } from '../helpers/vendors.js';
import { providerContract } from './provider-contract.js';

providerContract('optimizely (static datafile)', optimizelyStatic, {
  change: 'a static datafile never changes; the polled variant of this suite covers changes',
});
providerContract('optimizely (datafile polled over HTTP)', optimizely);
