/**
 * Thompson sampling's allocation: the probability that each arm is the best, estimated by
 * drawing every arm's posterior `draws` times and counting which arm drew the highest value.
 * The Monte Carlo standard error of a share p is sqrt(p (1 - p) / draws), at most
 * 0.5 / sqrt(draws): 0.005 at the default 10,000 draws. Deterministic for the same
 * posteriors, draws and uniform source. Reference: Thompson (1933); Chapelle and Li (2011),
 * "An Empirical Evaluation of Thompson Sampling"; Scott (2010) for allocating traffic in
 * proportion to P(best) in batches.
 */
import { meanPosterior, proportionPosterior, type Posterior } from './bayes.js';
import { count, StatsInputError } from './errors.js';
import type { MeanArm, ProportionArm } from './frequentist.js';
import { PosteriorSampler, type Uniform } from './sampling.js';

export interface ThompsonOptions {
  readonly draws: number;
  /** Uniform in [0, 1); seed it for reproducible shares. */
  readonly uniform: Uniform;
}

/**
 * P(arm is best) for each posterior, as shares that add up to 1. A draw where several arms
 * tie for the top (point posteriors with one mean) counts for each of them equally.
 */
export function thompsonShares(posteriors: readonly Posterior[], options: ThompsonOptions): number[] {
  if (!Array.isArray(posteriors) || posteriors.length === 0)
    throw new StatsInputError('posteriors', 'must be a non-empty list');
  const draws = count('draws', options.draws, 1);
  if (typeof options.uniform !== 'function') throw new StatsInputError('uniform', 'must be a function');
  const sampler = new PosteriorSampler(options.uniform);
  const wins = new Float64Array(posteriors.length);
  const drawn = new Float64Array(posteriors.length);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let top = -Infinity;
    let tied = 0;
    for (let i = 0; i < posteriors.length; i++) {
      const x = (drawn[i] = sampler.draw(posteriors[i]!));
      if (x > top) {
        top = x;
        best = i;
        tied = 1;
      } else if (x === top) tied++;
    }
    if (tied <= 1) wins[best]!++;
    else for (let i = best; i < posteriors.length; i++) if (drawn[i] === top) wins[i]! += 1 / tied;
  }
  return Array.from(wins, (w) => w / draws);
}

/**
 * Each arm's posterior under the stats module's models: beta-binomial for a conversion
 * metric, normal (flat prior) for a continuous one. An arm whose values do not vary yet
 * (all zero, say) is taken at its mean with no spread rather than rejected, so early data
 * never stops a re-weighting.
 */
export function armPosteriors(
  kind: 'conversion' | 'continuous',
  arms: readonly (ProportionArm | MeanArm)[],
): Posterior[] {
  return arms.map((arm, i) => {
    if (kind === 'conversion') {
      const a = arm as ProportionArm;
      return proportionPosterior({ n: a.n, conversions: Math.min(a.conversions, a.n) });
    }
    const m = arm as MeanArm;
    if (m.n < 2) throw new StatsInputError(`arms[${i}].n`, `must be at least 2 for a continuous metric, found ${m.n}`);
    const mean = m.sum / m.n;
    if (m.sumSq - m.sum * mean <= 1e-12 * Math.max(m.sumSq, 1)) return { kind: 'normal', mean, sd: 0 };
    return meanPosterior(m);
  });
}
