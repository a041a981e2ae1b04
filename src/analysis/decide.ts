/**
 * The go/no-go rule, a pure function of the analysis's numbers. In order:
 *  1. SRM mismatch                       -> stop (no effect can be trusted)
 *  2. a guardrail breached               -> stop
 *  3. no primary metric                  -> don't ship (nothing to decide on)
 *  4. primary significantly better (corrected p < alpha; CUPED-adjusted when available, an
 *     adaptive experiment's stratified by allocation version)
 *       before min_runtime_days          -> keep running to a full cycle
 *       below min_sample_size per arm    -> keep running (when require_min_sample)
 *       else                             -> ship the best such variant
 *  5. primary significantly worse        -> don't ship
 *  6. not significant: runtime_days reached, or the power for the MDE reached
 *                                        -> don't ship (no effect of the size that matters)
 *                                   else -> keep running, N more days at the current traffic
 * Configured in `analysis.decision` (README: Analysis).
 */
import type { Decision, Effect, GuardrailResult, PowerCheck, SrmCheck } from './types.js';

export interface DecisionInput {
  readonly srm: SrmCheck;
  readonly guardrails: readonly GuardrailResult[];
  /** The decision statistic of the primary metric, one per treatment variant. */
  readonly primary: readonly Effect[];
  readonly primaryMetric: string | null;
  readonly power: PowerCheck | null;
  readonly elapsedDays: number;
  readonly runtimeDays: number;
  readonly minRuntimeDays: number;
  readonly requireMinSample: boolean;
  readonly minSampleSize: number;
  readonly smallestArm: number;
  readonly alpha: number;
}

const fmt = (x: number) => (Math.abs(x) >= 0.001 || x === 0 ? x.toFixed(3) : x.toExponential(1));
const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** The test the decision reads: stratified by allocation version (adaptive), else CUPED's, else the raw one. */
function decisive(e: Effect): { readonly absolute: number; readonly adjustedPValue: number } {
  return e.stratified ?? e.cuped ?? e;
}

/** The corrected p the decision reads. */
function pOf(e: Effect): number {
  return decisive(e).adjustedPValue;
}

/** The direction of the difference pOf tests (CUPED's or the stratified one can differ in sign from the raw one). */
function differenceOf(e: Effect): number {
  return decisive(e).absolute;
}

export function describeEffect(e: Effect): string {
  const ci = e.relativeCi ? ` (CI ${pct(e.relativeCi.lower)} to ${pct(e.relativeCi.upper)})` : '';
  const s = e.stratified;
  const stratified = s
    ? `; by allocation version (${s.strata} version${s.strata === 1 ? '' : 's'}): ${signed(s.absolute)} (CI ${signed(s.absoluteCi.lower)} to ${signed(s.absoluteCi.upper)}), corrected p = ${fmt(s.adjustedPValue)}`
    : '';
  return `${e.metric} ${e.statistic} ${e.variant} vs ${e.control.variant}: ${pct(e.relative)} relative${ci}, corrected p = ${fmt(e.adjustedPValue)}${e.cuped ? `, CUPED corrected p = ${fmt(e.cuped.adjustedPValue)}` : ''}${stratified}`;
}

/** An absolute difference with its sign, at 4 significant digits. */
const signed = (x: number) => `${x >= 0 ? '+' : ''}${Number(x.toPrecision(4))}`;

