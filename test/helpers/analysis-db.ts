/**
 * What the analysis integration tests share: a PostgreSQL database of the test's own on
 * the local server (created before, dropped after), one analysis from opening a store to
 * closing it, and the comparison of two analyses' numbers.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect } from 'vitest';
import { analyze, type Analysis, type AnalysisStore } from '../../src/analysis/index.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PrivateDatabase {
  readonly name: string;
  readonly url: string;
  create(): Promise<void>;
  drop(): Promise<void>;
}

/** A database named `<prefix>_<random hex>` on the local PostgreSQL. */
export function privateDatabase(prefix: string): PrivateDatabase {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: ADMIN });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    create: () => admin(`CREATE DATABASE ${name}`),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** analyze() on a store opened for it and closed after, whatever happens. */
export async function analyzeStore(
  open: () => Promise<AnalysisStore>,
  options: Parameters<typeof analyze>[1],
): Promise<Analysis> {
  const store = await open();
  try {
    return await analyze(store, options);
  } finally {
    await store.close();
  }
}

/** Equal, numbers to 1e-9 relative (sums may add in another order on another engine). */
export function expectSame(a: unknown, b: unknown, path = ''): void {
  if (typeof a === 'number' && typeof b === 'number') {
    const tol = 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
    expect(Math.abs(a - b), `${path}: ${a} vs ${b}`).toBeLessThanOrEqual(tol);
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    expect(Object.keys(a).sort(), path).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) expectSame((a as never)[k], (b as never)[k], `${path}.${k}`);
  } else expect(a, path).toEqual(b);
}
