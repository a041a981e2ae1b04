/**
 * Generates experiment data with known truths as the pipeline writes it: JSONL lines of
 * switchyard.exposure/1 and switchyard.event/1, one file per day. Seeded, so every run
 * writes the same bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GenOptions {
  experiment: string;
  units: number;
  /** variant -> weight (share of units). */
  weights: Record<string, number>;
  /** variant -> probability a unit converts (primary event). */
  rates: Record<string, number>;
  primary?: string;
  days?: number;
  start?: string;
  seed?: number;
  /** Per attribute value, a rate override per variant (segment-only effects). */
  segment?: { attribute: string; values: string[]; rates?: Record<string, Record<string, number>> };
  /** Ordered funnel: per variant, probability of going on to each step after the previous. */
  funnel?: { steps: string[]; rates: Record<string, number[]> };
  /** run() calls per unit with latency mean and error rate per variant. */
  run?: { calls: number; latency: Record<string, number>; errors: Record<string, number> };
  /** Purchase events in the 14 days before exposure, with this probability (CUPED). */
  prePeriod?: number;
  /** Units that also see another variant. */
  crossovers?: number;
  /** Extra bad lines: empty, truncated, not JSON. */
  junk?: { empty: number; truncated: number; malformed: number };
  variantNames?: Record<string, string>;
  eventNames?: Record<string, string>;
  /**
   * Adaptive allocation: consecutive periods of the run, each an allocation version with its
   * share of the units (and of the days), its split and its conversion rates (a drift). The
   * exposures carry mode adaptive and the version; weights and rates above are unused.
   */
  phases?: { version: number; share: number; weights: Record<string, number>; rates: Record<string, number> }[];
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let seq = 0;
const id = () => String(seq++).padStart(26, '0');

export function generate(dir: string, o: GenOptions): void {
  mkdirSync(dir, { recursive: true });
  // Separate streams for assignment, timing and outcomes, so no draw of one can correlate with another.
  const r = rng((o.seed ?? 7) * 7919 + 1);
  const ra = rng(o.seed ?? 7);
  const days = o.days ?? 14;
  const t0 = Date.parse(o.start ?? '2026-12-01T00:00:00Z');
  const variants = Object.keys(o.weights);
  const total = variants.reduce((a, v) => a + o.weights[v]!, 0);
  const primary = o.primary ?? 'purchase';
  const files = new Map<string, string[]>();
  const push = (ts: number, line: string) => {
    const day = new Date(ts).toISOString().slice(0, 10);
    let list = files.get(day);
    if (!list) files.set(day, (list = []));
    list.push(line);
  };
  const exposure = (
    ts: number,
    unit: string,
    variant: string,
    attributes: Record<string, string>,
    allocation: { mode: string; version: number } = { mode: 'fixed', version: 0 },
  ) =>
    push(
      ts,
      JSON.stringify({
        schema: 'switchyard.exposure/1',
        id: id(),
        ts: new Date(ts).toISOString(),
        unit,
        experiment: o.experiment,
        flag: o.experiment,
        variant: o.variantNames?.[variant] ?? variant,
        allocation: { ...allocation, step: -1, percent: 100 },
        reason: 'SPLIT',
        provider: 'memory',
        attributes,
      }),
    );
  const event = (
    ts: number,
    unit: string,
    name: string,
    value: number | undefined,
    properties: Record<string, unknown> = {},
  ) =>
    push(
      ts,
      JSON.stringify({
        schema: 'switchyard.event/1',
        id: id(),
        ts: new Date(ts).toISOString(),
        unit,
        event: o.eventNames?.[name] ?? name,
        ...(value === undefined ? {} : { value }),
        properties,
      }),
    );
  const phaseTotal = o.phases?.reduce((a, p) => a + p.share, 0) ?? 1;
  for (let i = 0; i < o.units; i++) {
    const unit = `${o.experiment}-u${i}`;
    // The unit's period (adaptive): the units and the days are cut in the periods' shares.
    let start = 0;
    let span = 1;
    const phase = o.phases?.find((p) => {
      span = p.share / phaseTotal;
      if (i < (start + span) * o.units) return true;
      start += span;
      return false;
    });
    if (!phase) [start, span] = [0, 1];
    const weights = phase?.weights ?? o.weights;
    const phaseTotalWeight = variants.reduce((a, v) => a + (weights[v] ?? 0), 0);
    let x = ra() * (phase ? phaseTotalWeight : total);
    let variant = variants[0]!;
    for (const v of variants) {
      x -= weights[v] ?? 0;
      if (x < 0) {
        variant = v;
        break;
      }
    }
    const ts = t0 + Math.floor((start + r() * span) * days * 86_400_000);
    const attributes: Record<string, string> = {};
    let rate = (phase?.rates ?? o.rates)[variant]!;
    if (o.segment) {
      const value = o.segment.values[i % o.segment.values.length]!;
      attributes[o.segment.attribute] = value;
      rate = o.segment.rates?.[value]?.[variant] ?? rate;
    }
    exposure(ts, unit, variant, attributes, phase ? { mode: 'adaptive', version: phase.version } : undefined);
    if (i < (o.crossovers ?? 0))
      exposure(
        ts + 1000,
        unit,
        variants.find((v) => v !== variant)!,
        attributes,
      );
    if (o.prePeriod && r() < o.prePeriod)
      event(ts - 1 - Math.floor(r() * 13 * 86_400_000), unit, primary, 10 + Math.floor(r() * 50));
    if (r() < rate) event(ts + 60_000 + Math.floor(r() * 3_600_000), unit, primary, 10 + Math.floor(r() * 50));
    if (o.funnel) {
      let at = ts;
      for (const [k, step] of o.funnel.steps.entries()) {
        if (r() >= o.funnel.rates[variant]![k]!) break;
        at += 1000 + Math.floor(r() * 60_000);
        event(at, unit, step, undefined);
      }
    }
    if (o.run) {
      for (let c = 0; c < o.run.calls; c++) {
        const latency = Math.round(o.run.latency[variant]! * (0.5 + r()));
        event(ts + 500 + c, unit, 'switchyard.run', latency, {
          flag: o.experiment,
          experiment: o.experiment,
          variant,
          error: r() < o.run.errors[variant]!,
        });
      }
    }
  }
  const junk = o.junk;
  for (const [day, lines] of [...files].sort()) {
    let text = lines.join('\n') + '\n';
    if (junk && day === [...files.keys()].sort()[0]) {
      text += '\n'.repeat(junk.empty) + '{not json}\n'.repeat(junk.malformed);
      text += '{"schema":"switchyard.event/1","unit":"x","ev\n'.repeat(Math.max(0, junk.truncated - 1));
      if (junk.truncated > 0) text += '{"schema":"switchyard.exposure/1","unit":"trunc'; // the last line cut off, no newline
    }
    writeFileSync(join(dir, `exposures-${day}.jsonl`), text);
  }
}
