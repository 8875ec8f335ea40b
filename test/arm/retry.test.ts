/**
 * The ARM retry loop (shared/arm/retry.ts) on fake timers: bounded waits, waits cut short by
 * joining callers, Retry-After kept, and a final error that lists what ARM answered. The same
 * behaviour over HTTP is in test/login/arm-recovery.http.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { classifyArmError, ArmHttpError } from '../../shared/arm/reader';
import { backoff, JOINED_WAIT_MS, MAX_BACKOFF_MS, RetryGate, withRetries, type ArmRetrySettings } from '../../shared/arm/retry';
import { TtlCache } from '../../shared/arm/cache';
import { VaultError } from '../../shared/vault/errors';

const WHAT = 'unable to retrieve virtual machine metadata';
const VAULT_DEFAULTS: ArmRetrySettings = { maxRetries: 3, retryDelayMs: 4000, maxRetryDelayMs: 60_000, deadlineMs: 30_000 };
const classify = (err: unknown) => classifyArmError(err, WHAT);
const http = (status: number, headers: Record<string, string> = {}) => new ArmHttpError(status, { error: { code: `Code${status}` } }, headers);

/** An ARM stand-in: answers each attempt from a script, recording when each came. */
function scripted(answers: (number | 'ok')[], headers: Record<string, string> = {}) {
  const times: number[] = [];
  const attempt = async (): Promise<string> => {
    times.push(Date.now());
    const next = answers.shift() ?? 'ok';
    if (next === 'ok') return 'facts';
    throw http(next, headers);
  };
  return { attempt, times };
}

async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: VaultError }> {
  const outcome: { value?: T; error?: VaultError } = {};
  promise.then(
    (value) => (outcome.value = value),
    (error: unknown) => {
      if (!(error instanceof VaultError)) throw error;
      outcome.error = error;
    },
  );
  await vi.runAllTimersAsync();
  return outcome;
}

