/**
 * The kill state on disk, beside the journal (`<exposures dir>/state.json`): the state
 * itself without a fleet, the last fleet state seen with one, so a restart, or a start
 * while Redis is away, serves the kills it knew. Writes are atomic (a temp file renamed
 * over the old one), so a reader sees the old state or the new one, never half of one.
 * Writes are synchronous (a kill is rare): without a fleet the file is the state and is
 * written before `kill()` returns, so a crash cannot lose it; with a fleet Redis holds the
 * state and the store writes its local copy just after the change takes effect.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SwitchyardError } from '../errors.js';
import { isNewer, parseKillRecord, type KillRecord } from './kill-record.js';

export const STATE_SCHEMA = 'switchyard.state/1';
export const STATE_FILE = 'state.json';

let tmpCounter = 0;

export function stateFilePath(exposuresDir: string): string {
  return join(exposuresDir, STATE_FILE);
}

/**
 * Reads the records in a state file; a missing file is an empty state. A file that is
 * not a state file throws SY_STATE_FILE (the caller decides whether to go on without it).
 */
export function readStateFile(file: string): Map<string, KillRecord> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `cannot read the kill state ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `the kill state ${file} is not JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const kills = (doc as { kills?: unknown } | null)?.kills;
  if (typeof kills !== 'object' || kills === null) {
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `the kill state ${file} has no "kills" map (schema ${STATE_SCHEMA})`,
    );
  }
  const out = new Map<string, KillRecord>();
  for (const value of Object.values(kills)) {
    const record = parseKillRecord(value);
    if (record && isNewer(record, out.get(record.experiment))) out.set(record.experiment, record);
  }
  return out;
}

/** Writes the records atomically (temp file in the same directory, then rename). */
export function writeStateFile(file: string, records: Iterable<KillRecord>): void {
  const kills: Record<string, KillRecord> = {};
  for (const r of records) kills[r.experiment] = r;
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, JSON.stringify({ schema: STATE_SCHEMA, kills }, null, 2) + '\n');
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new SwitchyardError(
      'SY_STATE_FILE',
      'fleet',
      `cannot write the kill state ${file}: ${(error as Error).message}; the kill holds in this process only`,
      { cause: error },
    );
  }
}

/**
 * Merges records into the file: reads what is there (another process, or the CLI, may
 * have written since), keeps the newer record per experiment, writes the result.
 * Returns the merged state.
 */
export function mergeIntoStateFile(file: string, records: Iterable<KillRecord>): Map<string, KillRecord> {
  let merged: Map<string, KillRecord>;
  try {
    merged = readStateFile(file);
  } catch {
    merged = new Map(); // a corrupt file is replaced by what this process knows
  }
  for (const r of records) if (isNewer(r, merged.get(r.experiment))) merged.set(r.experiment, r);
  writeStateFile(file, merged.values());
  return merged;
}

/** A cheap change marker for polling: mtime, size and inode ('' when absent). */
export function stateFileStamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return '';
  }
}
