/**
 * The Split adapter through the provider contract, on the official SDK pointed (its
 * `urls` options) at a local HTTP server that serves Split's real splitChanges and
 * segmentChanges JSON, with streaming off and a fast poll so a flag change arrives.
 */
import { split } from '../helpers/vendors.js';
import { providerContract } from './provider-contract.js';

providerContract('split', split);
