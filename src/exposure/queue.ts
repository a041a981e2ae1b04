/**
 * The exposure pipeline's event queue: parallel arrays (struct of arrays) written by index, so a push allocates nothing.
 *
 * No object per event, numbers in typed arrays, and the arrays keep their size from batch
 * to batch. A slot holds an exposure (descriptor set) or a tracked event (track set).
 */

/**
 * What every exposure of one experiment variant under one allocation shares. Callers
 * keep one per (allocation, variant) and pass it by reference, so queueing an exposure
 * creates no object.
 */
export interface ExposureDescriptor {
  readonly experiment: string;
  readonly flag: string;
  readonly variant: string;
  readonly mode: 'fixed' | 'gradual' | 'adaptive' | 'provider';
  readonly version: number;
}

export interface TrackInput {
  event: string;
  value: number | undefined;
  /** Serialized already: a bad value is rejected in the caller's call, not at flush. */
  properties: string;
}

const SLOTS = 1024;

/** A slot's state (masked by STATE): logged, waiting for the exposure rule, or found a duplicate by it. */
export const LOGGED = 0;
export const PENDING = 1;
export const DUPLICATE = 2;
export const STATE = 3;
/** Flags beside the state: the slot is a tracked event; the exposure has attributes. */
export const TRACK = 4;
export const ATTRIBUTES = 8;

export class EventQueue {
  length = 0;
  /** Slots before this one have been through the exposure rule (see the pipeline's settle()). */
  settled = 0;
  /** A slot's state: LOGGED, PENDING or DUPLICATE, plus the TRACK and ATTRIBUTES flags. */
  states = new Uint8Array(SLOTS);
  /** The dedupe fingerprint of a PENDING exposure. */
  hi = new Int32Array(SLOTS);
  lo = new Int32Array(SLOTS);
  ts = new Float64Array(SLOTS);
  steps = new Float64Array(SLOTS);
  percents = new Float64Array(SLOTS);
  units: string[] = filled(SLOTS, '');
  descriptors: (ExposureDescriptor | undefined)[] = filled(SLOTS, undefined);
  reasons: string[] = filled(SLOTS, '');
  /** Written only for slots flagged TRACK or ATTRIBUTES. */
  tracks: (TrackInput | undefined)[] = filled(SLOTS, undefined);
  attributes: (Record<string, unknown> | undefined)[] = filled(SLOTS, undefined);

  /** Appends a slot (stores into arrays that already have the room); returns its index. */
  push(state: number, unit: string, ts: number): number {
    const i = this.length;
    if (i === this.ts.length) this.grow();
    this.states[i] = state;
    this.units[i] = unit;
    this.ts[i] = ts;
    this.length = i + 1;
    return i;
  }

  exposure(
    i: number,
    descriptor: ExposureDescriptor,
    step: number,
    percent: number,
    reason: string,
    attributes: Record<string, unknown> | undefined,
  ): void {
    this.descriptors[i] = descriptor;
    this.steps[i] = step;
    this.percents[i] = percent;
    this.reasons[i] = reason;
    if (attributes !== undefined) {
      this.attributes[i] = attributes;
      this.states[i]! |= ATTRIBUTES;
    }
  }

  /** Empties the queue, letting go of what it referred to and keeping its arrays' room. */
  reset(): void {
    const n = this.length;
    this.units.fill('', 0, n);
    this.tracks.fill(undefined, 0, n);
    this.attributes.fill(undefined, 0, n);
    this.length = 0;
    this.settled = 0;
  }

  private grow(): void {
    this.states = grown(this.states);
    this.hi = grown(this.hi);
    this.lo = grown(this.lo);
    this.ts = grown(this.ts);
    this.steps = grown(this.steps);
    this.percents = grown(this.percents);
    this.units = grownArray(this.units, '');
    this.descriptors = grownArray(this.descriptors, undefined);
    this.reasons = grownArray(this.reasons, '');
    this.tracks = grownArray(this.tracks, undefined);
    this.attributes = grownArray(this.attributes, undefined);
  }
}

/** An array of `n` copies of `value` (packed, so stores into it never grow it). */
function filled<T>(n: number, value: T): T[] {
  return new Array<T>(n).fill(value);
}

/** An array of twice the length, holding `a` at its start. */
function grownArray<T>(a: T[], value: T): T[] {
  const b = filled(a.length * 2, value);
  for (let i = 0; i < a.length; i++) b[i] = a[i]!;
  return b;
}

/** A typed array of twice the length, holding `a` at its start. */
function grown<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a as never);
  return b;
}
