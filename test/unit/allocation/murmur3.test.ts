import { describe, expect, it } from 'vitest';
import murmurhash3js from 'murmurhash3js';
import { murmur3 } from '../../../src/allocation/murmur3.js';
import cases from '../../fixtures/allocation-cases.json' with { type: 'json' };

describe('murmur3 x86 32-bit', () => {
  it.each(cases.murmur3.map((c) => [c.input, c.seed, c.hash] as const))('hashes %j with seed %i to %i (reference vectors)', (input, seed, hash) => {
    expect(murmur3(input, seed)).toBe(hash);
  });

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
