import { describe, expect, it } from 'vitest';
import murmurhash3js from 'murmurhash3js';
import fc from 'fast-check';
import {
  exposureKey,
  fingerprint64,
  hashPrefix,
  murmur3,
  murmur3After,
  unitHash,
  unitHashes,
} from '../../../src/allocation/murmur3.js';
import cases from '../../fixtures/allocation-cases.json' with { type: 'json' };

describe('murmur3 x86 32-bit', () => {
  it.each(cases.murmur3.map((c) => [c.input, c.seed, c.hash] as const))(
    'hashes %j with seed %i to %i (reference vectors)',
    (input, seed, hash) => {
      expect(murmur3(input, seed)).toBe(hash);
    },
  );

  it('agrees with the murmurhash3js package on 10,000 ASCII ids', () => {
    for (let i = 0; i < 10_000; i++) {
      const s = `exp-${i % 7}:user-${i * 7919}`;
      expect(murmur3(s)).toBe(murmurhash3js.x86.hash32(s));
    }
  });

  it('hashes non-ASCII ids over their UTF-8 bytes', () => {
    const text = 'björn-😀-ü';
    const bytes = Buffer.from(text, 'utf8');
    // murmurhash3js takes a string of byte-sized char codes.
    expect(murmur3(text)).toBe(murmurhash3js.x86.hash32(bytes.toString('latin1')));
  });
});

describe('fingerprint64', () => {
  const key = new Int32Array(2);
  const fp = (text: string, seedHi = 1, seedLo = 2): [number, number] => {
    fingerprint64(text, seedHi, seedLo, key);
    return [key[0]!, key[1]!];
  };

  it('is a pure function of the text and the seeds, with two int32 halves', () => {
    const a = fp('éèü-✓-𝄞');
    expect(fp('éèü-✓-𝄞')).toEqual(a);
    for (const h of a) expect(Number.isInteger(h) && h >= -(2 ** 31) && h < 2 ** 31).toBe(true);
  });

  it('changes with a character, the length, either seed, and the order of characters', () => {
    const base = fp('user-17');
    for (const other of [
      fp('éèü-✓-𝄟'),
      fp('user-18'),
      fp('user-17\u0000'),
      fp('user-71'),
      fp('user-17', 1, 3),
      fp('user-17', 2, 2),
      fp(''),
    ]) {
      expect(other).not.toEqual(base);
    }
    expect(fp('ab')).not.toEqual(fp('ab\u0000')); // the length counts
  });

  it('spreads both halves evenly: each of 64 bits set in about half of 100,000 ids', () => {
    const ones = new Array<number>(64).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const [hi, lo] = fp(`user-${i}`, 11, 22);
      for (let b = 0; b < 32; b++) {
        ones[b]! += (hi >>> b) & 1;
        ones[32 + b]! += (lo >>> b) & 1;
      }
    }
    // Binomial(100,000, 0.5): sd 158; 5 sd is 791.
    for (const c of ones) expect(Math.abs(c - n / 2)).toBeLessThan(800);
  });
});