export function decide(input: DecisionInput): Decision {
  const { srm, alpha } = input;
  const units = `units ${srm.variants.map((v) => `${v.variant} ${v.units}`).join(', ')}`;
  const srmLine =
    srm.notTested !== undefined && !srm.mismatch
      ? `SRM: not tested (${srm.notTested}); ${units}`
      : `SRM: chi2 = ${srm.chiSquare.toFixed(2)}, p = ${fmt(srm.pValue)} (threshold ${srm.threshold}); ${units}`;
  if (srm.mismatch)
    return {
      decision: 'stop',
      reason: `Sample ratio mismatch (p = ${fmt(srm.pValue)} < ${srm.threshold}): the observed split is not the configured one, so no effect can be trusted until its cause is found.`,
      evidence: [srmLine],
    };
  const breached = input.guardrails.filter((g) => g.status === 'breach');
  if (breached.length > 0)
    return {
      decision: 'stop',
      reason: `Guardrail breached: ${breached[0]!.sentence}`,
      evidence: [...breached.map((g) => g.sentence), srmLine],
    };
  if (input.primaryMetric === null || input.primary.length === 0)
    return {
      decision: 'dont_ship',
      reason: 'No primary metric with data, so there is nothing to decide on; configure primary_metric.',
      evidence: [srmLine],
    };
  const evidence = [...input.primary.map(describeEffect), srmLine];
  if (input.power)
    evidence.push(
      `power ${(input.power.power * 100).toFixed(0)}% for a ${pct(input.power.mde)} MDE (target ${(input.power.targetPower * 100).toFixed(0)}%); ${input.power.smallestArm} units in the smallest arm, ${input.power.neededPerArm} needed`,
    );
  const better = input.primary.filter((e) => pOf(e) < alpha && differenceOf(e) > 0);
  const worse = input.primary.filter((e) => pOf(e) < alpha && differenceOf(e) < 0);
  const moreForSample = input.power ? input.power.daysToSample : 0;
  if (better.length > 0) {
    const best = better.reduce((a, b) => ((b.relative ?? b.absolute) > (a.relative ?? a.absolute) ? b : a));
    if (input.elapsedDays < input.minRuntimeDays) {
      const more = Math.ceil(input.minRuntimeDays - input.elapsedDays);
      return {
        decision: 'keep_running',
        moreDays: more,
        reason: `${best.variant} is significantly better on ${input.primaryMetric} so far, but the experiment has run ${input.elapsedDays.toFixed(1)} of the ${input.minRuntimeDays} days a decision needs: keep running ${more} more day${more === 1 ? '' : 's'}.`,
        evidence,
      };
    }
    if (input.requireMinSample && input.smallestArm < input.minSampleSize) {
      const more = Math.max(1, moreForSample);
      return {
        decision: 'keep_running',
        moreDays: more,
        reason: `${best.variant} is significantly better on ${input.primaryMetric}, but the smallest arm has ${input.smallestArm} of the ${input.minSampleSize} units min_sample_size asks for: keep running about ${more} more day${more === 1 ? '' : 's'}.`,
        evidence,
      };
    }
    return {
      decision: 'ship',
      variant: best.variant,
      reason: `Ship ${best.variant}: ${input.primaryMetric} is ${pct(best.relative)} better than ${best.control.variant} (corrected p = ${fmt(pOf(best))}), with no sample ratio mismatch and no guardrail breached.`,
      evidence,
    };
  }
  if (worse.length > 0) {
    const w = worse[0]!;
    return {
      decision: 'dont_ship',
      reason: `Don't ship: ${w.variant} is significantly worse on ${input.primaryMetric} (${pct(w.relative)}, corrected p = ${fmt(pOf(w))}).`,
      evidence,
    };
  }
  const powered = input.power !== null && input.power.power >= input.power.targetPower;
  const sampled = !input.requireMinSample || input.smallestArm >= input.minSampleSize;
  if (input.elapsedDays >= input.runtimeDays || (powered && sampled && input.elapsedDays >= input.minRuntimeDays)) {
    return {
      decision: 'dont_ship',
      reason: `Don't ship: no significant effect on ${input.primaryMetric} after ${input.elapsedDays.toFixed(1)} days${powered ? `, with ${(input.power!.power * 100).toFixed(0)}% power to detect a ${pct(input.power!.mde)} change` : ' (the planned runtime is over)'}.`,
      evidence,
    };
  }
  const remaining = Math.max(1, Math.ceil(input.runtimeDays - input.elapsedDays));
  const forRuntime = Math.max(0, Math.ceil(input.minRuntimeDays - input.elapsedDays));
  const more = Math.max(1, Math.min(remaining, Math.max(moreForSample, forRuntime)));
  const short =
    moreForSample > remaining ? ' (even then below the planned power: consider a larger MDE or more traffic)' : '';
  return {
    decision: 'keep_running',
    moreDays: more,
    reason: `Keep running ${more} more day${more === 1 ? '' : 's'}: no significant effect on ${input.primaryMetric} yet, and the current traffic needs that long to reach the planned sample${short}.`,
    evidence,
  };
}
