/** What every CLI command file shares: the printer it writes to and the argument parsers. */
import { InvalidArgumentError } from 'commander';

/** Where a command prints its normal output (stdout in the real CLI, a string in tests). */
export type Out = (text: string) => void;

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive whole number, found "${value}"`);
    return n;
  };
}

export function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, found "${value}"`);
    return n;
  };
}
