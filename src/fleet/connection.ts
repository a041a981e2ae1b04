/**
 * An instance's one link to the fleet's Redis: one command connection shared by every
 * fleet part (the kill store, the guardrail metrics pusher), plus one subscriber
 * connection, opened only when a part subscribes (Redis takes a subscribed connection
 * out of command mode, so pub/sub needs its own).
 *
 * Outages are the link's business, not the parts': the first failure of an outage (a
 * connection error, or a command a part reports through `failed`) logs ONE
 * SY_FLEET_UNAVAILABLE error that says what each part does meanwhile; the next time every
 * connection is ready (or, when Redis stopped answering on open connections, a PING is
 * answered) it logs ONE "reachable again" line and runs each part's `onReady`
 * (the kill store re-reads the shared state, the pusher sends the deltas it kept).
 * Nothing here throws into the service.
 */
import type { Redis } from 'ioredis';
import type { ValidatedFleet } from '../config/index.js';
import { SwitchyardError } from '../errors.js';
import type { FleetLink, FleetPart, Logger } from '../ports.js';
import { connectRedis, redisFailure, redisLabel } from './redis.js';

export interface FleetConnectionOptions {
  readonly logger: Logger;
  /** The outage as an error (already logged once here), for an `error` event. */
  readonly onProblem?: (error: SwitchyardError) => void;
  /** How long start() waits for Redis before the parts serve from what they have (default 2000 ms). */
  readonly connectTimeoutMs?: number;
}

export class FleetConnection implements FleetLink {
  /** Commands: they fail fast while Redis is away (no offline queue), so nothing piles up. */
  readonly redis: Redis;
  private sub: Redis | undefined;
  private readonly parts = new Set<FleetPart>();
  private readonly channels = new Map<string, (message: string) => void>();
  private down = false;
  private closed = false;
  private starting: Promise<void> | undefined;
  /** While down after a failure of Redis (not a refusal): the PING that sees it answer again. */
  private probe: NodeJS.Timeout | undefined;
  /** The URL without credentials, for messages. */
  readonly label: string;

  constructor(
    readonly fleet: ValidatedFleet,
    private readonly options: FleetConnectionOptions,
  ) {
    this.label = redisLabel(fleet.redis);
    this.redis = this.open(false);
  }

  /** Whether commands can be sent now. */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /** Adds a part: it is named in the outage log and told when Redis is back. Returns the detach. */
  attach(part: FleetPart): () => void {
    this.parts.add(part);
    return () => void this.parts.delete(part);
  }

