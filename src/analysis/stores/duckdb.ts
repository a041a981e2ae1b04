/**
 * The embedded store: DuckDB reading the pipeline's JSONL files in place with
 * read_ndjson (no import step), an explicit column schema (no auto-detection) and only the
 * fields the analysis reads. Malformed lines come back from read_ndjson as rows of nulls
 * (ignore_errors), so they are counted, not fatal; blank lines are counted, and lines that
 * cannot be a JSON object located, by a byte scan of the files on the Node thread while
 * DuckDB's threads scan them (lines.ts). DuckDB spills to a private
 * temporary directory beyond its memory limit, so a large data set does not grow the process.
 */
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  type Stats,
} from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { messageOf, SwitchyardError } from '../../errors.js';
import { MAX_VALUE, TS_PATTERN } from '../sql.js';
import type { AnalysisStore, DataQuality, Row, SqlValue } from '../store.js';
import { firstIncomplete, LineScan } from './lines.js';

export interface DuckDbStoreOptions {
  /**
   * DuckDB's memory limit (default 256MB); beyond it, it spills to a temporary directory. The
   * limit covers DuckDB's buffers, not the process: at 1M exposures + 1M events the analysis
   * peaked at 523-543 MiB RSS with 256MB and 661-677 MiB with 1GB, at 10M at 552 MiB with 256MB,
   * 900 MiB with 512MB and about 1.4 GB with 1GB, for the same CPU time (BENCHMARKS.md).
   */
  memoryLimit?: string;
  /**
   * The most the store raises the limit to (default: half the machine's memory). Not every
   * DuckDB operator spills: a hash aggregate over many groups can still run out of the limit
   * (10M event ids deduplicated alone need more than 256MB). A statement that runs out of
   * memory is run again with the limit doubled, up to this; beyond it the error stands.
   */
  maxMemoryLimit?: string;
  /** Told each time a statement ran out of memory and the limit was raised (sizes as DuckDB prints them). */
  onMemoryLimitRaised?: (from: string, to: string) => void;
  threads?: number;
  /** Where DuckDB spills (default: a new directory under the OS temp dir, removed on close). */
  tempDirectory?: string;
}

const EXPOSURE = 'switchyard.exposure/1';
const EVENT = 'switchyard.event/1';

/** A SQL string literal. Used only for file paths in the view definitions, which DuckDB cannot take as parameters. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Every non-empty .jsonl file under dir (recursively, following links), each file once, in
 * name order. A link to nothing (dangling, or a loop of links) and anything not named
 * .jsonl that cannot be read are skipped; a directory reached again (a link to a parent:
 * `ln -s . self` once recursed until ELOOP) is not entered twice, nor a file read twice.
 * Anything else that cannot be read is SY_ANALYSIS_NO_DATA naming its path.
 */
