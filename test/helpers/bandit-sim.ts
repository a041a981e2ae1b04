/**
 * A seeded bandit simulation on the pure core: each period sends `perPeriod` units to the
 * arms by the current weights, draws their conversions from the arms' true rates, then
 * re-weights from the accumulated statistics, as the re-weighting loop does.
 */
import { nextWeights, type AdaptivePolicy } from '../../src/allocation/index.js';
import { seededUniform } from '../../src/ports.js';
import { armPosteriors, thompsonShares } from '../../src/stats/index.js';

export interface SimResult {
  readonly history: number[][];
  readonly units: number[];
  readonly conversions: number[];
  /** Expected conversions lost against always serving the best arm. */
  readonly regret: number;
}

export function simulateBandit(
  policy: AdaptivePolicy,
  rates: readonly number[],
  options: { periods: number; perPeriod: number; draws: number; seed: number; weights?: (p: number) => number[] },
): SimResult {
  const k = rates.length;
  const uniform = seededUniform(options.seed);
  const best = Math.max(...rates);
  const units = new Array<number>(k).fill(0);
  const conversions = new Array<number>(k).fill(0);
  let weights = nextWeights(policy, policy.initial, units, undefined).weights;
  const history = [weights];
  let regret = 0;
  for (let p = 0; p < options.periods; p++) {
    const w = options.weights ? options.weights(p) : weights;
    for (let u = 0; u < options.perPeriod; u++) {
      let r = uniform();
      let arm = 0;
      while (arm < k - 1 && r >= w[arm]!) r -= w[arm++]!;
      units[arm]!++;
      if (uniform() < rates[arm]!) conversions[arm]!++;
      regret += best - rates[arm]!;
    }
    const arms = units.map((n, i) => ({ n, conversions: conversions[i]! }));
    const shares = thompsonShares(armPosteriors('conversion', arms), {
      draws: options.draws,
      uniform: seededUniform(options.seed, p),
    });
    weights = nextWeights(policy, weights, units, shares).weights;
    history.push(weights);
  }
  return { history, units, conversions, regret };
}
