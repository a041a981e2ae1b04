/**
 * What a byte scan of a JSONL file tells without parsing it: its lines, its blank lines,
 * and where the lines are that cannot be a JSON object at all (truncated by a crash or a
 * full disk, or not JSON). Both stores scan every file with it (DuckDB beside its own scan,
 * PostgreSQL's `load` as it copies the lines), so both count and locate the same lines.
 */

/** The most line numbers kept per file, and shown in an analysis's data quality. */
export const MAX_LOCATED = 10;

/** A line that is not a complete JSON object: its file and 1-based line number. */
export interface IncompleteLine {
  readonly file: string;
  readonly line: number;
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/**
 * Counts as DuckDB and PostgreSQL's COPY count (a last line without a newline counts; a
 * blank line holds only spaces, and a CR before its LF), fed a file's bytes in chunks of
 * any size. A line is incomplete when its first and last bytes other than JSON whitespace
 * are not `{` and `}`: such a line is malformed on both engines. (A line that is an object
 * but not a valid record is malformed too, and only the analysis's count has it. A line of
 * only whitespace with a tab is not blank, as COPY's trim of spaces and CRs sees it, and not
 * located: DuckDB skips it.)
 */
export class LineScan {
  lines = 0;
  empty = 0;
  /** Incomplete lines in all. */
  incomplete = 0;
  /** The first MAX_LOCATED incomplete lines' numbers. */
  readonly incompleteAt: number[] = [];
  /** A line has started and not ended. */
  private open = false;
  /** The open line has only spaces and CRs so far. */
  private blank = true;
  /** The open line's first byte other than JSON whitespace; 0 while none. */
  private first = 0;
  /** Its last such byte so far. */
  private last = 0;

  feed(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(LF, pos);
      const end = nl === -1 ? chunk.length : nl;
      if (end > pos) {
        this.open = true;
        this.bytes(chunk, pos, end);
      }
      if (nl === -1) return;
      this.endLine();
      pos = nl + 1;
    }
  }

  /** After the last chunk: a last line without a newline is a line. */
  end(): void {
    if (this.open) this.endLine();
  }

  private bytes(chunk: Uint8Array, from: number, to: number): void {
    let i = from;
    if (this.first === 0) {
      for (; i < to; i++) {
        const b = chunk[i]!;
        if (b !== SPACE && b !== CR) this.blank = false;
        if (b !== SPACE && b !== CR && b !== TAB) {
          this.first = b;
          break;
        }
      }
    }
    // The last byte other than whitespace: scanned back from the end, so a line costs a few bytes here.
    for (let j = to - 1; j >= i; j--) {
      const b = chunk[j]!;
      if (b !== SPACE && b !== CR && b !== TAB) {
        this.last = b;
        this.blank = false;
        return;
      }
    }
  }

  private endLine(): void {
    this.lines++;
    if (this.blank) this.empty++;
    else if (this.first !== 0 && (this.first !== OPEN || this.last !== CLOSE)) {
      this.incomplete++;
      if (this.incompleteAt.length < MAX_LOCATED) this.incompleteAt.push(this.lines);
    }
    this.open = false;
    this.blank = true;
    this.first = 0;
    this.last = 0;
  }
}

/**
 * The first MAX_LOCATED incomplete lines of the files, in the order of their paths (code
 * unit order: both stores give the same list, whatever order they read the files in) and lines.
 */
export function firstIncomplete(perFile: ReadonlyArray<{ file: string; lines: readonly number[] }>): IncompleteLine[] {
  return [...perFile]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .flatMap(({ file, lines }) => lines.map((line) => ({ file, line })))
    .slice(0, MAX_LOCATED);
}