  /**
   * Delivers the channel's messages to `onMessage`, on the subscriber connection (opened
   * at the first subscription, resubscribed by ioredis after a reconnect).
   */
  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    this.channels.set(channel, onMessage);
    if (this.sub === undefined) {
      const sub = (this.sub = this.open(true));
      sub.on('message', (ch: string, message: string) => this.channels.get(ch)?.(message));
      if (this.starting !== undefined) await this.connect(sub);
    }
    await this.sub.subscribe(channel);
  }

  /**
   * Connects (every connection opened so far), waiting at most the connect timeout; never
   * throws: a Redis that does not answer is logged as an outage and retried in the background.
   */
  start(): Promise<void> {
    return (this.starting ??= this.startOnce());
  }

  private async startOnce(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 2000;
    const connecting = Promise.all([this.redis, ...(this.sub ? [this.sub] : [])].map((c) => this.connect(c)));
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timeout = setTimeout(() => {
        this.failed(new Error(`no answer within ${timeoutMs} ms`));
        resolve();
      }, timeoutMs);
      timeout.unref();
    });
    await Promise.race([connecting, timedOut]);
    clearTimeout(timeout);
  }

  private connect(conn: Redis): Promise<void> {
    if (conn.status !== 'wait') return Promise.resolve();
    return conn.connect().catch((error: unknown) => this.failed(error as Error));
  }

  /**
   * A part's command failed: the first failure of an outage is logged, once for every part.
   * A refusal (a ReplyError: WRONGTYPE from a key of another type under the prefix) is no
   * outage: Redis answers. It is logged once per kind and leaves the connection up, so a real
   * outage after it is still logged, and its end (it marked the connection down for good).
   */
  failed(error: Error): void {
    if (this.closed) return;
    if ((error as Error | null)?.name === 'ReplyError') {
      const kind = String(error.message).split(' ')[0] ?? '';
      if (this.refusals.has(kind)) return;
      this.refusals.add(kind);
      return this.report(error);
    }
    // Redis out of reach: watch for its return (see probeWhileDown).
    this.probeWhileDown();
    if (this.down) return;
    this.down = true;
    this.report(error);
  }

  /** Refusals logged, by their first word (WRONGTYPE, NOSCRIPT, ...): one line per kind. */
  private readonly refusals = new Set<string>();

  private report(error: Error): void {
    const meanwhile = [...this.parts].map((p) => p.whileDown()).filter((s) => s.length > 0);
    const problem = new SwitchyardError(
      'SY_FLEET_UNAVAILABLE',
      'fleet',
      `${redisFailure(this.label, this.fleet.prefix, error)}; ` + [...meanwhile, 'retrying every second'].join('; '),
      { cause: error },
    );
    this.options.logger.error(`${problem.code}: ${problem.what}`, { code: problem.code });
    this.options.onProblem?.(problem);
  }

  /**
   * A Redis that stopped answering on open connections (paused, hung, a network that drops
   * packets) sends no 'ready' when it answers again, so the outage would never end: the
   * "reachable again" line and the parts' onReady never came, and the next outage was not
   * logged. While down, a PING every second on a ready connection ends it when answered
   * (a connection that closed ends it on its own 'ready').
   */
  private probeWhileDown(): void {
    if (this.probe !== undefined) return;
    let pinging = false;
    this.probe = setInterval(() => {
      if (this.closed || !this.down) return this.stopProbe();
      if (pinging || this.redis.status !== 'ready') return;
      pinging = true;
      this.redis.ping().then(
        () => {
          pinging = false;
          this.ready();
        },
        () => (pinging = false),
      );
    }, 1000);
    this.probe.unref();
  }

  private stopProbe(): void {
    clearInterval(this.probe);
    this.probe = undefined;
  }

  /** Disconnects every connection; the parts are expected to have finished their writes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopProbe();
    for (const conn of [this.redis, this.sub]) {
      if (!conn) continue;
      conn.removeAllListeners('ready');
      conn.on('error', () => {});
      if (conn.status === 'ready') {
        // A polite QUIT, but a Redis that stopped answering does not hold close() for it.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          conn.quit().catch(() => undefined),
          new Promise((resolve) => (timer = setTimeout(resolve, this.options.connectTimeoutMs ?? 2000))),
        ]);
        clearTimeout(timer);
      }
      conn.disconnect();
    }
  }

  private open(subscriber: boolean): Redis {
    const conn = connectRedis(this.fleet.redis, {
      connectTimeoutMs: this.options.connectTimeoutMs ?? 2000,
      // A subscription must survive a reconnect: its SUBSCRIBE waits for the connection.
      queueWhileDown: subscriber,
    });
    conn.on('error', (error: Error) => this.failed(error));
    // A server that shuts down cleanly closes the connection without an error first.
    conn.on('close', () => this.failed(new Error('the connection closed')));
    conn.on('ready', () => this.ready());
    return conn;
  }

  private ready(): void {
    if (this.closed || this.redis.status !== 'ready' || (this.sub !== undefined && this.sub.status !== 'ready')) return;
    if (this.down) {
      this.down = false;
      this.stopProbe();
      this.options.logger.info(`fleet: Redis at ${this.label} is reachable again; ${this.backNotes()}`);
    }
    for (const part of this.parts) part.onReady();
  }

  private backNotes(): string {
    const notes = [...this.parts].map((p) => p.whenBack).filter((s) => s.length > 0);
    return notes.length > 0 ? notes.join(', ') : 'reconnected';
  }
}