describe('fingerprint64 against crafted ids and an independent transcription', () => {
  const M = 2n ** 32n;
  const u32 = (x: bigint): bigint => ((x % M) + M) % M;
  const rotl = (x: bigint, r: bigint): bigint => u32((x << r) | (x >> (32n - r)));
  const mul = (x: bigint, c: number): bigint => u32(x * BigInt(c));
  const int32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
  const words = (text: string): bigint[] => {
    const out: bigint[] = [];
    for (let i = 0; i < text.length; i += 2) {
      out.push(BigInt(text.charCodeAt(i)) + (i + 1 < text.length ? BigInt(text.charCodeAt(i + 1)) << 16n : 0n));
    }
    return out;
  };
  const scramble = (k: bigint): bigint => mul(rotl(mul(k, 0xcc9e2d51), 15n), 0x1b873593);
  const fmix = (h: bigint): bigint => {
    h ^= h >> 16n;
    h = mul(h, 0x85ebca6b);
    h ^= h >> 13n;
    h = mul(h, 0xc2b2ae35);
    return h ^ (h >> 16n);
  };
  /** Hi: MurmurHash3 x86_32's block round over every word (the odd tail too) and its finaliser with the count of UTF-16 units. */
  const murmurLane = (text: string, seed: number): number => {
    let h = u32(BigInt(seed));
    for (const k of words(text)) h = u32(mul(rotl(h ^ scramble(k), 13n), 5) + 0xe6546b64n);
    return int32(fmix(h ^ BigInt(text.length)));
  };
  /** Lo: xxHash32's round (acc + k * PRIME2, rotl 13, * PRIME1) over the same words, + length, xxHash32's avalanche. */
  const xxLane = (text: string, seed: number): number => {
    let h = u32(BigInt(seed));
    for (const k of words(text)) h = mul(rotl(u32(h + mul(k, 0x85ebca77)), 13n), 0x9e3779b1);
    h = u32(h + BigInt(text.length));
    h ^= h >> 15n;
    h = mul(h, 0x85ebca77);
    h ^= h >> 13n;
    h = mul(h, 0xc2b2ae3d);
    return int32(h ^ (h >> 16n));
  };
  const key = new Int32Array(2);
  const fp = (text: string, seedHi: number, seedLo: number): [number, number] => {
    fingerprint64(text, seedHi, seedLo, key);
    return [key[0]!, key[1]!];
  };

  it('is MurmurHash3 x86_32 mixing in one half and xxHash32 mixing in the other, as documented', () => {
    // The collision argument below rests on the second half being xxHash32's round, not a
    // variant of it: checked against a BigInt transcription of both published algorithms.
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40, unit: 'binary' }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (text, seedHi, seedLo) => {
          const [hi, lo] = fp(text, seedHi, seedLo);
          return hi === murmurLane(text, seedHi) && lo === xxLane(text, seedLo);
        },
      ),
      { numRuns: 200, endOnFailure: true },
    );
  });

  it('keeps apart two unit ids crafted to collide in MurmurHash3 under every seed', () => {
    // MurmurHash3's round is invertible and its block difference can be cancelled: flip bit 18
    // of the first scrambled word and it reaches the next round as bit 31 alone, whatever the
    // seed; flip bit 31 of the second scrambled word and the states meet again. Such ids
    // collide in the first half for every experiment's seed, so an attacker could pick a unit
    // id whose exposure the dedupe would take for another's; the second half must separate them.
    const inverse = (c: number): number => {
      let x = c;
      for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(c, x));
      return x;
    };
    const unscramble = (s: number): number => {
      const r = Math.imul(s, inverse(0x1b873593));
      return Math.imul((r >>> 15) | (r << 17), inverse(0xcc9e2d51)) >>> 0;
    };
    const scrambled = (k: number): number => Number(scramble(BigInt(k >>> 0)));
    const text = (k1: number, k2: number): string =>
      String.fromCharCode(k1 & 0xffff, k1 >>> 16, k2 & 0xffff, k2 >>> 16);
    for (const [k1, k2] of [
      [0x73752d31, 0x72652d32],
      [0x00410042, 0x00430044],
      [0xdeadbeef, 0x12345678],
    ] as const) {
      const a = text(k1, k2);
      const b = text(unscramble((scrambled(k1) ^ (1 << 18)) >>> 0), unscramble((scrambled(k2) ^ 0x80000000) >>> 0));
      expect(b).not.toBe(a);
      for (const [seedHi, seedLo] of [
        [0, 0],
        [1, 2],
        [-123456789, 987654321],
        [0x7fffffff, -1],
      ] as const) {
        const [hiA, loA] = fp(a, seedHi, seedLo);
        const [hiB, loB] = fp(b, seedHi, seedLo);
        expect(hiB).toBe(hiA); // the crafted collision is real
        expect(loB).not.toBe(loA);
      }
    }
  });
});

describe("murmur3After (the hash of prefix + unit from the prefix's state)", () => {
  // Prefixes of every length mod 4 and units of every length, ASCII or not, with the
  // non-ASCII character in the open block, in a whole block, and in the tail.
  const texts = ['', 'a', 'ab', 'abc', 'abcd', 'checkout:', 'exp-é:', 'sälz:', '🚀:', 'x'.repeat(37)];
  const units = ['', 'u', 'us', 'use', 'user-1', 'user-12345', 'üser', 'usé', 'user-🚀', 'é'.repeat(9), '\u007f\u0080'];

  it.each(texts)('equals murmur3 of the concatenation after %j', (prefix) => {
    const state = hashPrefix(prefix);
    for (const unit of units) expect(murmur3After(state, unit)).toBe(murmur3(prefix + unit));
  });

  it('equals murmur3 of the concatenation for any strings', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20, unit: 'binary' }),
        fc.string({ maxLength: 40, unit: 'binary' }),
        (prefix, unit) => murmur3After(hashPrefix(prefix), unit) === murmur3(prefix + unit),
      ),
      { numRuns: 2000 },
    );
  });
});

