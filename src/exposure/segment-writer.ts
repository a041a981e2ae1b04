/**
 * The ordered, positional writev queue that puts journal blocks into their segment files off the event loop.
 *
 * Appends are written in order by libuv's thread pool, everything queued for a file in
 * one writev, so the event loop never waits for the disk (a synchronous write held it for
 * ~250 ns an event, and for as long as a stalled disk takes) and the journal keeps up with
 * any rate of flushes. Writes are positional, so their order of execution does not matter
 * and writing the same bytes twice is harmless: past a backlog of bytes (the event loop is
 * not turning, so no callback can run) everything queued is written synchronously.
 * A file is closed in turn, after the writes queued for it, and never under a write in
 * flight (its number must not be reused under that write). written() resolves when
 * everything queued so far is written, or the writer stopped after a failure.
 */
import { writeSync, writev } from 'node:fs';
import { SwitchyardError } from '../errors.js';
import { closeQuietly } from './segment-files.js';
import type { Slab, SlabPool } from './slab-pool.js';

/** What a write is for: its count of bytes queued and not yet known to be in the file. */
export interface WriteTarget {
  unwritten: number;
}

/** A queued write of a block to a segment file, or (bytes undefined) the closing of a file that is done. */
interface Write {
  readonly fd: number;
  readonly target: WriteTarget | undefined;
  readonly bytes: Buffer | undefined;
  /** Where in the file: writes are positional, so their order of execution does not matter. */
  readonly position: number;
  readonly slab: Slab | undefined;
}

/** Buffers in one writev (Linux's IOV_MAX). */
const IOV_MAX = 1024;

/** Bytes queued or in flight past which appends write synchronously (the event loop is not turning). */
export const MAX_BACKLOG = 8 * 2 ** 20;

export class SegmentWriter {
  /** Writes waiting, in order, behind the one in flight. */
  private readonly queued: Write[] = [];
  /** Blocks being written (one writev, one file); empty when no write is in flight. */
  private inFlight: Write[] = [];
  /** The write in flight was also done synchronously by writeNow(): its callback only releases its slabs. */
  private inFlightSettled = false;
  /** Bytes queued and not yet known to be written. */
  private backlog = 0;
  /** Files to close when the write in flight to them is over. */
  private readonly closing = new Set<number>();
  private drained: (() => void)[] = [];
  private stopped = false;

  /**
   * @param pool where a written block's slab goes back (a write borrows its slab until it is over)
   * @param onFailure called when a write fails; the writer has stopped by then (see stop())
   * @param maxBacklog bytes queued or in flight past which a write is done synchronously
   */
  constructor(
    private readonly pool: SlabPool,
    private readonly onFailure: (error: Error) => void,
    private readonly maxBacklog = MAX_BACKLOG,
  ) {}

  /** Nothing queued and nothing in flight. */
  get idle(): boolean {
    return this.queued.length === 0 && this.inFlight.length === 0;
  }

  /** Queues `bytes` for file `fd` at `position`; `target.unwritten` counts them until they are written. */
  write(fd: number, target: WriteTarget, bytes: Buffer, position: number, slab: Slab | undefined): void {
    if (slab !== undefined) slab.lent++; // until written
    target.unwritten += bytes.length;
    this.queued.push({ fd, target, bytes, position, slab });
    this.backlog += bytes.length;
    if (this.backlog > this.maxBacklog) this.writeNow();
    else this.pump();
  }

  /** Closes file `fd` once the writes queued for it are over. */
  closeAfterWrites(fd: number): void {
    this.queued.push({ fd, target: undefined, bytes: undefined, position: 0, slab: undefined });
  }

