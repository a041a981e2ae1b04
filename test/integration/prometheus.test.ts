/** Prometheus metrics, scraped over a real HTTP server from the ready handler. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Gauge } from 'prom-client';
import { createSwitchyard, type Switchyard } from 'switchyard';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function make(fleet?: Record<string, unknown>): Promise<Switchyard> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-prom-'));
  const sy = await createSwitchyard({
    config: {
      feature_flags: { provider: 'memory' },
      analytics_platforms: ['jsonl'],
      analytics: { jsonl: { dir: join(dir, 'out') } },
      exposures: { dir: join(dir, 'events'), flush_interval_ms: 10 },
      experiments: {
        exp: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, allocation: { mode: 'fixed' } },
        other: { variants: { control: { weight: 50 }, treatment: { weight: 50 } }, allocation: { mode: 'fixed' } },
      },
      ...(fleet ? { fleet } : {}),
    },
    fleetConnectTimeoutMs: 500,
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => sy.close());
  return sy;
}

async function serve(sy: Switchyard): Promise<string> {
  const handler = sy.metricsHandler();
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Prometheus /metrics', () => {
  it('serves evaluations by flag and reason, exposures, sink delivery and kills in the text format', async () => {
    const sy = await make();
    const url = await serve(sy);
    for (let i = 0; i < 200; i++) await sy.getVariant('exp', { targetingKey: `u${i}` });
    for (let i = 0; i < 50; i++) await sy.getVariant('exp', { targetingKey: `u${i}` }); // repeats
    sy.kill('exp', 'breach');
    for (let i = 0; i < 30; i++) await sy.getVariant('exp', { targetingKey: `u${i}` });
    await sy.getVariant('exp', {}); // no targeting key
    await sy.getVariant('unknown-flag', { targetingKey: 'u1' });
    sy.flush();
    await new Promise((r) => setTimeout(r, 300));

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(value(text, 'switchyard_evaluations_total{flag="exp",reason="SPLIT"}')).toBe(250);
    expect(value(text, 'switchyard_evaluations_total{flag="exp",reason="DISABLED"}')).toBe(30);
    expect(value(text, 'switchyard_evaluations_total{flag="exp",reason="ERROR"}')).toBe(1);
    expect(value(text, 'switchyard_evaluation_problems_total{code="SY_TARGETING_KEY_MISSING"}')).toBe(1);
    expect(value(text, 'switchyard_exposures_total')).toBe(200);
    expect(value(text, 'switchyard_exposures_deduplicated_total')).toBe(50);
    expect(value(text, 'switchyard_sink_delivered_total{sink="jsonl"}')).toBe(200);
    expect(value(text, 'switchyard_sink_pending{sink="jsonl"}')).toBe(0);
    expect(value(text, 'switchyard_events_dropped_total')).toBe(0);
    expect(value(text, 'switchyard_kills_total{experiment="exp",origin="local"}')).toBe(1);
    expect(value(text, 'switchyard_experiment_killed{experiment="exp"}')).toBe(1);
    expect(text).not.toContain('switchyard_fleet_connected '); // no fleet

    sy.unkill('exp');
    const after = await (await fetch(url)).text();
    expect(value(after, 'switchyard_experiment_killed{experiment="exp"}')).toBeUndefined();
    expect(value(after, 'switchyard_kills_total{experiment="exp",origin="local"}')).toBe(1);
  });

  it('each instance has its own registry, and other parts can add gauges to it', async () => {
    const [a, b] = await Promise.all([make(), make()]);
    await a.getVariant('exp', { targetingKey: 'u' });
    new Gauge({
      name: 'switchyard_guardrail_state',
      help: 'test gauge',
      labelNames: ['experiment', 'metric'],
      registers: [a.prometheus.registry],
      collect() {
        this.set({ experiment: 'exp', metric: 'error_rate' }, 2);
      },
    });
    const textA = await (await fetch(await serve(a))).text();
    const textB = await (await fetch(await serve(b))).text();
    expect(value(textA, 'switchyard_evaluations_total{flag="exp",reason="SPLIT"}')).toBe(1);
    expect(value(textB, 'switchyard_evaluations_total{flag="exp",reason="SPLIT"}')).toBeUndefined();
    expect(value(textA, 'switchyard_guardrail_state{experiment="exp",metric="error_rate"}')).toBe(2);
    expect(textB).not.toContain('switchyard_guardrail_state');
  });

  it('with a fleet, says whether Redis answers', async () => {
    const up = await make({ redis: 'redis://127.0.0.1:6379', prefix: `sytest-prom-${process.pid}` });
    const down = await make({ redis: 'redis://127.0.0.1:1' });
    expect(value(await (await fetch(await serve(up))).text(), 'switchyard_fleet_connected')).toBe(1);
    expect(value(await (await fetch(await serve(down))).text(), 'switchyard_fleet_connected')).toBe(0);
  });
});
