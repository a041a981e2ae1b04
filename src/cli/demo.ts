/**
 * `switchyard demo`: synthetic users through a fixed and a gradual experiment on the
 * embedded defaults (in-memory provider), printing the split per variant and the ramp
 * step. Uses the public API only, as any user would.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  analyze,
  createSwitchyard,
  openDuckDbStore,
  renderHtml,
  validateConfigObject,
  type DecisionKind,
  type VariantResult,
} from '../index.js';
import { whileOpen } from './commands/shared.js';

export interface DemoOptions {
  users: number;
  /** Where the event journal and the JSONL exposures go (default .switchyard). */
  dir?: string;
  /** Where in the ramp the demo stands, in days since the ramp started. */
  rampDay: number;
  now?: number;
}

export interface DemoEventsReport {
  exposures: number;
  events: number;
  delivered: number;
  pending: number;
  dropped: number;
  jsonlDir: string;
}

export interface DemoReport {
  experiments: DemoExperimentReport[];
  events: DemoEventsReport;
  /** The analysis of the demo's own data: each experiment's decision, and the HTML report. */
  analysis: { decisions: { experiment: string; decision: DecisionKind; reason: string }[]; htmlReport: string };
}

export interface DemoExperimentReport {
  experiment: string;
  mode: string;
  rampStep: number;
  trafficPercent: number;
  users: number;
  inExperiment: number;
  variants: Record<string, { units: number; share: number; expectedShare: number }>;
}

export function demoConfig(start: Date, dir = '.switchyard') {
  return {
    exposures: { dir: `${dir}/events`, attributes: ['country'], service: 'demo' },
    analytics: { jsonl: { dir: `${dir}/exposures` } },
    experiment_config: {
      min_sample_size: 10000,
      confidence_level: 0.95,
      runtime_days: 14,
      traffic_allocation: 'gradual',
    },
    analytics_platforms: ['jsonl'],
    feature_flags: { provider: 'memory' },
    statistical_methods: ['frequentist', 'bayesian'],
    monitoring: { real_time_metrics: true, anomaly_detection: true, automatic_rollback: true },
    experiments: {
      'new-search': {
        hypothesis: 'Semantic search raises search success.',
        variants: {
          control: { weight: 34 },
          semantic: { weight: 33, payload: { engine: 'vector' } },
          hybrid: { weight: 33, payload: { engine: 'hybrid' } },
        },
        allocation: { mode: 'fixed' },
        primary_metric: 'search_success',
      },
      'checkout-redesign': {
        hypothesis: 'A one-page checkout raises purchases.',
        variants: { control: { weight: 50 }, treatment: { weight: 50, payload: { layout: 'one-page' } } },
        allocation: {
          mode: 'gradual',
          start: start.toISOString(),
          schedule: [
            { percent: 1, dwell: '1d' },
            { percent: 10, dwell: '2d' },
            { percent: 50, dwell: '3d' },
            { percent: 100 },
          ],
        },
        primary_metric: 'purchase',
        guardrails: [
          { metric: 'error_rate', max: 0.001 },
          { metric: 'latency_p95', max_relative_increase: 0.05 },
        ],
      },
    },
  };
}

/** A small seeded generator (mulberry32), so the demo prints the same numbers every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'JP'];
/** Synthetic truth the demo's users follow: conversion rate per variant. */
const RATES: Record<string, number> = { control: 0.1, treatment: 0.115, semantic: 0.105, hybrid: 0.11 };