export function jsonlFiles(dir: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (at: string): void => {
    let entries: string[];
    try {
      const real = realpathSync(at);
      if (seen.has(real)) return;
      seen.add(real);
      entries = readdirSync(at);
    } catch (cause) {
      const where = at === dir ? 'the data directory' : 'the directory';
      throw new SwitchyardError(
        'SY_ANALYSIS_NO_DATA',
        'analysis',
        `cannot read ${where} ${at}: ${(cause as Error).message}`,
        { cause },
      );
    }
    for (const name of entries.sort()) {
      const p = join(at, name);
      const isJsonl = name.endsWith('.jsonl');
      let s: Stats;
      try {
        s = statSync(p);
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        if (!isJsonl || code === 'ENOENT' || code === 'ELOOP') continue;
        throw new SwitchyardError('SY_ANALYSIS_NO_DATA', 'analysis', `cannot read ${p}: ${(cause as Error).message}`, {
          cause,
        });
      }
      if (s.isDirectory()) walk(p);
      else if (isJsonl && s.isFile() && s.size > 0) {
        const real = realpathSync(p);
        if (seen.has(real)) continue;
        seen.add(real);
        out.push(resolve(p));
      }
    }
  };
  walk(dir);
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
  const max = options.maxMemoryLimit === undefined ? Math.floor(totalmem() / 2) : parseSize(options.maxMemoryLimit);
  if (max === undefined) throw notASize('maxMemoryLimit', options.maxMemoryLimit);
  if (options.memoryLimit !== undefined && parseSize(options.memoryLimit) === undefined)
    throw notASize('memoryLimit', options.memoryLimit);
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1))
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      'analysis',
      `threads ${JSON.stringify(options.threads)} is not a whole number of at least 1`,
    );
  // The store's own directory, removed on close: DuckDB's spill (unless given) and the links below.
  let own: string;
  try {
    own = mkdtempSync(join(tmpdir(), 'sy-duckdb-'));
  } catch (cause) {
    throw new SwitchyardError(
      'SY_ANALYSIS_STORE',
      'analysis',
      `cannot make DuckDB's directory in the OS temp dir ${tmpdir()} (TMPDIR on Unix, TEMP on Windows): ${messageOf(cause)}`,
      { cause },
    );
  }
  const spill = options.tempDirectory ?? own;
  let instance: DuckDBInstance | undefined;
  let conn: DuckDBConnection | undefined;
  try {
    instance = await DuckDBInstance.create(':memory:', {
      memory_limit: options.memoryLimit ?? '256MB',
      temp_directory: spill,
      // The analysis aggregates; row order never matters, and keeping it costs memory and parallelism.
      preserve_insertion_order: 'false',
      ...(options.threads ? { threads: String(options.threads) } : {}),
    });
    conn = await instance.connect();
    await defineViews(conn, globSafe(files, own));
    const limit = parseSize(
      String((await conn.runAndReadAll("SELECT current_setting('memory_limit') AS v")).getRowObjectsJS()[0]!.v),
    );
    return new DuckDbStore(instance, conn, files, own, {
      limit: limit ?? max,
      max,
      raised: options.onMemoryLimitRaised,
    });
  } catch (cause) {
    // Nothing is left open or on disk by a store that did not open.
    conn?.closeSync();
    instance?.closeSync();
    rmSync(own, { recursive: true, force: true });
    throw new SwitchyardError(
      'SY_ANALYSIS_STORE',
      'analysis',
      `cannot open the JSONL files of ${dir} in DuckDB: ${messageOf(cause)}`,
      { cause },
    );
  }
}

/**
 * The paths DuckDB is given for the files. DuckDB reads a path as a glob pattern, so a file
 * whose path holds a glob character (a file named `*.jsonl` would match every file beside it,
 * read twice) is given as a link of a plain name in the store's own directory instead.
 */
function globSafe(files: readonly string[], own: string): string[] {
  let links: string | undefined;
  return files.map((file, i) => {
    if (!/[*?[\]{}\\]/.test(file)) return file;
    if (links === undefined) {
      links = join(own, 'files');
      mkdirSync(links);
    }
    const link = join(links, `${i}.jsonl`);
    symlinkSync(file, link);
    return link;
  });
}

function closedError(cause?: unknown): SwitchyardError {
  return new SwitchyardError(
    'SY_ANALYSIS_STORE',
    'analysis',
    cause === undefined
      ? 'the DuckDB store is closed'
      : 'the DuckDB store was closed while a statement ran; the statement was interrupted',
    cause === undefined ? undefined : { cause },
  );
}

function notASize(option: string, value: string | undefined): SwitchyardError {
  return new SwitchyardError(
    'SY_INVALID_ARGUMENT',
    'analysis',
    `${option} ${JSON.stringify(value)} is not a size (e.g. 4GB, 512MiB)`,
  );
}

