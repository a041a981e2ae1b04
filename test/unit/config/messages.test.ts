/**
 * The config layer's number formatting: integers as they are, fractions rounded to nine
 * decimals, so a float sum such as 0.1 + 0.2 reads as people wrote it.
 */
import { describe, expect, it } from 'vitest';
import { configMessages, formatNumber } from '../../../src/config/messages.js';

describe('formatNumber', () => {
  it('writes integers as they are and fractions to at most nine decimals', () => {
    expect(formatNumber(100)).toBe('100');
    expect(formatNumber(-3)).toBe('-3');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(33.3333333333333)).toBe('33.333333333');
    expect(formatNumber(99.9999999996)).toBe('100');
    expect(formatNumber(12.5)).toBe('12.5');
  });

  it('is what the messages show for fractional weights and floors', () => {
    expect(configMessages.weightsSum(100, 33.3 + 33.3 + 33.3)).toBe(
      'variant weights must add up to exactly 100 (they are percentages), found 99.9',
    );
    expect(configMessages.floorsTooHigh(3, 33.4, 0.1)).toBe(
      'floors cannot add up: 3 arms x floor 33.4% + holdout 0.1% = 100.3%, more than 100%',
    );
  });
});
