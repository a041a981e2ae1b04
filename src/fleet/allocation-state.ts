/**
 * adaptive allocation's state for ops tools without a fleet: each adaptive experiment's
 * current allocation version (weights, phase, and the arms' numbers, posteriors and P(best)
 * it was made from) in `<exposures dir>/allocation-state.json`, beside the journal and the
 * kill state. With a fleet the same JSON is the version key in Redis (fleetKeys). Writes
 * are atomic (a temp file renamed over the old one), merged under a lock file and keep
 * another writer's newer version of an experiment, so two processes sharing a directory
 * never step back or drop each other's experiments.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from './state-file.js';

export const ALLOCATION_STATE_FILE = 'allocation-state.json';
export const ALLOCATION_STATE_SCHEMA = 'switchyard.allocation-state/1';

/** One experiment's published version: plain JSON, read leniently by ops tools. */
export interface PublishedAllocation {
  readonly experiment: string;
  readonly version: number;
  readonly [field: string]: unknown;
}

let tmpCounter = 0;

/** The published versions in the directory's state file, by experiment (empty when there is none or it is unreadable). */
export function readAllocationState(dir: string): Map<string, PublishedAllocation> {
  const out = new Map<string, PublishedAllocation>();
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(join(dir, ALLOCATION_STATE_FILE), 'utf8'));
  } catch {
    return out;
  }
  const experiments = (doc as { experiments?: unknown } | null)?.experiments;
  if (typeof experiments !== 'object' || experiments === null) return out;
  for (const [key, v] of Object.entries(experiments)) {
    if (typeof v === 'object' && v !== null && typeof (v as { version?: unknown }).version === 'number')
      out.set(key, { ...(v as Record<string, unknown>), experiment: key, version: (v as { version: number }).version });
  }
  return out;
}

/**
 * Writes these experiments' versions, keeping any newer version already in the file; under
 * the file's lock, so another process's write between the read and the rename is kept too.
 */
export function writeAllocationState(dir: string, entries: readonly PublishedAllocation[]): void {
  const file = join(dir, ALLOCATION_STATE_FILE);
  withFileLock(file, () => {
    const merged = readAllocationState(dir);
    for (const e of entries) {
      const had = merged.get(e.experiment);
      if (had === undefined || had.version <= e.version) merged.set(e.experiment, e);
    }
    const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
    const doc = { schema: ALLOCATION_STATE_SCHEMA, experiments: Object.fromEntries(merged) };
    writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n');
    renameSync(tmp, file);
  });
}