/** The store's views over the files: the relations the analysis's SQL reads (store.ts). */
async function defineViews(conn: DuckDBConnection, files: readonly string[]): Promise<void> {
  const list = `[${files.map(literal).join(', ')}]`;
  const exposure = `schema = ${literal(EXPOSURE)} AND id IS NOT NULL AND unit IS NOT NULL AND experiment IS NOT NULL
    AND variant IS NOT NULL AND t IS NOT NULL AND NOT bad_attributes`;
  const event = `schema = ${literal(EVENT)} AND id IS NOT NULL AND unit IS NOT NULL AND event IS NOT NULL AND t IS NOT NULL
    AND NOT bad_value AND NOT bad_properties`;
  // The names and value are read as JSON, not VARCHAR / DOUBLE: as VARCHAR, DuckDB turns 123, {"a":1}
  // and ["exp"] into the names '123', '{"a":1}', '["exp"]' (phantom arms and experiments); as
  // DOUBLE, "12" into 12, true into 1, and it reads NaN and 1e400 (Infinity). A JSON column holds
  // the value's JSON text (re-serialised: no whitespace, only " \ and control characters
  // escaped), so its first character tells the type without parsing it again: a name must be
  // a non-empty string (a quote first), taken from between its quotes unless it holds an
  // escape (then parsed, and refused with a NUL, which PostgreSQL's jsonb cannot hold, so its
  // load finds such a line malformed); a value a number (its text cast to DOUBLE: a JSON
  // string or boolean does not cast, NaN and Infinity fail the bound); attributes and
  // properties objects. JSON null and absent are NULL; ts matches TS_PATTERN (sql.ts) before
  // DuckDB's cast reads it. (json_type and ->> on every field took the 1M analysis from 2.6 to
  // 4.6 s, and the bare GROUP BY from 0.8 to 2.6 s.)
  const text = (field: string) => `CAST(${field} AS VARCHAR)`;
  const string = (field: string) =>
    `starts_with(${text(field)}, '"') AND ${text(field)} <> '""'
      AND (NOT contains(${text(field)}, '\\') OR NOT contains(${field} ->> '$', chr(0)))`;
  const name = (field: string) =>
    `CASE WHEN ${string(field)} THEN (CASE WHEN contains(${text(field)}, '\\') THEN ${field} ->> '$' ELSE ${field}[2:-2] END) END AS ${field}`;
  // The id and the unit only group and join, never leave the store (PostgreSQL holds them as
  // plain text; the numbers are the same): kept as their JSON text, quotes and all, which
  // spares making a new string of each (about 0.1 s a scan at 1M).
  const key = (field: string) => `CASE WHEN ${string(field)} THEN ${text(field)} END AS ${field}`;
  const number = `TRY_CAST(${text('value')} AS DOUBLE)`;
  const inBound = `coalesce(abs(${number}) <= ${MAX_VALUE}, false)`;
  const notObject = (field: string) => `coalesce(NOT starts_with(${text(field)}, '{'), false) AS bad_${field}`;
  // An exposure's allocation version (adaptive experiments' strata): a JSON number in [0, MAX_VALUE],
  // else NULL; read only by an analysis of an adaptive experiment (DuckDB reads no column a query does not use).
  const version = `TRY_CAST(CAST(allocation -> 'version' AS VARCHAR) AS DOUBLE)`;
  await conn.run(
    `CREATE TEMP VIEW sy_raw AS SELECT schema, ${key('id')}, ${key('unit')}, ${['experiment', 'variant', 'event'].map(name).join(', ')},
       CASE WHEN ${inBound} THEN ${number} END AS value, value IS NOT NULL AND NOT ${inBound} AS bad_value,
       CASE WHEN regexp_full_match(ts, ${literal(TS_PATTERN)}) THEN epoch(TRY_CAST(ts AS TIMESTAMPTZ)) END AS t, attributes, properties, ${notObject('attributes')}, ${notObject('properties')},
       CASE WHEN ${version} BETWEEN 0 AND ${MAX_VALUE} THEN ${version} END AS version
     FROM read_ndjson(${list}, columns = {schema: 'VARCHAR', id: 'JSON', ts: 'VARCHAR', unit: 'JSON',
       experiment: 'JSON', variant: 'JSON', event: 'JSON', value: 'JSON', attributes: 'JSON', properties: 'JSON',
       allocation: 'JSON'},
       format = 'newline_delimited', ignore_errors = true, maximum_object_size = 16777216)`,
  );
  await conn.run(
    `CREATE TEMP VIEW sy_exposures AS SELECT id, unit, experiment, variant, t, attributes FROM sy_raw WHERE ${exposure}`,
  );
  await conn.run(
    `CREATE TEMP VIEW sy_events AS SELECT id, unit, event, value, t, properties FROM sy_raw WHERE ${event}`,
  );
  await conn.run(
    `CREATE TEMP VIEW sy_events_once AS SELECT unit, event, min(value) AS value, min(t) AS t,
       max(CASE WHEN (properties ->> 'error') = 'true' THEN 1 ELSE 0 END) AS err
     FROM sy_events GROUP BY id, unit, event`,
  );
  // sy_lines' id only tells out-of-range exposures apart (fillAllUnits groups them by it, to count
  // each once): its 64-bit hash, not the string, whose 16 more bytes a row in the exposure scan's
  // 10M-group hash table ran it out of the 256 MB limit at 10M (and the store doubled it).
  await conn.run(
    `CREATE TEMP VIEW sy_lines AS SELECT CASE WHEN ${exposure} THEN 1 WHEN ${event} THEN 2 END AS kind,
       hash(id) AS id, unit, experiment, variant, t, attributes, version FROM sy_raw`,
  );
}

