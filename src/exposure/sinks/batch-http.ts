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
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Pool } from 'undici';
import type { EventRecord } from '../schema.js';
import type { SendResult, SinkBatch } from '../sink.js';
import { SinkSendError } from '../sink.js';

const gzip = promisify(gzipCallback);

export interface BatchApi {
  /** Events at most in one request. */
  readonly maxEvents: number;
  /** Uncompressed body bytes at most in one request. */
  readonly maxBytes: number;
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
  gzip: boolean;
  /** Secrets to keep out of every message (the platform may echo a key back). */
  secrets: readonly string[];
}

/** One request's worth of events: indices into the batch and their JSON. */
interface Request {
  readonly indices: number[];
  readonly events: string[];
}

export class BatchPoster {
  private readonly pool: Pool;
  private readonly path: string;

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
  }

  /** Delivers the batch; resolves with the events rejected for good, throws SinkSendError to be retried. */
  async send(batch: SinkBatch): Promise<SendResult | undefined> {
    const records = batch.records();
    const rejected: { index: number; reason: string }[] = [];
    const requests: Request[] = [];
    const { maxEvents, maxBytes, maxEventBytes } = this.api;
    const frame = Buffer.byteLength(this.api.head()) + Buffer.byteLength(this.api.tail());
    let current: Request = { indices: [], events: [] };
    let bytes = frame;
    for (let i = 0; i < records.length; i++) {
      const json = JSON.stringify(this.api.event(records[i]!));
      const size = Buffer.byteLength(json);
      if (size > maxEventBytes || size + frame > maxBytes) {
        rejected.push({
          index: i,
          reason: `${this.platform} takes events of at most ${maxEventBytes} bytes; this one has ${size}`,
        });
        continue;
      }
      if (current.events.length === maxEvents || bytes + size + 1 > maxBytes) {
        requests.push(current);
        current = { indices: [], events: [] };
        bytes = frame;
      }
      current.indices.push(i);
      current.events.push(json);
      bytes += size + 1;
    }
    if (current.events.length > 0) requests.push(current);
    const outcomes = await Promise.allSettled(requests.map((r) => this.post(r, rejected)));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    return rejected.length > 0 ? { rejected } : undefined;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** Posts one request; events rejected for good go to `rejected`. */
  private async post(request: Request, rejected: { index: number; reason: string }[]): Promise<void> {
    const raw = Buffer.from(this.api.head() + request.events.join(',') + this.api.tail(), 'utf8');
    const headers: Record<string, string> = { ...this.api.headers };
    let body: Buffer = raw;
    if (this.options.gzip) {
      body = await gzip(raw, { level: 1 });
      headers['content-encoding'] = 'gzip';
    }
    let status: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await this.pool.request({ path: this.path, method: 'POST', headers, body });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      text = await res.body.text();
    } catch (error) {
      throw new SinkSendError(`${this.platform} request failed: ${this.clean((error as Error).message)}`);
    }
    if (status === 413 && request.events.length > 1) {
      await Promise.all(halves(request).map((h) => this.post(h, rejected)));
      return;
    }
    // Throttled, a server error, a timeout, or a key the platform refuses (the operator
    // fixes it; the events wait in the journal meanwhile): retried later, all of them.
    if (status === 429 || status === 408 || status >= 500 || status === 401 || status === 403 || status === 404)
      throw new SinkSendError(
        `${this.platform} answered ${status}: ${this.clean(summary(text))}`,
        retryAfterMs(retryAfter),
      );
    if (status < 200 || (status >= 300 && status < 400)) throw new SinkSendError(`${this.platform} answered ${status}`);
    const verdict =
      this.api.rejected(status, text) ?? (status >= 400 ? { message: summary(text), resendRest: true } : undefined);
    if (!verdict) return;
    const message = `${this.platform} answered ${status}: ${this.clean(verdict.message)}`;
    if (verdict.indices === undefined) {
      // The whole request refused without saying which events: halve it until the
      // events at fault are alone, so one bad event never takes good ones with it.
      if (request.events.length > 1) {
        await Promise.all(halves(request).map((h) => this.post(h, rejected)));
        return;
      }
      rejected.push({ index: request.indices[0]!, reason: message });
      return;
    }
    const bad = new Set<number>();
    verdict.indices.forEach((i, k) => {
      if (i < 0 || i >= request.events.length || bad.has(i)) return;
      bad.add(i);
      const own = verdict.reasons?.[k];
      rejected.push({
        index: request.indices[i]!,
        reason: own ? `${this.platform} answered ${status}: ${this.clean(own)}` : message,
      });
    });
    if (!verdict.resendRest) return;
    const rest: Request = { indices: [], events: [] };
    for (let i = 0; i < request.events.length; i++)
      if (!bad.has(i)) {
        rest.indices.push(request.indices[i]!);
        rest.events.push(request.events[i]!);
      }
    // Nothing named that is in the request: resending would loop; the request is refused whole.
    if (bad.size === 0) {
      for (const i of request.indices) rejected.push({ index: i, reason: message });
      return;
    }
    if (rest.events.length > 0) await this.post(rest, rejected);
  }

  /** A platform's message with any secret taken out. */
  private clean(message: string): string {
    let out = message;
    for (const s of this.options.secrets) if (s.length > 0) out = out.split(s).join('[redacted]');
    return out;
  }
}

function halves(r: Request): Request[] {
  const mid = r.events.length >> 1;
  return [
    { indices: r.indices.slice(0, mid), events: r.events.slice(0, mid) },
    { indices: r.indices.slice(mid), events: r.events.slice(mid) },
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
