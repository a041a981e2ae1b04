/**
 * Redis for tests: a random key prefix on the shared server (deleted after), and a
 * private redis-server on a free port for tests that stop and restart Redis (the shared
 * one is never touched).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const SHARED_REDIS = 'redis://127.0.0.1:6379';

export function randomPrefix(): string {
  return `sytest-${randomBytes(6).toString('hex')}`;
}

/** Deletes every key under the prefix on the shared server. */
export async function deletePrefix(prefix: string, url = SHARED_REDIS): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own, without persistence, on a fixed port so it can be restarted there. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(public port: number) {}

  static async create(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts (or restarts) the server and waits until it answers. The free port is only free
   * when picked: another test's server can take it before ours binds it, and ours then
   * exits while the probe talks to theirs. So the probe checks that the answering server is
   * this child (INFO's process_id); on a first start a taken port is swapped for another,
   * on a restart (the port is the point) it is an error.
   */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const taken = await this.startOnce();
      if (!taken) {
        this.started = true;
        return;
      }
      if (this.started || attempt >= 4)
        throw new Error(`redis-server could not start on port ${this.port}: the port is taken, or it exited`);
      this.port = await freePort();
    }
  }

  private started = false;

  /** Spawns redis-server on this.port; true when another server answers there instead of ours. */
  private async startOnce(): Promise<boolean> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        const pid = /process_id:(\d+)/.exec(await probe.info('server'))?.[1];
        if (Number(pid) === child.pid) return false;
        await this.stop();
        return true;
      } catch {
        if (child.exitCode !== null) {
          // Ours exited (it could not bind the port) and nothing answers there either.
          this.child = undefined;
          return true;
        }
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
}

/** Polls `check` until it holds or `timeoutMs` passes; returns the ms it took. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
