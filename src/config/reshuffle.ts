import { configMessages as m } from './messages.js';
import { quote, scrubSecrets } from './quote.js';
import type { ValidatedConfig, ValidatedExperiment } from './types.js';

/**
 * Changes that would move units of a running experiment to another variant: a new salt,
 * or a variant removed or moved in the order (bucket ranges follow the variant order).
 * Weight changes and ramp changes are ops' everyday edits and pass.
 * Returns one message per offending experiment.
 */
export function reshuffleProblems(previous: ValidatedConfig, next: ValidatedConfig, now: number): string[] {
  const out: string[] = [];
  for (const [key, after] of next.experiments) {
    const before = previous.experiments.get(key);
    if (!before || after.allowReshuffle || !isRunning(before, now)) continue;
    const why = reshuffleReason(before, after, [...previous.secrets, ...next.secrets]);
    if (why) out.push(m.reshuffle(key, why));
  }
  return out;
}

function isRunning(exp: ValidatedExperiment, now: number): boolean {
  const first = exp.allocation.steps[0];
  return first === undefined || first.startsAt <= now;
}

function reshuffleReason(
  before: ValidatedExperiment,
  after: ValidatedExperiment,
  secrets: readonly string[],
): string | undefined {
  // A salt may come from the environment: scrubbed before it is quoted, as in load.ts.
  const shown = (salt: string) => quote(scrubSecrets(salt, secrets));
  if (before.allocation.salt !== after.allocation.salt)
    return `salt ${shown(before.allocation.salt)} -> ${shown(after.allocation.salt)}`;
  const old = before.variants.map((v) => v.key);
  const now = after.variants.map((v) => v.key);
  const removed = old.filter((k) => !now.includes(k));
  if (removed.length) return `variant${removed.length > 1 ? 's' : ''} ${removed.join(', ')} removed`;
  if (old.some((k, i) => now[i] !== k))
    return `variants reordered: ${old.join(', ')} -> ${now.slice(0, old.length).join(', ')}`;
  return undefined;
}
