/** A typed event emitter whose listeners can never throw into the caller. */
import { messageOf } from '../errors.js';
import type { Logger } from '../ports.js';

/**
 * A typed event emitter whose listeners can never throw into the caller: a throwing
 * listener, or an async one whose promise rejects, is logged once per event name and the
 * others still run (a rejection left unhandled ends a Node 20 process).
 */
export class SafeEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  private readonly reported = new Set<keyof Events>();

  constructor(private readonly logger: Logger) {}

  /** Counts changes to the listeners, so a hot caller can keep has()'s answer until the next change. */
  changes = 0;

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    this.changes++;
    return () => {
      set.delete(listener as (payload: never) => void);
      this.changes++;
    };
  }

  has(event: keyof Events): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of set) {
      try {
        const result: unknown = (listener as (p: Events[K]) => unknown)(payload);
        if (typeof (result as PromiseLike<unknown> | null)?.then === 'function')
          (result as PromiseLike<unknown>).then(undefined, (error: unknown) => this.failed(event, error));
      } catch (error) {
        this.failed(event, error);
      }
    }
  }

  private failed(event: keyof Events, error: unknown): void {
    if (this.reported.has(event)) return;
    this.reported.add(event);
    this.logger.error(`a listener of "${String(event)}" threw; it was skipped and switchyard went on`, {
      error: textOf(error),
    });
  }
}

/** What a listener threw, as text; a value that cannot be made text (no prototype, a throwing toString) does not throw again here. */
function textOf(error: unknown): string {
  try {
    return String(error);
  } catch {
    return messageOf(error);
  }
}
