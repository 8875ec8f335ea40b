/**
 * A storage outage during KV writes (issue 12, bad input): Azurite runs in its own process and is
 * paused with SIGSTOP, as in test/edge/storage-deadline.http.test.ts. Writes answer 503 `storage
 * unavailable: …` within the storage deadline, nothing half-written stays behind (every version the
 * metadata names reads whole, and holds one of the values sent), and the next write succeeds with the
 * next version number.
 *
 * The requests carry the Entra admin credential, which needs no storage (its keys are cached), and go
 * out right after a warm-up request, while the mount snapshot and keyring head are fresh: so the
 * outage hits inside the KV engine, not in the token lookup. The first scenario pauses before the
 * writes start (they fail on the engine's reads); the second pauses a few milliseconds after they
 * start, at offsets from 5 to 700 ms (on this machine four concurrent 300 KiB writes take 200–900 ms),
 * so that writes are caught before, between and after their storage calls; a write whose transaction
 * was sent but not answered gets 503 and may still land, whole, when storage wakes up (runs showed
 * both: rounds with 200s and 503s mixed, and versions stored for writes that answered 503).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startAzurite, type Azurite } from '../../bench/stack';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { dataOf, errorsOf, expectKvData, sleep, uniqueName } from '../clients/kv-support';

let azurite: Azurite | undefined;
let stack: Stack;
let kv = '';

beforeAll(async () => {
  azurite = await startAzurite(repoRoot());
  stack = await startStack({ env: { AzureWebJobsStorage: azurite.connectionString, AZAUTH_STORAGE_TIMEOUT: '2s', AZAUTH_REQUEST_TIMEOUT: '20s' } });
  kv = uniqueName('out');
  const res = await stack.request('POST', `sys/mounts/${kv}`, { token: await stack.adminToken(), body: { type: 'kv-v2' } });
  expect(res.status, res.text).toBe(204);
}, 90_000);

afterAll(async () => {
  resume();
  await stack?.stop();
  await azurite?.stop();
});

function pause(): void {
  if (azurite) process.kill(azurite.pid, 'SIGSTOP');
}

function resume(): void {
  try {
    if (azurite) process.kill(azurite.pid, 'SIGCONT');
  } catch {
    // already gone
  }
}

async function write(token: string, key: string, data: Record<string, unknown>): Promise<{ res?: StackResponse; ms: number; error?: string }> {
  const started = Date.now();
  try {
    const res = await Promise.race([
      stack.request('PUT', `${kv}/data/${key}`, { token, body: { data } }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 15 s')), 15_000)),
    ]);
    return { res, ms: Date.now() - started };
  } catch (err) {
    return { ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Every version the key's metadata names reads whole and holds one of `sent`; returns the current version. */
async function checkWhole(token: string, key: string, sent: ReadonlyArray<Record<string, unknown>>): Promise<number> {
  const meta = expectKvData(await stack.request('GET', `${kv}/metadata/${key}`, { token }));
  const current = meta.current_version as number;
  const kept = Object.keys(meta.versions as object).map(Number);
  expect(kept.length).toBeGreaterThan(0);
  expect(Math.max(...kept)).toBe(current);
  for (const version of kept) {
    const read = await stack.request('GET', `${kv}/data/${key}?version=${version}`, { token });
    const data = expectKvData(read).data;
    expect(sent, `version ${version} holds a value nobody sent`).toContainEqual(data);
  }
  return current;
}

describe('storage paused during KV writes', () => {
  it('writes started during the outage: 503 within the deadline, nothing written, the next write is the next version', async () => {
    const token = await stack.adminToken();
    const key = 'before/db';
    const first = { v: 'first' };
    expect(dataOf(await stack.request('PUT', `${kv}/data/${key}`, { token, body: { data: first } })).version).toBe(1);

    pause();
    let results: Awaited<ReturnType<typeof write>>[];
    try {
      const sent = Array.from({ length: 6 }, (_, i) => ({ v: `during-${i}` }));
      results = await Promise.all([...sent.map((data) => write(token, key, data)), write(token, 'before/new-key', { v: 'new' })]);
      await sleep(1_000);
    } finally {
      resume();
    }
    for (const result of results) {
      expect(result.error, 'the client got no answer').toBeUndefined();
      expect(result.res?.status, result.res?.text).toBe(503);
      expect(result.res?.headers['content-type']).toBe('application/json');
      expect(errorsOf(result.res!).join('; ')).toMatch(/^storage unavailable: /);
      expect(result.ms).toBeLessThan(8_000);
    }
    await sleep(2_000); // anything still waiting on a socket to the paused Azurite has its answer now

    expect(await checkWhole(token, key, [first])).toBe(1);
    expect((await stack.request('GET', `${kv}/metadata/before/new-key`, { token })).status).toBe(404);
    expect(expectKvData(await stack.request('GET', `${kv}/metadata/before?list=true`, { token })).keys).toEqual(['db']);
    const next = await stack.request('PUT', `${kv}/data/${key}`, { token, body: { data: { v: 'after' } } });
    expect(dataOf(next).version).toBe(2);
  }, 60_000);

  it('paused 5 to 700 ms into concurrent 300 KiB writes: every stored version reads whole, and writing resumes with the next number', async () => {
    const token = await stack.adminToken();
    const key = 'during/db';
    // Large values make each transaction take a while on the wire.
    const blob = 'x'.repeat(300 * 1024);
    const sent: Array<Record<string, unknown>> = [{ v: 'seed', blob }];
    expect(dataOf(await stack.request('PUT', `${kv}/data/${key}`, { token, body: { data: sent[0] } })).version).toBe(1);
    const statuses = new Set<number>();
    for (const offset of [5, 100, 250, 400, 700]) {
      // Warm: the mount snapshot and the keyring head are fresh for the next second.
      expect((await stack.request('GET', `${kv}/config`, { token })).status).toBe(200);
      const round = Array.from({ length: 4 }, (_, i) => ({ v: `offset-${offset}-${i}`, blob }));
      sent.push(...round);
      const writes = Promise.all(round.map((data) => write(token, key, data)));
      await sleep(offset);
      pause();
      let results: Awaited<ReturnType<typeof write>>[];
      try {
        results = await writes;
      } finally {
        resume();
      }
      for (const result of results) {
        expect(result.error).toBeUndefined();
        expect([200, 503], result.res?.text).toContain(result.res?.status);
        statuses.add(result.res!.status);
        if (result.res?.status === 503) expect(errorsOf(result.res).join('; ')).toMatch(/^storage unavailable: /);
      }
      await sleep(2_000);
      // The versions the successful writes were given exist and hold their values.
      for (const [i, result] of results.entries()) {
        if (result.res?.status !== 200) continue;
        const version = dataOf(result.res).version as number;
        const read = expectKvData(await stack.request('GET', `${kv}/data/${key}?version=${version}`, { token }));
        expect((read.data as { v: string }).v).toBe(round[i]!.v);
      }
      await checkWhole(token, key, sent);
    }
    expect(statuses.has(503), 'no round caught a write in the outage').toBe(true);
    // Writing works again, with the next number.
    const current = await checkWhole(token, key, sent);
    const next = await stack.request('PUT', `${kv}/data/${key}`, { token, body: { data: { v: 'after' } } });
    expect(dataOf(next).version).toBe(current + 1);
  }, 120_000);
});
