/** A Logger that records every level with its fields, as one line each ("level message {fields}"), for tests that search the whole log. */
import type { Logger } from '../../src/ports.js';

export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (msg: string, data?: Record<string, unknown>): void =>
      void lines.push(data === undefined ? `${level} ${msg}` : `${level} ${msg} ${JSON.stringify(data)}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
