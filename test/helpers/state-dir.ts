/**
 * A directory of its own for an instance's kill state (`<exposures dir>/state.json`), so
 * test files running in parallel never share kills through the default `.switchyard/events`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function privateStateDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'sy-state-')), 'events');
}
