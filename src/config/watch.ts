/**
 * Hot reload: polls the config file (fs.watchFile, which survives editors that replace
 * the file and never keeps the process alive) and hands each valid change to `apply`.
 * An invalid change is reported and the last good config stays in force.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { SwitchyardError } from '../errors.js';
import { parseConfig, type LoadOptions } from './load.js';
import type { ValidatedConfig } from './types.js';

export interface WatchOptions extends LoadOptions {
  intervalMs?: number;
  /** Extra checks against the config in force (e.g. reshuffle); messages reject the change. */
  check?: (next: ValidatedConfig) => string[];
  onApply: (config: ValidatedConfig) => void;
  onReject: (error: Error) => void;
}

export class ConfigWatcher {
  private lastText: string | undefined;
  private readonly listener: (curr: Stats, prev: Stats) => void;

  constructor(
    private readonly file: string,
    private readonly options: WatchOptions,
  ) {
    this.listener = (curr, prev) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) this.poll();
    };
  }

  start(initialText?: string): void {
    this.lastText = initialText ?? safeRead(this.file);
    watchFile(this.file, { interval: this.options.intervalMs ?? 250, persistent: false }, this.listener);
  }

  stop(): void {
    unwatchFile(this.file, this.listener);
  }

  /** Reads the file now; applies it if it changed and is valid. */
  poll(): void {
    const text = safeRead(this.file);
    if (text === undefined || text === this.lastText) return;
    this.lastText = text;
    let next: ValidatedConfig;
    try {
      next = parseConfig(text, this.file, this.options);
    } catch (error) {
      this.options.onReject(error as Error);
      return;
    }
    const problems = this.options.check?.(next) ?? [];
    if (problems.length > 0) {
      this.options.onReject(new SwitchyardError('SY_CONFIG_RESHUFFLE', 'config', `${this.file}: ${problems.join('; ')}`));
      return;
    }
    this.options.onApply(next);
  }
}

function safeRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
