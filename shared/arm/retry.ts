/**
 * Retries of ARM reads, done here instead of in the SDK's pipeline (whose retry policy is set to no
 * retries), for two reasons the SDK cannot serve:
 *
 *  - Logins share one read per resource (single-flight, cache.ts). With the SDK's back-off (Vault's
 *    defaults: 4 s doubling up to 60 s) that read could sleep for 16 s while ARM was healthy again,
 *    and every login waited with it. Here each wait is at most MAX_BACKOFF_MS, and a login that
 *    joins a waiting read shortens the wait to JOINED_WAIT_MS from its start: a recovered ARM
 *    serves the next login within about a second. A wait ARM asked for (Retry-After) is kept.
 *  - When a read gives up, the message says what ARM answered to every attempt. The SDK turned the
 *    deadline firing during its back-off into a bare abort ("no answer in time") although ARM had
 *    answered each attempt with a 500.
 *
 * What is retried follows the SDK's strategies: 408, 5xx except 501 and 505, connection failures,
 * and 429/503 with Retry-After (after that wait). Entra refusing the app's credential, ARM
 * refusing access and other 4xx are final at once.
 */
import { VaultError } from '../vault/errors';

export interface ArmRetrySettings {
  /** The mount's `max_retries`: attempts after the first. */
  readonly maxRetries: number;
  /** The mount's `retry_delay`: the first wait, doubled after each attempt. */
  readonly retryDelayMs: number;
  /** The mount's `max_retry_delay`. */
  readonly maxRetryDelayMs: number;
  /** Upper bound on one read, every attempt and wait included. */
  readonly deadlineMs: number;
}

/** The longest wait between two attempts, whatever `max_retry_delay` allows: a login is waiting. */
export const MAX_BACKOFF_MS = 5_000;
/** A login joining a waiting read gets its next attempt at most this long after the wait began. */
export const JOINED_WAIT_MS = 1_000;

interface Waiting {
  readonly since: number;
  until: number;
  readonly wakeable: boolean;
  reschedule(at: number): void;
}

/**
 * The waits of one shared read. `joined()` is called for every caller that starts waiting on the
 * read; it cuts the current wait short (see the module comment).
 */
export class RetryGate {
  private waiting: Waiting | undefined;

  constructor(
    private readonly joinedWaitMs: number = JOINED_WAIT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  joined(): void {
    const waiting = this.waiting;
    if (waiting === undefined || !waiting.wakeable) return;
    const at = waiting.since + this.joinedWaitMs;
    if (at < waiting.until) waiting.reschedule(at);
  }

  /** Waits `ms`; a wakeable wait ends early once a caller joins (see `joined`). */
  wait(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const since = this.now();
      let timer: ReturnType<typeof setTimeout>;
      const done = (): void => {
        if (this.waiting === waiting) this.waiting = undefined;
        resolve();
      };
      const waiting: Waiting = {
        since,
        until: since + ms,
        wakeable,
        reschedule: (at) => {
          waiting.until = at;
          clearTimeout(timer);
          timer = setTimeout(done, Math.max(0, at - this.now()));
        },
      };
      this.waiting = waiting;
      timer = setTimeout(done, ms);
    });
  }
}

/** What ARM answered to one attempt, or what happened instead, and whether to try again. */
export interface AttemptOutcome {
  /** Short, for the message: `500`, `429`, `connection refused`, `no answer`. */
  readonly answer: string;
  /** retry: after a back-off; after: after `retryAfterMs` (ARM asked); final: never; timeout: the deadline fired. */
  readonly next: 'retry' | 'after' | 'final' | 'timeout';
  readonly retryAfterMs?: number;
  /** The error for this attempt alone, as the login would report it. */
  readonly error: VaultError;
}

export type Classify = (err: unknown) => AttemptOutcome;

export interface RetryOptions {
  readonly settings: ArmRetrySettings;
  readonly gate?: RetryGate;
  /** Turns whatever one attempt threw into an outcome. */
  readonly classify: Classify;
  /** Injected for tests: a number in [0, 1) for the back-off jitter. */
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * Runs `attempt` until it succeeds, a failure is final, `maxRetries` is spent or the deadline would
 * pass. Each attempt gets an abort signal for the time left.
 */
export async function withRetries<T>(attempt: (signal: AbortSignal) => Promise<T>, options: RetryOptions): Promise<T> {
  const { settings, classify } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const gate = options.gate ?? new RetryGate();
  const started = now();
  const deadline = started + settings.deadlineMs;
  const answers: string[] = [];
  for (let retry = 0; ; retry++) {
    let outcome: AttemptOutcome;
    try {
      return await attempt(AbortSignal.timeout(Math.max(1, deadline - now())));
    } catch (err) {
      outcome = classify(err);
    }
    answers.push(outcome.answer);
    const giveUp = (why?: string): VaultError => summarize(outcome, answers, now() - started, why);
    if (outcome.next === 'final' || outcome.next === 'timeout') throw giveUp();
    if (retry >= settings.maxRetries) throw giveUp();
    const waitMs = outcome.next === 'after' ? (outcome.retryAfterMs ?? 0) : backoff(retry, settings, random);
    // A wait that would end at or after the deadline leaves no attempt: say so now, not at the deadline.
    if (now() + waitMs >= deadline) {
      throw giveUp(`no time for another attempt within the ${Math.round(settings.deadlineMs / 1000)} s limit`);
    }
    await gate.wait(waitMs, outcome.next === 'retry');
  }
}

/** The SDK's exponential back-off with its jitter (half to all of the delay), capped at MAX_BACKOFF_MS. */
export function backoff(retry: number, settings: ArmRetrySettings, random: () => number): number {
  const exponential = settings.retryDelayMs * 2 ** retry;
  const clamped = Math.min(settings.maxRetryDelayMs, exponential, MAX_BACKOFF_MS);
  return clamped / 2 + random() * (clamped / 2);
}

/** The last attempt's error, with every answer when there was more than one attempt. */
function summarize(last: AttemptOutcome, answers: readonly string[], elapsedMs: number, why?: string): VaultError {
  if (answers.length <= 1 && why === undefined) return last.error;
  const history = answers.length > 1 ? `ARM answered ${runs(answers)} over ${(elapsedMs / 1000).toFixed(1)} s` : '';
  const detail = [history, why].filter((part) => part !== undefined && part !== '').join('; ');
  return new VaultError(last.error.code, `${last.error.errors.join('; ')} (${detail})`, { cause: last.error });
}

/** `500 ×3, 503, no answer`: consecutive equal answers counted, in order. */
function runs(answers: readonly string[]): string {
  const parts: { answer: string; count: number }[] = [];
  for (const answer of answers) {
    const lastRun = parts[parts.length - 1];
    if (lastRun !== undefined && lastRun.answer === answer) lastRun.count += 1;
    else parts.push({ answer, count: 1 });
  }
  return parts.map((part) => (part.count > 1 ? `${part.answer} ×${part.count}` : part.answer)).join(', ');
}
