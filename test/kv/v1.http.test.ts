/**
 * KV version 1 over HTTP (reference §8.9): the passthrough paths, `lease_duration` of reads, and the
 * paths of one version used on a mount of the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asRoot, dataOf, enableKv, expectBare404, expectError, expectKvData, kvEnv, uniqueName, type KvEnv } from '../clients/kv-support';

let stack: Stack;
let env: KvEnv;
let kv1 = '';
let kv2 = '';
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
  kv1 = await enableKv(env, 1);
  kv2 = await enableKv(env, 2);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** The system default lease TTL (AZAUTH_DEFAULT_TTL, 768h unless the stack sets it). */
const SYSTEM_DEFAULT_TTL = 768 * 3600;

describe('v1 passthrough', () => {
  it('write (204), read the object as written with the mount\'s default lease duration, list, delete', async () => {
    const secret = { password: 'hunter2', port: 5432, tls: true, nested: { a: ['b'] } };
    let res = await asRoot(env, 'PUT', `${kv1}/app/db`, { body: secret });
    expect(res.status, res.text).toBe(204);
    res = await asRoot(env, 'GET', `${kv1}/app/db`);
    expect(expectKvData(res)).toEqual(secret);
    expect(res.json).toMatchObject({ lease_id: '', renewable: false, lease_duration: SYSTEM_DEFAULT_TTL });

    await asRoot(env, 'POST', `${kv1}/app/web`, { body: { k: 'v' } });
    await asRoot(env, 'POST', `${kv1}/app/sub/x`, { body: { k: 'v' } });
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/app?list=true`)).keys).toEqual(['db', 'sub/', 'web']);
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/app/?list=true`)).keys).toEqual(['db', 'sub/', 'web']);
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/?list=true`)).keys).toEqual(['app/']);
    expectBare404(await asRoot(env, 'GET', `${kv1}/empty?list=true`));

    // A write replaces the whole value.
    await asRoot(env, 'PUT', `${kv1}/app/db`, { body: { only: 'this' } });
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/app/db`))).toEqual({ only: 'this' });

    expect((await asRoot(env, 'DELETE', `${kv1}/app/db`)).status).toBe(204);
    expectBare404(await asRoot(env, 'GET', `${kv1}/app/db`));
    expect((await asRoot(env, 'DELETE', `${kv1}/app/db`)).status).toBe(204);
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/app?list=true`)).keys).toEqual(['sub/', 'web']);
  });

  it('lease_duration: the key\'s ttl (else lease) field, else the mount\'s tuned default, else the system\'s', async () => {
    await asRoot(env, 'PUT', `${kv1}/ttl/a`, { body: { v: 'x', ttl: '1h' } });
    await asRoot(env, 'PUT', `${kv1}/ttl/b`, { body: { v: 'x', lease: 90 } });
    await asRoot(env, 'PUT', `${kv1}/ttl/c`, { body: { v: 'x', ttl: 'not a duration' } });
    expect((await asRoot(env, 'GET', `${kv1}/ttl/a`)).json).toMatchObject({ lease_duration: 3600, data: { v: 'x', ttl: '1h' } });
    expect((await asRoot(env, 'GET', `${kv1}/ttl/b`)).json).toMatchObject({ lease_duration: 90 });
    expect((await asRoot(env, 'GET', `${kv1}/ttl/c`)).json).toMatchObject({ lease_duration: SYSTEM_DEFAULT_TTL });

    const tuned = uniqueName('kv1t');
    const enabled = await asRoot(env, 'POST', `sys/mounts/${tuned}`, { body: { type: 'kv-v1', config: { default_lease_ttl: '10m' } } });
    expect(enabled.status, enabled.text).toBe(204);
    await asRoot(env, 'PUT', `${tuned}/k`, { body: { v: 'x' } });
    expect((await asRoot(env, 'GET', `${tuned}/k`)).json).toMatchObject({ lease_duration: 600 });
    // Tuned again, the next read reports the new default.
    expect((await asRoot(env, 'POST', `sys/mounts/${tuned}/tune`, { body: { default_lease_ttl: '20m' } })).status).toBe(204);
    expect((await asRoot(env, 'GET', `${tuned}/k`)).json).toMatchObject({ lease_duration: 1200 });
  });

  it('an empty body is 400 "missing data fields"; PATCH is an unsupported operation', async () => {
    expectError(await asRoot(env, 'PUT', `${kv1}/empty`, { body: {} }), 400, 'missing data fields');
    expectBare404(await asRoot(env, 'GET', `${kv1}/empty`));
    await asRoot(env, 'PUT', `${kv1}/p`, { body: { a: 'b' } });
    expectError(
      await asRoot(env, 'PATCH', `${kv1}/p`, { body: { a: 'c' }, headers: { 'Content-Type': 'application/merge-patch+json' } }),
      405,
      'unsupported operation',
    );
  });
});

describe('paths of one version on a mount of the other', () => {
  it('v2 shapes on a v1 mount are ordinary keys, as in Vault: data/<k> stores the body as given', async () => {
    const body = { data: { password: 'p' }, options: {} };
    expect((await asRoot(env, 'PUT', `${kv1}/data/app`, { body })).status).toBe(204);
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/data/app`))).toEqual(body);
    expectBare404(await asRoot(env, 'GET', `${kv1}/metadata/app`));
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/?list=true`)).keys).toContain('data/');
    // v2-only operations have nothing to act on.
    expect((await asRoot(env, 'PUT', `${kv1}/delete/app`, { body: { versions: [1] } })).status).toBe(204);
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/delete/app`))).toEqual({ versions: [1] });
  });

  it('v1 shapes on a v2 mount are 404 with the invalid-path warning, and nothing is written', async () => {
    const res = await asRoot(env, 'PUT', `${kv2}/app/db`, { body: { password: 'p' } });
    expect(res.status).toBe(404);
    expect((res.json as { warnings: string[] }).warnings[0]).toContain("use 'vault kv put' for this operation");
    expect((await asRoot(env, 'GET', `${kv2}/app/db`)).status).toBe(404);
    expectBare404(await asRoot(env, 'GET', `${kv2}/metadata/app/db`));
    expectBare404(await asRoot(env, 'GET', `${kv2}/metadata/?list=true`));
    // The same secret through the v2 path works.
    expect(dataOf(await asRoot(env, 'PUT', `${kv2}/data/app/db`, { body: { data: { password: 'p' } } })).version).toBe(1);
  });
});
