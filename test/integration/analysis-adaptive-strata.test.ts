/**
 * An adaptive experiment's effects are stratified by allocation version. The data is
 * Simpson's trap: in each version the arms convert alike (no effect), but the metric rises
 * from the first version to the second while the bandit moves the treatment from half the
 * traffic to 90%. Pooled, the treatment looks 5 points better with a tiny p; stratified, the
 * difference is about zero and the decision does not ship. DuckDB and PostgreSQL give the
 * same numbers, which equal stratifiedEffect on sums the test counts from the lines itself.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJsonlIntoPostgres, openDuckDbStore, openPostgresStore, type Analysis } from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { stratifiedEffect } from '../../src/stats/index.js';
import { generate } from '../helpers/analysis-data.js';
import { analyzeStore, expectSame, privateDatabase } from '../helpers/analysis-db.js';

const root = mkdtempSync(join(tmpdir(), 'sy-adaptive-strata-'));
const dir = join(root, 'data');
const database = privateDatabase('sy_strata');
const now = Date.parse('2026-12-20T00:00:00Z');
const V1 = 1_764_547_200_000;
const V2 = 1_764_979_200_000;

const config = (mode: 'adaptive' | 'fixed') =>
  validateConfigObject({
    experiments: {
      hero: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        primary_metric: 'signup',
        min_sample_size: 1000,
        runtime_days: 14,
        allocation:
          mode === 'adaptive' ? { mode: 'adaptive', reweight_every: '1h', min_sample: 100 } : { mode: 'fixed' },
      },
    },
  });

let duck: Analysis;
let post: Analysis;

beforeAll(async () => {
  generate(dir, {
    experiment: 'hero',
    units: 40_000,
    days: 14,
    weights: { control: 1, treatment: 1 },
    rates: { control: 0, treatment: 0 },
    primary: 'signup',
    phases: [
      { version: V1, share: 0.3, weights: { control: 50, treatment: 50 }, rates: { control: 0.05, treatment: 0.05 } },
      { version: V2, share: 0.7, weights: { control: 10, treatment: 90 }, rates: { control: 0.14, treatment: 0.14 } },
    ],
  });
  // Exposures whose version is not a number in range: their units are a stratum of their own ("none").
  const hostile = (i: number, version: unknown) =>
    JSON.stringify({
      schema: 'switchyard.exposure/1',
      id: `H${String(i).padStart(25, '0')}`,
      ts: '2026-12-10T00:00:00.000Z',
      unit: `hostile-${i}`,
      experiment: 'hero',
      flag: 'hero',
      variant: i % 2 ? 'treatment' : 'control',
      allocation: { mode: 'adaptive', version, step: -1, percent: 100 },
      reason: 'SPLIT',
      provider: 'memory',
      attributes: {},
    });
  const versions = ['12', -5, true, null, { a: 1 }, 1e300, 'NaN', [1]];
  writeFileSync(join(dir, 'hostile.jsonl'), versions.map((v, i) => hostile(i, v)).join('\n') + '\n');
  await database.create();
  duck = await analyzeStore(() => openDuckDbStore(dir), { config: config('adaptive'), now, experiments: ['hero'] });
  await loadJsonlIntoPostgres(database.url, dir);
  post = await analyzeStore(() => openPostgresStore(database.url), {
    config: config('adaptive'),
    now,
    experiments: ['hero'],
  });
}, 180_000);

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await database.drop();
});

/** Units and converters per (variant, version) counted from the lines, as the analysis defines them. */
function countedStrata(): Map<string, { n: number; conversions: number }> {
  const first = new Map<string, { variant: string; version: string; t: number }>();
  const signups: { unit: string; t: number }[] = [];
  for (const f of readdirSync(dir))
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as Record<string, unknown>;
      const t = Date.parse(String(r.ts)) / 1000;
      if (r.schema === 'switchyard.exposure/1') {
        const v = (r.allocation as { version: unknown }).version;
        const version = typeof v === 'number' && v >= 0 && v <= 1e15 ? String(v) : 'none';
        const prev = first.get(String(r.unit));
        if (!prev || t < prev.t) first.set(String(r.unit), { variant: String(r.variant), version, t });
      } else if (r.event === 'signup') signups.push({ unit: String(r.unit), t });
    }
  const out = new Map<string, { n: number; conversions: number }>();
  const converted = new Set<string>();
  for (const s of signups) {
    const f = first.get(s.unit);
    if (f && s.t >= f.t && s.t < f.t + 14 * 86_400) converted.add(s.unit);
  }
  for (const [unit, f] of first) {
    const k = `${f.variant}|${f.version}`;
    const c = out.get(k) ?? { n: 0, conversions: 0 };
    c.n++;
    if (converted.has(unit)) c.conversions++;
    out.set(k, c);
  }
  return out;
}

