/**
 * Every KV request and response is audited with its values HMAC'd (issue 12 item 4): the test reads
 * the host's log (where the audit device writes) after KV v1 and v2 writes, reads, patches and
 * metadata writes, and finds the records with the values as HMACs, numbers and booleans of a secret
 * included, and no secret value anywhere in the host's output.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asRoot, enableKv, expectKvData, kvEnv, sleep, type KvEnv } from '../clients/kv-support';

const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;

interface AuditLine {
  path: string;
  operation: string;
  outcome: string;
  status: number;
  mount: string | null;
  request: { data: Record<string, unknown> | null };
  response: { data?: Record<string, unknown> } | null;
}

let stack: Stack;
let env: KvEnv;
let kv2 = '';
let kv1 = '';
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
  kv2 = await enableKv(env, 2);
  kv1 = await enableKv(env, 1);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

function records(path: string): AuditLine[] {
  return stack
    .logs()
    .split('\n')
    .filter((line) => line.includes('"type":"azauth.audit"'))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as AuditLine)
    .filter((r) => r.path === path);
}

async function hashOf(value: string): Promise<string> {
  const res = await asRoot(env, 'POST', 'sys/audit-hash/file', { body: { input: value } });
  expect(res.status, res.text).toBe(200);
  return (res.json as { data: { hash: string } }).data.hash;
}

/** Unique values, so that finding one in the log can only mean it leaked. */
function secretValues() {
  const id = randomUUID();
  return {
    password: `pw-${id}`,
    pin: 100_000_000_000 + Math.floor(Math.random() * 899_999_999_999), // a number: Vault's audit HMACs it too (json.Number)
    nested: { token: `tok-${id}`, flags: [true, `item-${id}`] },
  };
}

describe('KV v2 audit records', () => {
  it('write, read, patch and metadata: request and response data HMAC\'d, nothing in clear', async () => {
    const secret = secretValues();
    const path = `${kv2}/data/audited/db`;
    expect((await asRoot(env, 'PUT', path, { body: { data: secret, options: { cas: 0 } } })).status).toBe(200);
    const read = expectKvData(await asRoot(env, 'GET', path));
    expect(read.data).toEqual(secret);
    const patchValue = `patched-${randomUUID()}`;
    const patched = await asRoot(env, 'PATCH', path, { body: { data: { extra: patchValue } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(patched.status, patched.text).toBe(200);
    const owner = `owner-${randomUUID()}`;
    const count = 100_000_000_000 + Math.floor(Math.random() * 899_999_999_999);
    expect((await asRoot(env, 'POST', `${kv2}/metadata/audited/db`, { body: { custom_metadata: { owner, count } } })).status).toBe(204);
    expect((await asRoot(env, 'GET', `${kv2}/metadata/audited/db`)).status).toBe(200);
    await sleep(300); // the host's output reaches this process a moment after the answer

    const [write, readRecord, patchRecord] = records(path);
    expect(write).toMatchObject({ operation: 'update', outcome: 'success', status: 200, mount: kv2 });
    // The secret is HMAC'd whole (its JSON text): numbers and booleans are not in clear.
    expect(write!.request.data!.data).toBe(await hashOf(JSON.stringify(secret)));
    expect(write!.request.data!.options).toEqual({ cas: 0 });
    expect(write!.response!.data).toMatchObject({ version: 1, destroyed: false, created_time: expect.stringMatching(HMAC) });

    expect(readRecord).toMatchObject({ operation: 'read', outcome: 'success', status: 200, mount: kv2 });
    const shown = readRecord!.response!.data!;
    expect(shown.data).toBe(await hashOf(JSON.stringify(secret)));
    expect(shown.metadata).toMatchObject({ version: 1, destroyed: false });

    expect(patchRecord).toMatchObject({ operation: 'patch', status: 200 });
    expect(patchRecord!.request.data!.data).toBe(await hashOf(JSON.stringify({ extra: patchValue })));

    const metaWrite = records(`${kv2}/metadata/audited/db`)[0]!;
    expect(metaWrite.request.data!.custom_metadata).toBe(await hashOf(JSON.stringify({ owner, count })));
    const metaRead = records(`${kv2}/metadata/audited/db`)[1]!;
    expect((metaRead.response!.data!.custom_metadata as Record<string, unknown>).owner).toBe(await hashOf(owner));

    const log = stack.logs();
    for (const clear of [secret.password, secret.nested.token, secret.nested.flags[1] as string, String(secret.pin), patchValue, owner, String(count)]) {
      expect(log).not.toContain(clear);
    }
  });

  it('a failed write is audited without response data and does not echo the secret in its error', async () => {
    const secret = `pw-${randomUUID()}`;
    const path = `${kv2}/data/audited/cas`;
    await asRoot(env, 'PUT', path, { body: { data: { a: 'b' } } });
    const res = await asRoot(env, 'PUT', path, { body: { data: { password: secret }, options: { cas: 5 } } });
    expect(res.status).toBe(400);
    const bad = await asRoot(env, 'PUT', path, { body: { data: [secret] } });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain(secret);
    await sleep(300);
    const [, failed, wrongType] = records(path);
    expect(failed).toMatchObject({ outcome: 'invalid', status: 400, response: null });
    expect(wrongType).toMatchObject({ outcome: 'invalid', status: 400, response: null });
    expect(stack.logs()).not.toContain(secret);
  });
});

describe('KV v1 audit records', () => {
  it('every field of a v1 write and of a v1 read is HMAC\'d whole', async () => {
    const secret = secretValues();
    const path = `${kv1}/audited/db`;
    expect((await asRoot(env, 'PUT', path, { body: secret })).status).toBe(204);
    expect(expectKvData(await asRoot(env, 'GET', path))).toEqual(secret);
    await sleep(300);
    const [write, read] = records(path);
    expect(write!.request.data).toEqual({
      password: await hashOf(secret.password),
      pin: await hashOf(String(secret.pin)),
      nested: await hashOf(JSON.stringify(secret.nested)),
    });
    expect(read!.response!.data).toEqual(write!.request.data);
    const log = stack.logs();
    for (const clear of [secret.password, secret.nested.token, String(secret.pin)]) expect(log).not.toContain(clear);
  });
});
