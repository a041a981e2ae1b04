/**
 * ULIDs (https://github.com/ulid/spec): 48-bit millisecond time + 80 random bits,
 * Crockford base32, 26 characters, sortable by time. Written here rather than taken from
 * the `ulid` package because an id is made for every event at flush, and the package
 * costs about 400 ns an id (a crypto call or a string rebuild per character). These are
 * written as bytes straight into the line being encoded: the time part is cached per
 * millisecond and the randomness comes from a pooled crypto.randomFillSync. Tests check
 * the format and the timestamps against the `ulid` package's decoder.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = Uint8Array.from('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (c) => c.charCodeAt(0));
const pool = new Uint8Array(16 * 1024);
let next = pool.length;
let cachedMs = -1;
const timePart = new Uint8Array(10);

/** Writes a new ULID for an event at `ms` (milliseconds since the epoch) as 26 ASCII bytes at `at`. */
export function writeUlid(out: Uint8Array, at: number, ms: number): void {
  if (ms !== cachedMs) {
    let t = Math.max(0, Math.floor(ms));
    for (let i = 9; i >= 0; i--) {
      timePart[i] = ALPHABET[t % 32]!;
      t = Math.floor(t / 32);
    }
    cachedMs = ms;
  }
  out.set(timePart, at);
  if (next + 16 > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  for (let i = 10; i < 26; i++) out[at + i] = ALPHABET[pool[next++]! & 31]!;
}

const scratch = Buffer.alloc(26);

/** A new ULID for an event at `ms`, as a string. */
export function ulid(ms: number): string {
  writeUlid(scratch, 0, ms);
  return scratch.toString('latin1');
}
