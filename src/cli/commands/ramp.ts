/**
 * `switchyard ramp EXP --to N [--config f] [--dry-run] [--vendor]`: sets a fixed-mode
 * experiment's traffic (`allocation.percent`) in the YAML in place. Only the value's
 * characters change (the `yaml` document API locates the node; comments, quoting, order
 * and layout stay as written); a missing key is added the same way, as one more line (or
 * pair of a flow map), and through the document API only where the text has no place. The
 * result is validated as a service would load it (schema, semantic rules, reshuffle guard
 * against the file as it was) and written atomically (temp file + rename), so running
 * services pick it up by hot reload and never see half a file. `--vendor` also sets the rollout at
 * the vendor through its control plane.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { isMap, isScalar, parse, parseDocument } from 'yaml';
import {
  SwitchyardError,
  controlPlaneFromConfig,
  loadConfigFile,
  parseConfig,
  readConfigText,
  reshuffleProblems,
  type ValidatedConfig,
} from '../../index.js';
import type { Out } from './shared.js';

interface RampOptions {
  to: number;
  config: string;
  dryRun?: boolean;
  vendor?: boolean;
}

/**
 * A decimal number (its range is the validator's, which locates the error in the file).
 * Number() alone would also read 0x10 as 16, 0b1, 0o17 and 1e1: not what ops meant.
 */
function percentArg(value: string): number {
  if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(value))
    throw new InvalidArgumentError(`--to must be a percentage written in decimal (e.g. 25 or 2.5), found "${value}"`);
  return Number(value);
}

/** Any `${NAME}` resolves for validation: ramp checks the file's shape, not this shell's secrets. */
const anyEnv = new Proxy({} as Record<string, string>, {
  get: (_t, name) => (typeof name === 'string' ? (process.env[name] ?? 'set-at-run-time') : undefined),
});

export function registerRamp(program: Command, out: Out): void {
  program
    .command('ramp')
    .description("set a fixed experiment's traffic percentage in the config file (running services hot-reload it)")
    .argument('<experiment>', 'the experiment key')
    .requiredOption('--to <percent>', 'the new share of units in the experiment, 0-100', percentArg)
    .option('--config <file>', 'the config file', 'switchyard.yaml')
    .option('--dry-run', 'print the change as a diff; write nothing')
    .option('--vendor', "also set the flag's rollout at the vendor (needs control_plane credentials)")
    .action(async (experiment: string, opts: RampOptions) => {
      await ramp(experiment, opts, out);
    });
}

async function ramp(experiment: string, opts: RampOptions, out: Out): Promise<void> {
  const file = opts.config;
  let text: string;
  try {
    text = readConfigText(file);
  } catch (error) {
    throw new SwitchyardError('SY_CONFIG_READ', 'ramp', `cannot read ${file}: ${(error as Error).message}`);
  }
  const before = parseConfig(text, file, { env: anyEnv });
  const exp = before.experiments.get(experiment);
  if (!exp) {
    const known = [...before.experiments.keys()].join(', ') || 'none';
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'ramp',
      `no experiment "${experiment}" in ${file} (experiments: ${known})`,
    );
  }
  if (exp.allocation.mode !== 'fixed') {
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'ramp',
      `experiment "${experiment}" uses ${exp.allocation.mode} allocation; ramp sets allocation.percent of fixed experiments (a gradual one ramps by its schedule)`,
    );
  }
  const oldPercent = exp.allocation.percent;
  const next = edit(text, experiment, opts.to);
  const also = otherChanges(text, next, experiment);
  if (also.length > 0)
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'ramp',
      `setting experiments.${experiment}.allocation.percent in ${file} would also change ${also.join(', ')} (the value is shared through an anchor, an alias or a merge key); edit the file by hand`,
    );
  // The same checks a running service applies to a reload: schema, semantics, reshuffle.
  const after = parseConfig(next, file, { env: anyEnv });
  const reshuffle = reshuffleProblems(before, after, Date.now());
  if (reshuffle.length > 0) throw new SwitchyardError('SY_CONFIG_RESHUFFLE', file, reshuffle.join('; '));

  const change = `${experiment}: allocation.percent ${oldPercent} -> ${opts.to}`;
  if (opts.dryRun) {
    out(`${diff(file, text, next)}${change} (dry run: nothing written)\n`);
    return;
  }
  if (next !== text) writeAtomically(file, next);
  out(`${file}: ${change}\n`);
  if (opts.vendor)
    await rampVendor(loadConfigFile(file), exp.flag, opts.to, `${experiment}: allocation.percent ${opts.to}`, out);
}

/**
 * What else the edit changes in the document's values (YAML read as a service reads it,
 * merge keys included): paths, at most three. A value shared through an anchor and its
 * aliases, or an allocation that comes from a merge key, is one text for several values;
 * editing it there would ramp other experiments too, or drop the merged keys.
 */
