/**
 * The config in force and its hot reload: watches the file, applies a valid change to the engine, keeps the last good config on a bad one.
 * Listeners of the 'config' event put the rest in force: the guardrails' watched events, and
 * a changed `fleet` block (the facade moves its fleet connection, kill state and metrics).
 */
import { ConfigWatcher, reshuffleProblems, type ValidatedConfig } from '../config/index.js';
import type { Clock, Logger } from '../ports.js';
import type { SafeEmitter } from './emitter.js';
import type { Engine } from './engine.js';
import type { SwitchyardEvents } from './types.js';

export interface WatchOptions {
  intervalMs: number | undefined;
  env: Readonly<Record<string, string | undefined>> | undefined;
  /** The text the config in force was read from. */
  text: string;
}

export class ConfigReloader {
  readonly counters = { applied: 0, rejected: 0 };
  private watcher: ConfigWatcher | undefined;

  constructor(
    private current: ValidatedConfig,
    private readonly engine: Engine,
    private readonly events: SafeEmitter<SwitchyardEvents>,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** The config in force. */
  get config(): ValidatedConfig {
    return this.current;
  }

  /** Starts watching `file`; a change that would reshuffle units of a running experiment is rejected. */
  watch(file: string, options: WatchOptions): void {
    this.watcher = new ConfigWatcher(file, {
      intervalMs: options.intervalMs,
      env: options.env,
      text: options.text,
      check: (next) => reshuffleProblems(this.current, next, this.clock.now()),
      onApply: (next) => this.apply(next, file),
      onReject: (error) => this.reject(error, file),
    });
    this.watcher.start();
  }

  /** Checks the file now instead of waiting for the watcher's next poll. */
  poll(): void {
    this.watcher?.poll();
  }

  stop(): void {
    this.watcher?.stop();
  }

  private apply(next: ValidatedConfig, source: string): void {
    this.engine.applyConfig(next);
    this.current = next;
    this.counters.applied++;
    this.logger.info('config applied', { source, experiments: [...next.experiments.keys()] });
    this.events.emit('config', { type: 'applied', source, experiments: [...next.experiments.keys()] });
  }

  private reject(error: Error, source: string): void {
    this.counters.rejected++;
    this.logger.error('config change rejected; the last good config stays in force', { source, error: error.message });
    this.events.emit('config', { type: 'rejected', source, error });
  }
}
