/**
 * The HTTP edge the vendors' control planes share: one JSON request to a management API,
 * retried on 429 after the vendor's Retry-After (seconds or an HTTP date; capped), with
 * errors that carry the vendor's own message and status and never the token (it is
 * scrubbed from anything the vendor echoes back).
 *
 * What a vendor (or whatever answers in its place) can do to a call is bounded: the timeout
 * covers the answer's body too, a body is read up to MAX_ANSWER_BYTES, redirects are not
 * followed (the token is for the vendor's API alone, and a PUT that a 303 turns into a GET
 * would read as done), and a successful answer must be JSON or empty: a web page from a
 * proxy, or from a base URL that is the vendor's site rather than its API, is an error, not
 * a flag turned off.
 */
import { SwitchyardError, messageOf } from '../../src/errors.js';

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
    const origin = new URL(req.url).origin;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      let text: string | undefined;
      try {
        res = await fetch(req.url, {
          method: req.method,
          headers: {
            accept: 'application/json',
            ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...req.headers,
          },
          body: req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body),
          redirect: 'manual',
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await readAtMost(res, MAX_ANSWER_BYTES);
      } catch (error) {
        const why =
          (error as Error | null)?.name === 'TimeoutError'
            ? `no answer from ${origin} within ${this.timeoutMs} ms`
            : `the request to ${origin} failed: ${causeOf(error)}`;
        throw this.error(req, why, false, error);
      }
      if (text === undefined)
        throw this.error(
          req,
          `the answer from ${origin} is larger than ${MAX_ANSWER_BYTES / 2 ** 20} MiB (not read)`,
          false,
        );
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get('location');
        const target =
          location === null ? 'nowhere' : URL.canParse(location, req.url) ? new URL(location, req.url).href : location;
        throw this.error(
          req,
          `${res.status} redirect to ${this.scrub(target).slice(0, 300)}, not followed (the token goes to the configured URL only): set the base URL to where the API answers`,
          false,
        );
      }
      if (res.status === 429 && attempt < this.retries) {
        const wait = retryAfterMs(res.headers.get('retry-after'));
        if (wait <= this.maxWait) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
      }
      if (!res.ok) throw this.error(req, `${res.status} ${vendorMessage(this.scrub(text)) || res.statusText}`, true);
      if (text.trim().length === 0) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        const type = res.headers.get('content-type')?.split(';')[0] || 'no content type';
        throw this.error(
          req,
          `${origin} answered ${res.status} with ${type} that is not JSON (${JSON.stringify(this.scrub(text).slice(0, 80))}): is the base URL the vendor's API?`,
          false,
        );
      }
    }
  }

  /** `answered`: the vendor said no (a status and its message), else the call failed on the way. */
  private error(req: ControlRequest, detail: string, answered: boolean, cause?: unknown): SwitchyardError {
    return new SwitchyardError(
      'SY_CONTROL_PLANE',
      `adapters/${this.vendor} control plane`,
      this.scrub(`${this.vendor} ${answered ? 'refused to' : 'could not'} ${req.what}: ${detail}`),
      cause === undefined ? undefined : { cause: new Error(this.scrub(causeOf(cause))) },
    );
  }

  /** Applied to what the vendor sent before it is cut for an error, so no part of a secret survives the cut. */
  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length > 0) out = out.split(s).join('***');
    return out;
  }
}

/** The most of an answer read: a flag with thousands of targets is well under it. */
const MAX_ANSWER_BYTES = 16 * 2 ** 20;

/** The body as text, or undefined when it is longer than `max` bytes (the rest is not read). */
async function readAtMost(res: Response, max: number): Promise<string | undefined> {
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    // Leaving the loop cancels the stream, which closes the connection.
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A failed fetch's reason: its message and, for "fetch failed", the network error under it. */
function causeOf(error: unknown): string {
  const message = messageOf(error);
  const under = (error as { cause?: unknown } | null)?.cause;
  return under === undefined ? message : `${message} (${messageOf(under)})`;
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
      if (typeof first === 'string') return first.slice(0, 300);
      if (typeof first?.message === 'string') return first.message.slice(0, 300);
    }
    for (const key of ['message', 'error', 'details', 'detail'])
      if (typeof body[key] === 'string') return body[key].slice(0, 300);
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

/** A rollout percentage for a vendor (`name`, as users know it) that rolls out in whole percentages only. */
export function checkWholePercent(vendor: string, name: string, percent: number): void {
  checkPercent(vendor, percent);
  if (!Number.isInteger(percent))
    throw controlError(vendor, `${name} rolls out in whole percentages; ${percent} is not one`);
}

/**
 * A vendor's answer without what its API documents (a list that is not one, an entry that
 * is not an object): the change is not made, and the error says what was missing.
 */
export function malformedAnswer(vendor: string, flag: string, answered: string, missing: string): SwitchyardError {
  return controlError(vendor, `flag "${flag}" was not changed: ${vendor} answered ${answered} without ${missing}`);
}

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A change the control plane cannot make as asked (the flag's shape does not allow it). */
export function controlError(vendor: string, what: string): SwitchyardError {
  return new SwitchyardError('SY_CONTROL_PLANE', `adapters/${vendor} control plane`, what);
}
