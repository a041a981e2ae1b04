/**
 * The fleet store: PostgreSQL tables with the same columns as DuckDB's views, filled by
 * `switchyard load` (COPY of the JSONL lines into a staging table, then one INSERT ...
 * SELECT that parses them in the database; lines that do not parse are counted per file
 * in sy_loads). Delivery is at least once, so a line can arrive twice: each table has a
 * unique index on the line's id and the INSERT skips an id it already holds (ON CONFLICT
 * DO NOTHING), counted as a duplicate; loading the same files again adds nothing.
 * The DDL below is the documented schema (README: Analysis).
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { messageOf, SwitchyardError } from '../../errors.js';
import { MAX_VALUE, TS_PATTERN } from '../sql.js';
import type { AnalysisStore, DataQuality, Row, SqlValue } from '../store.js';
import { jsonlFiles } from './duckdb.js';
import { firstIncomplete, LineScan, type IncompleteLine } from './lines.js';

export const POSTGRES_DDL = `
CREATE TABLE IF NOT EXISTS sy_exposures (
  id text,                                -- the line's id (ULID); unique, so a repeated line loads once
  unit text NOT NULL, experiment text NOT NULL, variant text NOT NULL,
  t double precision NOT NULL,            -- epoch seconds of the exposure's ts
  attributes jsonb NOT NULL DEFAULT '{}'  -- the allow-listed context attributes
);
CREATE TABLE IF NOT EXISTS sy_events (
  id text,
  unit text NOT NULL, event text NOT NULL, value double precision,
  t double precision NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}'
);
-- Tables made before ids were kept get the column (their old rows keep a NULL id).
ALTER TABLE sy_exposures ADD COLUMN IF NOT EXISTS id text;
-- The allocation version of each exposure (an adaptive experiment's strata); NULL in rows loaded before it was kept.
ALTER TABLE sy_exposures ADD COLUMN IF NOT EXISTS version double precision;
ALTER TABLE sy_events ADD COLUMN IF NOT EXISTS id text;
CREATE UNIQUE INDEX IF NOT EXISTS sy_exposures_id ON sy_exposures (id);
CREATE UNIQUE INDEX IF NOT EXISTS sy_events_id ON sy_events (id);
CREATE INDEX IF NOT EXISTS sy_exposures_experiment ON sy_exposures (experiment, unit);
CREATE INDEX IF NOT EXISTS sy_events_unit ON sy_events (unit);
CREATE TABLE IF NOT EXISTS sy_loads (
  file text NOT NULL,                     -- the file's absolute path (older loads kept its base name)
  loaded_at timestamptz NOT NULL DEFAULT now(),
  lines bigint NOT NULL, empty bigint NOT NULL, malformed bigint NOT NULL, exposures bigint NOT NULL, events bigint NOT NULL
);
ALTER TABLE sy_loads ADD COLUMN IF NOT EXISTS duplicates bigint NOT NULL DEFAULT 0;
-- The first lines of the file that cannot be a JSON object (truncated, not JSON): 1-based line numbers.
ALTER TABLE sy_loads ADD COLUMN IF NOT EXISTS incomplete_lines bigint[] NOT NULL DEFAULT '{}';
CREATE OR REPLACE FUNCTION sy_try_jsonb(line text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN RETURN line::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END $f$;
CREATE OR REPLACE FUNCTION sy_try_epoch(ts text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN RETURN extract(epoch FROM ts::timestamptz); EXCEPTION WHEN others THEN RETURN NULL; END $f$;
`;

const EXPOSURE = 'switchyard.exposure/1';
const EVENT = 'switchyard.event/1';
/** A valid parsed line of each schema (`schema` the placeholder of its name), as DuckDB's views define them. */
const validExposure = (schema: string) =>
  `(s = ${schema} AND id IS NOT NULL AND unit IS NOT NULL AND experiment IS NOT NULL AND variant IS NOT NULL AND t IS NOT NULL
    AND NOT bad_attributes)`;
