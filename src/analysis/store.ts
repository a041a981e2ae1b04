/**
 * The store port the analysis runs its SQL through. Both engines expose the same
 * relations, so every analysis query is one parameterised text for both:
 *   sy_exposures(id, unit, experiment, variant, t, attributes)   t: epoch seconds, attributes: JSON
 *   sy_events(id, unit, event, value, t, properties)             properties: JSON
 *   sy_lines(kind, id, unit, experiment, variant, t, attributes) what the exposure scan reads: kind 1 a
 *       valid exposure, 2 a valid event, NULL a malformed line
 *   sy_events_once(unit, event, value, t, err)                   what the event scan reads: each event id
 *       once (at-least-once delivery repeats lines; copies are identical, a differing copy gives
 *       the least value and time), err 1 when properties.error is true
 * DuckDB defines them as views over the JSONL files (no import step; sy_lines is every line
 * of the files, so the one exposure scan also counts the malformed lines); PostgreSQL as
 * tables filled by `switchyard load` (see stores/postgres.ts for the DDL), sy_lines a view
 * of sy_exposures (its malformed lines were counted at load), sy_events_once a view of
 * sy_events, whose ids the load already made unique (no grouping needed).
 * Only aggregates come back: rows are per variant, per event name, per segment value.
 */
import type { IncompleteLine } from './stores/lines.js';

export type SqlValue = string | number | boolean | null;
export type Row = Readonly<Record<string, SqlValue>>;

export interface DataQuality {
  /** Lines read from the JSONL files (or loaded into PostgreSQL). */
  readonly lines: number;
  /** Blank lines, skipped. */
  readonly empty: number;
  /** Lines that are not a JSON object of a known schema with a unit and a timestamp (truncated, malformed). */
  readonly malformed: number;
  /**
   * Where malformed lines are, as far as a byte scan tells without parsing: the first
   * MAX_LOCATED lines (by file path, then line) that cannot be a JSON object, their first
   * and last bytes other than whitespace not `{` and `}` (a write cut short, a line that is
   * not JSON). Lines that are objects but not valid records are in `malformed` only.
   */
  readonly incomplete: readonly IncompleteLine[];
  readonly files: number;
}

export interface AnalysisStore {
  readonly engine: 'duckdb' | 'postgres';
  /** Runs a parameterised statement ($1, $2, ...) and returns its (small, aggregated) rows. */
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /**
   * Counts of lines read, blank and malformed. `malformedScanned` resolves, once the
   * analysis has scanned sy_lines, to the malformed lines it counted there (DuckDB's count;
   * PostgreSQL's comes from its load). Called before the scans, so that the stores can count
   * lines alongside them.
   */
  quality(malformedScanned: Promise<number>): Promise<DataQuality>;
  close(): Promise<void>;
  /**
   * For a process about to exit mid-analysis (Ctrl-C): removes what the store keeps on disk
   * at once, without waiting for a running statement (close() would, and could wait on the
   * thread that exits). The store is unusable after it. Absent where nothing is kept on disk.
   */
  abandon?(): void;
}
