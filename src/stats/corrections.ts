/**
 * Multiple-testing corrections: adjusted p-values, in the input order, capped at 1.
 */
import { StatsInputError, finite } from './errors.js';

export type CorrectionMethod = 'bonferroni' | 'holm' | 'bh' | 'by';
const METHODS: readonly CorrectionMethod[] = ['bonferroni', 'holm', 'bh', 'by'];

/**
 * - bonferroni: min(1, m p_i). Controls the family-wise error rate.
 * - holm: step-down; sorted ascending, p_(i) (m - i + 1), running maximum (Holm 1979). FWER, uniformly better than Bonferroni.
 * - bh: Benjamini-Hochberg step-up; sorted ascending, p_(i) m / i, running minimum from the top (1995). Controls the FDR under independence or positive dependence.
 * - by: Benjamini-Yekutieli; bh times c(m) = sum_{k=1..m} 1/k (2001). FDR under any dependence.
 * bh and by match scipy.stats.false_discovery_control.
 */
export function adjustPValues(pValues: readonly number[], method: CorrectionMethod): number[] {
  if (!Array.isArray(pValues)) throw new StatsInputError('pValues', `must be an array, found ${typeof pValues}`);
  if (!METHODS.includes(method))
    throw new StatsInputError('method', `must be one of ${METHODS.join(', ')}, found ${JSON.stringify(method)}`);
  pValues.forEach((p, i) => {
    finite(`pValues[${i}]`, p);
    if (p < 0 || p > 1) throw new StatsInputError(`pValues[${i}]`, `must be in [0, 1], found ${p}`);
  });
  const m = pValues.length;
  if (m === 0) return [];
  if (method === 'bonferroni') return pValues.map((p) => Math.min(1, p * m));
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a]! - pValues[b]!);
  const adjusted = new Array<number>(m);
  if (method === 'holm') {
    let running = 0;
    order.forEach((idx, rank) => {
      running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]!));
      adjusted[idx] = running;
    });
    return adjusted;
  }
  let c = 1;
  if (method === 'by') {
    c = 0;
    for (let k = 1; k <= m; k++) c += 1 / k;
  }
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const idx = order[rank]!;
    running = Math.min(running, (pValues[idx]! * m * c) / (rank + 1));
    adjusted[idx] = Math.min(1, running);
  }
  return adjusted;
}
