/**
 * Ramp gating, pure: a gradual ramp moves to its next step only when its guardrails are
 * healthy with their sample reached; otherwise it holds where it is. The engine serves the
 * step active at min(now, pausedAt), so holding is a pausedAt at the last millisecond of the
 * allowed step: the clock runs through that step but not into the next, between checks too.
 * One step per check: a ramp that was held catches up a step at a time.
 */
import type { RampStep } from '../config/index.js';

export interface GateDecision {
  /** The step the clock alone would serve (-1 before the first). */
  readonly clockStep: number;
  /** The highest step the guardrails have allowed. */
  readonly allowedStep: number;
  /** The hold to give the engine; undefined when the ramp may follow the clock. */
  readonly pausedAt: number | undefined;
}

export function stepAt(steps: readonly RampStep[], now: number): number {
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.startsAt <= now) return i;
  return -1;
}

/**
 * @param allowedStep the step allowed so far; -1 at start: the clock's step then (a restart
 *   does not shrink a running ramp; the first step needs no evidence)
 * @param ready every guardrail healthy and past its min_sample
 */
export function rampGate(steps: readonly RampStep[], now: number, allowedStep: number, ready: boolean): GateDecision {
  const clockStep = stepAt(steps, now);
  let allowed = allowedStep < 0 ? Math.max(clockStep, 0) : allowedStep;
  if (ready && clockStep > allowed) allowed++;
  const endsAt = steps[allowed]?.endsAt ?? Infinity;
  return { clockStep, allowedStep: allowed, pausedAt: Number.isFinite(endsAt) ? endsAt - 1 : undefined };
}
