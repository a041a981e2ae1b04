/**
 * Guardrail rules on simulated data (seeded): healthy experiments checked at every
 * interval for the equivalent of 14 days trip at most alpha of the time; regressions trip
 * within the sample the always-valid boundary predicts.
 */
import { describe, expect, it } from 'vitest';
import { validateConfigObject, type ValidatedExperiment } from '../../../src/config/index.js';
import {
  checkExperiment,
  expectedTripSample,
  MetricRecorder,
  resolveMetric,
  type ArmData,
  type CheckMemory,
} from '../../../src/guardrails/index.js';
import { binomialSampler, normalSampler, uniform } from '../../helpers/rng.js';

/** Long simulations give the test runner's worker a turn between runs. */
const yieldToVitest = () => new Promise((resolve) => setImmediate(resolve));

function experiment(guardrails: unknown[], extra: Record<string, unknown> = {}): ValidatedExperiment {
  const config = validateConfigObject({
    experiments: {
      exp: {
        variants: { control: { weight: 50 }, treatment: { weight: 50 } },
        guardrails,
        ...extra,
      },
    },
  });
  return config.experiments.get('exp')!;
}

/** Cumulative 0/1 observations as an arm's `error` series. */
function errorArm(n: number, errors: number): ArmData {
  return {
    units: 0,
    metrics: {
      error: { n, sum: errors, sumSq: errors, min: 0, max: errors > 0 ? 1 : 0, buckets: {} },
    },
  };
}

describe('metric names', () => {
  it.each([
    ['error_rate', { kind: 'mean', series: 'error' }],
    ['p95_latency_ms', { kind: 'quantile', series: 'latency_ms', q: 0.95 }],
    ['latency_p95', { kind: 'quantile', series: 'latency_ms', q: 0.95 }],
    ['p99.9_latency_ms', { kind: 'quantile', series: 'latency_ms', q: 0.999 }],
    ['purchase_per_unit', { kind: 'per_unit', series: 'purchase' }],
    ['timeout_rate', { kind: 'mean', series: 'timeout' }],
    ['revenue', { kind: 'mean', series: 'revenue' }],
  ] as const)('%s', (name, expected) => expect(resolveMetric(name)).toEqual(expected));
});

describe('A/A: healthy experiments checked at every interval for 14 days', () => {
  it('error rate at exactly its limit (max 0.001) and relative +10%: trips in <= 5% of 200 seeded runs, checked every 20 minutes', async () => {
    const exp = experiment(
      [
        { metric: 'error_rate', max: 0.001, min_sample: 1000 },
        { metric: 'error_rate', max_relative_increase: 0.1, min_sample: 1000 },
      ],
      { min_sample_size: 1000 },
    );
    const draw = binomialSampler(1301);
    const runs = 200;
    const checks = 14 * 24 * 3; // every 20 minutes
    const perInterval = 2000;
    let tripped = 0;
    for (let r = 0; r < runs; r++) {
      await yieldToVitest();
      let nc = 0;
      let ec = 0;
      let nt = 0;
      let et = 0;
      const memory: CheckMemory = {};
      for (let i = 0; i < checks; i++) {
        nc += perInterval;
        nt += perInterval;
        ec += draw(perInterval, 0.001);
        et += draw(perInterval, 0.001);
        const check = checkExperiment(exp, { control: errorArm(nc, ec), treatment: errorArm(nt, et) }, i, memory);
        if (check.breached.length > 0) {
          tripped++;
          break;
        }
      }
    }
    expect(tripped / runs).toBeLessThanOrEqual(0.05);
  }, 60_000);

  it('p95 latency, same distribution in both arms, max_relative_increase 0.05: trips in <= 5% of 100 runs checked every 2 hours', async () => {
    const exp = experiment([{ metric: 'p95_latency_ms', max_relative_increase: 0.05, min_sample: 500 }]);
    const draw = normalSampler(1302);
    const runs = 100;
    let tripped = 0;
    for (let r = 0; r < runs; r++) {
      await yieldToVitest();
      const rec = new MetricRecorder();
      for (let h = 0; h < 14 * 12; h++) {
        for (let i = 0; i < 200; i++) {
          rec.recordRun('exp', 'control', Math.exp(draw(4, 0.5)), false);
          rec.recordRun('exp', 'treatment', Math.exp(draw(4, 0.5)), false);
        }
        if (checkExperiment(exp, rec.snapshot().exp, h).breached.length > 0) {
          tripped++;
          break;
        }
      }
    }
    expect(tripped / runs).toBeLessThanOrEqual(0.05);
  }, 120_000);
});

