/**
 * A local HTTP receiver that speaks the batch APIs of Segment, Amplitude and Mixpanel, for
 * end-to-end tests and the sinks benchmark: decodes gzip, reads each platform's body,
 * counts events and keeps their ids (the platform's dedupe key), and answers with the
 * platform's documented success body. `fault` injects answers (429, 5xx, 400) per request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type Platform = 'segment' | 'amplitude' | 'mixpanel';

export interface PlatformRequest {
  path: string;
  headers: IncomingMessage['headers'];
  /** The body as sent, decoded from gzip when it was gzipped. */
  body: string;
  /** The platform's events in the body, as parsed JSON. */
  events: Record<string, unknown>[];
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** The event's id, the key each platform dedupes by. */
export function eventId(platform: Platform, e: Record<string, unknown>): string {
  if (platform === 'segment') return e.messageId as string;
  if (platform === 'amplitude') return e.insert_id as string;
  return (e.properties as Record<string, unknown>).$insert_id as string;
}

function eventsOf(path: string, headers: IncomingMessage['headers'], body: string): Record<string, unknown>[] {
  if (path.startsWith('/v1/batch')) return (JSON.parse(body) as { batch: Record<string, unknown>[] }).batch;
  if (path.startsWith('/2/httpapi') || path.startsWith('/batch'))
    return (JSON.parse(body) as { events: Record<string, unknown>[] }).events;
  if (path.startsWith('/import')) {
    if (String(headers['content-type']).startsWith('application/x-ndjson'))
      return body
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    return JSON.parse(body) as Record<string, unknown>[];
  }
  if (path.startsWith('/track')) {
    const data = new URLSearchParams(body).get('data') ?? '[]';
    const parsed = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as unknown;
    return Array.isArray(parsed) ? (parsed as Record<string, unknown>[]) : [parsed as Record<string, unknown>];
  }
  throw new Error(`no platform API at ${path}`);
}

/** The platform's documented answer to a request it accepted whole. */
function success(path: string, events: number, bytes: number): string {
  if (path.startsWith('/v1/batch')) return '{"success":true}';
  if (path.startsWith('/2/httpapi') || path.startsWith('/batch'))
    return JSON.stringify({
      code: 200,
      events_ingested: events,
      payload_size_bytes: bytes,
      server_upload_time: Date.now(),
    });
  if (path.startsWith('/import')) return JSON.stringify({ code: 200, num_records_imported: events, status: 'OK' });
  return '{"status":1,"error":null}';
}

export class PlatformReceiver {
  /** Requests answered with success, in order of arrival (only when `keep`). */
  readonly requests: PlatformRequest[] = [];
  /** Ids of every event accepted, with how many times each arrived. */
  readonly ids = new Map<string, number>();
  accepted = 0;
  received = 0;
  /** An answer other than success for this request, or undefined to accept it. */
  fault: ((req: PlatformRequest, n: number) => Answer | undefined) | undefined;
  /** Milliseconds to wait before answering (a function for answers out of order). */
  delay: (() => number) | undefined;
  port = 0;
  private server: Server | undefined;

  constructor(
    readonly platform: Platform,
    private readonly keep = true,
  ) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and drops open connections: requests are refused until start(port) again. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepted events that arrived more than once. */
  get duplicates(): number {
    let n = 0;
    for (const c of this.ids.values()) n += c - 1;
    return n;
  }

  private handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const path = req.url ?? '';
    const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
    const events = eventsOf(path, req.headers, body);
    const request: PlatformRequest = { path, headers: req.headers, body, events };
    const n = this.received++;
    const answer = this.fault?.(request, n);
    const reply = () => {
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '');
        return;
      }
      if (this.keep) this.requests.push(request);
      this.accepted += events.length;
      for (const e of events) {
        const id = eventId(this.platform, e);
        this.ids.set(id, (this.ids.get(id) ?? 0) + 1);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(success(path, events.length, body.length));
    };
    const wait = this.delay?.() ?? 0;
    if (wait > 0) setTimeout(reply, wait);
    else reply();
  }
}

/** The `analytics` config section for a platform whose receiver listens on `port`. */
export function platformConfig(platform: Platform, port: number): Record<string, unknown> {
  const url = `http://127.0.0.1:${port}`;
  if (platform === 'segment') return { segment: { write_key: 'wk_e2e_secret', host: url, concurrency: 4 } };
  if (platform === 'amplitude') return { amplitude: { api_key: 'amp_e2e_secret', server_url: `${url}/2/httpapi` } };
  return { mixpanel: { token: 'mp_e2e_secret', host: `127.0.0.1:${port}`, protocol: 'http' } };
}
