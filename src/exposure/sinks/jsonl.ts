/**
 * The embedded default sink: JSON lines, one file per UTC day, rotated by size within a
 * day (exposures-2026-12-01.jsonl, exposures-2026-12-01.1.jsonl, ...). Exposures and
 * tracked events share the files; the `schema` field tells them apart.
 */
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../ports.js';
import type { Sink, SinkBatch } from '../sink.js';

export interface JsonlSinkOptions {
  dir: string;
  maxFileBytes?: number;
  clock?: Clock;
  name?: string;
}

export class JsonlSink implements Sink {
  readonly name: string;
  /**
   * One writev per batch, whatever its size: behind by a few flushes, the sink catches up
   * in one write of up to about 6 MB instead of one write per 500 events, which could not
   * keep up with a busy service and sent it to re-read its journal from disk.
   */
  readonly maxBatch = 20_000;
  private handle: FileHandle | undefined;
  private file = '';
  private bytes = 0;
  private day = '';
  private part = 0;

  constructor(private readonly options: JsonlSinkOptions) {
    this.name = options.name ?? 'jsonl';
  }

  /** Writes the batch's bytes as they are (they are JSON lines already), in one writev. */
  async send(batch: SinkBatch): Promise<void> {
    let size = 0;
    for (const c of batch.chunks) size += c.length;
    if (size === 0) return;
    try {
      await this.rotate(size);
      let pending = batch.chunks;
      // writev may write less than asked (more parts than IOV_MAX, a signal): write the rest.
      for (;;) {
        let { bytesWritten } = await this.handle!.writev(pending as Uint8Array[]);
        this.bytes += bytesWritten;
        const rest: Uint8Array[] = [];
        for (const c of pending) {
          if (bytesWritten >= c.length) bytesWritten -= c.length;
          else {
            rest.push(c.subarray(bytesWritten));
            bytesWritten = 0;
          }
        }
        if (rest.length === 0) return;
        pending = rest;
      }
    } catch (error) {
      // Part of the batch may be in the file, its last line cut (a full disk): the retry
      // opens the file again, and rotate() ends that line before the batch is written anew.
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  /** The file events currently go to. */
  get currentFile(): string {
    return this.file;
  }

  /**
   * Opens the file for the day (a new part when the batch would take it past maxFileBytes).
   * A file that does not end with a newline holds a line cut short (a write that failed
   * part way, a crash in the middle of one): it gets its newline first, so the cut line
   * stays a line of its own (the analysis counts it as malformed) and swallows no whole one.
   */
  private async rotate(incoming: number): Promise<void> {
    const day = new Date((this.options.clock ?? { now: Date.now }).now()).toISOString().slice(0, 10);
    const max = this.options.maxFileBytes ?? 64 * 2 ** 20;
    if (this.handle && day === this.day && this.bytes + incoming <= max) return;
    await this.handle?.close();
    this.handle = undefined;
    if (day !== this.day) {
      this.day = day;
      this.part = 0;
    }
    await mkdir(this.options.dir, { recursive: true });
    for (;;) {
      this.file = join(this.options.dir, `exposures-${day}${this.part ? `.${this.part}` : ''}.jsonl`);
      this.bytes = await stat(this.file).then(
        (s) => s.size,
        () => 0,
      );
      if (this.bytes === 0 || this.bytes + incoming <= max) break;
      this.part++;
    }
    const handle = await open(this.file, 'a+');
    try {
      if (this.bytes > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, this.bytes - 1);
        if (last[0] !== 0x0a) this.bytes += (await handle.write('\n')).bytesWritten;
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    this.handle = handle;
  }
}
