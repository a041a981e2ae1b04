/**
 * What the analytics sinks share: a batch of journal lines becomes the platform's events,
 * packed into as few requests as the platform's documented limits allow, posted with
 * undici (keep-alive connections, gzip), and the answers judged the same way for every
 * platform: 2xx delivered; 429, 5xx, 408 and auth errors retried later by the channel
 * (honouring Retry-After); 413 split in halves; a permanent 4xx for some events dead-letters
 * those events with the platform's message, and the rest go on.
 *
 * Why not the official SDKs: measured on this machine (bench/sinks.ts), each SDK queues
 * every event through its own plugin pipeline with a promise or callback per event and
 * sends one batch at a time (Segment's flush overlaps its own auto-flush: "Overlapping
 * flush calls detected"); the journal already batches, so the SDKs' queues are pure cost.
 *
 * Each event's JSON is spliced from its journal line's bytes (line-splice.ts), not built
 * from JSON.parse, an object and JSON.stringify: the same bytes, about a quarter of the CPU.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Pool } from 'undici';
import { configMessages } from '../../config/index.js';
import type { EventRecord } from '../schema.js';
import { LineSplicer } from './line-splice.js';
import { isUserEvent } from './platform.js';
import type { SendResult, SinkBatch } from '../sink.js';
import { damagedLineReason, SinkSendError } from '../sink.js';

const gzip = promisify(gzipCallback);

export interface BatchApi {
  /** Events at most in one request. */
  readonly maxEvents: number;
  /** Uncompressed body bytes at most in one request (an event bigger than this goes alone). */
  readonly maxBytes: number;
  /** The platform's own limit of body bytes: an event that cannot fit a request under it is dead-lettered. */
  readonly limitBytes: number;
  /** Bytes at most of one event's JSON; a bigger event is dead-lettered. */
  readonly maxEventBytes: number;
  readonly headers: Record<string, string>;
  /** The body around the comma-separated events. */
  head(): string;
  tail(): string;
  /** The platform's event for a journal record. */
  event(r: EventRecord): unknown;
  /**
   * A 2xx or non-retryable 4xx answer, read: undefined when every event was accepted;
   * otherwise the events rejected, by index in the request (all when `indices` is
   * undefined), the platform's message, and whether the rest must be sent again (the
   * platform ingested none of the request) or were ingested.
   */
  rejected(
    status: number,
    body: string,
  ): { message: string; indices?: readonly number[]; reasons?: readonly string[]; resendRest: boolean } | undefined;
}

export interface BatchPosterOptions {
  /** The full URL posted to. */
  url: string;
  /** Requests in flight at most (the channel's sends times the requests each splits into). */
  connections: number;
  timeoutMs: number;
  /** Gzip level for request bodies (1-9), or undefined to send them as they are. */
  gzipLevel: number | undefined;
  /** Secrets to keep out of every message (the platform may echo a key back). */
  secrets: readonly string[];
  /**
   * Whether events are spliced from the journal's bytes (line-splice.ts; the default) or
   * all built from the parsed record with JSON.stringify (the reference path; for
   * comparisons).
   */
  splice?: boolean;
}

/** How a platform sink sends; the config's analytics.<platform> fields (see SendTuning there). */
export interface SendOptions {
  timeoutMs?: number;
  /** Sends in flight at most (default 4). */
  concurrency?: number;
  /** Gzip request bodies: true (level 1, the default), a level 1-9, or false. */
  compress?: boolean | number;
  /** Events at most a request, and in one send (default: the platform's, Segment 1,000). */
  batchSize?: number;
  /** Uncompressed bytes at most a request (default: the platform's limit). */
  batchBytes?: number;
  /**
   * false builds every event from the parsed journal record with JSON.stringify instead of
   * splicing the journal's bytes (same bytes on the wire; slower): for comparisons, not a
   * config field.
   */
  splice?: boolean;
}

/**
 * gzip level 1 by default: measured on the sinks benchmark (BENCHMARKS.md, "Analytics
 * sinks"), it cuts a batch of exposures to about a twentieth of its size for a few
 * microseconds an event; levels above 1 cost more time for a few percent less.
 */
export const DEFAULT_GZIP_LEVEL = 1;
export const DEFAULT_CONCURRENCY = 4;

