/**
 * MurmurHash3 x86 32-bit over the UTF-8 bytes of a string (Austin Appleby's reference,
 * public domain). ASCII strings are hashed straight from char codes, with no encoding
 * step or allocation, since that is the hot path; other strings are UTF-8 encoded first
 * so the result matches every other implementation byte for byte.
 */
export function murmur3(text: string, seed = 0): number {
  for (let i = 0; i < text.length; i++) {
    // A latin1 string of the UTF-8 bytes has one char code per byte.
    if (text.charCodeAt(i) > 0x7f) return hashCodes(Buffer.from(text, 'utf8').toString('latin1'), seed);
  }
  return hashCodes(text, seed);
}

function hashCodes(s: string, seed: number): number {
  const len = s.length;
  const blocks = len & ~3;
  let h = seed >>> 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    h = round(
      h,
      s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24),
    );
  }
  let k = 0;
  switch (len & 3) {
    case 3:
      k ^= s.charCodeAt(i + 2) << 16;
    // falls through
    case 2:
      k ^= s.charCodeAt(i + 1) << 8;
    // falls through
    case 1:
      k ^= s.charCodeAt(i);
      h ^= scramble(k);
  }
  return finalMix(h, len) >>> 0;
}

/**
 * MurmurHash3's state after a fixed prefix (an experiment's `salt:`), so hashing
 * prefix + unit needs neither the concatenation (a new string per call, flattened again
 * when read) nor a pass over the prefix: murmur3After(hashPrefix(p), u) === murmur3(p + u).
 */
export interface HashPrefix {
  readonly text: string;
  /** The state after the prefix's whole 4-byte blocks. */
  readonly state: number;
  /** The prefix's last 0-3 bytes, little-endian, and how many there are. */
  readonly tail: number;
  readonly tailBytes: number;
  /** The prefix's length in UTF-8 bytes. */
  readonly bytes: number;
  /** The second hash's state after the same blocks (see unitHashes), from BLOCK_LANE_SEED. */
  readonly laneState: number;
}

export function hashPrefix(text: string, seed = 0): HashPrefix {
  const b = Buffer.from(text, 'utf8');
  let h = seed | 0;
  let lane = BLOCK_LANE_SEED;
  let i = 0;
  for (; i + 4 <= b.length; i += 4) {
    const k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    h = round(h, k);
    lane = laneRound(lane, k);
  }
  let tail = 0;
  for (let j = 0; i + j < b.length; j++) tail |= b[i + j]! << (8 * j);
  return { text, state: h, tail, tailBytes: b.length - i, bytes: b.length, laneState: lane };
}