describe("the exposure rule's key (exposureKey: the unit's two hashes from one pass)", () => {
  const key = (prefix: string, unit: string, seedHi: number, seedLo: number): [number, number] => {
    const out = new Int32Array(2);
    exposureKey(hashPrefix(prefix), unit, seedHi, seedLo, out);
    return [out[0]!, out[1]!];
  };

  // An independent transcription of the second half: xxHash32's round over the 4-byte
  // little-endian blocks of the UTF-8 bytes of salt:unit (the last 1-3 bytes as one more
  // block), from xxHash32's PRIME32_5, then the byte count and xxHash32's avalanche.
  const M = 2n ** 32n;
  const u32 = (x: bigint): bigint => ((x % M) + M) % M;
  const rotl = (x: bigint, r: bigint): bigint => u32((x << r) | (x >> (32n - r)));
  const mul = (x: bigint, c: number): bigint => u32(x * BigInt(c));
  const blockLane = (text: string): number => {
    const bytes = Buffer.from(text, 'utf8');
    let h = 0x165667b1n;
    for (let i = 0; i < bytes.length; i += 4) {
      let k = 0n;
      for (let j = 0; j < 4 && i + j < bytes.length; j++) k |= BigInt(bytes[i + j]!) << BigInt(8 * j);
      h = mul(rotl(u32(h + mul(k, 0x85ebca77)), 13n), 0x9e3779b1);
    }
    h = u32(h + BigInt(bytes.length));
    h ^= h >> 15n;
    h = mul(h, 0x85ebca77);
    h ^= h >> 13n;
    h = mul(h, 0xc2b2ae3d);
    return Number(BigInt.asIntN(32, h ^ (h >> 16n)));
  };

  it('is the allocation hash of salt:unit mixed with the first seed, and xxHash32 over the same bytes with the second', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12, unit: 'binary' }),
        fc.string({ maxLength: 30, unit: 'binary' }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (salt, unit, seedHi, seedLo) => {
          const [hi, lo] = key(`${salt}:`, unit, seedHi, seedLo);
          return hi === (murmur3(`${salt}:${unit}`) ^ seedHi) && lo === (blockLane(`${salt}:${unit}`) ^ seedLo);
        },
      ),
      { numRuns: 2000 },
    );
    // Every prefix length mod 4, units ASCII or not, the non-ASCII character in each place.
    for (const salt of ['', 'a', 'ab', 'abc', 'sälz', '🚀'])
      for (const unit of ['', 'u', 'user-12345', 'üser', 'usé', 'user-🚀', '\u007f\u0080'])
        expect(key(`${salt}:`, unit, 0, 0)).toEqual([murmur3(`${salt}:${unit}`) | 0, blockLane(`${salt}:${unit}`)]);
  });

  it('keeps apart two ASCII unit ids crafted to collide in MurmurHash3 under every salt', () => {
    // The differential of the fingerprint64 test above, on UTF-8 blocks: flip bit 18 of the
    // first scrambled block and bit 31 of the second and MurmurHash3's states meet again,
    // whatever the state before. Searched among ASCII blocks, so the ids are plain strings.
    const inverse = (c: number): number => {
      let x = c;
      for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(c, x));
      return x;
    };
    const scramble = (k: number): number =>
      Math.imul((Math.imul(k, 0xcc9e2d51) << 15) | (Math.imul(k, 0xcc9e2d51) >>> 17), 0x1b873593);
    const unscramble = (s: number): number => {
      const r = Math.imul(s, inverse(0x1b873593));
      return Math.imul((r >>> 15) | (r << 17), inverse(0xcc9e2d51)) >>> 0;
    };
    const ascii = (k: number): boolean => (k & 0x80808080) === 0;
    const partner = (k: number, flip: number): number => unscramble((scramble(k) ^ flip) >>> 0);
    const block = (k: number): string => String.fromCharCode(k & 0xff, (k >>> 8) & 0xff, (k >>> 16) & 0xff, k >>> 24);
    // Pseudo-random ASCII blocks until one whose partner is ASCII too (about 1 in 16).
    const pick = (flip: number, from: number): number => {
      for (let x = from; ; x = (Math.imul(x, 0x2c1b3c6d) + 0x297a2d39) | 0) {
        const k = (x & 0x7f7f7f7f) >>> 0;
        if (ascii(partner(k, flip))) return k;
      }
    };
    const pairs: [string, string][] = [];
    for (const [from1, from2] of [
      [0x31323334, 0x41424344],
      [0x61626364, 0x2d2d2d2d],
      [0x10203040, 0x7f7e7d7c],
    ] as const) {
      const k1 = pick(1 << 18, from1);
      const k2 = pick(0x80000000, from2);
      pairs.push([block(k1) + block(k2), block(partner(k1, 1 << 18)) + block(partner(k2, 0x80000000))]);
    }
    expect(pairs).toHaveLength(3);
    for (const [a, b] of pairs) {
      expect(b).not.toBe(a);
      // Prefixes of whole blocks (4, 8 and 20 bytes) keep the ids' blocks aligned.
      for (const prefix of ['exp:', 'abcdefg:', 'checkout-redesign-x:']) {
        const [hiA, loA] = key(prefix, a, 7, 9);
        const [hiB, loB] = key(prefix, b, 7, 9);
        expect(hiB).toBe(hiA); // the crafted collision is real
        expect(loB).not.toBe(loA);
      }
    }
  });

  it('remembers only the last unit: any order of prefixes and units gives each its own hash', () => {
    const prefixes = ['a:', 'checkout:', 'sälz:'].map((p) => hashPrefix(p));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('u1', 'u2', 'user-12345', 'üser', '')), {
          maxLength: 50,
        }),
        (calls) => calls.every(([p, u]) => unitHash(prefixes[p]!, u) === murmur3After(prefixes[p]!, u)),
      ),
      { numRuns: 500 },
    );
    // The same text in a different string object is the same unit.
    const p = prefixes[1]!;
    const a = ['user', '42'].join('-');
    const b = `user-${40 + 2}`;
    expect(unitHash(p, a)).toBe(unitHash(p, b));
    expect(unitHash(p, b)).toBe(murmur3('checkout:user-42'));
  });

  it('is the same whatever hashed the unit before it (unitHash alone, unitHashes, another unit)', () => {
    const p = hashPrefix('checkout:');
    const q = hashPrefix('other:');
    const expected = key('checkout:', 'user-42', 5, 6);
    const out = new Int32Array(2);
    const after = (before: () => void): [number, number] => {
      before();
      exposureKey(p, 'user-42', 5, 6, out);
      return [out[0]!, out[1]!];
    };
    // The allocation hash only, after another unit's two: the second is made, not the other's taken.
    expect(
      after(() => {
        unitHashes(q, 'user-7');
        unitHash(p, 'user-42');
      }),
    ).toEqual(expected);
    expect(after(() => unitHashes(p, 'user-42'))).toEqual(expected);
    expect(after(() => unitHashes(p, 'user-7'))).toEqual(expected);
    expect(after(() => unitHashes(q, 'user-42'))).toEqual(expected);
    unitHashes(p, 'user-42');
    expect(unitHash(p, 'user-42')).toBe(murmur3('checkout:user-42'));
    expect(unitHash(q, 'user-42')).toBe(murmur3('other:user-42'));
    expect(after(() => undefined)).toEqual(expected);
  });

  it('gives 300,000 unit ids 300,000 different keys, and another key under other seeds', () => {
    const seen = new Set<bigint>();
    const out = new Int32Array(2);
    const prefix = hashPrefix('checkout:');
    for (let i = 0; i < 300_000; i++) {
      exposureKey(prefix, `user-${i}`, 0x1234567, -0x7654321, out);
      seen.add((BigInt(out[0]! >>> 0) << 32n) | BigInt(out[1]! >>> 0));
    }
    expect(seen.size).toBe(300_000);
    expect(key('checkout:', 'user-7', 1, 2)).not.toEqual(key('checkout:', 'user-7', 3, 2));
    expect(key('checkout:', 'user-7', 1, 2)[1]).not.toBe(key('checkout:', 'user-7', 1, 4)[1]);
  });
});
