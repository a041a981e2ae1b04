/**
 * Journal.recover() when the disk fails again while it writes a memory segment back to its
 * file. The failure is injected in the one write recover() makes itself (writeAllSync, as
 * the journal imports it), after half the bytes, so the file holds real lines: what a disk
 * that fills up again mid-recovery leaves behind.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventPipeline,
  JOURNAL_RETRY_MS,
  functionSink,
  type EventRecord,
  type PipelineOptions,
} from '../../../src/exposure/index.js';
import { until } from '../../helpers/receiver.js';
import { exposure, record } from '../../helpers/exposure-input.js';

/** The segment file whose write by recover() fails half way; undefined: none fails. */
const failing: { file: string | undefined } = { file: undefined };

vi.mock('../../../src/exposure/segment-writer.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/exposure/segment-writer.js')>();
  return {
    ...actual,
    writeAllSync(fd: number, bytes: Buffer, position: number): void {
      if (failing.file !== undefined && readlinkSync(`/proc/self/fd/${fd}`) === failing.file) {
        actual.writeAllSync(fd, bytes.subarray(0, bytes.length >> 1), position);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      actual.writeAllSync(fd, bytes, position);
    },
  };
});

const tmp = () => mkdtempSync(join(tmpdir(), 'sy-recover-'));
const open: EventPipeline[] = [];
afterEach(async () => {
  failing.file = undefined;
  await Promise.all(open.splice(0).map((p) => p.close(100)));
});

function pipeline(options: Partial<PipelineOptions> & Pick<PipelineOptions, 'sinks' | 'dir'>): EventPipeline {
  const p = new EventPipeline({
    clock: { now: () => Date.parse('2026-12-01T09:00:00Z') },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    provider: 'memory',
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    ...options,
  });
  open.push(p);
  p.start();
  return p;
}

const segments = (journal: string) => readdirSync(journal).filter((name) => name.startsWith('seg-'));

describe('journal recovery', () => {
  it('that fails again half way through a memory segment leaves no file of it once its lines are delivered: a later start does not replay them (delivered twice)', async () => {
    const dir = tmp();
    const journal = join(dir, 'journal');
    const clock = { now: Date.parse('2026-12-01T09:00:00Z') };
    let up = false;
    const got: EventRecord[] = [];
    const p = pipeline({
      dir,
      clock: { now: () => clock.now },
      // Down, so that nothing is delivered and trimmed until the recovery has failed.
      sinks: [
        functionSink('fn', (r) => {
          if (!up) throw new Error('down');
          got.push(...r);
        }),
      ],
      maxSegmentBytes: 64 * 1024,
      // Memory segments of 500 lines: those made after the failure have no file yet.
      memoryLimit: 4000,
    });
    symlinkSync('/dev/full', join(journal, 'seg-000000000002.jsonl'));
    for (let i = 0; i < 1000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(p.counters().journalInMemory).toBe(true);
    const before = new Set(segments(journal));
    // In memory: new segments, with no file.
    for (let i = 1000; i < 2500; i++) record(p, exposure(i));
    p.flush();
    expect(segments(journal)).toEqual([...before]);
    const first = Math.max(...[...before].map((name) => Number(/\d+/.exec(name)![0]))) + 1;
    // Room again, but the disk fills up again while the recovery writes the first of them.
    rmSync(join(journal, 'seg-000000000002.jsonl'));
    failing.file = join(journal, `seg-${String(first).padStart(12, '0')}.jsonl`);
    clock.now += JOURNAL_RETRY_MS;
    p.flush();
    expect(p.counters().journalInMemory).toBe(true);
    expect(segments(journal)).toContain(`seg-${String(first).padStart(12, '0')}.jsonl`);
    // The sink comes back and gets every line, from memory; the segments it passed are trimmed.
    // (Cursors are saved, and passed segments trimmed, a second apart at most by the pipeline's clock.)
    clock.now += 1000;
    up = true;
    await until(() => got.length === 2500, 5000, 'delivery of 2500 events');
    for (let i = 2500; i < 3100; i++) record(p, exposure(i));
    p.flush();
    await until(() => got.length === 3100 && p.counters().sinks.fn!.pending === 0, 5000, 'delivery of 3100 events');
    clock.now += 1000;
    record(p, exposure(3100));
    p.flush();
    await until(() => got.length === 3101 && p.counters().sinks.fn!.pending === 0, 5000, 'delivery of 3101 events');
    // Its lines delivered, the segment is trimmed, and its partial file with it.
    expect(segments(journal)).not.toContain(`seg-${String(first).padStart(12, '0')}.jsonl`);
    // The disk takes writes again: the journal is on disk, and a clean close clears it.
    failing.file = undefined;
    clock.now += JOURNAL_RETRY_MS;
    record(p, exposure(3101));
    p.flush();
    expect(p.counters().journalInMemory).toBe(false);
    await p.close(5000);
    expect(got.map((r) => r.unit)).toEqual(Array.from({ length: 3102 }, (_, i) => `user-${i}`));
    expect(segments(journal)).toEqual([]);
    // A later start has nothing to replay.
    const again: EventRecord[] = [];
    const q = pipeline({ dir, sinks: [functionSink('fn', (r) => void again.push(...r))] });
    await q.close(5000);
    expect(again).toEqual([]);
  });
  it('that succeeds gives the memory limit back: a second failure later keeps as many lines in memory as the first did, none dropped', async () => {
    const dir = tmp();
    const journal = join(dir, 'journal');
    const clock = { now: Date.parse('2026-12-01T09:00:00Z') };
    const p = pipeline({
      dir,
      clock: { now: () => clock.now },
      // Down: nothing is delivered, so every line counts against the memory limit while in memory.
      sinks: [
        functionSink('fn', () => {
          throw new Error('down');
        }),
      ],
      maxSegmentBytes: 64 * 1024,
      memoryLimit: 4000,
    });
    symlinkSync('/dev/full', join(journal, 'seg-000000000002.jsonl'));
    for (let i = 0; i < 2000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(p.counters().journalInMemory).toBe(true);
    rmSync(join(journal, 'seg-000000000002.jsonl'));
    clock.now += JOURNAL_RETRY_MS;
    p.flush();
    expect(p.counters().journalInMemory).toBe(false);
    // The disk fails again: the next segments cannot be written.
    const last = Math.max(...segments(journal).map((name) => Number(/\d+/.exec(name)![0])));
    for (let seq = last + 1; seq <= last + 40; seq++)
      symlinkSync('/dev/full', join(journal, `seg-${String(seq).padStart(12, '0')}.jsonl`));
    for (let i = 2000; i < 4000; i++) record(p, exposure(i));
    p.flush();
    await p.written();
    expect(p.counters().journalInMemory).toBe(true);
    // 3000 lines in memory in all, under the limit of 4000 (the 2000 of the first failure are on disk).
    for (let i = 4000; i < 5000; i++) record(p, exposure(i));
    p.flush();
    expect(p.counters().dropped).toBe(0);
  });
});
