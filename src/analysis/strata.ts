/**
 * An adaptive experiment's effects, stratified by allocation version. The bandit moves
 * traffic between arms at each re-weighting while the metric may drift (a weekday, a
 * trend), so a pooled comparison credits the drift to the arm that gained traffic later
 * (Simpson's paradox). Within one version the split is fixed: each unit is put in the
 * stratum of its first exposure's version, and `stratifiedEffect` (switchyard/stats)
 * combines the within-version differences, weighted by units.
 */
import { StatsInputError, stratifiedEffect, type Stratum } from '../stats/index.js';
import type { Row, SqlValue } from './store.js';
import type { Ci, Statistic } from './types.js';

/** One stratum's sufficient statistics of one event in one arm (units without the event add zeros). */
interface StratumStats {
  readonly converted: number;
  readonly cnt: number;
  readonly cnt2: number;
  readonly val: number;
  readonly valUnit2: number;
}

const NONE: StratumStats = { converted: 0, cnt: 0, cnt2: 0, val: 0, valUnit2: 0 };

/** The label of a unit whose exposure line carried no allocation version. */
export const NO_VERSION = 'none';

/** What the effect of one statistic, one treatment arm, is when stratified. */
export interface StratifiedEstimate {
  readonly absolute: number;
  readonly absoluteCi: Ci;
  readonly pValue: number;
  /** Allocation versions whose units the estimate combines. */
  readonly strata: number;
  /** Units in versions where an arm had fewer than 2 units: no within-version difference, left out. */
  readonly unitsLeftOut: number;
}

const num = (v: SqlValue | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const label = (v: SqlValue | undefined): string => (v === null || v === undefined ? NO_VERSION : String(v));

/** The strata of an experiment: units per (variant, version), and sums per (variant, version, event). */
export class Strata {
  private readonly units = new Map<string, Map<string, number>>();
  private readonly sums = new Map<string, StratumStats>();
  /** Allocation versions with units, in order (a version is its time in ms; units without one last). */
  readonly versions: readonly string[];

  constructor(unitRows: readonly Row[], eventRows: readonly Row[]) {
    for (const r of unitRows) {
      const v = String(r.variant);
      const byVersion = this.units.get(v) ?? new Map<string, number>();
      this.units.set(v, byVersion);
      byVersion.set(label(r.version), num(r.units));
    }
    for (const r of eventRows)
      this.sums.set(key(String(r.variant), label(r.version), String(r.event)), {
        converted: num(r.converted),
        cnt: num(r.cnt),
        cnt2: num(r.cnt2),
        val: num(r.val),
        valUnit2: num(r.val_unit2),
      });
    const all = new Set([...this.units.values()].flatMap((m) => [...m.keys()]));
    this.versions = [...all].sort((a, b) => (a === NO_VERSION ? 1 : b === NO_VERSION ? -1 : Number(a) - Number(b)));
  }

  /**
   * The stratified difference treatment - control of one statistic of one event; null when
   * no version has 2 units in both arms, or the statistic is not one a unit's sums carry.
   */
  estimate(
    statistic: Statistic,
    event: string,
    control: string,
    treatment: string,
    alpha: number,
  ): StratifiedEstimate | null {
    if (statistic !== 'conversion' && statistic !== 'mean_value' && statistic !== 'events_per_unit') return null;
    const strata: Stratum[] = this.versions.map((version) => ({
      label: version,
      control: this.arm(statistic, control, version, event),
      treatment: this.arm(statistic, treatment, version, event),
    }));
    try {
      const r = stratifiedEffect(strata, { confidenceLevel: 1 - alpha });
      const leftOut = r.skipped.reduce((a, i) => a + strata[i]!.control.n + strata[i]!.treatment.n, 0);
      const numbers = [r.difference, r.interval.lower, r.interval.upper, r.pValue];
      if (!numbers.every(Number.isFinite)) return null;
      return {
        absolute: r.difference,
        absoluteCi: r.interval,
        pValue: r.pValue,
        strata: r.strata.length,
        unitsLeftOut: leftOut,
      };
    } catch (error) {
      if (error instanceof StatsInputError) return null;
      throw error;
    }
  }

  private arm(
    statistic: 'conversion' | 'mean_value' | 'events_per_unit',
    variant: string,
    version: string,
    event: string,
  ) {
    const n = this.units.get(variant)?.get(version) ?? 0;
    const s = this.sums.get(key(variant, version, event)) ?? NONE;
    if (statistic === 'conversion') return { n, conversions: s.converted };
    return statistic === 'mean_value' ? { n, sum: s.val, sumSq: s.valUnit2 } : { n, sum: s.cnt, sumSq: s.cnt2 };
  }
}

const key = (variant: string, version: string, event: string) => JSON.stringify([variant, version, event]);