/** Per check: `units` units exposed per arm, each buying with probability 0.1 at a log-normal price of mean `price` (x lift in treatment). */
async function purchaseRuns(
  exp: ValidatedExperiment,
  price: number,
  lift: number,
  runs: number,
  checks: number,
  seed: number,
): Promise<number> {
  const u = uniform(seed);
  const draw = normalSampler(seed + 1);
  let tripped = 0;
  for (let r = 0; r < runs; r++) {
    await yieldToVitest();
    const rec = new MetricRecorder();
    for (let k = 0; k < checks; k++) {
      for (const [arm, factor] of [
        ['control', 1],
        ['treatment', lift],
      ] as const) {
        for (let i = 0; i < 500; i++) {
          rec.exposure('exp', arm);
          if (u() < 0.1) rec.record('exp', arm, 'purchase', factor * price * Math.exp(draw(-0.5, 1)));
        }
      }
      if (checkExperiment(exp, rec.snapshot().exp, k).breached.length > 0) {
        tripped++;
        break;
      }
    }
  }
  return tripped;
}

describe('A/A: per-unit sums of valued events', () => {
  it('purchase_per_unit (prices of mean 50) at its min and relative -5%: trips in <= 5% of 200 runs (plus 3 standard errors), 50 checks each', async () => {
    const exp = experiment([
      { metric: 'purchase_per_unit', min: 5, min_sample: 1000 },
      { metric: 'purchase_per_unit', max_relative_decrease: 0.05, min_sample: 1000 },
    ]);
    const runs = 200;
    const tripped = await purchaseRuns(exp, 50, 1, runs, 50, 1305);
    expect(tripped / runs).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / runs));
  }, 60_000);
});

describe('A/B: regressions trip', () => {
  it('error rate 0.1% -> 0.3% against max 0.001 trips within the sample the boundary predicts', async () => {
    const exp = experiment([{ metric: 'error_rate', max: 0.001, min_sample: 1000 }]);
    const alpha = 0.05; // one rule, one treatment
    const p = 0.003;
    const predicted = expectedTripSample(p - 0.001, Math.sqrt(p * (1 - p)), alpha);
    const draw = binomialSampler(1303);
    const tripAt: number[] = [];
    const perInterval = 500;
    for (let r = 0; r < 100; r++) {
      await yieldToVitest();
      let nc = 0;
      let ec = 0;
      let nt = 0;
      let et = 0;
      let at = Infinity;
      while (nt < 4 * predicted) {
        nc += perInterval;
        nt += perInterval;
        ec += draw(perInterval, 0.001);
        et += draw(perInterval, p);
        const check = checkExperiment(exp, { control: errorArm(nc, ec), treatment: errorArm(nt, et) }, 0);
        if (check.breached.length > 0) {
          expect(check.breached[0]!.variant).toBe('treatment');
          at = nt;
          break;
        }
      }
      tripAt.push(at);
    }
    tripAt.sort((a, b) => a - b);
    const median = tripAt[50]!;
    // Half trip by about the predicted sample, nearly all by 2.5 times it.
    expect(median).toBeGreaterThan(0.4 * predicted);
    expect(median).toBeLessThan(1.6 * predicted);
    expect(tripAt.filter((n) => n <= 2.5 * predicted).length).toBeGreaterThanOrEqual(95);
  }, 60_000);

  it('p95 latency +20% trips (every one of 30 runs within 20,000 requests per arm); +0% does not', async () => {
    const exp = experiment([{ metric: 'p95_latency_ms', max_relative_increase: 0.05, min_sample: 1000 }]);
    const draw = normalSampler(1304);
    for (const [lift, expectTrip] of [
      [1.2, true],
      [1.0, false],
    ] as const) {
      let tripped = 0;
      for (let r = 0; r < 30; r++) {
        await yieldToVitest();
        const rec = new MetricRecorder();
        for (let k = 0; k < 20; k++) {
          for (let i = 0; i < 1000; i++) {
            rec.recordRun('exp', 'control', Math.exp(draw(4, 0.5)), false);
            rec.recordRun('exp', 'treatment', lift * Math.exp(draw(4, 0.5)), false);
          }
          const check = checkExperiment(exp, rec.snapshot().exp, k);
          if (check.breached.length > 0) {
            tripped++;
            expect(check.breached[0]!.arms.treatment!.value! / check.breached[0]!.arms.control!.value!).toBeGreaterThan(
              1.1,
            );
            break;
          }
        }
      }
      if (expectTrip) expect(tripped).toBe(30);
      else expect(tripped).toBe(0);
    }
  }, 60_000);
});

describe('A/B: per-unit sums of valued events', () => {
  it('purchase_per_unit 20% lower (prices of mean 50) trips max_relative_decrease 0.05 in >= 95 of 100 runs by 2.5 times the sample the boundary predicts', async () => {
    const exp = experiment([{ metric: 'purchase_per_unit', max_relative_decrease: 0.05, min_sample: 1000 }]);
    // Per unit: 0.1 purchases of E[price^2] = 50^2 e (log-normal, sigma 1); the statistic is t - 0.95 c.
    const perUnitVariance = 0.1 * 2500 * Math.E;
    const sd = Math.sqrt(perUnitVariance * (0.8 ** 2 + 0.95 ** 2));
    const predicted = expectedTripSample(5 * (0.95 - 0.8), sd, 0.05);
    const checks = Math.ceil((2.5 * predicted) / 500);
    expect(await purchaseRuns(exp, 50, 0.8, 100, checks, 1306)).toBeGreaterThanOrEqual(95);
  }, 60_000);
});

