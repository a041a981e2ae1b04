/**
 * A real Unleash server for the tests (npm `unleash-server`, AGPL: used here only, never
 * imported by src/ or adapters/): in a process of its own (test/fixtures/unleash-server-child.mjs)
 * on the local PostgreSQL, in a randomly named database created here and dropped at the
 * end, on an ephemeral port, health-checked before use. Flags are seeded and changed
 * through its Admin API (authentication off); the client token comes from
 * `POST /api/admin/api-tokens`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { UnleashControlPlane } from '../../adapters/unleash/control-plane.js';
import type { ContractFlag } from '../contract/flags.js';
import { unleashStrategies } from './unleash-features.js';

const PG = { host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432), user: 'postgres' };
const CHILD = new URL('../fixtures/unleash-server-child.mjs', import.meta.url).pathname;

async function admin(database: string, sql: string): Promise<void> {
  const client = new pg.Client({ ...PG, database });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export class RealUnleash {
  readonly db = `sy_unleash_${randomBytes(6).toString('hex')}`;
  port = 0;
  clientToken = '';
  private child: ChildProcess | undefined;
  /** The Admin API as switchyard's control plane talks to it. */
  controlPlane!: UnleashControlPlane;

  get url(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** Creates the database, starts the server, waits for /health, creates a client token. */
  static async start(): Promise<RealUnleash> {
    const server = new RealUnleash();
    await admin('postgres', `CREATE DATABASE ${server.db}`);
    try {
      await server.resume();
      const token = await server.api<{ secret: string }>('POST', '/api/admin/api-tokens', {
        tokenName: 'switchyard-test',
        type: 'client',
        environment: 'development',
        projects: ['*'],
      });
      server.clientToken = token.secret;
      server.controlPlane = new UnleashControlPlane({ url: server.url, environment: 'development' });
      return server;
    } catch (error) {
      await server.destroy();
      throw error;
    }
  }

  /** Starts the server process (again on the same port after `pause`). */
  async resume(): Promise<void> {
    const child = spawn(process.execPath, [CHILD], {
      env: { ...process.env, UNLEASH_DB: this.db, PORT: String(this.port), PGHOST: PG.host, PGPORT: String(PG.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    this.port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{"port"'));
        if (line) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`unleash-server exited (${code}) before listening: ${err}`)));
    });
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/health`);
        if (res.ok && ((await res.json()) as { health?: string }).health === 'GOOD') return;
      } catch {
        // not yet
      }
      if (i > 100) throw new Error(`unleash-server on ${this.port} never reported healthy: ${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops the server process (the database stays): an outage. */
  async pause(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server and drops its database. */
  async destroy(): Promise<void> {
    await this.pause();
    await admin('postgres', `DROP DATABASE IF EXISTS ${this.db} WITH (FORCE)`);
  }

  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private env(flag: string): string {
    return `/api/admin/projects/default/features/${flag}/environments/development`;
  }

  /** Creates (or redefines) a flag from a neutral flag: its strategies, then on or off. */
  async seed(flag: ContractFlag, stickiness = 'default'): Promise<void> {
    const exists = await fetch(`http://127.0.0.1:${this.port}/api/admin/projects/default/features/${flag.key}`);
    if (exists.status === 404)
      await this.api('POST', '/api/admin/projects/default/features', { name: flag.key, type: 'experiment' });
    for (const s of await this.api<Array<{ id: string }>>('GET', `${this.env(flag.key)}/strategies`))
      await this.api('DELETE', `${this.env(flag.key)}/strategies/${s.id}`);
    for (const s of unleashStrategies(flag, stickiness)) await this.api('POST', `${this.env(flag.key)}/strategies`, s);
    await this.api('POST', `${this.env(flag.key)}/${flag.disabled ? 'off' : 'on'}`);
    // The server serves clients from a cache it refreshes after changes: wait until the
    // client API shows this definition, so a client started now sees it.
    // What identifies this definition in the client API: each strategy's rollout and its variants' names and weights.
    const shape = (
      strategies: Array<{ parameters: { rollout: string }; variants?: Array<{ name: string; weight: number }> }>,
    ) =>
      JSON.stringify(
        strategies.map((st) => [st.parameters.rollout, (st.variants ?? []).map((v) => [v.name, v.weight])]),
      );
    const want = shape(unleashStrategies(flag, stickiness));
    for (let i = 0; ; i++) {
      const res = await fetch(`${this.url}/client/features`, { headers: { authorization: this.clientToken } });
      const body = (await res.json()) as {
        features: Array<{
          name: string;
          enabled: boolean;
          strategies: Array<{ parameters: { rollout: string }; variants?: Array<{ name: string; weight: number }> }>;
        }>;
      };
      const f = body.features.find((x) => x.name === flag.key);
      if (f && f.enabled === !flag.disabled && shape(f.strategies) === want) return;
      if (i > 150) throw new Error(`the client API never showed flag ${flag.key} as seeded`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
