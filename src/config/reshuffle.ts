import { configMessages as m } from './messages.js';
import { quote, scrubSecrets } from './quote.js';
import type { ValidatedConfig, ValidatedExperiment } from './types.js';

/**
 * Changes that would move units of a running experiment to another variant: a new salt,
 * or a variant removed or moved in the order (bucket ranges follow the variant order).
 * An experiment renamed with its flag kept is the same units on the same flag: its salt
 * (the key, unless set) and variants are compared with the running experiment it replaces.
 * Weight changes and ramp changes are ops' everyday edits and pass.
 * Returns one message per offending experiment.
 */
export function reshuffleProblems(previous: ValidatedConfig, next: ValidatedConfig, now: number): string[] {
  const out: string[] = [];
  const secrets = [...previous.secrets, ...next.secrets];
  for (const [key, after] of next.experiments) {
    if (after.allowReshuffle) continue;
    const same = previous.experiments.get(key);
    const replaced =
      same === undefined
        ? [...previous.experiments].find(([k, e]) => e.flag === after.flag && !next.experiments.has(k))
        : undefined;
    const before = same ?? replaced?.[1];
    if (!before || !isRunning(before, now)) continue;
    const why = reshuffleReason(before, after, secrets);
    if (!why) continue;
    out.push(
      m.reshuffle(
        key,
        replaced ? `it takes flag ${quote(after.flag)} over from experiment ${quote(replaced[0])}: ${why}` : why,
      ),
    );
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
