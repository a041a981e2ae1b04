/**
 * Draws from the posteriors of bayes.ts with @stdlib's samplers (@stdlib/random-base-beta:
 * Cheng's and Jöhnk's methods by shape; @stdlib/random-base-normal: the improved ziggurat),
 * both fed by the one uniform source in [0, 1) that the caller passes (their `prng`
 * option), so a draw is reproducible from the caller's seed: re-weighting seeds it with
 * the experiment's seed and allocation version, and tests with a constant.
 */
import betaRandom from '@stdlib/random-base-beta';
import normalRandom from '@stdlib/random-base-normal';
import type { Posterior } from './bayes.js';

/** A uniform source in [0, 1). */
export type Uniform = () => number;

export class PosteriorSampler {
  private readonly beta: (alpha: number, beta: number) => number;
  private readonly normal: (mu: number, sigma: number) => number;

  constructor(uniform: Uniform) {
    this.beta = betaRandom.factory({ prng: uniform });
    this.normal = normalRandom.factory({ prng: uniform });
  }

  /** One draw from the posterior. A normal with sd 0 is its mean. */
  draw(p: Posterior): number {
    if (p.kind === 'normal') return p.sd === 0 ? p.mean : this.normal(p.mean, p.sd);
    return this.beta(p.alpha, p.beta);
  }
}
