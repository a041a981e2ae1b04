/**
 * Hot reload: polls the config file's stat on an unref'd timer (so it survives editors
 * that replace the file, works on every filesystem and never keeps the process alive)
 * and hands each valid change to `onApply`. The stat is compared with the one taken when
 * the text was last read, so a write landing just after start is not missed (fs.watchFile
 * takes its first stat asynchronously and can); given the text the config in force was read
 * from, a write landing before start (while a service waited for its vendor) is applied at
 * start rather than taken for the config in force. An invalid change is reported and the
 * last good config stays in force; so is an empty file (see parseReloadedConfig), and a
 * file that cannot be read (deleted, unreadable).
 */
import { statSync } from 'node:fs';
import { SwitchyardError } from '../errors.js';
import { parseReloadedConfig, readConfigText, type LoadOptions } from './load.js';
import { configMessages as m } from './messages.js';
import type { ValidatedConfig } from './types.js';

export interface WatchOptions extends LoadOptions {
  intervalMs?: number;
  /** The text the config in force was read from; without it, the file as it is at start. */
  text?: string;
  /** Extra checks against the config in force (e.g. reshuffle); messages reject the change. */
  check?: (next: ValidatedConfig) => string[];
  onApply: (config: ValidatedConfig) => void;
  onReject: (error: Error) => void;
}

export class ConfigWatcher {
  private lastText: string | undefined;
  private lastStat = '';
  /** Why the last read failed, while it fails: reported once. */
  private readFailure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A stat seen changed at the last tick and not read yet (the file may still be being written). */
  private changing: string | undefined;

  constructor(
    private readonly file: string,
    private readonly options: WatchOptions,
  ) {}

  start(): void {
    if (this.options.text === undefined) {
      this.lastStat = statKey(this.file);
      this.lastText = safeRead(this.file);
    } else {
      this.lastText = this.options.text;
      this.poll();
    }
    this.timer = setInterval(() => {
      // A change is read once the file's size and time have held for one interval: an editor
      // that writes in place, in pieces, can be caught with a prefix that is valid on its own
      // (an experiment missing), which would be served until the next tick.
      const now = statKey(this.file);
      if (now === this.lastStat) this.changing = undefined;
      else if (now !== this.changing) this.changing = now;
      else this.poll();
    }, this.options.intervalMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the file now; applies it if it changed and is valid. */
  poll(): void {
    this.lastStat = statKey(this.file);
    this.changing = undefined;
    let text: string;
    try {
      text = readConfigText(this.file);
    } catch (cause) {
      // Deleted, unreadable, a directory, a pipe, huge: refused like any bad change, once until it reads again.
      const reason = (cause as Error).message;
      if (reason === this.readFailure) return;
      this.readFailure = reason;
      this.options.onReject(
        new SwitchyardError('SY_CONFIG_READ', 'config', m.reloadUnreadable(this.file, reason), { cause }),
      );
      return;
    }
    this.readFailure = undefined;
    if (text === this.lastText) return;
    this.lastText = text;
    let next: ValidatedConfig;
    try {
      next = parseReloadedConfig(text, this.file, this.options);
    } catch (error) {
      this.options.onReject(error as Error);
      return;
    }
    const problems = this.options.check?.(next) ?? [];
    if (problems.length > 0) {
      this.options.onReject(
        new SwitchyardError('SY_CONFIG_RESHUFFLE', 'config', `${this.file}: ${problems.join('; ')}`),
      );
      return;
    }
    this.options.onApply(next);
  }
}

function statKey(file: string): string {
  try {
    const s = statSync(file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

function safeRead(file: string): string | undefined {
  try {
    return readConfigText(file);
  } catch {
    return undefined;
  }
}
