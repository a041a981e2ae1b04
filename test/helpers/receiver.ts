/**
 * A real HTTP receiver on an ephemeral loopback port, for sink tests: records every
 * request (its body decoded from gzip when it came gzipped), and can refuse connections
 * (down), answer 503, or hang.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Mode = 'ok' | 'error' | 'hang';

export class Receiver {
  readonly requests: Received[] = [];
  mode: Mode = 'ok';
  /** Answer for a successful request. */
  respond: (req: Received, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };
  private server: Server | undefined;
  private readonly hung: ServerResponse[] = [];
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const received = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'),
        };
        if (this.mode === 'hang') {
          this.requests.push(received);
          this.hung.push(res);
          return;
        }
        if (this.mode === 'error') {
          res.writeHead(503);
          res.end();
          return;
        }
        this.requests.push(received);
        this.respond(received, res);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening: connections are refused until start(port) again. */
  async stop(): Promise<void> {
    for (const res of this.hung.splice(0)) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  json<T = unknown>(): T[] {
    return this.requests.map((r) => JSON.parse(r.body) as T);
  }
}

export async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