/** The platform's limits lowered to the options, checked: a value above a limit is an error that names it. */
export function resolveSendOptions(
  platform: string,
  limits: { maxEvents: number; maxBytes: number; maxEventBytes: number; doc: string },
  defaultBatchSize: number,
  options: SendOptions,
): {
  maxEvents: number;
  maxBytes: number;
  maxEventBytes: number;
  concurrency: number;
  gzipLevel: number | undefined;
  timeoutMs: number;
} {
  const check = (key: string, value: number | undefined, max: number, min: number) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < min)
      throw new Error(`${platform} sink: ${key} must be an integer of at least ${min}, found ${value}`);
    if (value > max) throw new Error(`${platform} sink: ${configMessages.platformLimit(key, max, value, limits.doc)}`);
  };
  check('batchSize', options.batchSize, limits.maxEvents, 1);
  check('batchBytes', options.batchBytes, limits.maxBytes, 1024);
  check('concurrency', options.concurrency, 64, 1);
  const compress = options.compress ?? true;
  if (typeof compress === 'number' && !(Number.isInteger(compress) && compress >= 1 && compress <= 9))
    throw new Error(`${platform} sink: compress must be true, false or a gzip level 1-9, found ${compress}`);
  return {
    maxEvents: options.batchSize ?? Math.min(defaultBatchSize, limits.maxEvents),
    maxBytes: options.batchBytes ?? limits.maxBytes,
    maxEventBytes: limits.maxEventBytes,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    gzipLevel: compress === false ? undefined : compress === true ? DEFAULT_GZIP_LEVEL : compress,
    timeoutMs: options.timeoutMs ?? 10_000,
  };
}

/**
 * One request's worth of events: indices into the batch, and where each event's JSON
 * lies in the send's event bytes (`store`).
 */
interface Request {
  readonly indices: number[];
  readonly starts: number[];
  readonly ends: number[];
}

/** A send's events as JSON, back to back in one buffer, and the requests they are split into. */
interface Encoded {
  store: Buffer;
  requests: Request[];
  rejected: { index: number; reason: string }[];
}

/**
 * Buffers for event bytes and request bodies, reused from send to send. A body of a
 * batch (hundreds of KB) in fresh memory costs a page fault per 4 KB on first touch,
 * which on the benchmark machine made building it (a joined string, then its UTF-8
 * copy) the single largest cost of a send: about 7 ms for 450 KB, against 0.1 ms to
 * write the same bytes into memory already touched.
 */
class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly keep: number) {}

  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) if (this.free[i]!.length >= size) return this.free.splice(i, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024));
  }

  /** Gives a buffer back once nothing reads it any more; beyond `keep` the smallest goes to the collector. */
  give(buffer: Buffer): void {
    this.free.push(buffer);
    if (this.free.length > this.keep) {
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
      this.free.splice(smallest, 1);
    }
  }
}

