import { describe, expect, it } from 'vitest';
import murmurhash3js from 'murmurhash3js';
import fc from 'fast-check';
import { fingerprint64, hashPrefix, murmur3, murmur3After } from '../../../src/allocation/murmur3.js';
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
