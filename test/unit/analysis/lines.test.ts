/**
 * The byte scan both stores run over every file (stores/lines.ts): lines and blank lines
 * counted as DuckDB and COPY count them, and the lines that cannot be a JSON object located,
 * whatever the chunks the bytes arrive in.
 */
import { describe, expect, it } from 'vitest';
import { firstIncomplete, LineScan, MAX_LOCATED } from '../../../src/analysis/stores/lines.js';

function scan(text: string | Buffer, chunk: number): LineScan {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const s = new LineScan();
  for (let i = 0; i < bytes.length; i += chunk) s.feed(bytes.subarray(i, i + chunk));
  s.end();
  return s;
}

const TEXT = [
  '{"a":1}', // 1 an object
  '', // 2 blank
  '  \r', // 3 blank: spaces and a CR
  '\t{"a":1} \r', // 4 an object between JSON whitespace
  '{"schema":"switchyard.event/1","unit":"x","ev', // 5 cut short
  '[1,2]', // 6 not an object
  '"text"', // 7
  '{not json}', // 8 braces: not located (only the analysis's count has it)
  '\t', // 9 a tab alone: not blank (as before), not located (DuckDB skips it)
  'x}', // 10
  '{"b":2}', // 11
  '{"cut', // 12 the last line, no newline
].join('\n');

describe('LineScan', () => {
  it.each([1, 2, 3, 7, 64, 1 << 20])('counts and locates the same in chunks of %i bytes', (chunk) => {
    const s = scan(TEXT, chunk);
    expect({ lines: s.lines, empty: s.empty, incomplete: s.incomplete, at: s.incompleteAt }).toEqual({
      lines: 12,
      empty: 2,
      incomplete: 5,
      at: [5, 6, 7, 10, 12],
    });
  });

  it('counts a last line without a newline, and nothing after a final newline', () => {
    expect(scan('{}\n{}', 4).lines).toBe(2);
    expect(scan('{}\n{}\n', 4).lines).toBe(2);
    expect(scan('', 4).lines).toBe(0);
    expect(scan('\n', 4)).toMatchObject({ lines: 1, empty: 1, incomplete: 0 });
  });

  it('keeps the first MAX_LOCATED line numbers and counts them all', () => {
    const s = scan('oops\n'.repeat(MAX_LOCATED + 5), 3);
    expect(s.incomplete).toBe(MAX_LOCATED + 5);
    expect(s.incompleteAt).toEqual(Array.from({ length: MAX_LOCATED }, (_, i) => i + 1));
  });

  it('reads invalid UTF-8 and NULs as bytes: a line is located by its first and last bytes', () => {
    const s = scan(Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0x00]), Buffer.from('"}\n\xff\n')]), 2);
    expect(s.incompleteAt).toEqual([2]);
  });
});

describe('firstIncomplete', () => {
  it('orders by path in code-unit order, then line, and keeps MAX_LOCATED', () => {
    const got = firstIncomplete([
      { file: '/d/a-x.jsonl', lines: [3] },
      { file: '/d/a/b.jsonl', lines: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { file: '/d/Z.jsonl', lines: [9] },
    ]);
    expect(got.slice(0, 3)).toEqual([
      { file: '/d/Z.jsonl', line: 9 },
      { file: '/d/a-x.jsonl', line: 3 },
      { file: '/d/a/b.jsonl', line: 1 },
    ]);
    expect(got).toHaveLength(MAX_LOCATED);
  });
});
