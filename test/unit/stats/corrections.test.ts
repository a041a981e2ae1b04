/**
 * adjustPValues' input checks, word for word, and the ends of [0, 1]: the SciPy
 * fixtures cover the corrections themselves.
 */
import { describe, expect, it } from 'vitest';
import { adjustPValues } from '../../../src/stats/corrections.js';

describe('adjustPValues input', () => {
  it('says what is wrong', () => {
    expect(() => adjustPValues('0.1' as never, 'bh')).toThrow('pValues: must be an array, found string');
    expect(() => adjustPValues([0.1], 'fdr' as never)).toThrow(
      'method: must be one of bonferroni, holm, bh, by, found "fdr"',
    );
    expect(() => adjustPValues([0.1, NaN], 'holm')).toThrow(/pValues\[1\]/);
    expect(() => adjustPValues([0.1, 1.5], 'holm')).toThrow('pValues[1]: must be in [0, 1], found 1.5');
    expect(() => adjustPValues([-0.01, 0.1], 'by')).toThrow('pValues[0]: must be in [0, 1], found -0.01');
  });

  it('takes p-values of exactly 0 and 1', () => {
    expect(adjustPValues([0, 1], 'bonferroni')).toEqual([0, 1]);
    expect(adjustPValues([0, 1], 'holm')).toEqual([0, 1]);
    expect(adjustPValues([0, 1], 'bh')).toEqual([0, 1]);
  });
});
