/**
 * The statistics module depends on nothing else in switchyard, so it has its own error:
 * bad input always throws this, naming the argument; no function returns NaN.
 */
export class StatsInputError extends Error {
  override readonly name = 'StatsInputError';
  readonly code = 'SY_INVALID_ARGUMENT' as const;

  constructor(
    readonly argument: string,
    readonly what: string,
  ) {
    super(`${argument}: ${what}`);
  }
}

const show = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

export function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new StatsInputError(name, `must be a finite number, found ${show(v)}`);
  return v;
}

export function count(name: string, v: unknown, min = 0): number {
  finite(name, v);
  if (!Number.isInteger(v) || (v as number) < min) throw new StatsInputError(name, `must be a whole number >= ${min}, found ${show(v)}`);
  return v as number;
}

export function positive(name: string, v: unknown): number {
  if (finite(name, v) <= 0) throw new StatsInputError(name, `must be > 0, found ${show(v)}`);
  return v as number;
}

export function nonNegative(name: string, v: unknown): number {
  if (finite(name, v) < 0) throw new StatsInputError(name, `must be >= 0, found ${show(v)}`);
  return v as number;
}

/** A probability strictly inside (0, 1): alpha, power, confidence levels. */
export function openUnit(name: string, v: unknown): number {
  const x = finite(name, v);
  if (x <= 0 || x >= 1) throw new StatsInputError(name, `must be strictly between 0 and 1, found ${show(v)}`);
  return x;
}

export function object<T>(name: string, v: T): NonNullable<T> {
  if (typeof v !== 'object' || v === null) throw new StatsInputError(name, `must be an object, found ${show(v)}`);
  return v as NonNullable<T>;
}