function otherChanges(before: string, after: string, experiment: string): string[] {
  const values = (text: string) => {
    const doc = parse(text, { merge: true }) as {
      experiments?: Record<string, { allocation?: Record<string, unknown> }>;
    };
    const allocation = doc.experiments?.[experiment]?.allocation;
    if (allocation && typeof allocation === 'object') {
      delete allocation.percent;
      if (Object.keys(allocation).length === 0) delete doc.experiments![experiment]!.allocation;
    }
    return doc;
  };
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= 3 || isDeepStrictEqual(a, b)) return;
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
    if (isObject(a) && isObject(b) && Array.isArray(a) === Array.isArray(b))
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k);
    else out.push(path || '(the whole document)');
  };
  walk(values(before), values(after), '');
  return out;
}

/** The file's text with the experiment's allocation.percent set; untouched elsewhere. */
function edit(text: string, experiment: string, percent: number): string {
  const doc = parseDocument(text, { keepSourceTokens: true });
  const path = ['experiments', experiment, 'allocation', 'percent'];
  const node = doc.getIn(path, true);
  if (isScalar(node) && node.range) {
    const [start, end] = node.range;
    return text.slice(0, start) + String(percent) + text.slice(end);
  }
  const allocation = doc.getIn(path.slice(0, 3), true);
  if (allocation !== undefined && !isMap(allocation))
    throw new SwitchyardError('SY_CONFIG_INVALID', 'ramp', `experiments.${experiment}.allocation is not a mapping`);
  // A key added as text too: yaml's toString would rewrite the whole file (line endings,
  // alignment, long lines folded at 80 columns).
  const added =
    allocation === undefined
      ? withPair(text, doc.getIn(path.slice(0, 2), true), 'allocation', `{ percent: ${percent} }`)
      : withPair(text, allocation, 'percent', String(percent));
  // Checked, as text edits go: anything unforeseen falls back to the document API.
  if (added !== undefined && parseDocument(added).getIn(path) === percent) return added;
  doc.setIn(path, percent);
  return doc.toString();
}

/**
 * The text with `key: value` added as the last pair of a map written in it: a line of its
 * own at the indentation of the map's keys (block style), or after the last pair (flow
 * style). Undefined for a map it cannot place a pair in as text (empty, or from an alias).
 */
function withPair(text: string, map: unknown, key: string, value: string): string | undefined {
  if (!isMap(map) || !map.range || map.items.length === 0) return undefined;
  const [start, end] = map.range;
  const pair = `${key}: ${value}`;
  if (map.flow) {
    const last = map.items.at(-1)!;
    const after =
      (last.value as { range?: number[] } | null)?.range?.[1] ?? (last.key as { range?: number[] }).range?.[1];
    return after === undefined ? undefined : `${text.slice(0, after)}, ${pair}${text.slice(after)}`;
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = start - (text.lastIndexOf('\n', start - 1) + 1);
  const line = `${' '.repeat(indent)}${pair}${eol}`;
  return text[end - 1] === '\n'
    ? text.slice(0, end) + line + text.slice(end)
    : `${text.slice(0, end)}${eol}${line}${text.slice(end)}`;
}

/**
 * Writes next to the file and renames over it: a reader sees the old file or the new one.
 * A symlink is followed, so the file it names is the one replaced (renamed over, the link
 * would become a file of its own and a service reading the file by its own path would never
 * see the change), and the file keeps its mode.
 */
function writeAtomically(path: string, text: string): void {
  const file = realpathSync(path);
  const mode = statSync(file).mode & 0o7777;
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // openSync's mode is narrowed by the umask
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (error) {
    unlinkSync(tmp);
    throw error;
  }
}

/** The changed lines, as a unified diff with line numbers. */
function diff(file: string, a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const removed = x.slice(head, x.length - tail);
  const added = y.slice(head, y.length - tail);
  if (removed.length === 0 && added.length === 0) return `(${file} already says so)\n`;
  return (
    `--- ${file}\n+++ ${file}\n@@ -${head + 1},${removed.length} +${head + 1},${added.length} @@\n` +
    removed.map((l) => `-${l}\n`).join('') +
    added.map((l) => `+${l}\n`).join('')
  );
}

async function rampVendor(
  config: ValidatedConfig,
  flag: string,
  percent: number,
  change: string,
  out: Out,
): Promise<void> {
  const plane = await controlPlaneFromConfig(config);
  if (!plane) {
    throw new SwitchyardError(
      'SY_NOT_AVAILABLE',
      'ramp --vendor',
      `the config was changed, but feature_flags.${config.featureFlags.provider} has no control_plane block, so the vendor's rollout was not`,
    );
  }
  try {
    await plane.setRollout(flag, percent);
  } catch (error) {
    // The file is written and services pick it up: said, so that nobody takes the failure for
    // "nothing changed" (the vendor's message was scrubbed of the token where it was made).
    const code = error instanceof SwitchyardError ? error.code : 'SY_CONTROL_PLANE';
    const why =
      error instanceof SwitchyardError ? error.what : error instanceof Error ? error.message : 'the vendor call failed';
    throw new SwitchyardError(
      code,
      'ramp --vendor',
      `the config file was changed (${change}), but the vendor's rollout was not: ${why}`,
      { cause: error },
    );
  }
  out(`${plane.vendor}: flag "${flag}" rollout set to ${percent}%\n`);
}