const validEvent = (schema: string) =>
  `(s = ${schema} AND id IS NOT NULL AND unit IS NOT NULL AND event IS NOT NULL AND t IS NOT NULL AND NOT bad_value
    AND NOT bad_properties)`;
/** A name field: a non-empty JSON string, else NULL (a number or object is not a name; DuckDB's view reads them alike). */
const name = (field: string) =>
  `CASE WHEN jsonb_typeof(j -> '${field}') = 'string' AND (j ->> '${field}') <> '' THEN j ->> '${field}' END AS ${field}`;
/** attributes / properties: an object, or null or absent. */
const notObject = (field: string) =>
  `coalesce(jsonb_typeof(j -> '${field}'), 'null') NOT IN ('object', 'null') AS bad_${field}`;

function storeError(what: string, cause: unknown): SwitchyardError {
  return new SwitchyardError('SY_ANALYSIS_STORE', 'analysis', `${what}: ${messageOf(cause)}`, {
    cause,
  });
}

export interface PostgresOptions {
  /**
   * How long connecting may take before it fails (default 10 s). A server that accepts the
   * TCP connection and never answers (a stopped process behind a proxy, a firewall that
   * swallows packets) would otherwise keep every --pg command waiting forever.
   */
  readonly connectTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The server a URL names, for messages: host, port and database, never the user's password. */
function target(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the given URL';
  }
}

/** The error's text with the URL's password (if any) blanked out, in case a driver repeats it. */
function withoutPassword(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // Not a URL: it holds no password we can find.
  }
  return password ? text.split(password).join('***') : text;
}

/**
 * A connected client, or SY_ANALYSIS_STORE naming the server (not the password) and saying
 * whether it timed out. Every PostgreSQL connection of the analysis (store, load, learning
 * log) opens here.
 */
export async function connectPostgres(url: string, options: PostgresOptions = {}): Promise<pg.Client> {
  const timeout = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeout });
  } catch (cause) {
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'analysis',
      `the PostgreSQL URL cannot be read: ${withoutPassword(messageOf(cause), url)}`,
    );
  }
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    const message = withoutPassword(messageOf(cause), url);
    const timedOut = /timeout expired|connection timeout/i.test(message);
    throw new SwitchyardError(
      'SY_ANALYSIS_STORE',
      'analysis',
      timedOut
        ? `cannot connect to PostgreSQL at ${target(url)}: timed out after ${timeout / 1000} s without an answer from the server`
        : `cannot connect to PostgreSQL at ${target(url)}: ${message}`,
    );
  }
  return client;
}

/**
 * The file's lines as CSV for COPY, one quoted field per line, so that every byte sequence
 * arrives as one row per line, counted as LineScan (lines.ts) counts them: a last line
 * without a newline is a line, a blank line is empty (spaces and CRs, trimmed in SQL). `scan`
 * is fed the same bytes, and so locates the incomplete lines as the DuckDB store does.
 * Unquoted, COPY would end the data at a line `\.` (silently dropping the rest of the file)
 * and fail the whole file on a delimiter or quote byte; quoted, it reads both as data.
 * A line that is not UTF-8 or holds a NUL cannot be PostgreSQL text; it is not JSON either
 * (RFC 8259: UTF-8, no raw control characters), and DuckDB counts it as malformed, so it is
 * loaded as a single U+FFFD, which no JSON parser accepts: malformed here too.
 */
export function csvLines(scan?: LineScan): Transform {
  let rest: Buffer = Buffer.alloc(0);
  const field = (line: Buffer): string =>
    !isUtf8(line) || line.includes(0) ? '"\ufffd"' : `"${line.toString('utf8').replace(/"/g, '""')}"`;
  const fields = (block: Buffer): string => {
    let text = '';
    let pos = 0;
    for (let nl = block.indexOf(10); nl !== -1; nl = block.indexOf(10, pos)) {
      text += field(block.subarray(pos, nl)) + '\n';
      pos = nl + 1;
    }
    return text;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      scan?.feed(chunk);
      const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      const end = data.lastIndexOf(10) + 1;
      rest = Buffer.from(data.subarray(end));
      done(null, end > 0 ? fields(data.subarray(0, end)) : undefined);
    },
    flush(done) {
      scan?.end();
      done(null, rest.length > 0 ? field(rest) + '\n' : undefined);
    },
  });
}

