/** What every CLI command file shares: the printer it writes to and the argument parsers. */
import { InvalidArgumentError } from 'commander';
import {
  SwitchyardError,
  terminalSafe,
  type KillChangeResult,
  type KillRecord,
  type ValidatedConfig,
} from '../../index.js';

/**
 * What a run has open that an interrupt (SIGINT, SIGTERM) must not leave behind: a DuckDB
 * store's directory under the OS temp dir. A command adds the closer while the thing is
 * open and deletes it once closed; the CLI's entry runs those left before it exits.
 */
export const onInterrupt = new Set<() => Promise<void>>();

/**
 * `use` of a store being opened: closed after, or abandoned by an interrupt meanwhile
 * (onInterrupt: its files removed at once, without waiting for a running statement, which a
 * close from the signal's handler could wait on for good), an interrupt while it opens
 * included (its directory is made first).
 */
export async function whileOpen<T extends { close(): Promise<void>; abandon?(): void }, R>(
  opening: Promise<T>,
  use: (it: T) => Promise<R>,
): Promise<R> {
  const abandon = () =>
    opening.then(
      (it) => (it.abandon ? it.abandon() : it.close()),
      () => undefined,
    );
  onInterrupt.add(abandon);
  try {
    return await use(await opening);
  } finally {
    onInterrupt.delete(abandon);
    await opening.then(
      (it) => it.close(),
      () => undefined,
    );
  }
}

/** Where a command prints its normal output (stdout in the real CLI, a string in tests). */
export type Out = (text: string) => void;

/**
 * Lines for a terminal that may hold text from outside (a name from the command line or a
 * file): control characters within each line are shown as \uXXXX (terminalSafe), so the
 * text cannot drive the terminal. A newline inside a field would still start a line: text
 * that may hold one (a kill record's who and why) goes through terminalSafe where the
 * message is made.
 */
export function terminalLines(text: string): string {
  return text.split('\n').map(terminalSafe).join('\n');
}

/**
 * The value as a decimal number (an exponent allowed: 1e4), NaN for anything else: Number()
 * alone reads 0x10 as 16, 0o3 and 0b11 as 3, and "" or " " as 0.
 */
export function decimal(value: string): number {
  return /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i.test(value) ? Number(value) : NaN;
}

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = decimal(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive whole number, found "${value}"`);
    return n;
  };
}

/** A number from 0 to `max` (Infinity: any finite number), for an option whose other values mean nothing. */
export function nonNegative(name: string, max = Infinity) {
  return (value: string): number => {
    const n = decimal(value);
    if (!Number.isFinite(n) || n < 0 || n > max)
      throw new InvalidArgumentError(
        `${name} must be a number ${max === Infinity ? '>= 0' : `from 0 to ${max}`}, found "${value}"`,
      );
    return n;
  };
}

/** The experiment named on the command line, or SY_INVALID_ARGUMENT (exit 2) naming the known ones. */
export function requireExperiment(config: ValidatedConfig, experiment: string, file: string): void {
  if (config.experiments.has(experiment)) return;
  const known = [...config.experiments.keys()];
  throw new SwitchyardError(
    'SY_INVALID_ARGUMENT',
    'cli',
    `no experiment "${experiment}" in ${file}` +
      (known.length ? ` (experiments: ${known.join(', ')})` : ' (it has no experiments)'),
  );
}

/** How far a record's stamp is ahead of this machine's clock, as "N s" (rounded up). */
function ahead(record: KillRecord, now: number): string {
  return `${Math.ceil((record.at - now) / 1000)} s`;
}

/**
 * The end of SY_STALE_DECISION's message (kill, unkill, pause, resume): a record in force
 * stamped ahead of this machine's clock may be a skewed clock's, which would outlast every
 * decision made here until real time passes it, so the message says so and names --force.
 * A record that is newer without being ahead is a genuinely later decision: nothing added.
 */
export function staleDecisionHint(record: KillRecord, now = Date.now()): string {
  return record.at > now
    ? `: it is stamped ${ahead(record, now)} ahead of this machine's clock (a clock running ahead?); --force writes this decision stamped just after it, so that it wins`
    : '';
}

/**
 * For a forced decision that had to be stamped after the record in force: a line saying so,
 * with the decision's own time, which the stored record no longer shows; '' otherwise.
 */
export function overruledNote(result: KillChangeResult, what: (r: KillRecord) => string): string {
  const o = result.overruled;
  if (!o) return '';
  const r = o.record;
  const skew = r.at > o.decidedAt ? `, ${ahead(r, o.decidedAt)} ahead of this machine's clock` : '';
  return `stamped ${new Date(result.record.at).toISOString()}, just after the record in force (${what(r)} by ${terminalSafe(r.by)} at ${new Date(r.at).toISOString()}${skew}); decided at ${new Date(o.decidedAt).toISOString()}\n`;
}
