/**
 * Draws from the posteriors of bayes.ts, given a uniform source in [0, 1) that the caller
 * supplies (seeded in tests and re-weighting, so a draw is reproducible). Normal draws use
 * Marsaglia's polar method; gamma draws Marsaglia and Tsang's squeeze method (ACM TOMS 26,
 * 2000), with the u^(1/a) boost for shapes below 1; a Beta(a, b) draw is X / (X + Y) for
 * X ~ Gamma(a), Y ~ Gamma(b). Written here rather than taken from @stdlib/random-base-*
 * so that every draw comes from the one uniform source the caller passes in.
 */
import type { Posterior } from './bayes.js';

/** A uniform source in [0, 1). */
export type Uniform = () => number;

export class PosteriorSampler {
  private spare = NaN;

  constructor(private readonly uniform: Uniform) {}

  /** One draw from the posterior. A normal with sd 0 is its mean. */
  draw(p: Posterior): number {
    if (p.kind === 'normal') return p.sd === 0 ? p.mean : p.mean + p.sd * this.standardNormal();
    const x = this.gamma(p.alpha);
    const y = this.gamma(p.beta);
    return x / (x + y);
  }

  standardNormal(): number {
    if (!Number.isNaN(this.spare)) {
      const z = this.spare;
      this.spare = NaN;
      return z;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /** Gamma(shape, 1). */
  gamma(shape: number): number {
    if (shape < 1) {
      // Gamma(a) = Gamma(a + 1) * U^(1/a)
      const u = 1 - this.uniform();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.standardNormal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.uniform();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return d * v;
      if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
    }
  }
}