/**
 * The epoch of the line's ts by `parse` (a fast or a safe cast), NULL unless it matches
 * TS_PATTERN (sql.ts), as in DuckDB's view; its fraction cut to microseconds first, as DuckDB
 * cuts it (PostgreSQL's cast rounds: .9999999 was the next second).
 */
function epochOf(parse: (ts: string) => string): string {
  const ts = "(j ->> 'ts')";
  return `CASE WHEN ${ts} ~ '${TS_PATTERN}' THEN ${parse(String.raw`regexp_replace(${ts}, '(\.\d{6})\d+', '\1')`)} END`;
}

/**
 * The staging lines parsed into typed columns; `json` and `epoch` are fixed fragments (fast or
 * safe parsers). value is a JSON number within MAX_VALUE (sql.ts) or null/absent; anything
 * else sets bad_value, which makes an event malformed, as DuckDB's view does. (A nested CASE,
 * not AND: PostgreSQL does not promise to test the type before casting.) OFFSET 0 keeps the
 * planner from inlining j into each of its thirty-odd uses: inlined, every use parsed the
 * line again (load of 111k lines: 7.4 s; with the fence 1.7 s).
 */
function parseSql(json: string, epoch: string): string {
  return `CREATE TEMP TABLE sy_parsed ON COMMIT DROP AS
    SELECT j ->> 'schema' AS s, ${['id', 'unit', 'experiment', 'variant', 'event'].map(name).join(', ')},
      CASE WHEN jsonb_typeof(j -> 'value') = 'number' THEN
        CASE WHEN abs((j -> 'value')::numeric) <= ${MAX_VALUE} THEN (j -> 'value')::double precision END END AS value,
      CASE coalesce(jsonb_typeof(j -> 'value'), 'null') WHEN 'null' THEN false
        WHEN 'number' THEN abs((j -> 'value')::numeric) > ${MAX_VALUE} ELSE true END AS bad_value,
      ${epoch} AS t,
      CASE WHEN jsonb_typeof(j -> 'attributes') = 'object' THEN j -> 'attributes' ELSE '{}'::jsonb END AS attributes,
      CASE WHEN jsonb_typeof(j -> 'properties') = 'object' THEN j -> 'properties' ELSE '{}'::jsonb END AS properties,
      ${notObject('attributes')}, ${notObject('properties')},
      CASE WHEN jsonb_typeof(j -> 'allocation' -> 'version') = 'number' THEN
        CASE WHEN (j -> 'allocation' -> 'version')::numeric BETWEEN 0 AND ${MAX_VALUE}
          THEN (j -> 'allocation' -> 'version')::double precision END END AS version,
      blank
    FROM (SELECT CASE WHEN blank THEN NULL ELSE ${json} END AS j, blank
          FROM (SELECT line, btrim(line, E' \\r') = '' AS blank FROM sy_stage) b OFFSET 0) x`;
}

export interface LoadResult {
  readonly files: number;
  readonly lines: number;
  readonly empty: number;
  readonly malformed: number;
  /** Valid exposures and events inserted. */
  readonly exposures: number;
  readonly events: number;
  /** Valid lines skipped because their id was already loaded (a repeated delivery). */
  readonly duplicates: number;
  /** The first lines that cannot be a JSON object, as DataQuality.incomplete. */
  readonly incomplete: readonly IncompleteLine[];
}