/** murmur3(prefix.text + unit), without building that string when the unit is ASCII. */
export function murmur3After(prefix: HashPrefix, unit: string): number {
  let h = prefix.state;
  let k = prefix.tail;
  let n = prefix.tailBytes;
  const len = unit.length;
  let i = 0;
  // Fill the block the prefix left open, then go 4 bytes at a time.
  for (; n !== 0 && i < len; i++) {
    const c = unit.charCodeAt(i);
    if (c > 0x7f) return murmur3(prefix.text + unit);
    k |= c << (8 * n);
    if (++n === 4) {
      h = round(h, k);
      k = 0;
      n = 0;
    }
  }
  const blocks = i + ((len - i) & ~3);
  for (; i < blocks; i += 4) {
    const c0 = unit.charCodeAt(i);
    const c1 = unit.charCodeAt(i + 1);
    const c2 = unit.charCodeAt(i + 2);
    const c3 = unit.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return murmur3(prefix.text + unit);
    h = round(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  for (; i < len; i++) {
    const c = unit.charCodeAt(i);
    if (c > 0x7f) return murmur3(prefix.text + unit);
    k |= c << (8 * n++);
  }
  if (n > 0) h ^= scramble(k);
  return finalMix(h, prefix.bytes + len) >>> 0;
}

/** MurmurHash3's mixing of one 32-bit block into the state. */
function round(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** MurmurHash3's finaliser (fmix32 after mixing in the length), as an int32. */
function finalMix(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A 64-bit fingerprint of a string under a pair of seeds, written to `out` as two int32
 * halves (int32, not uint32, so V8 keeps them unboxed across calls); nothing is
 * allocated. The exposure rule keys (unit, experiment, variant, allocation version) by
 * it: the seeds stand for all but the unit. One pass over the UTF-16 code units, two at a
 * time, feeds two lanes: one mixes as MurmurHash3 x86_32 does, the other as xxHash32's
 * round does, each with its own finaliser, so the halves do not share the structure that
 * makes crafted MurmurHash3 collisions independent of the seed. Not the UTF-8 hash that
 * allocation uses: nothing outside this process needs to reproduce it.
 */
export function fingerprint64(text: string, seedHi: number, seedLo: number, out: Int32Array): void {
  let a = seedHi | 0;
  let b = seedLo | 0;
  const n = text.length;
  for (let i = 0; i < n; i += 2) {
    const k = i + 1 < n ? text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16) : text.charCodeAt(i);
    a = round(a, k);
    b = laneRound(b, k);
  }
  out[0] = finalMix(a, n);
  out[1] = laneFinal(b, n);
}

function laneRound(b: number, k: number): number {
  b = (b + Math.imul(k, 0x85ebca77)) | 0;
  b = (b << 13) | (b >>> 19);
  return Math.imul(b, 0x9e3779b1);
}

function laneFinal(b: number, n: number): number {
  b = (b + n) | 0;
  b ^= b >>> 15;
  b = Math.imul(b, 0x85ebca77);
  b ^= b >>> 13;
  b = Math.imul(b, 0xc2b2ae3d);
  return b ^ (b >>> 16);
}

/**
 * The seed of unitHashes' second hash (xxHash32's PRIME32_5): its state starts here, before
 * the prefix's first block.
 */
const BLOCK_LANE_SEED = 0x165667b1;

/** The last unit hashed and its prefix, and its hashes (int32 slots: no number boxed). */
let lastPrefix: HashPrefix | undefined;
let lastUnit = '';
/** [0]: MurmurHash3 of prefix + unit (the allocation hash); [1]: the second hash of the same bytes, when made. */
const lastHashes = new Int32Array(2);
/** Whether lastHashes[1] holds the last unit's second hash (unitHashes made it). */
let lastHasSecond = false;

/**
 * murmur3After(prefix, unit), remembering the last answer: allocation hashes the unit to
 * pick its arm, and the exposure rule needs the same hash for the unit's key a moment
 * later, in the same call; the second asks for it again and gets it without a pass.
 */
export function unitHash(prefix: HashPrefix, unit: string): number {
  if (prefix !== lastPrefix || unit !== lastUnit) {
    lastHashes[0] = murmur3After(prefix, unit);
    lastHasSecond = false;
    lastPrefix = prefix;
    lastUnit = unit;
  }
  return lastHashes[0]! >>> 0;
}

/**
 * unitHash and, in the same pass, the exposure rule's second hash of the unit, remembered
 * for exposureKey: xxHash32's round (acc + k * PRIME32_2, rotate 13, * PRIME32_1) over the
 * same 4-byte blocks of the UTF-8 text prefix + unit that MurmurHash3 mixes (the last 1-3
 * bytes as one more block), from BLOCK_LANE_SEED, then the length and xxHash32's
 * avalanche. The engine calls it before allocating when the rule will key the unit: the
 * two chains do not depend on each other and run side by side, where a pass of its own
 * cost about a third of the rule (issue 18); without a rule, unitHash alone is cheaper.
 */
export function unitHashes(prefix: HashPrefix, unit: string): void {
  if (lastHasSecond && prefix === lastPrefix && unit === lastUnit) return;
  hashUnit(prefix, unit);
  lastHasSecond = true;
  lastPrefix = prefix;
  lastUnit = unit;
}

/** unitHashes' two hashes of prefix + unit, into lastHashes: murmur3After's loops with the second chain beside. */
function hashUnit(prefix: HashPrefix, unit: string): void {
  let h = prefix.state;
  let lane = prefix.laneState;
  let k = prefix.tail;
  let n = prefix.tailBytes;
  const len = unit.length;
  let i = 0;
  for (; n !== 0 && i < len; i++) {
    const c = unit.charCodeAt(i);
    if (c > 0x7f) return hashUnitBytes(prefix, unit);
    k |= c << (8 * n);
    if (++n === 4) {
      h = round(h, k);
      lane = laneRound(lane, k);
      k = 0;
      n = 0;
    }
  }
  const blocks = i + ((len - i) & ~3);
  for (; i < blocks; i += 4) {
    const c0 = unit.charCodeAt(i);
    const c1 = unit.charCodeAt(i + 1);
    const c2 = unit.charCodeAt(i + 2);
    const c3 = unit.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return hashUnitBytes(prefix, unit);
    const block = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    h = round(h, block);
    lane = laneRound(lane, block);
  }
  for (; i < len; i++) {
    const c = unit.charCodeAt(i);
    if (c > 0x7f) return hashUnitBytes(prefix, unit);
    k |= c << (8 * n++);
  }
  finishHashes(h, lane, k, n, prefix.bytes + len);
}

/** hashUnit for a unit that is not ASCII: both hashes over the UTF-8 bytes of prefix + unit, as a prefix of its own. */
function hashUnitBytes(prefix: HashPrefix, unit: string): void {
  const whole = hashPrefix(prefix.text + unit);
  finishHashes(whole.state, whole.laneState, whole.tail, whole.tailBytes, whole.bytes);
}

/** Both hashes' last 1-3 bytes `k` (`n` of them) and finalisers, into lastHashes. */
function finishHashes(h: number, lane: number, k: number, n: number, bytes: number): void {
  if (n > 0) {
    h ^= scramble(k);
    lane = laneRound(lane, k);
  }
  lastHashes[0] = finalMix(h, bytes);
  lastHashes[1] = laneFinal(lane, bytes);
}

/**
 * The exposure rule's 64-bit key of a unit under an allocation, into `out` as two int32
 * halves: unitHashes' two hashes of `salt:unit` (the allocation hash, made to pick the
 * unit's arm, and the second hash made in the same pass), mixed with `seedHi` and
 * `seedLo`, which stand for the experiment's variant and allocation version. The halves
 * have different structures (MurmurHash3's round and xxHash32's), so ids crafted to collide
 * in MurmurHash3 whatever the seed still get different keys (tested with such ids). No pass
 * over the unit id when the engine made both a moment ago to allocate it.
 */
export function exposureKey(prefix: HashPrefix, unit: string, seedHi: number, seedLo: number, out: Int32Array): void {
  unitHashes(prefix, unit);
  out[0] = lastHashes[0]! ^ seedHi;
  out[1] = lastHashes[1]! ^ seedLo;
}

/** The bucket of a unit: murmur3(`salt:unit`) mapped to [0, 1). */
export function bucket(salt: string, unit: string): number {
  return murmur3(salt + ':' + unit) / 4294967296;
}
