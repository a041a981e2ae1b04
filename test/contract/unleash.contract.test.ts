/**
 * The Unleash adapter through the provider contract, on the official SDK (`unleash-client`)
 * polling a local server that answers Unleash's client API (`/api/client/features`) with
 * real flag definitions: flexibleRollout strategies, constraints, variants with payloads.
 * The same adapter against a real Unleash server: test/integration/unleash-server.test.ts.
 */
import { unleash } from '../helpers/vendors.js';
import { providerContract } from './provider-contract.js';

providerContract('unleash', unleash);
