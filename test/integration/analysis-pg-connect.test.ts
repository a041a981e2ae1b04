/**
 * Connecting to PostgreSQL gives up: a server that accepts the TCP connection and never
 * answers (audit: every --pg command hung forever) fails within the connect timeout, with
 * an SY-coded error that names the server and says it timed out, never the password.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJsonlIntoPostgres, openPostgresStore } from '../../src/analysis/index.js';
import { generate } from '../helpers/analysis-data.js';
import { cli } from '../helpers/cli.js';

let server: Server;
let port = 0;
const sockets: Socket[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sy-pg-connect-'));

beforeAll(async () => {
  // Accepts and stays silent: reads whatever the client sends, answers nothing.
  server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  generate(join(dir, 'data'), {
    experiment: 'exp',
    units: 50,
    days: 1,
    weights: { control: 1, treatment: 1 },
    rates: { control: 0.1, treatment: 0.1 },
  });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const url = () => `postgres://someone:s3cret-pw@127.0.0.1:${port}/x`;

describe('a PostgreSQL server that never answers', () => {
  it('openPostgresStore and loadJsonlIntoPostgres time out with SY_ANALYSIS_STORE, no password', async () => {
    for (const attempt of [
      () => openPostgresStore(url(), { connectTimeoutMs: 300 }),
      () => loadJsonlIntoPostgres(url(), join(dir, 'data'), { connectTimeoutMs: 300 }),
    ]) {
      const started = Date.now();
      const error = (await attempt().then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: string; message?: string };
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error?.code).toBe('SY_ANALYSIS_STORE');
      expect(error.message).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/x: timed out/);
      expect(error.message).not.toContain('s3cret-pw');
    }
  });

  it('analyze --pg and history --pg exit 1 after the default timeout, naming the server', async () => {
    for (const args of [
      ['analyze', 'exp', '--no-log', '--pg', url()],
      ['history', '--pg', url()],
    ]) {
      const started = Date.now();
      const r = await cli(...args);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /^SY_ANALYSIS_STORE: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/x: timed out after 10 s/,
      );
      expect(r.err).not.toContain('s3cret-pw');
    }
  }, 40_000);
});
