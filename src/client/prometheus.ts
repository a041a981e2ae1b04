/**
 * Prometheus metrics of one switchyard instance (prom-client), in a registry of its own
 * so two instances in a process never collide and nothing lands in prom-client's global
 * registry uninvited. Nothing is counted for Prometheus on the evaluation path: every
 * metric is read from counters switchyard keeps anyway, when a scrape collects it.
 * Other parts (the guardrail monitor) add their gauges to `registry`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { PipelineCounters } from '../exposure/index.js';
import type { EngineCounters } from './engine.js';
import { messageOf } from '../errors.js';

/** What the metrics are read from, at scrape time. */
export interface MetricSources {
  engine(): EngineCounters;
  /** flag -> reason -> evaluations. */
  evaluations(): ReadonlyMap<string, Readonly<Record<string, number>>>;
  pipeline(): PipelineCounters | undefined;
  /** Exposures stopped by the caller-side repeat filter (not in the pipeline's count). */
  deduplicated(): number;
  /** experiment -> origin (local | remote) -> kills seen. */
  kills(): ReadonlyMap<string, { local: number; remote: number }>;
  /** Experiments killed now. */
  killed(): Iterable<string>;
  /** Fleet mode: whether Redis answers; undefined without a fleet. */
  fleetConnected(): boolean | undefined;
}

export class PrometheusMetrics {
  /** This instance's registry: scrape it with `handler()`, or register more metrics in it. */
  readonly registry = new Registry();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>) => void) =>
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill(this);
        },
      });
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill(this);
        },
      });

    counter('switchyard_evaluations_total', 'Evaluations by flag and OpenFeature reason', ['flag', 'reason'], (c) => {
      for (const [flag, reasons] of sources.evaluations())
        for (const [reason, n] of Object.entries(reasons)) c.inc({ flag, reason }, n);
    });
    counter('switchyard_evaluation_problems_total', 'Evaluations answered with an error code', ['code'], (c) => {
      for (const [code, n] of Object.entries(sources.engine().errors)) if (n) c.inc({ code }, n);
    });
    counter(
      'switchyard_exposures_total',
      'Exposures logged (first per unit, experiment, variant, allocation)',
      [],
      (c) => c.inc(sources.pipeline()?.exposures ?? 0),
    );
    counter('switchyard_exposures_deduplicated_total', 'Repeat exposures not logged again', [], (c) =>
      c.inc(sources.deduplicated() + (sources.pipeline()?.deduplicated ?? 0)),
    );
    counter('switchyard_tracked_events_total', 'Tracked events accepted', [], (c) =>
      c.inc(sources.pipeline()?.events ?? 0),
    );
    counter('switchyard_events_dropped_total', 'Events dropped (counted, never silent)', [], (c) =>
      c.inc(sources.pipeline()?.dropped ?? 0),
    );
    counter('switchyard_sink_delivered_total', 'Events delivered per sink', ['sink'], (c) => {
      for (const [sink, s] of Object.entries(sources.pipeline()?.sinks ?? {})) c.inc({ sink }, s.delivered);
    });
    counter('switchyard_sink_failures_total', 'Failed deliveries per sink (retried)', ['sink'], (c) => {
      for (const [sink, s] of Object.entries(sources.pipeline()?.sinks ?? {})) c.inc({ sink }, s.failures);
    });
    gauge('switchyard_sink_pending', 'Events journaled and not yet delivered, per sink', ['sink'], (g) => {
      for (const [sink, s] of Object.entries(sources.pipeline()?.sinks ?? {})) g.set({ sink }, s.pending);
    });
    counter(
      'switchyard_kills_total',
      'Kills seen, by experiment and origin (local or remote)',
      ['experiment', 'origin'],
      (c) => {
        for (const [experiment, k] of sources.kills()) {
          if (k.local) c.inc({ experiment, origin: 'local' }, k.local);
          if (k.remote) c.inc({ experiment, origin: 'remote' }, k.remote);
        }
      },
    );
    gauge(
      'switchyard_experiment_killed',
      '1 while the experiment is killed (every unit gets the control)',
      ['experiment'],
      (g) => {
        for (const experiment of sources.killed()) g.set({ experiment }, 1);
      },
    );
    // Registered with a fleet only: an unlabelled gauge would otherwise read 0, "disconnected".
    if (sources.fleetConnected() !== undefined)
      gauge(
        'switchyard_fleet_connected',
        '1 while the fleet Redis answers, 0 while away (absent without a fleet)',
        [],
        (g) => {
          const connected = sources.fleetConnected();
          g.set(connected ? 1 : 0);
        },
      );
  }

  /** Registers a metric made elsewhere (e.g. the guardrail monitor's gauges) in this registry. */
  register(metric: Metric): void {
    this.registry.registerMetric(metric);
  }

  /** A request handler for `/metrics` on any Node HTTP server (or Express). */
  handler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (_req, res) => {
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`switchyard metrics failed: ${messageOf(error)}\n`);
        },
      );
    };
  }
}