  /** Resolves when every write queued so far is in its file (or the writer stopped). */
  written(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Closes a file now, or after the write in flight to it is over (its number must not be reused under that write). */
  retire(fd: number): void {
    if (this.inFlight.length > 0 && this.inFlight[0]!.fd === fd) this.closing.add(fd);
    else closeQuietly(fd);
  }

  /** Drops the queued writes (not the one in flight) and closes their files. */
  abandon(): void {
    for (const write of this.queued.splice(0)) {
      if (write.slab !== undefined) this.pool.returned(write.slab);
      if (write.bytes === undefined) this.retire(write.fd);
    }
  }

  /**
   * Gives up: drops the queued writes, ignores how the one in flight ends, and resolves
   * written(). Their targets keep their unwritten counts (the journal keeps those blocks
   * in memory).
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abandon();
    this.backlog = 0;
    for (const resolve of this.drained.splice(0)) resolve();
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stop();
    this.onFailure(error);
  }

  /**
   * Starts writing what is queued for one file, if no write is in flight: all of it in
   * one writev, so the writer keeps up with any rate of flushes (one write completes per
   * turn of the event loop at most).
   */
  private pump(): void {
    if (this.inFlight.length > 0) return;
    while (this.queued.length > 0 && this.queued[0]!.bytes === undefined) this.retire(this.queued.shift()!.fd);
    if (this.queued.length === 0) {
      for (const resolve of this.drained.splice(0)) resolve();
      return;
    }
    const first = this.queued[0]!;
    let count = 1;
    let end = first.position + first.bytes!.length;
    for (; count < this.queued.length && count < IOV_MAX; count++) {
      const write = this.queued[count]!;
      if (write.fd !== first.fd || write.bytes === undefined || write.position !== end) break;
      end += write.bytes.length;
    }
    this.inFlight = this.queued.splice(0, count);
    this.inFlightSettled = false;
    this.writeGroup(this.inFlight, 0);
  }

  /** Writes a group of contiguous blocks to one file from byte `done` of the group on; a short write goes on from where it stopped. */
  private writeGroup(group: Write[], done: number): void {
    const fd = group[0]!.fd;
    const buffers: Buffer[] = [];
    let size = 0;
    let skip = done;
    for (const write of group) {
      const bytes = write.bytes!;
      size += bytes.length;
      if (skip >= bytes.length) skip -= bytes.length;
      else {
        buffers.push(skip > 0 ? bytes.subarray(skip) : bytes);
        skip = 0;
      }
    }
    writev(fd, buffers, group[0]!.position + done, (error, written) => {
      const settled = this.inFlightSettled;
      if (!settled && !error && written > 0 && done + written < size && !this.closing.has(fd)) {
        this.writeGroup(group, done + written);
        return;
      }
      // The write is over: only now may its slabs be reused and its file closed.
      this.inFlight = [];
      this.inFlightSettled = false;
      for (const write of group) {
        if (write.slab !== undefined) this.pool.returned(write.slab);
      }
      if (this.closing.delete(fd)) closeQuietly(fd);
      else if (settled || this.stopped) {
        // writeNow() wrote these bytes already, or the writer stopped meanwhile and their
        // blocks are kept in memory now.
      } else if (error || written <= 0) this.fail(error ?? stoppedShort(done, size));
      else this.markWritten(group);
      this.pump();
    });
  }

  /** Bookkeeping for blocks known to be in their files. */
  private markWritten(group: readonly Write[]): void {
    for (const write of group) {
      write.target!.unwritten -= write.bytes!.length;
      this.backlog -= write.bytes!.length;
    }
  }

  /**
   * Writes everything queued, and again what is in flight, synchronously: callbacks of
   * writes only run when the event loop turns, and a caller that does not let it turn (a
   * loop of awaited getVariant calls) would otherwise pile up unwritten blocks without
   * bound. Positional writes make the order, and writing the same bytes twice, harmless.
   */
  private writeNow(): void {
    try {
      for (const write of this.inFlightSettled ? [] : this.inFlight)
        writeAllSync(write.fd, write.bytes!, write.position);
      for (const write of this.queued)
        if (write.bytes !== undefined) writeAllSync(write.fd, write.bytes, write.position);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!this.inFlightSettled) {
      this.markWritten(this.inFlight);
      this.inFlightSettled = true;
    }
    for (const write of this.queued.splice(0)) {
      if (write.bytes === undefined) {
        this.retire(write.fd);
        continue;
      }
      this.markWritten([write]);
      if (write.slab !== undefined) this.pool.returned(write.slab);
    }
  }
}

function stoppedShort(done: number, size: number): Error {
  return new SwitchyardError(
    'SY_JOURNAL_WRITE_FAILED',
    'exposure journal',
    `the journal write stopped after ${done} of ${size} bytes`,
  );
}

/** writeSync at a position; it may write less than asked (a signal), then the rest follows, or it throws. */
export function writeAllSync(fd: number, bytes: Buffer, position: number): void {
  for (let done = 0; done < bytes.length;) {
    const written = writeSync(fd, bytes, done, bytes.length - done, position + done);
    if (written <= 0) throw stoppedShort(done, bytes.length);
    done += written;
  }
}
