/**
 * ULIDs (https://github.com/ulid/spec): 48-bit millisecond time + 80 random bits,
 * Crockford base32, 26 characters, sortable by time. Written here rather than taken from
 * the `ulid` package because id generation runs once per event at flush, and the
 * package costs about 400 ns an id (a crypto call or a string rebuild per character);
 * this costs a few tens. The time prefix is cached per millisecond and the randomness
 * comes from a pooled crypto.randomFillSync. Tests check the format and the timestamps
 * against the `ulid` package's decoder.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const pool = new Uint8Array(16 * 1024);
let next = pool.length;
let cachedMs = -1;
let cachedPrefix = '';

function timePrefix(ms: number): string {
  if (ms === cachedMs) return cachedPrefix;
  let t = ms;
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  cachedMs = ms;
  cachedPrefix = out;
  return out;
}

/** A new ULID for an event at `ms` (milliseconds since the epoch). */
export function ulid(ms: number): string {
  if (next + 16 > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[pool[next++]! & 31];
  return timePrefix(ms) + random;
}
