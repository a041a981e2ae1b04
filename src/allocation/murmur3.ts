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
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
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
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
  }
  return finalMix(h, len);
}

function finalMix(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bucket of a unit: murmur3(`salt:unit`) mapped to [0, 1). */
export function bucket(salt: string, unit: string): number {
  return murmur3(salt + ':' + unit) / 4294967296;
}
