/**
 * One HTTP exchange with an Azure service (Graph, or Entra's token endpoint), retried the way those
 * services ask: on 429 and 5xx, waiting what `Retry-After` says, within fixed bounds so a rotation
 * step always ends well inside the rotation lease (see engine.ts).
 */

/** The subset of `fetch` used here, so tests can hand in one that trusts the emulator's CA. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /** Wait before the second attempt when the service gives no Retry-After; doubles after each. */
  readonly baseDelayMs: number;
  /** Longest wait between attempts. A Retry-After above it ends the retries instead of stalling. */
  readonly maxDelayMs: number;
  /** Each attempt (connection, headers and body) is abandoned after this long. */
  readonly attemptTimeoutMs: number;
}

/** At most ≈ 4 × 10 s + 3 × 5 s per call: far below the 5-minute rotation lease. */
export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 5_000, attemptTimeoutMs: 10_000 };

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface HttpReply {
  readonly status: number;
  readonly statusText: string;
  readonly body: string;
  readonly headers: Headers;
}

/** How the last attempt ended: a reply (maybe an error status), or no reply at all. */
export type Exchange = { readonly kind: 'reply'; readonly reply: HttpReply } | { readonly kind: 'network'; readonly error: unknown };

export interface ExchangeOptions {
  readonly fetch: FetchLike;
  readonly retry: RetryOptions;
  readonly sleep: Sleep;
  /**
   * Whether repeating the request is harmless. A non-idempotent request (addPassword) is repeated
   * only after a 429, which says the service did not act on it; after a 5xx or a lost connection the
   * outcome is unknown and repeating it could create a second password, so the caller gets the failure
   * and cleans up by name instead.
   */
  readonly idempotent: boolean;
}

/** Bodies of Graph and Entra answers are small; a huge one is not theirs. */
const MAX_BODY_BYTES = 1024 * 1024;

export async function exchange(url: string, init: () => RequestInit, options: ExchangeOptions): Promise<Exchange> {
  let last: Exchange | undefined;
  for (let attempt = 1; attempt <= options.retry.maxAttempts; attempt++) {
    last = await once(url, init(), options);
    if (attempt === options.retry.maxAttempts || !retryable(last, options.idempotent)) return last;
    const wait = delayBefore(attempt, last, options.retry);
    if (wait === undefined) return last;
    await options.sleep(wait);
  }
  // maxAttempts < 1 is a programming error; answer as if the network failed.
  return last ?? { kind: 'network', error: new Error('no attempt was made') };
}

async function once(url: string, init: RequestInit, options: ExchangeOptions): Promise<Exchange> {
  const signal = AbortSignal.timeout(options.retry.attemptTimeoutMs);
  try {
    // Redirects are refused: the endpoint was checked (https or loopback), a redirect target was not.
    const response = await options.fetch(url, { ...init, signal, redirect: 'error' });
    const body = await response.text();
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
      return { kind: 'network', error: new Error(`response larger than ${MAX_BODY_BYTES} bytes`) };
    }
    return { kind: 'reply', reply: { status: response.status, statusText: response.statusText, body, headers: response.headers } };
  } catch (error) {
    return { kind: 'network', error };
  }
}

function retryable(result: Exchange, idempotent: boolean): boolean {
  if (result.kind === 'network') return idempotent;
  const { status } = result.reply;
  if (status === 429) return true;
  return idempotent && status >= 500;
}

/** Milliseconds to wait before the next attempt, or undefined when the service asks for too long. */
export function delayBefore(attempt: number, result: Exchange, retry: RetryOptions, now: number = Date.now()): number | undefined {
  const header = result.kind === 'reply' ? result.reply.headers.get('retry-after') : null;
  const asked = header === null ? undefined : parseRetryAfter(header, now);
  if (asked !== undefined) return asked <= retry.maxDelayMs ? asked : undefined;
  return Math.min(retry.baseDelayMs * 2 ** (attempt - 1), retry.maxDelayMs);
}

/** Retry-After is delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when unreadable. */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** A reply body as JSON, or undefined when it is not JSON (the callers' schemas then refuse it). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
