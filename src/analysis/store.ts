/**
 * The store port the analysis runs its SQL through. Both engines expose the same two
 * relations, so every analysis query is one parameterised text for both:
 *   sy_exposures(unit, experiment, variant, t, attributes)   t: epoch seconds, attributes: JSON
 *   sy_events(unit, event, value, t, properties)             properties: JSON
 * DuckDB defines them as views over the JSONL files (no import step); PostgreSQL as
 * tables filled by `switchyard load` (see stores/postgres.ts for the DDL).
 * Only aggregates come back: rows are per variant, per event name, per segment value.
 */
export type SqlValue = string | number | boolean | null;
export type Row = Readonly<Record<string, SqlValue>>;

export interface DataQuality {
  /** Lines read from the JSONL files (or loaded into PostgreSQL). */
  readonly lines: number;
  /** Blank lines, skipped. */
  readonly empty: number;
  /** Lines that are not a JSON object of a known schema with a unit and a timestamp (truncated, malformed). */
  readonly malformed: number;
  readonly files: number;
}

export interface AnalysisStore {
  readonly engine: 'duckdb' | 'postgres';
  /** Runs a parameterised statement ($1, $2, ...) and returns its (small, aggregated) rows. */
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Counts of lines read, blank and malformed. */
  quality(): Promise<DataQuality>;
  close(): Promise<void>;
}