/** Bytes a string takes in UTF-8 at most: three per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;
const COMMA = 0x2c;

export class BatchPoster {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly buffers: BufferPool;
  private readonly splicer: LineSplicer | undefined;
  /** The options' secrets and the credentials sent in the Authorization header (a key in base64). */
  private readonly secrets: readonly string[];

  constructor(
    readonly platform: string,
    private readonly api: BatchApi,
    private readonly options: BatchPosterOptions,
  ) {
    const url = new URL(options.url);
    this.path = url.pathname + url.search;
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 30_000,
    });
    // Each request in flight holds a body, each send its event bytes.
    this.buffers = new BufferPool(2 * options.connections + 2);
    this.splicer = options.splice === false ? undefined : new LineSplicer((r) => api.event(r));
    const credentials = /^\S+\s+(\S+)$/.exec(api.headers.authorization ?? '')?.[1];
    // Longest first, so a secret that contains another is taken out whole.
    this.secrets = [...options.secrets, ...(credentials ? [credentials] : [])]
      .filter((secret) => secret.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  /** Delivers the batch; resolves with the events rejected for good, throws SinkSendError to be retried. */
  async send(batch: SinkBatch): Promise<SendResult | undefined> {
    const encoded = this.encode(batch);
    const { requests, rejected } = encoded;
    try {
      const outcomes = await Promise.allSettled(requests.map((r) => this.post(encoded, r)));
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      // Every request has settled: nothing reads the event bytes any more.
      this.buffers.give(encoded.store);
    }
    return rejected.length > 0 ? { rejected } : undefined;
  }

  /**
   * Cuts off the requests still in flight (close() of the pipeline has waited for them as
   * long as it was told; their events stay in the journal) and closes the connections.
   */
  close(): Promise<void> {
    return this.pool.destroy();
  }

  /**
   * Each user event's platform JSON, written once as UTF-8 into a reused buffer (spliced
   * from the journal line when it can be, else JSON.stringify of the platform's object
   * for the parsed record; either way the write says its size: no second pass to measure
   * it), and split into requests within the platform's limits; an event over a limit is
   * rejected for good.
   */
  private encode(batch: SinkBatch): Encoded {
    const rejected: { index: number; reason: string }[] = [];
    const requests: Request[] = [];
    const { maxEvents, maxBytes, limitBytes, maxEventBytes } = this.api;
    const splicer = this.splicer;
    const frame = Buffer.byteLength(this.api.head()) + Buffer.byteLength(this.api.tail());
    let store = this.buffers.take(Math.min(batch.count * 512, 4 * maxBytes));
    let pos = 0;
    let current: Request = { indices: [], starts: [], ends: [] };
    let bytes = frame;
    const room = (size: number) => {
      if (pos + size <= store.length) return;
      const bigger = this.buffers.take(Math.max(2 * store.length, pos + size));
      store.copy(bigger, 0, 0, pos);
      this.buffers.give(store);
      store = bigger;
    };
    let i = -1;
    for (const chunk of batch.chunks) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      for (let start = 0, end = 0; start < buf.length; start = end + 1) {
        end = buf.indexOf(0x0a, start);
        if (end < 0) end = buf.length;
        i++;
        let size: number;
        const bound = splicer === undefined ? -1 : splicer.read(buf, start, end);
        if (bound >= 0) {
          room(bound);
          size = splicer!.write(store, pos);
        } else {
          let json: string;
          try {
            const record = JSON.parse(buf.toString('utf8', start, end)) as EventRecord;
            if (!isUserEvent(record)) continue;
            json = JSON.stringify(this.api.event(record));
          } catch (error) {
            rejected.push({ index: i, reason: damagedLineReason(error) });
            continue;
          }
          room(json.length * MAX_UTF8_PER_UNIT);
          size = store.write(json, pos);
        }
        if (size > maxEventBytes || size + frame > limitBytes) {
          rejected.push({
            index: i,
            reason: `${this.platform} takes events of at most ${maxEventBytes} bytes; this one has ${size}`,
          });
          continue;
        }
        if (current.indices.length === maxEvents || (current.indices.length > 0 && bytes + 1 + size > maxBytes)) {
          requests.push(current);
          current = { indices: [], starts: [], ends: [] };
          bytes = frame;
        }
        if (current.indices.length > 0) bytes += 1; // the comma before it
        current.indices.push(i);
        current.starts.push(pos);
        current.ends.push(pos + size);
        pos += size;
        bytes += size;
      }
    }
    if (current.indices.length > 0) requests.push(current);
    return { store, requests, rejected };
  }

  /** The request's body, in a buffer of the pool: the platform's frame around its events, comma-separated. */
  private body(store: Buffer, request: Request): { buffer: Buffer; length: number } {
    const head = this.api.head();
    const tail = this.api.tail();
    let size = Buffer.byteLength(head) + Buffer.byteLength(tail) + request.indices.length;
    for (let k = 0; k < request.starts.length; k++) size += request.ends[k]! - request.starts[k]!;
    const buffer = this.buffers.take(size);
    let at = buffer.write(head, 0);
    for (let k = 0; k < request.starts.length; k++) {
      if (k > 0) buffer[at++] = COMMA;
      at += store.copy(buffer, at, request.starts[k]!, request.ends[k]!);
    }
    at += buffer.write(tail, at);
    return { buffer, length: at };
  }

  /** Posts one request; events rejected for good go to `encoded.rejected`. */
  private async post(encoded: Encoded, request: Request): Promise<void> {
    const { store, rejected } = encoded;
    const headers: Record<string, string> = { ...this.api.headers };
    const raw = this.body(store, request);
    let body: Buffer = raw.buffer.subarray(0, raw.length);
    let lent = true;
    if (this.options.gzipLevel !== undefined) {
      body = await gzip(body, { level: this.options.gzipLevel });
      headers['content-encoding'] = 'gzip';
      this.buffers.give(raw.buffer);
      lent = false;
    }
    let status: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      // The timeout bounds the whole exchange: undici's own timeouts are per idle gap, so
      // an answer that trickles a byte at a time would hold the send (and close()) forever.
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      text = await readAnswer(res.body);
    } catch (error) {
      // A body the client may still hold (a request cut off) is left to the collector.
      throw new SinkSendError(`${this.platform} request failed: ${this.clean((error as Error).message)}`);
    }
    // Answered: the request, its body included, is done with.
    if (lent) this.buffers.give(raw.buffer);
    if (status === 413 && request.indices.length > 1) {
      await Promise.all(halves(request).map((h) => this.post(encoded, h)));
      return;
    }
    // Throttled, a server error, a timeout, or a key the platform refuses (the operator
    // fixes it; the events wait in the journal meanwhile): retried later, all of them.
    // Secrets out before the answer is cut short: a cut through a key would leave its start.
    text = this.clean(text);
    if (status === 429 || status === 408 || status >= 500 || status === 401 || status === 403 || status === 404)
      throw new SinkSendError(`${this.platform} answered ${status}: ${summary(text)}`, retryAfterMs(retryAfter));
    if (status < 200 || (status >= 300 && status < 400)) throw new SinkSendError(`${this.platform} answered ${status}`);
    const verdict =
      this.api.rejected(status, text) ?? (status >= 400 ? { message: summary(text), resendRest: true } : undefined);
    if (!verdict) return;
    const message = `${this.platform} answered ${status}: ${this.clean(verdict.message)}`;
    if (verdict.indices === undefined) {
      // The whole request refused without saying which events: halve it until the
      // events at fault are alone, so one bad event never takes good ones with it.
      if (request.indices.length > 1) {
        await Promise.all(halves(request).map((h) => this.post(encoded, h)));
        return;
      }
      rejected.push({ index: request.indices[0]!, reason: message });
      return;
    }
    const bad = new Set<number>();
    verdict.indices.forEach((i, k) => {
      if (i < 0 || i >= request.indices.length || bad.has(i)) return;
      bad.add(i);
      const own = verdict.reasons?.[k];
      rejected.push({
        index: request.indices[i]!,
        reason: own ? `${this.platform} answered ${status}: ${this.clean(own)}` : message,
      });
    });
    if (!verdict.resendRest) return;
    const rest: Request = { indices: [], starts: [], ends: [] };
    for (let i = 0; i < request.indices.length; i++)
      if (!bad.has(i)) {
        rest.indices.push(request.indices[i]!);
        rest.starts.push(request.starts[i]!);
        rest.ends.push(request.ends[i]!);
      }
    // Nothing named that is in the request: resending would loop; the request is refused whole.
    if (bad.size === 0) {
      for (const i of request.indices) rejected.push({ index: i, reason: message });
      return;
    }
    if (rest.indices.length > 0) await this.post(encoded, rest);
  }

  /** A platform's message with any secret taken out. */
  private clean(message: string): string {
    let out = message;
    for (const s of this.secrets) out = out.split(s).join('[redacted]');
    return out;
  }
}

/**
 * Bytes of an answer read at most: the platforms' answers are short JSON (a list of
 * rejected indices at most), and an endpoint answering megabytes would otherwise be held
 * in memory whole, once per request in flight.
 */
const MAX_ANSWER_BYTES = 1 << 20;

/** An answer's body as text, its first MAX_ANSWER_BYTES only (the connection is dropped past them). */
async function readAnswer(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_ANSWER_BYTES) break; // ends the iteration, which destroys the body
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_ANSWER_BYTES));
}

function halves(r: Request): Request[] {
  const mid = r.indices.length >> 1;
  return [
    { indices: r.indices.slice(0, mid), starts: r.starts.slice(0, mid), ends: r.ends.slice(0, mid) },
    { indices: r.indices.slice(mid), starts: r.starts.slice(mid), ends: r.ends.slice(mid) },
  ];
}

/** The platform's own words, short: its JSON `error`/`message` field, or the start of the body. */
export function summary(text: string): string {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const said = parsed.error ?? parsed.message ?? parsed.status;
    if (typeof said === 'string' && said.length > 0) return said.slice(0, 300);
  } catch {
    // not JSON
  }
  return text.slice(0, 300) || '(no body)';
}

/** Retry-After (RFC 9110, 10.2.3): delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
