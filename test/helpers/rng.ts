/** Fast seeded random draws for long simulations (@stdlib's samplers are exact but slow for millions of draws). */

/** mulberry32: a small, fast 32-bit generator; uniform in [0, 1). */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Binomial(n, p) by inversion (walks the pmf from 0): exact, fast when n p is small. */
export function binomialSampler(seed: number): (n: number, p: number) => number {
  const u01 = uniform(seed);
  return (n, p) => {
    let pmf = Math.pow(1 - p, n);
    let cdf = pmf;
    const u = u01();
    let k = 0;
    const ratio = p / (1 - p);
    while (u > cdf && k < n) {
      pmf *= ((n - k) / (k + 1)) * ratio;
      k++;
      cdf += pmf;
      if (pmf === 0) break;
    }
    return k;
  };
}

/** Normal(mu, sigma) by Box-Muller. */
export function normalSampler(seed: number): (mu: number, sigma: number) => number {
  const u01 = uniform(seed);
  let spare: number | undefined;
  return (mu, sigma) => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return mu + sigma * z;
    }
    const u = 1 - u01();
    const v = u01();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return mu + sigma * r * Math.cos(2 * Math.PI * v);
  };
}