const UNITS: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes of a size as DuckDB writes and reads them ('256MB', '244.1 MiB', '1.5GiB'); undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

/** A size in bytes as DuckDB prints it (binary units, one decimal). */
function sizeText(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/** Lines, blank lines and incomplete lines of one file (see LineScan). */
export async function scanLines(file: string): Promise<LineScan> {
  const scan = new LineScan();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)
    scan.feed(chunk);
  scan.end();
  return scan;
}

class DuckDbStore implements AnalysisStore {
  readonly engine = 'duckdb' as const;
  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly files: readonly string[],
    /** The store's own directory (its spill, unless given, and links to files; removed on close). */
    private readonly own: string,
    /** DuckDB's memory limit now and the most it may be raised to, in bytes. */
    private readonly memory: { limit: number; max: number; raised: ((from: string, to: string) => void) | undefined },
  ) {}

  /** Statements running now (close() interrupts them and waits for them to settle). */
  private readonly running = new Set<Promise<unknown>>();
  /** close() was called: no statement starts after it. */
  private closing: Promise<void> | undefined;

  /**
   * Runs a statement; one that runs out of DuckDB's memory limit runs again with the limit
   * doubled, up to the store's maximum (see DuckDbStoreOptions.maxMemoryLimit). A failed
   * statement changed nothing (DuckDB rolls it back), so running it again is safe. A
   * statement asked for after close(), or running when close() is called, rejects with
   * SY_ANALYSIS_STORE (it is interrupted).
   */
  async query(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    for (;;) {
      if (this.closing) throw closedError();
      const run = this.conn.runAndReadAll(sql, params as SqlValue[]);
      this.running.add(run);
      try {
        const reader = await run;
        return reader.getRowObjectsJS() as Row[];
      } catch (error) {
        if (this.closing) throw closedError(error);
        const memory = this.memory;
        if (!(error instanceof Error) || !/Out of Memory Error/i.test(error.message)) throw error;
        if (memory.limit >= memory.max) {
          error.message += ` (DuckDB's memory limit is at the most this store raises it to, ${sizeText(memory.max)}: openDuckDbStore's maxMemoryLimit, the CLI's --max-memory)`;
          throw error;
        }
        const from = memory.limit;
        memory.limit = Math.min(memory.max, from * 2);
        await this.conn.run(`SET memory_limit = '${Math.floor(memory.limit)}B'`);
        memory.raised?.(sizeText(from), sizeText(memory.limit));
      } finally {
        this.running.delete(run);
      }
    }
  }

  async quality(malformedScanned: Promise<number>): Promise<DataQuality> {
    let lines = 0;
    let empty = 0;
    const located: { file: string; lines: number[] }[] = [];
    // One file after another: the byte scan shares the disk with DuckDB's scan of the same files.
    for (const file of this.files) {
      const c = await scanLines(file);
      lines += c.lines;
      empty += c.empty;
      if (c.incompleteAt.length > 0) located.push({ file, lines: c.incompleteAt });
    }
    return {
      lines,
      empty,
      malformed: await malformedScanned,
      incomplete: firstIncomplete(located),
      files: this.files.length,
    };
  }

  /**
   * Interrupts the statements running (they reject with SY_ANALYSIS_STORE), waits for them to
   * stop, then closes DuckDB and removes the store's directory. Closing under a running
   * statement left its promise pending for good, and the process could not exit (DuckDB's
   * threads still ran on a closed instance). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.running.size > 0) {
        this.conn.interrupt();
        await Promise.allSettled([...this.running]);
      }
      this.conn.closeSync();
      this.instance.closeSync();
      rmSync(this.own, { recursive: true, force: true });
    })();
    return this.closing;
  }

  abandon(): void {
    rmSync(this.own, { recursive: true, force: true });
  }
}
