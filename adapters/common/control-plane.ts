/**
 * The HTTP edge the vendors' control planes share: one JSON request to a management API,
 * retried on 429 after the vendor's Retry-After (seconds or an HTTP date; capped), with
 * errors that carry the vendor's own message and status and never the token (it is
 * scrubbed from anything the vendor echoes back).
 */
import { SwitchyardError } from '../../src/errors.js';

export interface ControlRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** What the request does, for error messages ("turn flag x off"). */
  what: string;
}

export interface HttpOptions {
  /** Retries after a 429 (default 3). */
  retries?: number;
  /** The longest Retry-After honoured, in ms (default 30,000); a longer one is an error. */
  maxRetryWaitMs?: number;
  /** Per request (default 10,000 ms). */
  timeoutMs?: number;
}

export class ControlHttp {
  private readonly retries: number;
  private readonly maxWait: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly vendor: string,
    /** Secrets that must never appear in an error (the API token). */
    private readonly secrets: readonly string[],
    options: HttpOptions = {},
  ) {
    this.retries = options.retries ?? 3;
    this.maxWait = options.maxRetryWaitMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Sends the request; resolves with the parsed JSON answer (undefined when empty). */
  async send<T = unknown>(req: ControlRequest): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(req.url, {
          method: req.method,
          headers: {
            accept: 'application/json',
            ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...req.headers,
          },
          body: req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        throw this.error(req, `the request failed: ${(error as Error).message}`, error);
      }
      const text = await res.text();
      if (res.status === 429 && attempt < this.retries) {
        const wait = retryAfterMs(res.headers.get('retry-after'));
        if (wait <= this.maxWait) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
      }
      if (!res.ok) throw this.error(req, `${res.status} ${vendorMessage(text) || res.statusText}`);
      if (text.length === 0) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        return text as T;
      }
    }
  }

  private error(req: ControlRequest, detail: string, cause?: unknown): SwitchyardError {
    return new SwitchyardError(
      'SY_CONTROL_PLANE',
      `adapters/${this.vendor} control plane`,
      this.scrub(`${this.vendor} refused to ${req.what}: ${detail}`),
      cause === undefined ? undefined : { cause: new Error(this.scrub(String((cause as Error).message ?? cause))) },
    );
  }

  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length > 0) out = out.split(s).join('***');
    return out;
  }
}

/** Retry-After as ms: delta-seconds or an HTTP date; missing or unreadable means 1 s. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null || header.trim() === '') return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : 1000;
}

/** The vendor's own explanation from an error body: `message`, `error`, `errors[].message`, or the text. */
export function vendorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const errors = body.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const first = errors[0] as { message?: unknown } | string;
      if (typeof first === 'string') return first;
      if (typeof first?.message === 'string') return first.message;
    }
    for (const key of ['message', 'error', 'details', 'detail']) if (typeof body[key] === 'string') return body[key];
    return text.slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}

/** A rollout percentage a vendor can take: a number from 0 to 100. */
export function checkPercent(vendor: string, percent: number): void {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100)
    throw new SwitchyardError(
      'SY_INVALID_ARGUMENT',
      `adapters/${vendor} control plane`,
      `a rollout is a percentage from 0 to 100, not ${percent}`,
    );
}

/** A change the control plane cannot make as asked (the flag's shape does not allow it). */
export function controlError(vendor: string, what: string): SwitchyardError {
  return new SwitchyardError('SY_CONTROL_PLANE', `adapters/${vendor} control plane`, what);
}
