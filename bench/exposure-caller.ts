/**
 * One process of the caller-path benchmark (bench/exposure.ts runs several): prints the
 * measurement as JSON. Argument: calls between turns of the event loop (0: never).
 */
import { measureCallerPath } from './exposure.js';

console.log(JSON.stringify(await measureCallerPath(Number(process.argv[2] ?? 500))));
process.exit(0);
