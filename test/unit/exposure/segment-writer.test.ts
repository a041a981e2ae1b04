/**
 * The journal's positional writev queue on its own: order, the synchronous catch-up past
 * the backlog, written() waiters, closing files in turn, and failure.
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentWriter } from '../../../src/exposure/segment-writer.js';
import { SlabPool, type Slab } from '../../../src/exposure/slab-pool.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(name = 'seg.jsonl'): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-writer-'));
  dirs.push(dir);
  return join(dir, name);
}

/** A slab holding `text` (as a sealed block's bytes would be), lent by nobody yet. */
function slabOf(pool: SlabPool, text: string): { slab: Slab; bytes: Buffer } {
  const slab = pool.take();
  const length = slab.bytes.write(text, 0, 'utf8');
  return { slab, bytes: slab.bytes.subarray(0, length) };
}

const line = (i: number, width = 40) => `{"n":${i},"pad":"${'x'.repeat(width)}"}\n`;

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Lets the microtask queue run dry without letting the event loop turn (no fs callback can run). */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('SegmentWriter', () => {
  it('writes blocks at their positions in order, many writes per writev, and returns every slab once written', async () => {
    const file = tempFile();
    const fd = openSync(file, 'w');
    const pool = new SlabPool(100);
    const failures: Error[] = [];
    const writer = new SegmentWriter(pool, (error) => failures.push(error));
    const target = { unwritten: 0 };
    const slabs: Slab[] = [];
    let expected = '';
    for (let i = 0; i < 300; i++) {
      const { slab, bytes } = slabOf(pool, line(i, i % 7));
      slabs.push(slab);
      writer.write(fd, target, bytes, Buffer.byteLength(expected), slab);
      expected += line(i, i % 7);
    }
    expect(target.unwritten).toBeGreaterThan(0);
    expect(writer.idle).toBe(false);
    await writer.written();
    expect(failures).toEqual([]);
    expect(writer.idle).toBe(true);
    expect(target.unwritten).toBe(0);
    expect(slabs.every((s) => s.lent === 0)).toBe(true);
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe(expected);
  });

  it('closes a finished file in turn, after the writes queued for it, and goes on with the next file', async () => {
    const first = tempFile('a.jsonl');
    const second = tempFile('b.jsonl');
    const fdA = openSync(first, 'w');
    const fdB = openSync(second, 'w');
    const pool = new SlabPool(10);
    const writer = new SegmentWriter(pool, (error) => {
      throw error;
    });
    const a = { unwritten: 0 };
    const b = { unwritten: 0 };
    writer.write(fdA, a, Buffer.from(line(1)), 0, undefined);
    writer.write(fdA, a, Buffer.from(line(2)), Buffer.byteLength(line(1)), undefined);
    writer.closeAfterWrites(fdA);
    writer.write(fdB, b, Buffer.from(line(3)), 0, undefined);
    // The first write is in flight: its file must stay open under it.
    expect(isOpen(fdA)).toBe(true);
    await writer.written();
    expect(isOpen(fdA)).toBe(false);
    expect(isOpen(fdB)).toBe(true);
    closeSync(fdB);
    expect(readFileSync(first, 'utf8')).toBe(line(1) + line(2));
    expect(readFileSync(second, 'utf8')).toBe(line(3));
    expect([a.unwritten, b.unwritten]).toEqual([0, 0]);
  });

  it('writes synchronously, in the caller’s call, once the backlog passes its limit (the event loop is not turning)', async () => {
    const file = tempFile();
    const fd = openSync(file, 'w');
    const pool = new SlabPool(10);
    const writer = new SegmentWriter(
      pool,
      (error) => {
        throw error;
      },
      1000,
    );
    const target = { unwritten: 0 };
    const blocks = [0, 1, 2].map((i) => slabOf(pool, line(i, 560)));
    const size = blocks[0]!.bytes.length; // 577: two blocks pass the limit of 1000, one does not
    const write = (i: number) => writer.write(fd, target, blocks[i]!.bytes, i * size, blocks[i]!.slab);
    write(0);
    // Under the limit: in flight, nothing written in this call.
    expect(target.unwritten).toBe(size);
    expect(blocks[0]!.slab.lent).toBe(1);
    write(1);
    // Past the limit: everything, the write in flight included, is in the file already.
    expect(target.unwritten).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(line(0, 560) + line(1, 560));
    // The queued block's slab is free now; the one in flight stays lent until its writev is over.
    expect(blocks.map((b) => b.slab.lent)).toEqual([1, 0, 0]);
    // The backlog starts again from nothing: the next block waits behind the write in flight.
    write(2);
    expect(target.unwritten).toBe(size);
    expect(writer.idle).toBe(false);
    await writer.written();
    expect(blocks.map((b) => b.slab.lent)).toEqual([0, 0, 0]);
    // The writev in flight wrote the same bytes at the same place again: no duplicate, no count below zero.
    expect(target.unwritten).toBe(0);
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe(line(0, 560) + line(1, 560) + line(2, 560));
  });

  it('resolves written() at once when idle, and every waiter only when the writes queued before it are done', async () => {
    const file = tempFile();
    const fd = openSync(file, 'w');
    const writer = new SegmentWriter(new SlabPool(10), (error) => {
      throw error;
    });
    let idleResolved = false;
    void writer.written().then(() => (idleResolved = true));
    await microtasks();
    expect(idleResolved).toBe(true);

    const target = { unwritten: 0 };
    writer.write(fd, target, Buffer.from(line(1)), 0, undefined);
    const seen: number[] = [];
    const waiters = [1, 2, 3].map((n) => writer.written().then(() => seen.push(target.unwritten === 0 ? n : -n)));
    writer.write(fd, target, Buffer.from(line(2)), Buffer.byteLength(line(1)), undefined);
    const late = writer.written().then(() => readFileSync(file, 'utf8'));
    await microtasks();
    expect(seen).toEqual([]); // no writev callback can have run without the event loop turning
    await Promise.all(waiters);
    expect(seen).toEqual([1, 2, 3]);
    expect(await late).toBe(line(1) + line(2));
    closeSync(fd);
  });

  it('on a failed write: reports the failure once, keeps the unwritten counts, drops what is queued, returns the slabs, resolves written()', async () => {
    const file = tempFile();
    const readOnly = openSync(tempFileWith(file), 'r');
    const pool = new SlabPool(10);
    const failures: Error[] = [];
    const writer = new SegmentWriter(pool, (error) => failures.push(error));
    const target = { unwritten: 0 };
    const blocks = [0, 1, 2].map((i) => slabOf(pool, line(i)));
    let position = 0;
    for (const { slab, bytes } of blocks) {
      writer.write(readOnly, target, bytes, position, slab);
      position += bytes.length;
    }
    await writer.written();
    expect(failures).toHaveLength(1);
    expect((failures[0] as NodeJS.ErrnoException).code).toBe('EBADF');
    // The blocks were never written: their target still counts them (the journal keeps them in memory).
    expect(target.unwritten).toBe(position);
    expect(blocks.map((b) => b.slab.lent)).toEqual([0, 0, 0]);
    expect(writer.idle).toBe(true);
    closeSync(readOnly);
  });

  it('on a failed synchronous catch-up: reports the failure in the caller’s call', () => {
    const file = tempFile();
    const readOnly = openSync(tempFileWith(file), 'r');
    const failures: Error[] = [];
    const writer = new SegmentWriter(new SlabPool(10), (error) => failures.push(error), 10);
    writer.write(readOnly, { unwritten: 0 }, Buffer.from(line(1)), 0, undefined);
    expect(failures).toHaveLength(1);
    expect((failures[0] as NodeJS.ErrnoException).code).toBe('EBADF');
    closeSync(readOnly);
  });
});

/** Creates the file (empty) so it can be opened read-only; returns its path. */
function tempFileWith(file: string): string {
  closeSync(openSync(file, 'w'));
  return file;
}
