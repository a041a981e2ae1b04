/**
 * The embedded store: DuckDB reading the pipeline's JSONL files in place with
 * read_ndjson (no import step). Malformed lines come back from read_ndjson as rows of
 * nulls (ignore_errors), so they are counted, not fatal. DuckDB spills to a temporary
 * directory beyond its memory limit, so a large data set does not grow the process.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SwitchyardError } from '../../errors.js';
import type { AnalysisStore, DataQuality, Row, SqlValue } from '../store.js';

export interface DuckDbStoreOptions {
  /** DuckDB's memory limit (default 1GB); beyond it, it spills to disk. */
  memoryLimit?: string;
  threads?: number;
}

const EXPOSURE = 'switchyard.exposure/1';
const EVENT = 'switchyard.event/1';

/** A SQL string literal. Used only for file paths in the view definitions, which DuckDB cannot take as parameters. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Every .jsonl file under dir (recursively), sorted. */
export function jsonlFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (cause) {
    throw new SwitchyardError(
      'SY_ANALYSIS_NO_DATA',
      'analysis',
      `cannot read the data directory ${dir}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const out: string[] = [];
  for (const name of entries.sort()) {
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) out.push(...jsonlFiles(p));
    else if (name.endsWith('.jsonl') && s.size > 0) out.push(resolve(p));
  }
  return out;
}

export async function openDuckDbStore(dir: string, options: DuckDbStoreOptions = {}): Promise<AnalysisStore> {
  const files = jsonlFiles(dir);
  if (files.length === 0)
    throw new SwitchyardError(
      'SY_ANALYSIS_NO_DATA',
      'analysis',
      `no non-empty .jsonl files in ${dir}; nothing to analyse`,
    );
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: options.memoryLimit ?? '1GB',
    ...(options.threads ? { threads: String(options.threads) } : {}),
  });
  const conn = await instance.connect();
  const list = `[${files.map(literal).join(', ')}]`;
  await conn.run(
    `CREATE TEMP VIEW sy_raw AS SELECT schema, unit, experiment, variant, event, value,
       epoch(TRY_CAST(ts AS TIMESTAMPTZ)) AS t, attributes, properties
     FROM read_ndjson(${list}, columns = {schema: 'VARCHAR', ts: 'VARCHAR', unit: 'VARCHAR', experiment: 'VARCHAR',
       variant: 'VARCHAR', event: 'VARCHAR', value: 'DOUBLE', attributes: 'JSON', properties: 'JSON'},
       format = 'newline_delimited', ignore_errors = true, maximum_object_size = 16777216)`,
  );
  await conn.run(
    `CREATE TEMP VIEW sy_exposures AS SELECT unit, experiment, variant, t, attributes FROM sy_raw
     WHERE schema = ${literal(EXPOSURE)} AND unit IS NOT NULL AND experiment IS NOT NULL AND variant IS NOT NULL AND t IS NOT NULL`,
  );
  await conn.run(
    `CREATE TEMP VIEW sy_events AS SELECT unit, event, value, t, properties FROM sy_raw
     WHERE schema = ${literal(EVENT)} AND unit IS NOT NULL AND event IS NOT NULL AND t IS NOT NULL`,
  );
  return new DuckDbStore(instance, conn, list, files.length);
}

class DuckDbStore implements AnalysisStore {
  readonly engine = 'duckdb' as const;
  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly list: string,
    private readonly files: number,
  ) {}

  async query(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const reader = await this.conn.runAndReadAll(sql, params as SqlValue[]);
    return reader.getRowObjectsJS() as Row[];
  }

  async quality(): Promise<DataQuality> {
    const [lines] = await this.query(
      `SELECT CAST(count(*) AS DOUBLE) AS lines, CAST(count(*) FILTER (WHERE line IS NULL OR trim(line) = '') AS DOUBLE) AS empty
       FROM read_csv(${this.list}, columns = {line: 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '',
         auto_detect = false, strict_mode = false, null_padding = true)`,
    );
    const [parsed] = await this.query(
      `SELECT CAST(count(*) FILTER (WHERE schema IS NULL OR schema NOT IN ($1, $2) OR unit IS NULL OR t IS NULL
         OR (schema = $1 AND (experiment IS NULL OR variant IS NULL)) OR (schema = $2 AND event IS NULL)) AS DOUBLE) AS malformed
       FROM sy_raw`,
      [EXPOSURE, EVENT],
    );
    return {
      lines: Number(lines!.lines),
      empty: Number(lines!.empty),
      malformed: Number(parsed!.malformed),
      files: this.files,
    };
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