/** Creates the tables if needed and copies every .jsonl file under dir into them. */
export async function loadJsonlIntoPostgres(
  url: string,
  dir: string,
  options: PostgresOptions = {},
): Promise<LoadResult> {
  const files = jsonlFiles(dir);
  const client = await connectPostgres(url, options);
  const total = { files: files.length, lines: 0, empty: 0, malformed: 0, exposures: 0, events: 0, duplicates: 0 };
  const located: { file: string; lines: number[] }[] = [];
  try {
    await client.query(POSTGRES_DDL);
    for (const file of files) {
      await client.query('BEGIN');
      try {
        await client.query('CREATE TEMP TABLE sy_stage (line text) ON COMMIT DROP');
        const scan = new LineScan();
        await pipeline(
          createReadStream(file),
          csvLines(scan),
          client.query(copyFrom('COPY sy_stage (line) FROM STDIN WITH (FORMAT csv)')),
        );
        // Fast path: the whole file parses, one set-based statement. A file with a bad line or
        // timestamp falls back to the per-line safe parsers (a subtransaction per line, much slower).
        await client.query('SAVEPOINT sy_fast');
        try {
          await client.query(
            parseSql(
              'line::jsonb',
              epochOf((ts) => `extract(epoch FROM ${ts}::timestamptz)`),
            ),
          );
          await client.query('RELEASE SAVEPOINT sy_fast');
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT sy_fast');
          await client.query(
            parseSql(
              'sy_try_jsonb(line)',
              epochOf((ts) => `sy_try_epoch(${ts})`),
            ),
          );
        }
        const ex = await client.query(
          `INSERT INTO sy_exposures (id, unit, experiment, variant, t, attributes, version)
           SELECT id, unit, experiment, variant, t, attributes, version FROM sy_parsed WHERE ${validExposure('$1')}
           ON CONFLICT (id) DO NOTHING`,
          [EXPOSURE],
        );
        const ev = await client.query(
          `INSERT INTO sy_events (id, unit, event, value, t, properties)
           SELECT id, unit, event, value, t, properties FROM sy_parsed WHERE ${validEvent('$1')}
           ON CONFLICT (id) DO NOTHING`,
          [EVENT],
        );
        const counts = await client.query<{ lines: number; empty: number; valid: number }>(
          `SELECT CAST(count(*) AS double precision) AS lines, CAST(count(*) FILTER (WHERE blank) AS double precision) AS empty,
             CAST(count(*) FILTER (WHERE ${validExposure('$1')} OR ${validEvent('$2')}) AS double precision) AS valid
           FROM sy_parsed`,
          [EXPOSURE, EVENT],
        );
        const { lines, empty, valid } = counts.rows[0]!;
        const exposures = ex.rowCount ?? 0;
        const events = ev.rowCount ?? 0;
        const malformed = lines - empty - valid;
        const duplicates = valid - exposures - events;
        await client.query(
          `INSERT INTO sy_loads (file, lines, empty, malformed, exposures, events, duplicates, incomplete_lines)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [file, lines, empty, malformed, exposures, events, duplicates, scan.incompleteAt],
        );
        if (scan.incompleteAt.length > 0) located.push({ file, lines: scan.incompleteAt });
        await client.query('COMMIT');
        total.lines += lines;
        total.empty += empty;
        total.malformed += malformed;
        total.exposures += exposures;
        total.events += events;
        total.duplicates += duplicates;
      } catch (cause) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw storeError(`cannot load ${file} into PostgreSQL`, cause);
      }
    }
  } finally {
    await client.end();
  }
  return { ...total, incomplete: firstIncomplete(located) };
}

export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<AnalysisStore> {
  const client = await connectPostgres(url, options);
  try {
    const { rows } = await client.query<{ ok: boolean; ids: boolean; versions: boolean }>(
      `SELECT to_regclass('sy_exposures') IS NOT NULL AND to_regclass('sy_events') IS NOT NULL AS ok,
         (SELECT count(*) FROM information_schema.columns WHERE table_name IN ('sy_exposures', 'sy_events')
            AND column_name = 'id' AND table_schema = current_schema()) = 2 AS ids,
         EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'sy_exposures'
            AND column_name = 'version' AND table_schema = current_schema()) AS versions`,
    );
    if (!rows[0]?.ok)
      throw new SwitchyardError(
        'SY_ANALYSIS_NO_DATA',
        'analysis',
        'the database has no sy_exposures / sy_events tables; run `switchyard load --data DIR --pg URL` first',
      );
    if (!rows[0].ids)
      throw new SwitchyardError(
        'SY_ANALYSIS_NO_DATA',
        'analysis',
        'sy_exposures / sy_events have no id column (loaded by an older switchyard); run `switchyard load --data DIR --pg URL` once to add it',
      );
    // What the exposure scan reads (store.ts): here only valid lines, bad ones were counted at load;
    // the events only for their times (the scan counts those at implausible times, once per id).
    // Tables loaded before versions were kept have none (an adaptive experiment's units are then one stratum).
    await client.query(
      `CREATE TEMP VIEW sy_lines AS SELECT 1 AS kind, id, unit, experiment, variant, t, attributes,
         ${rows[0].versions ? 'version' : 'CAST(NULL AS double precision) AS version'} FROM sy_exposures
       UNION ALL
       SELECT 2, id, unit, CAST(NULL AS text), CAST(NULL AS text), t, CAST(NULL AS jsonb), CAST(NULL AS double precision)
       FROM sy_events`,
    );
    // Each event id once: the load's unique index already made the ids unique. Rows loaded
    // before ids were kept (NULL id) have no id to tell a repeated line from a second event:
    // a repeated line is the same unit, event, time and value, so those are grouped on that.
    await client.query(
      `CREATE TEMP VIEW sy_events_once AS
         SELECT unit, event, value, t, CASE WHEN (properties ->> 'error') = 'true' THEN 1 ELSE 0 END AS err
         FROM sy_events WHERE id IS NOT NULL
         UNION ALL
         SELECT unit, event, value, t, max(CASE WHEN (properties ->> 'error') = 'true' THEN 1 ELSE 0 END)
         FROM sy_events WHERE id IS NULL GROUP BY unit, event, t, value`,
    );
  } catch (error) {
    await client.end();
    throw error instanceof SwitchyardError ? error : storeError('cannot read from PostgreSQL', error);
  }
  return new PostgresStore(client);
}

class PostgresStore implements AnalysisStore {
  readonly engine = 'postgres' as const;
  constructor(private readonly client: pg.Client) {}

  async query(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const result = await this.client.query(sql, params as SqlValue[]);
    return result.rows as Row[];
  }

  async quality(): Promise<DataQuality> {
    // Each file's latest load: loading a file again (the same files twice, or a daily file
    // that grew) counts its lines once, as DuckDB reading the files does; summing every load
    // doubled the figures. A file is its absolute path (loads before that kept the base name).
    // One row per file (its latest load), summed here: the files are few (a day's file each),
    // and their incomplete lines come with them. Line numbers as text: pg reads bigint as a
    // string anyway, and an array is no SqlValue.
    const files = await this.query(
      `SELECT DISTINCT ON (file) file, CAST(lines AS double precision) AS lines, CAST(empty AS double precision) AS empty,
         CAST(malformed AS double precision) AS malformed, array_to_string(incomplete_lines, ',') AS at
       FROM sy_loads ORDER BY file, loaded_at DESC`,
    );
    const sum = (key: 'lines' | 'empty' | 'malformed') => files.reduce((a, r) => a + Number(r[key]), 0);
    return {
      lines: sum('lines'),
      empty: sum('empty'),
      malformed: sum('malformed'),
      incomplete: firstIncomplete(
        files
          .filter((r) => r.at !== '')
          .map((r) => ({ file: String(r.file), lines: String(r.at).split(',').map(Number) })),
      ),
      files: files.length,
    };
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