describe('ARM retries', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the SDK back-off with jitter, each wait capped at 5 s whatever max_retry_delay says', () => {
    expect(backoff(0, VAULT_DEFAULTS, () => 0)).toBe(2000);
    expect(backoff(0, VAULT_DEFAULTS, () => 0.999999)).toBeCloseTo(4000, 0);
    expect(backoff(1, VAULT_DEFAULTS, () => 0.999999)).toBeCloseTo(MAX_BACKOFF_MS, 0);
    expect(backoff(5, VAULT_DEFAULTS, () => 0.999999)).toBeCloseTo(MAX_BACKOFF_MS, 0);
    expect(backoff(3, { ...VAULT_DEFAULTS, maxRetryDelayMs: 1000 }, () => 0.999999)).toBeCloseTo(1000, 0);
  });

  it('retries 500s and succeeds; the answers of failed attempts are not reported then', async () => {
    const arm = scripted([500, 503, 'ok']);
    const outcome = await settle(withRetries(arm.attempt, { settings: VAULT_DEFAULTS, classify, random: () => 0 }));
    expect(outcome.value).toBe('facts');
    expect(arm.times).toEqual([0, 2000, 2000 + 2500]); // 4 s and 8 s halved by the jitter's floor; 8 s capped at 5 s first
  });

  it('gives up after max_retries with every answer in the message', async () => {
    const arm = scripted([500, 500, 502, 500]);
    const outcome = await settle(withRetries(arm.attempt, { settings: VAULT_DEFAULTS, classify, random: () => 0 }));
    expect(outcome.error?.code).toBe('arm_unavailable');
    expect(outcome.error?.message).toBe(`ARM unavailable: ${WHAT}: 500 Code500 (ARM answered 500 ×2, 502, 500 over 7.0 s)`);
  });

  it('says what ARM answered when the next wait would pass the deadline, at once rather than at the deadline', async () => {
    const arm = scripted(Array(20).fill(500));
    const settings = { ...VAULT_DEFAULTS, maxRetries: 20, deadlineMs: 12_000 };
    const outcome = await settle(withRetries(arm.attempt, { settings, classify, random: () => 0.999999 }));
    // Attempts at 0, 4 s, 9 s; the next wait (5 s) would end past 12 s.
    expect(arm.times.map((t) => Math.round(t / 1000))).toEqual([0, 4, 9]);
    expect(outcome.error?.message).toMatch(/^ARM unavailable: .*: 500 Code500 \(ARM answered 500 ×3 over 9\.0 s; no time for another attempt within the 12 s limit\)$/);
    expect(outcome.error?.message).not.toContain('no answer');
  });

  it('a caller joining a wait gets the next attempt at most a second after the wait began', async () => {
    const gate = new RetryGate();
    const arm = scripted([500, 500, 'ok']);
    const running = withRetries(arm.attempt, { settings: VAULT_DEFAULTS, gate, classify, random: () => 1 });
    await vi.advanceTimersByTimeAsync(4000); // first wait (4 s) over: second attempt fails, wait of 5 s begins
    expect(arm.times).toEqual([0, 4000]);
    await vi.advanceTimersByTimeAsync(300);
    gate.joined(); // 0.3 s into the wait: the next attempt comes at 1 s into it
    await vi.advanceTimersByTimeAsync(700);
    expect(arm.times).toEqual([0, 4000, 5000]);
    expect(await running).toBe('facts');
  });

  it('a caller joining a wait that already lasted a second starts the next attempt at once', async () => {
    const gate = new RetryGate();
    const arm = scripted([500, 'ok']);
    const running = withRetries(arm.attempt, { settings: VAULT_DEFAULTS, gate, classify, random: () => 1 });
    await vi.advanceTimersByTimeAsync(2500);
    gate.joined();
    await vi.advanceTimersByTimeAsync(0);
    expect(arm.times).toEqual([0, 2500]);
    expect(await running).toBe('facts');
    expect(JOINED_WAIT_MS).toBe(1000);
  });

  it('keeps a wait ARM asked for (429 Retry-After), joiners or not', async () => {
    const gate = new RetryGate();
    const arm = scripted([429, 'ok'], { 'retry-after': '3' });
    const running = withRetries(arm.attempt, { settings: VAULT_DEFAULTS, gate, classify });
    await vi.advanceTimersByTimeAsync(1500);
    gate.joined();
    await vi.advanceTimersByTimeAsync(1000);
    expect(arm.times).toEqual([0]);
    await vi.advanceTimersByTimeAsync(500);
    expect(arm.times).toEqual([0, 3000]);
    expect(await running).toBe('facts');
  });

  it('does not retry what retrying cannot fix: 403, 404-less 4xx, 429 without Retry-After, Entra refusing the app', async () => {
    for (const status of [400, 403, 429, 501]) {
      const arm = scripted([status, 'ok']);
      const outcome = await settle(withRetries(arm.attempt, { settings: VAULT_DEFAULTS, classify }));
      expect(arm.times, String(status)).toHaveLength(1);
      expect(outcome.error?.code).toBe(status === 429 ? 'throttled' : 'arm_unavailable');
    }
    const refused = Object.assign(new Error('AADSTS7000215: Invalid client secret provided.'), { name: 'AuthenticationRequiredError' });
    let attempts = 0;
    const outcome = await settle(
      withRetries(
        async () => {
          attempts++;
          throw refused;
        },
        { settings: VAULT_DEFAULTS, classify },
      ),
    );
    expect(attempts).toBe(1);
    expect(outcome.error?.message).toBe('entra unavailable: the function app could not get an ARM access token: AADSTS7000215: Invalid client secret provided.');
  });

  it("reads Retry-After from the compute client's RestError as from a plain GET's answer", () => {
    const restError = Object.assign(new Error('Too many requests'), {
      name: 'RestError',
      statusCode: 429,
      code: 'TooManyRequests',
      response: { headers: { get: (name: string) => (name === 'retry-after' ? '2' : undefined) } },
    });
    expect(classify(restError)).toMatchObject({ answer: '429', next: 'after', retryAfterMs: 2000 });
    expect(classify(http(503, { 'Retry-After': '1' }))).toMatchObject({ answer: '503', next: 'after', retryAfterMs: 1000 });
    expect(classify(http(503))).toMatchObject({ answer: '503', next: 'retry' });
    expect(classify(restError).error.message).toBe(`ARM is throttling requests: ${WHAT}: 429 TooManyRequests`);
  });

  it('retries connection failures, naming them', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { name: 'RestError', code: 'ECONNREFUSED' });
    let attempts = 0;
    const outcome = await settle(
      withRetries(
        async () => {
          attempts++;
          throw refused;
        },
        { settings: { ...VAULT_DEFAULTS, maxRetries: 1 }, classify },
      ),
    );
    expect(attempts).toBe(2);
    expect(outcome.error?.message).toMatch(/^ARM unavailable: .*: connect ECONNREFUSED 127\.0\.0\.1:1 \(ARM answered ECONNREFUSED ×2 over/);
  });
});

describe('TtlCache tells a running load about callers that join it', () => {
  it('calls onJoin listeners for every joining caller, not for the one that started the load', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10 });
    let joins = 0;
    let release: (value: string) => void = () => undefined;
    const load = (shared: { onJoin(listener: () => void): void }) => {
      shared.onJoin(() => joins++);
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    const first = cache.get('k', load);
    const others = [cache.get('k', load), cache.get('k', load)];
    expect(joins).toBe(2);
    release('v');
    expect(await Promise.all([first, ...others])).toEqual(['v', 'v', 'v']);
  });
});
