/**
 * srmTest's edges that the SciPy fixtures do not reach: its input errors, a configured
 * threshold, arms with no share, and the deviations it reports.
 */
import { describe, expect, it } from 'vitest';
import { srmTest } from '../../../src/stats/srm.js';

describe('srmTest edges', () => {
  it('says what is wrong with its input', () => {
    expect(() => srmTest([5], [1])).toThrow('needs at least 2 arms, found 1');
    expect(() => srmTest([5, 5], [1, 1, 1])).toThrow('needs one weight per arm (2), found 3');
    expect(() => srmTest([5, 5], [1, -1])).toThrow(/weights\[1\]/);
    expect(() => srmTest([0, 0], [1, 1])).toThrow('are all zero; there is no split to test');
    expect(() => srmTest([3, 4], [0, 0])).toThrow(/weights.*are all zero/);
  });

  it('uses the configured threshold, 0.001 by default', () => {
    // chi2 = 4 (p about 0.0455): a mismatch at 0.05, not at the default.
    const counts = [5100, 4900];
    expect(srmTest(counts, [1, 1]).threshold).toBe(0.001);
    expect(srmTest(counts, [1, 1]).mismatch).toBe(false);
    const at5 = srmTest(counts, [1, 1], { threshold: 0.05 });
    expect(at5.threshold).toBe(0.05);
    expect(at5.chiSquare).toBeCloseTo(4, 12);
    expect(at5.mismatch).toBe(true);
  });

  it('skips an arm with no share and no units, and calls units in an arm with no share a mismatch', () => {
    const none = srmTest([400, 600, 0], [50, 50, 0]);
    expect(none.df).toBe(1);
    expect(none.chiSquare).toBeCloseTo(40, 10);
    expect(none.pValue).toBeGreaterThan(0);
    const stray = srmTest([400, 600, 3], [50, 50, 0]);
    expect(stray.chiSquare).toBe(Infinity);
    expect(stray.pValue).toBe(0);
    expect(stray.mismatch).toBe(true);
  });

  it("reports each arm's share minus its configured share", () => {
    const r = srmTest([600, 300, 100], [50, 30, 20]);
    expect(r.deviations.map((d) => Number(d.toFixed(12)))).toEqual([0.1, 0, -0.1]);
    expect(r.expected).toEqual([500, 300, 200]);
  });
});
