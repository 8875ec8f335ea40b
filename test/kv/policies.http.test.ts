/**
 * KV behind least-privilege policies (issue 12 item 4, reference §2.5 and §2.7), over HTTP with
 * tokens that carry one policy each: what each capability grants on the KV paths, and nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { asRoot, enableKv, expectDenied, expectKvData, kvEnv, tokenWithPolicy, type KvEnv } from '../clients/kv-support';

const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

let stack: Stack;
let env: KvEnv;
let kv = '';
let kv1 = '';
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
  kv = await enableKv(env, 2);
  kv1 = await enableKv(env, 1);
  for (const key of ['app/db', 'app/web', 'other/x']) {
    const res = await asRoot(env, 'PUT', `${kv}/data/${key}`, { body: { data: { password: `pw-${key}` } } });
    expect(res.status, res.text).toBe(200);
  }
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

function as(token: string) {
  return {
    get: (path: string) => stack.request('GET', path, { token }),
    list: (path: string) => stack.request('GET', `${path}?list=true`, { token }),
    put: (path: string, body: unknown) => stack.request('PUT', path, { token, body }),
    post: (path: string, body: unknown) => stack.request('POST', path, { token, body }),
    patch: (path: string, body: unknown) => stack.request('PATCH', path, { token, body, headers: MERGE_PATCH }),
    del: (path: string) => stack.request('DELETE', path, { token }),
  };
}

const expectOk = (res: StackResponse) => expect(res.status, res.text).toBeLessThan(300);

describe('path "<kv>/data/app/*" { capabilities = ["read"] }', () => {
  it('reads the app\'s secrets and nothing else: no write, list, metadata, delete, patch, subkeys or neighbour', async () => {
    const c = as(await tokenWithPolicy(env, `path "${kv}/data/app/*" { capabilities = ["read"] }`));
    expect(expectKvData(await c.get(`${kv}/data/app/db`)).data).toEqual({ password: 'pw-app/db' });
    expect(expectKvData(await c.get(`${kv}/data/app/db?version=1`)).data).toEqual({ password: 'pw-app/db' });
    expect(expectKvData(await c.get(`${kv}/data/app/web`)).data).toEqual({ password: 'pw-app/web' });
    // A key the path covers but that does not exist: the caller may know that (Vault's 404).
    expect((await c.get(`${kv}/data/app/none`)).status).toBe(404);

    expectDenied(await c.put(`${kv}/data/app/db`, { data: { password: 'x' } }));
    expectDenied(await c.put(`${kv}/data/app/new`, { data: { password: 'x' } }));
    expectDenied(await c.patch(`${kv}/data/app/db`, { data: { password: 'x' } }));
    expectDenied(await c.del(`${kv}/data/app/db`));
    expectDenied(await c.list(`${kv}/metadata/app`));
    expectDenied(await c.list(`${kv}/metadata/`));
    expectDenied(await c.get(`${kv}/metadata/app/db`));
    expectDenied(await c.get(`${kv}/subkeys/app/db`));
    expectDenied(await c.put(`${kv}/delete/app/db`, { versions: [1] }));
    expectDenied(await c.put(`${kv}/destroy/app/db`, { versions: [1] }));
    expectDenied(await c.get(`${kv}/data/other/x`));
    expectDenied(await c.get(`${kv}/data/app`));
    expectDenied(await c.get(`${kv}/config`));
    expectDenied(await c.get(`${kv1}/app/db`));
    // Nothing changed.
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/app/db`)).current_version).toBe(1);
  });
});

describe('list on metadata/', () => {
  it('path "<kv>/metadata/app/*" { list } lists the folder and reads nothing', async () => {
    const c = as(await tokenWithPolicy(env, `path "${kv}/metadata/app/*" { capabilities = ["list"] }`));
    expect(expectKvData(await c.list(`${kv}/metadata/app`)).keys).toEqual(['db', 'web']);
    expect(expectKvData(await c.list(`${kv}/metadata/app/`)).keys).toEqual(['db', 'web']);
    expectDenied(await c.get(`${kv}/metadata/app/db`));
    expectDenied(await c.get(`${kv}/data/app/db`));
    expectDenied(await c.list(`${kv}/metadata/other`));
    expectDenied(await c.list(`${kv}/metadata/`));
  });

  it('path "<kv>/metadata/" { list } lists the mount\'s root only', async () => {
    const c = as(await tokenWithPolicy(env, `path "${kv}/metadata/" { capabilities = ["list"] }`));
    expect(expectKvData(await c.list(`${kv}/metadata/`)).keys).toEqual(['app/', 'other/']);
    expect(expectKvData(await c.list(`${kv}/metadata`)).keys).toEqual(['app/', 'other/']);
    expectDenied(await c.list(`${kv}/metadata/app`));
  });
});

describe('create without update (the existence check)', () => {
  it('v2: writes a new key, cannot overwrite it, and an existing key is update even when all its versions are deleted', async () => {
    const c = as(await tokenWithPolicy(env, `path "${kv}/data/drop/*" { capabilities = ["create"] }`));
    const first = await c.put(`${kv}/data/drop/one`, { data: { v: '1' } });
    expect(expectKvData(first).version).toBe(1);
    expectDenied(await c.put(`${kv}/data/drop/one`, { data: { v: '2' } }));
    expectDenied(await c.post(`${kv}/data/drop/one`, { data: { v: '2' } }));
    await asRoot(env, 'DELETE', `${kv}/data/drop/one`);
    expectDenied(await c.put(`${kv}/data/drop/one`, { data: { v: '2' } }));
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/drop/one`)).current_version).toBe(1);
    // metadata/ has the existence check too: creating a key's metadata needs create, changing it update.
    const m = as(await tokenWithPolicy(env, `path "${kv}/metadata/drop/*" { capabilities = ["create"] }`));
    expectOk(await m.put(`${kv}/metadata/drop/new`, { max_versions: 3 }));
    expectDenied(await m.put(`${kv}/metadata/drop/new`, { max_versions: 4 }));
  });

  it('v1: the same for a passthrough key', async () => {
    const c = as(await tokenWithPolicy(env, `path "${kv1}/drop/*" { capabilities = ["create"] }`));
    expect((await c.put(`${kv1}/drop/one`, { v: '1' })).status).toBe(204);
    expectDenied(await c.put(`${kv1}/drop/one`, { v: '2' }));
    expect(expectKvData(await asRoot(env, 'GET', `${kv1}/drop/one`))).toEqual({ v: '1' });
  });

  it('["create", "update"] writes new and existing keys', async () => {
    const c = as(await tokenWithPolicy(env, `path "${kv}/data/both/*" { capabilities = ["create", "update"] }`));
    expect(expectKvData(await c.put(`${kv}/data/both/k`, { data: { v: '1' } })).version).toBe(1);
    expect(expectKvData(await c.put(`${kv}/data/both/k`, { data: { v: '2' } })).version).toBe(2);
  });

  it('update without create cannot create', async () => {
    const c = as(await tokenWithPolicy(env, `path "${kv}/data/upd/*" { capabilities = ["update"] }`));
    expectDenied(await c.put(`${kv}/data/upd/new`, { data: { v: '1' } }));
    await asRoot(env, 'PUT', `${kv}/data/upd/existing`, { body: { data: { v: '1' } } });
    expect(expectKvData(await c.put(`${kv}/data/upd/existing`, { data: { v: '2' } })).version).toBe(2);
  });
});

describe('patch needs patch', () => {
  it('create, read and update do not grant PATCH; patch does (data/ and metadata/)', async () => {
    await asRoot(env, 'PUT', `${kv}/data/pt/k`, { body: { data: { a: '1' } } });
    const without = as(await tokenWithPolicy(env, `path "${kv}/data/pt/*" { capabilities = ["create", "read", "update"] }\npath "${kv}/metadata/pt/*" { capabilities = ["create", "read", "update"] }`));
    expectDenied(await without.patch(`${kv}/data/pt/k`, { data: { b: '2' } }));
    expectDenied(await without.patch(`${kv}/metadata/pt/k`, { max_versions: 2 }));
    const withPatch = as(await tokenWithPolicy(env, `path "${kv}/data/pt/*" { capabilities = ["patch"] }\npath "${kv}/metadata/pt/*" { capabilities = ["patch"] }`));
    expect(expectKvData(await withPatch.patch(`${kv}/data/pt/k`, { data: { b: '2' } })).version).toBe(2);
    expect((await withPatch.patch(`${kv}/metadata/pt/k`, { max_versions: 2 })).status).toBe(204);
    expectDenied(await withPatch.get(`${kv}/data/pt/k`));
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/data/pt/k`)).data).toEqual({ a: '1', b: '2' });
  });
});

describe('delete, undelete and destroy need update on their own paths', () => {
  it('each path is its own grant; data/ delete needs delete on data/', async () => {
    for (let i = 0; i < 3; i++) await asRoot(env, 'PUT', `${kv}/data/life/k`, { body: { data: { i } } });
    const onData = as(await tokenWithPolicy(env, `path "${kv}/data/life/*" { capabilities = ["create", "read", "update", "delete"] }`));
    expectDenied(await onData.put(`${kv}/delete/life/k`, { versions: [1] }));
    expectDenied(await onData.put(`${kv}/undelete/life/k`, { versions: [1] }));
    expectDenied(await onData.put(`${kv}/destroy/life/k`, { versions: [1] }));

    const deleter = as(await tokenWithPolicy(env, `path "${kv}/delete/life/*" { capabilities = ["update"] }`));
    expect((await deleter.put(`${kv}/delete/life/k`, { versions: [1] })).status).toBe(204);
    expectDenied(await deleter.put(`${kv}/undelete/life/k`, { versions: [1] }));
    expectDenied(await deleter.put(`${kv}/destroy/life/k`, { versions: [1] }));
    expectDenied(await deleter.del(`${kv}/data/life/k`));

    const undeleter = as(await tokenWithPolicy(env, `path "${kv}/undelete/life/*" { capabilities = ["update"] }`));
    expect((await undeleter.post(`${kv}/undelete/life/k`, { versions: [1] })).status).toBe(204);
    expectDenied(await undeleter.put(`${kv}/delete/life/k`, { versions: [1] }));

    const destroyer = as(await tokenWithPolicy(env, `path "${kv}/destroy/life/*" { capabilities = ["update"] }`));
    expect((await destroyer.put(`${kv}/destroy/life/k`, { versions: [2] })).status).toBe(204);
    // Create alone is not enough for these paths: they have no existence check, so a write is update.
    const creator = as(await tokenWithPolicy(env, `path "${kv}/destroy/life/*" { capabilities = ["create"] }`));
    expectDenied(await creator.put(`${kv}/destroy/life/k`, { versions: [3] }));

    // DELETE data/<key> needs delete on data/, not update.
    const updater = as(await tokenWithPolicy(env, `path "${kv}/data/life/*" { capabilities = ["update"] }`));
    expectDenied(await updater.del(`${kv}/data/life/k`));
    expect((await onData.del(`${kv}/data/life/k`)).status).toBe(204);

    const meta = expectKvData(await asRoot(env, 'GET', `${kv}/metadata/life/k`));
    const versions = meta.versions as Record<string, { deletion_time: string; destroyed: boolean }>;
    expect(versions['1']).toMatchObject({ deletion_time: '', destroyed: false });
    expect(versions['2']).toMatchObject({ destroyed: true });
    expect(versions['3']!.deletion_time).not.toBe('');
  });

  it('metadata delete needs delete on metadata/', async () => {
    await asRoot(env, 'PUT', `${kv}/data/md/k`, { body: { data: { a: 'b' } } });
    const onData = as(await tokenWithPolicy(env, `path "${kv}/data/md/*" { capabilities = ["delete"] }`));
    expectDenied(await onData.del(`${kv}/metadata/md/k`));
    const onMeta = as(await tokenWithPolicy(env, `path "${kv}/metadata/md/*" { capabilities = ["delete"] }`));
    expect((await onMeta.del(`${kv}/metadata/md/k`)).status).toBe(204);
    expect((await asRoot(env, 'GET', `${kv}/metadata/md/k`)).status).toBe(404);
  });
});

describe('no token, a dead token', () => {
  it('403, and the dead one says "invalid token"', async () => {
    expectDenied(await stack.request('GET', `${kv}/data/app/db`));
    const res = await stack.request('GET', `${kv}/data/app/db`, { token: `hvs.${'A'.repeat(24)}` });
    expect(res.status).toBe(403);
    expect(res.text).toContain('invalid token');
  });
});
