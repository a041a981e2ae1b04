/**
 * The metric recorder's pending buffer: recordAt() (observe(), track()) appends, and the
 * series are filled at a drain; every read drains first, so what was recorded is what is
 * read, in the same numbers as recording in the call.
 */
import { describe, expect, it } from 'vitest';
import { MetricRecorder } from '../../../src/guardrails/index.js';

const VARIANTS = ['control', 'treatment'] as const;

/** The same values, recorded in the call (record) and through the buffer (recordAt). */
function pair(values: number[]): { direct: MetricRecorder; buffered: MetricRecorder } {
  const direct = new MetricRecorder();
  const buffered = new MetricRecorder();
  values.forEach((v, i) => {
    direct.record('exp', VARIANTS[i & 1]!, 'latency_ms', v);
    buffered.recordAt('exp', VARIANTS, i & 1, 'latency_ms', v);
  });
  return { direct, buffered };
}

describe('MetricRecorder.recordAt: appended, drained off the call, read in full', () => {
  it('a read right after recording sees every value, with the numbers of recording in the call', () => {
    const values = Array.from({ length: 3000 }, (_, i) => 5 + ((i * 7919) % 997) / 3);
    const { direct, buffered } = pair(values);
    expect(buffered.pending).toBe(3000);
    expect(buffered.summary('exp', 'treatment', 'latency_ms')).toEqual(
      direct.summary('exp', 'treatment', 'latency_ms'),
    );
    expect(buffered.pending).toBe(0);
    expect(buffered.quantile('exp', 'control', 'latency_ms', 0.95)).toBe(
      direct.quantile('exp', 'control', 'latency_ms', 0.95),
    );
    buffered.recordAt('exp', VARIANTS, 0, 'error', 1);
    expect(buffered.snapshot().exp!.control!.metrics.error!.n).toBe(1);
    direct.record('exp', 'control', 'error', 1);
    expect(buffered.snapshot()).toEqual(direct.snapshot());
  });

  it('asks its owner for one drain once a batch waits, and again after that drain', () => {
    let asked = 0;
    const rec = new MetricRecorder({ onBacklog: () => asked++ });
    for (let i = 0; i < 1023; i++) rec.recordAt('exp', VARIANTS, 0, 'm', 1);
    expect(asked).toBe(0);
    for (let i = 0; i < 5000; i++) rec.recordAt('exp', VARIANTS, 1, 'm', 2);
    expect(asked).toBe(1);
    rec.drain();
    expect(rec.pending).toBe(0);
    expect(rec.summary('exp', 'control', 'm')?.n).toBe(1023);
    expect(rec.summary('exp', 'treatment', 'm')?.sum).toBe(10_000);
    for (let i = 0; i < 1024; i++) rec.recordAt('exp', VARIANTS, 0, 'm', 1);
    expect(asked).toBe(2);
  });

  it('drains inline when a synchronous burst reaches the cap, so memory stays bounded', () => {
    const rec = new MetricRecorder();
    for (let i = 0; i < 65_536; i++) rec.recordAt('exp', VARIANTS, i & 1, 'm', 1);
    expect(rec.pending).toBe(0);
    rec.recordAt('exp', VARIANTS, 0, 'm', 1);
    expect(rec.pending).toBe(1);
    expect(rec.summary('exp', 'control', 'm')?.n).toBe(32_769);
  });

  it('rejects non-finite values without buffering them', () => {
    const rec = new MetricRecorder();
    expect(rec.recordAt('exp', VARIANTS, 0, 'm', NaN)).toBe(false);
    expect(rec.recordAt('exp', VARIANTS, 0, 'm', Infinity)).toBe(false);
    expect(rec.pending).toBe(0);
    expect(rec.recordAt('exp', VARIANTS, 0, 'm', 0)).toBe(true);
    expect(rec.summary('exp', 'control', 'm')?.n).toBe(1);
  });

  it('keeps experiments apart when two share a variant list object', () => {
    const rec = new MetricRecorder();
    rec.recordAt('a', VARIANTS, 1, 'm', 3);
    rec.recordAt('b', VARIANTS, 1, 'm', 4);
    rec.recordAt('a', VARIANTS, 1, 'm', 5);
    expect(rec.summary('a', 'treatment', 'm')?.sum).toBe(8);
    expect(rec.summary('b', 'treatment', 'm')?.sum).toBe(4);
  });
});
