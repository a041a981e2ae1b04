/**
 * The statistics module's input errors, word for word: the argument, what it must be, and
 * what was found, shown as a number, as JSON, or as itself when JSON has no form for it.
 */
import { describe, expect, it } from 'vitest';
import { StatsInputError, count, finite, nonNegative, positive } from '../../../src/stats/errors.js';

function thrown(call: () => unknown): StatsInputError {
  try {
    call();
  } catch (error) {
    return error as StatsInputError;
  }
  throw new Error('did not throw');
}

describe('stats input errors', () => {
  it('name the argument and show what was found', () => {
    const e = thrown(() => finite('control.n', NaN));
    expect(e).toBeInstanceOf(StatsInputError);
    expect(e).toMatchObject({ name: 'StatsInputError', code: 'SY_INVALID_ARGUMENT', argument: 'control.n' });
    expect(e.message).toBe('control.n: must be a finite number, found NaN');
    expect(thrown(() => finite('alpha', '0.05')).message).toBe('alpha: must be a finite number, found "0.05"');
    expect(thrown(() => finite('alpha', undefined)).message).toBe('alpha: must be a finite number, found undefined');
    expect(thrown(() => finite('alpha', { a: 1 })).message).toBe('alpha: must be a finite number, found {"a":1}');
    expect(thrown(() => count('n', 2.5, 1)).message).toBe('n: must be a whole number >= 1, found 2.5');
    expect(thrown(() => count('n', 0, 1)).message).toBe('n: must be a whole number >= 1, found 0');
    expect(thrown(() => positive('tau', 0)).message).toBe('tau: must be > 0, found 0');
    expect(thrown(() => nonNegative('variance', -1)).message).toBe('variance: must be >= 0, found -1');
  });

  it('let good values through unchanged', () => {
    expect(finite('x', -2.5)).toBe(-2.5);
    expect(count('n', 3, 1)).toBe(3);
    expect(positive('tau', 1e-12)).toBe(1e-12);
    expect(nonNegative('v', 0)).toBe(0);
  });
});
