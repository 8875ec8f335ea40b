/**
 * The deadlines of issue 10 item 2, piece by piece: the settings and their relation to host.json's
 * functionTimeout, the storage pipeline policy (one deadline over retries, cut-off of writes once
 * the request is answered), and the request pipeline's race.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../shared/settings';
import { StorageTimeoutError, deadlinePolicy, withStorageCutoff } from '../../shared/storage/tables';
import { raceDeadline } from '../../shared/vault/deadline';
import { toVaultError } from '../../shared/vault/respond';

type Policy = ReturnType<typeof deadlinePolicy>;
type Request = Parameters<Policy['sendRequest']>[0];
type Next = Parameters<Policy['sendRequest']>[1];

const request = (method: string): Request => ({ method, url: 'http://127.0.0.1/t', headers: new Headers() }) as unknown as Request;

/** A storage service that never answers and ignores the abort signal (the worst case). */
const never: Next = () => new Promise(() => undefined);

describe('deadline settings', () => {
  it('default to 10 s per storage call and 45 s per request, both under host.json functionTimeout', () => {
    const settings = readSettings({});
    expect(settings.AZAUTH_STORAGE_TIMEOUT).toBe(10);
    expect(settings.AZAUTH_REQUEST_TIMEOUT).toBe(45);
    const hostJson = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'host.json'), 'utf8')) as { functionTimeout: string };
    const [h, m, s] = hostJson.functionTimeout.split(':').map(Number);
    const functionTimeout = (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
    expect(settings.AZAUTH_REQUEST_TIMEOUT).toBeLessThan(functionTimeout);
    expect(settings.AZAUTH_STORAGE_TIMEOUT).toBeLessThan(settings.AZAUTH_REQUEST_TIMEOUT);
  });

  it.each(['0', '0s', '-5s', 'soon'])('refuses %j', (value) => {
    expect(() => readSettings({ AZAUTH_STORAGE_TIMEOUT: value })).toThrow(/AZAUTH_STORAGE_TIMEOUT/);
    expect(() => readSettings({ AZAUTH_REQUEST_TIMEOUT: value })).toThrow(/AZAUTH_REQUEST_TIMEOUT/);
  });
});

describe('storage deadline policy', () => {
  it('gives up on a call that never answers, even one that ignores the abort signal', async () => {
    const started = Date.now();
    const err = await deadlinePolicy(200).sendRequest(request('GET'), never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(toVaultError(err)).toMatchObject({ status: 503, errors: ['storage unavailable: no answer within 0.2s'] });
  });

  it('covers the retries: the deadline is for the whole call, not one attempt', async () => {
    let attempts = 0;
    // A retry loop as the SDK's: attempt, fail, back off, attempt again, until aborted.
    const retrying: Next = async (req) => {
      for (;;) {
        attempts += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (req.abortSignal?.aborted) throw new Error('aborted');
      }
    };
    const err = await deadlinePolicy(300).sendRequest(request('GET'), retrying).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageTimeoutError);
    expect(attempts).toBeGreaterThan(1);
  });

  it('once the request is answered, refuses its writes (waiting or new) and lets its reads go on', async () => {
    const over = new AbortController();
    const policy = deadlinePolicy(10_000);
    const answered = { status: 200 } as Awaited<ReturnType<Next>>;
    const results = await withStorageCutoff(over.signal, async () => {
      const waitingWrite = policy.sendRequest(request('POST'), never).catch((e: unknown) => e);
      const read = policy.sendRequest(request('GET'), () => new Promise((resolve) => setTimeout(() => resolve(answered), 100)));
      over.abort();
      const newWrite = await policy.sendRequest(request('PUT'), async () => answered).catch((e: unknown) => e);
      return { waitingWrite: await waitingWrite, read: await read, newWrite };
    });
    expect(results.waitingWrite).toBeInstanceOf(StorageTimeoutError);
    expect(results.newWrite).toBeInstanceOf(StorageTimeoutError);
    expect(results.read).toBe(answered);
  });

  it('leaves calls outside any request (timers) alone', async () => {
    const answered = { status: 204 } as Awaited<ReturnType<Next>>;
    await expect(deadlinePolicy(1_000).sendRequest(request('DELETE'), async () => answered)).resolves.toBe(answered);
  });
});

describe('request deadline', () => {
  it('answers when the work is done, or when the deadline passes and signals the work', async () => {
    await expect(raceDeadline(1_000, async () => 'done')).resolves.toEqual({ finished: true, value: 'done' });
    let signalled = false;
    const raced = await raceDeadline(50, (signal) => {
      signal.addEventListener('abort', () => {
        signalled = true;
      });
      return new Promise<string>(() => undefined);
    });
    expect(raced).toEqual({ finished: false });
    expect(signalled).toBe(true);
  });
});