describe('an adaptive experiment, stratified by allocation version', () => {
  it('does not credit the drift to the arm the bandit moved traffic to: pooled significant, stratified not, no ship', () => {
    const e = duck.experiments[0]!;
    const conversion = e.metrics.find((m) => m.role === 'primary' && m.statistic === 'conversion')!;
    // Pooled: about 5 points "better", significant.
    expect(conversion.absolute).toBeGreaterThan(0.04);
    expect(conversion.adjustedPValue).toBeLessThan(1e-6);
    // Stratified: about zero, not significant, and what `significant` and the decision read.
    const s = conversion.stratified!;
    expect(s.strata).toBe(3); // V1, V2 and the hostile lines' "none"
    expect(s.absoluteCi.lower).toBeLessThan(0);
    expect(s.absoluteCi.upper).toBeGreaterThan(0);
    expect(Math.abs(s.absolute)).toBeLessThan(0.01);
    expect(s.adjustedPValue).toBeGreaterThan(0.05);
    expect(conversion.significant).toBe(false);
    expect(conversion.cuped).toBeUndefined();
    expect(e.decision.decision).not.toBe('ship');
    expect(e.decision.evidence.join('\n')).toMatch(/by allocation version \(3 versions\): [-+]0\.\d+ \(CI /);
    expect(renderTerminal(duck)).toMatch(/by version \(3\): [-+]\d+\.\d+% \[/);
    expect(renderMarkdown(duck)).toMatch(/by version \(3\): [-+]\d+\.\d+% \[/);
  });

  it('equals stratifiedEffect on the strata counted from the lines, each unit in its first exposure’s version', () => {
    const counted = countedStrata();
    const labels = [String(V1), String(V2), 'none'];
    const expected = stratifiedEffect(
      labels.map((label) => ({
        label,
        control: counted.get(`control|${label}`)!,
        treatment: counted.get(`treatment|${label}`)!,
      })),
    );
    const s = duck.experiments[0]!.metrics.find(
      (m) => m.role === 'primary' && m.statistic === 'conversion',
    )!.stratified!;
    expect(s.absolute).toBeCloseTo(expected.difference, 12);
    expect(s.pValue).toBeCloseTo(expected.pValue, 12);
    expect(s.absoluteCi.lower).toBeCloseTo(expected.interval.lower, 12);
    // The hostile lines' units: 4 per arm in the "none" stratum.
    expect(counted.get('control|none')?.n).toBe(4);
    expect(counted.get('treatment|none')?.n).toBe(4);
  });

  it('gives the same numbers on PostgreSQL after load', () => {
    expectSame(post.experiments, duck.experiments);
  });

  it('leaves a fixed experiment as it was: no strata, the pooled test decides', async () => {
    const fixed = await analyzeStore(() => openDuckDbStore(dir), {
      config: config('fixed'),
      now,
      experiments: ['hero'],
    });
    const e = fixed.experiments[0]!;
    expect(e.metrics.every((m) => m.stratified === undefined)).toBe(true);
    expect(e.decision.decision).toBe('stop'); // the moved split is a sample ratio mismatch under fixed allocation
  }, 60_000);
});
