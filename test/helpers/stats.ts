/** What the statistics tests share. */
import { expect } from 'vitest';
import { StatsInputError } from '../../src/stats/index.js';

/** The message of the StatsInputError that `f` throws ('did not throw' when it returns). */
export function statsInputMessage(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(StatsInputError);
    return (error as Error).message;
  }
  return 'did not throw';
}
