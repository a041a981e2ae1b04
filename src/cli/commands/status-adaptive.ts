/**
 * `switchyard status` for adaptive experiments: the allocation version the fleet serves
 * (published by the re-weighting leader to Redis, or to allocation-state.json beside the
 * journal without a fleet), its weights per arm, and the posterior summaries it was made
 * from (mean and 95% credible interval per arm, P(best)). Read leniently: a field the
 * publisher did not write shows as absent.
 */
import { terminalSafe as safe } from '../../index.js';
export interface AdaptiveArmView {
  variant: string;
  weight: number;
  units: number | undefined;
  conversions: number | undefined;
  /** The observed mean (conversion rate or mean value). */
  mean: number | undefined;
  posteriorMean: number | undefined;
  credibleInterval: { lower: number; upper: number } | undefined;
  probabilityBest: number | undefined;
}

export interface AdaptiveView {
  version: number;
  phase: string;
  reweightedAt: string | undefined;
  arms: AdaptiveArmView[];
}

/** The published version of an adaptive experiment, or null when none is published yet. */
export function adaptiveView(published: unknown): AdaptiveView | null {
  if (typeof published !== 'object' || published === null) return null;
  const doc = published as Record<string, unknown>;
  if (typeof doc.version !== 'number') return null;
  const weights = (typeof doc.weights === 'object' && doc.weights !== null ? doc.weights : {}) as Record<
    string,
    unknown
  >;
  const arms = new Map<string, Record<string, unknown>>();
  if (Array.isArray(doc.arms))
    for (const a of doc.arms)
      if (typeof a === 'object' && a !== null && typeof (a as { variant?: unknown }).variant === 'string')
        arms.set((a as { variant: string }).variant, a as Record<string, unknown>);
  // A time a Date can show: another writer's 1e300 would make toISOString throw.
  const at = finite(doc.at);
  const reweighted = at !== undefined && at > 0 ? new Date(at) : undefined;
  return {
    version: doc.version,
    phase: typeof doc.phase === 'string' ? doc.phase : '?',
    reweightedAt: reweighted && !Number.isNaN(reweighted.getTime()) ? reweighted.toISOString() : undefined,
    arms: Object.entries(weights)
      .filter((e): e is [string, number] => typeof e[1] === 'number')
      .map(([variant, weight]) => {
        const a = arms.get(variant) ?? {};
        const interval = a.credibleInterval as { lower?: unknown; upper?: unknown } | undefined;
        const lower = finite(interval?.lower);
        const upper = finite(interval?.upper);
        return {
          variant,
          weight,
          units: finite(a.units),
          conversions: finite(a.conversions),
          mean: finite(a.mean),
          posteriorMean: finite(a.posteriorMean),
          credibleInterval: lower !== undefined && upper !== undefined ? { lower, upper } : undefined,
          probabilityBest: finite(a.probabilityBest),
        };
      }),
  };
}

/** The text lines of an adaptive experiment's status. */
export function adaptiveLines(view: AdaptiveView | null): string[] {
  if (view === null)
    return ['  adaptive: no allocation version published yet (initial weights until the first re-weighting)'];
  const when = view.reweightedAt ? `, re-weighted ${view.reweightedAt}` : '';
  const lines = [`  adaptive: allocation version ${view.version} (${safe(view.phase)}${when})`];
  for (const a of view.arms) {
    const parts = [`    ${safe(a.variant)}: weight ${pct(a.weight)}`];
    if (a.units !== undefined) parts.push(`units ${a.units}`);
    if (a.mean !== undefined) parts.push(`observed ${num(a.mean)}`);
    if (a.posteriorMean !== undefined) {
      const ci = a.credibleInterval ? ` [${num(a.credibleInterval.lower)}, ${num(a.credibleInterval.upper)}]` : '';
      parts.push(`posterior ${num(a.posteriorMean)}${ci}`);
    }
    if (a.probabilityBest !== undefined) parts.push(`P(best) ${num(a.probabilityBest)}`);
    lines.push(parts.join(', '));
  }
  return lines;
}

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4));
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
