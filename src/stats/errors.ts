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

const show = (v: unknown) => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)));

export function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new StatsInputError(name, `must be a finite number, found ${show(v)}`);
  return v;
}

export function count(name: string, v: unknown, min = 0): number {
  finite(name, v);
  if (!Number.isInteger(v) || (v as number) < min)
    throw new StatsInputError(name, `must be a whole number >= ${min}, found ${show(v)}`);
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

/** Validates a binary-metric arm: n units (at least minN), conversions between 0 and n. */
export function proportionArm(
  name: string,
  arm: { n: number; conversions: number },
  minN = 1,
): { n: number; conversions: number } {
  object(name, arm);
  const n = count(`${name}.n`, arm.n, minN);
  const conversions = count(`${name}.conversions`, arm.conversions);
  if (conversions > n)
    throw new StatsInputError(`${name}.conversions`, `cannot exceed ${name}.n (${n}), found ${conversions}`);
  return { n, conversions };
}

/**
 * The relative rounding that sums over many units may carry (accumulated by the database or
 * in floating point): a sum of squares or a difference of means within it is not data.
 */
export const ROUNDING = 1e-9;

/** Whether `difference` is within the rounding of sums of values of magnitude `scale`. */
export function isRounding(difference: number, scale: number): boolean {
  return Math.abs(difference) <= ROUNDING * scale;
}

/**
 * Validates a continuous-metric arm given as sufficient statistics and returns its mean
 * and sample variance (n - 1). Cancellation can push a zero variance slightly negative;
 * a clearly negative one is input no data can give.
 */
export function meanArm(
  name: string,
  arm: { n: number; sum: number; sumSq: number },
): { n: number; mean: number; variance: number } {
  object(name, arm);
  const n = count(`${name}.n`, arm.n, 2);
  const sum = finite(`${name}.sum`, arm.sum);
  const sumSq = nonNegative(`${name}.sumSq`, arm.sumSq);
  const mean = sum / n;
  const ss = sumSq - sum * mean;
  if (ss < -ROUNDING * Math.max(sumSq, 1)) {
    throw new StatsInputError(
      `${name}.sumSq`,
      `is smaller than sum^2 / n (${sum * mean}), which no data can give; found ${sumSq}`,
    );
  }
  return { n, mean, variance: Math.max(ss, 0) / (n - 1) };
}