export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const now = options.now ?? Date.now();
  const start = new Date(now - options.rampDay * 86_400_000);
  const dir = options.dir ?? '.switchyard';
  const config = demoConfig(start, dir);
  const random = seeded(42);
  const sy = await createSwitchyard({ config, clock: { now: () => now } });
  const reports: DemoExperimentReport[] = [];
  try {
    for (const [key, exp] of Object.entries(config.experiments)) {
      const counts = new Map<string, number>();
      let last: VariantResult | undefined;
      let inside = 0;
      for (let i = 0; i < options.users; i++) {
        const ctx = { targetingKey: `user-${i}`, country: COUNTRIES[i % COUNTRIES.length]! };
        last = await sy.getVariant(key, ctx);
        if (!last.inExperiment) continue;
        inside++;
        counts.set(last.variant!, (counts.get(last.variant!) ?? 0) + 1);
        if (random() < (RATES[last.variant!] ?? 0.1))
          sy.track(exp.primary_metric, ctx, { value: Math.round(20 + random() * 80) });
      }
      const variants: DemoExperimentReport['variants'] = {};
      for (const [variant, { weight }] of Object.entries(exp.variants)) {
        const units = counts.get(variant) ?? 0;
        variants[variant] = { units, share: inside ? units / inside : 0, expectedShare: weight / 100 };
      }
      reports.push({
        experiment: key,
        mode: exp.allocation.mode,
        rampStep: last?.rampStep ?? -1,
        trafficPercent: last?.trafficPercent ?? 0,
        users: options.users,
        inExperiment: inside,
        variants,
      });
    }
  } finally {
    await sy.close();
  }
  // Only the demo's own experiments: the data directory may hold other runs' events.
  const analysis = await whileOpen(openDuckDbStore(config.analytics.jsonl.dir), (store) =>
    analyze(store, { config: validateConfigObject(config), now, experiments: Object.keys(config.experiments) }),
  );
  const htmlReport = resolve(join(dir, 'report.html'));
  writeFileSync(htmlReport, renderHtml(analysis));
  const pipeline = sy.counters().exposures.pipeline!;
  const sinks = Object.values(pipeline.sinks);
  return {
    experiments: reports,
    events: {
      exposures: pipeline.exposures,
      events: pipeline.events,
      delivered: sinks.reduce((a, s) => a + s.delivered, 0),
      pending: sinks.reduce((a, s) => a + s.pending, 0),
      dropped: pipeline.dropped,
      jsonlDir: config.analytics.jsonl.dir,
    },
    analysis: {
      decisions: analysis.experiments.map((e) => ({
        experiment: e.experiment,
        decision: e.decision.decision,
        reason: e.decision.reason,
      })),
      htmlReport,
    },
  };
}

export function formatDemo(report: DemoReport): string {
  const lines: string[] = [];
  for (const r of report.experiments) {
    const ramp =
      r.mode === 'gradual'
        ? `, ramp step ${r.rampStep + 1} at ${r.trafficPercent}% of traffic`
        : `, ${r.trafficPercent}% of traffic`;
    lines.push(
      `${r.experiment} (${r.mode}${ramp}): ${r.inExperiment.toLocaleString('en')} of ${r.users.toLocaleString('en')} users in the experiment`,
    );
    lines.push(`  ${'variant'.padEnd(12)} ${'units'.padStart(8)} ${'share'.padStart(8)} ${'expected'.padStart(9)}`);
    for (const [variant, v] of Object.entries(r.variants)) {
      lines.push(
        `  ${variant.padEnd(12)} ${String(v.units).padStart(8)} ${(v.share * 100).toFixed(2).padStart(7)}% ${(v.expectedShare * 100).toFixed(2).padStart(8)}%`,
      );
    }
  }
  const e = report.events;
  lines.push(
    `events: ${e.exposures.toLocaleString('en')} exposures and ${e.events.toLocaleString('en')} tracked events logged; ` +
      `${e.delivered.toLocaleString('en')} delivered to JSONL in ${e.jsonlDir}, ${e.pending} pending, ${e.dropped} dropped`,
  );
  for (const d of report.analysis.decisions) lines.push(`analysis: ${d.experiment}: ${d.decision} - ${d.reason}`);
  lines.push(`HTML report: ${report.analysis.htmlReport}`);
  return lines.join('\n');
}
