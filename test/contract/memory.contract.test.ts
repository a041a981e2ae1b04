/**
 * The memory adapter through the provider contract: the neutral flags become OpenFeature
 * in-memory flags, with targeting and rollouts as context evaluators.
 */
import { memory } from '../helpers/vendors.js';
import { providerContract } from './provider-contract.js';

providerContract('memory', memory);
