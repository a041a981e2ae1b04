/**
 * meanTest with no variance in either arm, which the SciPy fixtures (real samples) do
 * not reach: any difference is certain, no difference is no evidence.
 */
import { describe, expect, it } from 'vitest';
import { meanTest } from '../../../src/stats/frequentist.js';

// Five units each, every value 2 in control and 3 in treatment: no variance.
const twos = { n: 5, sum: 10, sumSq: 20 };
const threes = { n: 5, sum: 15, sumSq: 45 };

describe('meanTest without variance', () => {
  it('calls a difference certain, in its direction', () => {
    const up = meanTest(twos, threes);
    expect(up).toMatchObject({ t: Infinity, pValue: 0, df: 8, significant: true, difference: 1 });
    const down = meanTest(threes, twos);
    expect(down).toMatchObject({ t: -Infinity, pValue: 0, df: 8, significant: true, difference: -1 });
  });

  it('calls no difference no evidence', () => {
    expect(meanTest(twos, { ...twos })).toMatchObject({ t: 0, pValue: 1, df: 8, significant: false });
  });

  it('calls means apart only by the rounding of their sums no difference (audit: 0.1 twice vs 0.1 three times had p = 0)', () => {
    const r = meanTest({ n: 2, sum: 0.1 + 0.1, sumSq: 0.01 + 0.01 }, { n: 3, sum: 0.1 + 0.1 + 0.1, sumSq: 0.03 });
    expect(r.standardError).toBe(0);
    expect(r.difference).not.toBe(0);
    expect(r).toMatchObject({ t: 0, pValue: 1, significant: false });
  });
});