describe('states and bad input', () => {
  it('a metric never recorded is no-data, not breached', () => {
    const exp = experiment([{ metric: 'checkout_failures_rate', max: 0.01 }]);
    const check = checkExperiment(exp, { control: errorArm(5000, 5), treatment: errorArm(5000, 50) }, 0);
    expect(check.rules[0]!.state).toBe('no-data');
    expect(check.breached).toEqual([]);
    expect(checkExperiment(exp, undefined, 0).rules[0]!.state).toBe('no-data');
  });

  it('below min_sample a rule is insufficient whatever the numbers', () => {
    const exp = experiment([{ metric: 'error_rate', max: 0.001, min_sample: 10_000 }]);
    const check = checkExperiment(exp, { control: errorArm(9000, 0), treatment: errorArm(9000, 900) }, 0);
    expect(check.rules[0]!.state).toBe('insufficient');
    expect(check.healthy).toBe(false);
  });

  it('min_sample defaults to experiment_config.min_sample_size', () => {
    const exp = experiment([{ metric: 'error_rate', max: 0.001 }], { min_sample_size: 123 });
    expect(checkExperiment(exp, undefined, 0).rules[0]!.minSample).toBe(123);
  });

  it('non-finite values are not recorded', () => {
    const rec = new MetricRecorder();
    expect(rec.record('exp', 'control', 'x', NaN)).toBe(false);
    expect(rec.record('exp', 'control', 'x', Infinity)).toBe(false);
    expect(rec.record('exp', 'control', 'x', 2)).toBe(true);
    expect(rec.summary('exp', 'control', 'x')).toMatchObject({ n: 1, sum: 2 });
  });

  it('a value too large to square is not recorded, so one such value cannot leave a breached rule insufficient for good', () => {
    const exp = experiment([{ metric: 'latency_ms', max: 100, min_sample: 100 }]);
    const rec = new MetricRecorder();
    for (let i = 0; i < 1000; i++) {
      rec.record('exp', 'control', 'latency_ms', 50 + (i % 10));
      rec.record('exp', 'treatment', 'latency_ms', 500 + (i % 10));
    }
    // Finite, but its square (the series' sumSq) is Infinity and the variance NaN.
    expect(rec.record('exp', 'treatment', 'latency_ms', 1e200)).toBe(false);
    expect(rec.recordAt('exp', ['control', 'treatment'], 1, 'latency_ms', -1e200)).toBe(false);
    rec.recordRun('exp', 'treatment', 1e200, false);
    expect(rec.summary('exp', 'treatment', 'latency_ms')).toMatchObject({ n: 1000 });
    expect(Number.isFinite(rec.summary('exp', 'treatment', 'latency_ms')!.sumSq)).toBe(true);
    expect(checkExperiment(exp, rec.snapshot().exp, 0).rules[0]!.state).toBe('breached');
  });

  it('a metric without any noise (every value the same) is judged on its value, not called healthy with an unbounded sequence', () => {
    const constant = (value: number): ArmData => ({
      units: 0,
      metrics: {
        queue_depth: { n: 2000, sum: 2000 * value, sumSq: 2000 * value * value, min: value, max: value, buckets: {} },
      },
    });
    const absolute = experiment([{ metric: 'queue_depth', max: 100, min_sample: 1000 }]);
    const over = checkExperiment(absolute, { control: constant(50), treatment: constant(500) }, 0).rules[0]!;
    expect(over.state).toBe('breached');
    expect(over.bound).toEqual({ lower: 400, upper: 400 });
    expect(checkExperiment(absolute, { control: constant(50), treatment: constant(60) }, 0).rules[0]!.state).toBe(
      'healthy',
    );
    const relative = experiment([{ metric: 'queue_depth', max_relative_increase: 0.05, min_sample: 1000 }]);
    expect(checkExperiment(relative, { control: constant(50), treatment: constant(500) }, 0).rules[0]!.state).toBe(
      'breached',
    );
    expect(checkExperiment(relative, { control: constant(50), treatment: constant(50) }, 0).rules[0]!.state).toBe(
      'healthy',
    );
  });

  it('SRM: a 50/50 experiment split 52/48 over 20,000 units is breached; 50/50 is not', () => {
    const exp = experiment([]);
    const arm = (units: number): ArmData => ({ units, metrics: {} });
    expect(checkExperiment(exp, { control: arm(10_400), treatment: arm(9600) }, 0).srm!.state).toBe('breached');
    expect(checkExperiment(exp, { control: arm(10_050), treatment: arm(9950) }, 0).srm!.state).toBe('healthy');
  });
});
