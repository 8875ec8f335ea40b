/**
 * KV version 2 over HTTP against the real stack (local Functions host, Azurite): every path of the
 * engine as Vault serves it (reference §8.1–8.8), with a root token of ours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import {
  asRoot,
  dataOf,
  enableKv,
  expectBare404,
  expectError,
  expectKvData,
  kvEnv,
  sleep,
  tokenWithPolicy,
  uniqueName,
  type KvEnv,
} from '../clients/kv-support';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

let stack: Stack;
let env: KvEnv;
let kv = '';
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
  kv = await enableKv(env, 2);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const put = (path: string, body: unknown) => asRoot(env, 'PUT', `${kv}/${path}`, { body });
const get = (path: string) => asRoot(env, 'GET', `${kv}/${path}`);
const list = (path: string) => asRoot(env, 'GET', `${kv}/${path}?list=true`);
const patch = (path: string, body: unknown) => asRoot(env, 'PATCH', `${kv}/${path}`, { body, headers: MERGE_PATCH });
const del = (path: string) => asRoot(env, 'DELETE', `${kv}/${path}`);

/** The envelope of a 404 that carries a body (a deleted or destroyed version). */
function expectGone(res: Awaited<ReturnType<typeof get>>): Record<string, unknown> {
  expect(res.status, res.text).toBe(404);
  const body = res.json as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['auth', 'data', 'lease_duration', 'lease_id', 'mount_type', 'renewable', 'request_id', 'warnings', 'wrap_info']);
  expect(body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null, mount_type: 'kv' });
  return body.data as Record<string, unknown>;
}

describe('data/<key>', () => {
  it('writes version 1 and reads it back with Vault\'s shapes', async () => {
    const secret = { password: 'hunter2', nested: { list: [1, 'two', { three: true }], empty: {} }, n: 42 };
    const written = expectKvData(await put('data/app/db', { data: secret, options: {} }));
    expect(written).toEqual({ version: 1, created_time: expect.stringMatching(RFC3339), deletion_time: '', destroyed: false, custom_metadata: null });
    const read = await get('data/app/db');
    const data = expectKvData(read);
    expect(data.data).toEqual(secret);
    expect(data.metadata).toEqual({ version: 1, created_time: written.created_time, deletion_time: '', destroyed: false, custom_metadata: null });
    expect(read.json).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0 });
  });

  it('versions: each write adds one, ?version=N reads an older one, an unknown version or key is the bare 404', async () => {
    await put('data/ver', { data: { v: 'one' } });
    expect(dataOf(await put('data/ver', { data: { v: 'two' } })).version).toBe(2);
    expect(expectKvData(await get('data/ver?version=1')).data).toEqual({ v: 'one' });
    expect(expectKvData(await get('data/ver?version=0')).data).toEqual({ v: 'two' });
    expect(expectKvData(await get('data/ver')).data).toEqual({ v: 'two' });
    expectBare404(await get('data/ver?version=7'));
    expectBare404(await get('data/never-written'));
  });

  it('check-and-set: cas 0 only creates, cas N must match the current version, strings are numbers', async () => {
    expect(dataOf(await put('data/cas', { data: { a: 1 }, options: { cas: 0 } })).version).toBe(1);
    expectError(await put('data/cas', { data: { a: 2 }, options: { cas: 0 } }), 400, 'check-and-set parameter did not match the current version');
    expect(dataOf(await put('data/cas', { data: { a: 2 }, options: { cas: '1' } })).version).toBe(2);
    expectError(await put('data/cas', { data: { a: 3 }, options: { cas: 1 } }), 400, 'check-and-set parameter did not match the current version');
  });

  it('PATCH merges (RFC 7386) into a new version; an unknown key is the bare 404', async () => {
    await put('data/patched', { data: { keep: 'k', drop: 'd', obj: { a: 1, b: 2 }, arr: [1, 2] } });
    const res = await patch('data/patched', { data: { drop: null, obj: { b: null, c: 3 }, arr: [9], added: 'x' }, options: {} });
    expect(expectKvData(res)).toMatchObject({ version: 2, deletion_time: '', destroyed: false });
    expect(expectKvData(await get('data/patched')).data).toEqual({ keep: 'k', obj: { a: 1, c: 3 }, arr: [9], added: 'x' });
    expectBare404(await patch('data/no-such-key', { data: { a: 'b' } }));
    expectError(await patch('data/patched', { data: { a: 'b' }, options: { cas: 1 } }), 400, 'check-and-set parameter did not match the current version');
    expectError(await patch('data/patched', { options: {} }), 400, 'no data provided');
  });

  it('DELETE soft-deletes the current version: reads and patches answer 404 with the version\'s metadata', async () => {
    await put('data/soft', { data: { s: 'v1' } });
    await put('data/soft', { data: { s: 'v2' } });
    const res = await del('data/soft');
    expect(res.status, res.text).toBe(204);
    const gone = expectGone(await get('data/soft'));
    expect(gone.data).toBeNull();
    expect(gone.metadata).toMatchObject({ version: 2, destroyed: false, deletion_time: expect.stringMatching(RFC3339), custom_metadata: null });
    // The older version still reads.
    expect(expectKvData(await get('data/soft?version=1')).data).toEqual({ s: 'v1' });
    // PATCH of a deleted current version: 404 whose data is the flat version metadata.
    const patched = expectGone(await patch('data/soft', { data: { s: 'v3' } }));
    expect(patched).toMatchObject({ version: 2, destroyed: false, deletion_time: expect.stringMatching(RFC3339) });
    expect(patched).not.toHaveProperty('metadata');
    // Deleting again, or deleting a key that never existed, is still 204.
    expect((await del('data/soft')).status).toBe(204);
    expect((await del('data/never-existed')).status).toBe(204);
    // A write after a delete creates the next version.
    expect(dataOf(await put('data/soft', { data: { s: 'v3' } })).version).toBe(3);
  });
});

describe('delete/, undelete/, destroy/', () => {
  it('delete and undelete versions (ints, strings, a comma string); destroy erases for good', async () => {
    for (const v of ['one', 'two', 'three']) await put('data/life', { data: { v } });
    let res = await put('delete/life', { versions: [1, '2'] });
    expect(res.status, res.text).toBe(204);
    expect(expectGone(await get('data/life?version=1')).metadata).toMatchObject({ version: 1, destroyed: false });
    expectGone(await get('data/life?version=2'));
    expect(expectKvData(await get('data/life')).data).toEqual({ v: 'three' });

    res = await asRoot(env, 'POST', `${kv}/undelete/life`, { body: { versions: '1,2' } });
    expect(res.status, res.text).toBe(204);
    expect(expectKvData(await get('data/life?version=1')).data).toEqual({ v: 'one' });
    expect(expectKvData(await get('data/life?version=2')).data).toEqual({ v: 'two' });

    res = await put('destroy/life', { versions: ['2'] });
    expect(res.status, res.text).toBe(204);
    const destroyed = expectGone(await get('data/life?version=2'));
    expect(destroyed).toEqual({ data: null, metadata: expect.objectContaining({ version: 2, destroyed: true, deletion_time: '' }) });
    // Undelete cannot bring a destroyed version back.
    await put('undelete/life', { versions: [2] });
    expectGone(await get('data/life?version=2'));
  });

  it('unknown keys and versions are no-ops; an empty list is Vault\'s 400 (capitalised differently for destroy)', async () => {
    expect((await put('delete/nothing-here', { versions: [1] })).status).toBe(204);
    expect((await put('destroy/nothing-here', { versions: [1] })).status).toBe(204);
    expectError(await put('delete/life', { versions: [] }), 400, 'No version number provided');
    expectError(await put('undelete/life', {}), 400, 'No version number provided');
    expectError(await put('destroy/life', { versions: [] }), 400, 'no version number provided');
  });
});

describe('metadata/<key>', () => {
  it('read: versions, times, settings and attribution', async () => {
    await put('data/meta/a', { data: { x: '1' } });
    await put('data/meta/a', { data: { x: '2' } });
    await del('data/meta/a');
    const meta = expectKvData(await get('metadata/meta/a'));
    expect(meta).toMatchObject({
      current_version: 2,
      oldest_version: 0,
      max_versions: 0,
      cas_required: false,
      delete_version_after: '0s',
      custom_metadata: null,
      created_time: expect.stringMatching(RFC3339),
      updated_time: expect.stringMatching(RFC3339),
    });
    expect(Object.keys(meta).sort()).toEqual([
      'cas_required', 'created_time', 'current_version', 'custom_metadata', 'delete_version_after', 'last_updated_by', 'max_versions', 'oldest_version', 'updated_time', 'versions',
    ]);
    const versions = meta.versions as Record<string, Record<string, unknown>>;
    expect(Object.keys(versions)).toEqual(['1', '2']);
    // The root token of these tests was made by auth/token/create: Vault's display name "token".
    expect(versions['1']!.created_by).toEqual({ actor: 'token', operation: 'create' });
    expect(versions['2']!.created_by).toEqual({ actor: 'token', operation: 'update' });
    expect(versions['2']!.deleted_by).toEqual({ actor: 'token', operation: 'delete' });
    expect(versions['2']!.deletion_time).toMatch(RFC3339);
    expect(meta.last_updated_by).toEqual({ actor: 'token', operation: 'delete' });
    expectBare404(await get('metadata/meta/none'));
  });

  it('write creates a key with no version, sets only what is given; custom_metadata shows in data reads', async () => {
    let res = await put('metadata/meta/b', { max_versions: 3, cas_required: false, delete_version_after: '1h', custom_metadata: { owner: 'team-a', n: 7 } });
    expect(res.status, res.text).toBe(204);
    let meta = expectKvData(await get('metadata/meta/b'));
    expect(meta).toMatchObject({ current_version: 0, max_versions: 3, delete_version_after: '1h0m0s', custom_metadata: { owner: 'team-a', n: '7' }, versions: {} });
    expectBare404(await get('data/meta/b'));
    // Only max_versions changes; an empty body is a no-op.
    expect((await put('metadata/meta/b', { max_versions: 5 })).status).toBe(204);
    expect((await put('metadata/meta/b', {})).status).toBe(204);
    meta = expectKvData(await get('metadata/meta/b'));
    expect(meta).toMatchObject({ max_versions: 5, delete_version_after: '1h0m0s', custom_metadata: { owner: 'team-a', n: '7' } });
    const written = expectKvData(await put('data/meta/b', { data: { k: 'v' } }));
    expect(written.custom_metadata).toEqual({ owner: 'team-a', n: '7' });
    expect(written.deletion_time).toMatch(RFC3339); // delete_version_after 1h
    expect((expectKvData(await get('data/meta/b')).metadata as Record<string, unknown>).custom_metadata).toEqual({ owner: 'team-a', n: '7' });
    // An empty body for a key that does not exist creates nothing.
    expect((await put('metadata/meta/never', {})).status).toBe(204);
    expectBare404(await get('metadata/meta/never'));
    // Vault's custom_metadata limit.
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expectError(await put('metadata/meta/b', { custom_metadata: many }), 400, /custom_metadata validation failed: payload must contain at most 64 keys, provided 65/);
  });

  it('PATCH merges custom_metadata (null removes an entry) and needs an existing key', async () => {
    await put('metadata/meta/c', { custom_metadata: { a: '1', b: '2' } });
    const res = await patch('metadata/meta/c', { custom_metadata: { a: null, c: '3' }, max_versions: 4 });
    expect(res.status, res.text).toBe(204);
    expect(expectKvData(await get('metadata/meta/c'))).toMatchObject({ custom_metadata: { b: '2', c: '3' }, max_versions: 4 });
    expectBare404(await patch('metadata/meta/none', { max_versions: 1 }));
  });

  it('LIST: immediate children, folders with a trailing /, the root, an empty folder is the bare 404', async () => {
    for (const k of ['ls/db', 'ls/web', 'ls/sub/x', 'ls/sub/y/z']) await put(`data/${k}`, { data: { k } });
    expect(expectKvData(await list('metadata/ls')).keys).toEqual(['db', 'sub/', 'web']);
    expect(expectKvData(await list('metadata/ls/')).keys).toEqual(['db', 'sub/', 'web']);
    expect(expectKvData(await list('metadata/ls/sub')).keys).toEqual(['x', 'y/']);
    expect(expectKvData(await list('metadata/')).keys).toContain('ls/');
    expect(expectKvData(await list('metadata')).keys).toContain('ls/');
    expectBare404(await list('metadata/ls/nothing'));
    // exclude_deleted drops keys whose current version is deleted.
    await del('data/ls/db');
    expect(expectKvData(await list('metadata/ls')).keys).toEqual(['db', 'sub/', 'web']);
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/ls?list=true&exclude_deleted=true`)).keys).toEqual(['sub/', 'web']);
  });

  it('DELETE removes every version and the metadata; the key leaves its listing', async () => {
    await put('data/gone/k', { data: { a: 'b' } });
    await put('data/gone/k', { data: { a: 'c' } });
    const res = await del('metadata/gone/k');
    expect(res.status, res.text).toBe(204);
    expectBare404(await get('metadata/gone/k'));
    expectBare404(await get('data/gone/k'));
    expectBare404(await get('data/gone/k?version=1'));
    expectBare404(await list('metadata/gone'));
    expect((await del('metadata/gone/k')).status).toBe(204);
    // Written again, it starts at version 1.
    expect(dataOf(await put('data/gone/k', { data: { a: 'd' } })).version).toBe(1);
  });
});

describe('max_versions and delete_version_after over HTTP', () => {
  it('prunes the oldest versions beyond max_versions', async () => {
    await put('metadata/pruned', { max_versions: 2 });
    for (const v of ['1', '2', '3', '4']) await put('data/pruned', { data: { v } });
    const meta = expectKvData(await get('metadata/pruned'));
    expect(meta).toMatchObject({ current_version: 4, oldest_version: 3 });
    expect(Object.keys(meta.versions as object)).toEqual(['3', '4']);
    expectBare404(await get('data/pruned?version=2'));
    expect(expectKvData(await get('data/pruned?version=3')).data).toEqual({ v: '3' });
  });

  it('a version past its delete_version_after reads as deleted', async () => {
    await put('metadata/expiring', { delete_version_after: '1s' });
    const written = expectKvData(await put('data/expiring', { data: { v: 'soon gone' } }));
    expect(Date.parse(written.deletion_time as string) - Date.parse(written.created_time as string)).toBe(1000);
    // Before its time it reads normally, with the future deletion_time.
    expect((expectKvData(await get('data/expiring')).metadata as Record<string, unknown>).deletion_time).toBe(written.deletion_time);
    await sleep(1_300);
    expect(expectGone(await get('data/expiring')).data).toBeNull();
  });
});

describe('subkeys/<key>', () => {
  it('returns the structure with every value null; depth limits it; deleted versions are 404 with a body', async () => {
    await put('data/sub', { data: { a: 'x', b: { c: 'y', d: { e: 1 } }, f: [1, 2], g: {} } });
    const data = expectKvData(await get('subkeys/sub'));
    expect(data.subkeys).toEqual({ a: null, b: { c: null, d: { e: null } }, f: null, g: null });
    expect(data.metadata).toMatchObject({ version: 1, destroyed: false });
    expect(expectKvData(await get('subkeys/sub?depth=1')).subkeys).toEqual({ a: null, b: null, f: null, g: null });
    expectBare404(await get('subkeys/nothing'));
    await del('data/sub');
    expect(expectGone(await get('subkeys/sub'))).toMatchObject({ subkeys: null, metadata: { version: 1 } });
  });
});

describe('config', () => {
  it('reads defaults, writes settings, and cas_required then applies to every key', async () => {
    const mount = await enableKv(env, 2);
    expect(expectKvData(await asRoot(env, 'GET', `${mount}/config`))).toEqual({ max_versions: 0, cas_required: false, delete_version_after: '0s' });
    const res = await asRoot(env, 'POST', `${mount}/config`, { body: { max_versions: 7, cas_required: true, delete_version_after: '2h' } });
    expect(res.status, res.text).toBe(204);
    expect(expectKvData(await asRoot(env, 'GET', `${mount}/config`))).toEqual({ max_versions: 7, cas_required: true, delete_version_after: '2h0m0s' });
    expectError(await asRoot(env, 'PUT', `${mount}/data/k`, { body: { data: { a: 'b' } } }), 400, 'check-and-set parameter required for this call');
    expect(expectKvData(await asRoot(env, 'PUT', `${mount}/data/k`, { body: { data: { a: 'b' }, options: { cas: 0 } } })).version).toBe(1);
    // A negative delete_version_after disables deletion for every key: "-1s".
    await asRoot(env, 'POST', `${mount}/config`, { body: { delete_version_after: -1 } });
    expect(expectKvData(await asRoot(env, 'GET', `${mount}/config`)).delete_version_after).toBe('-1s');
    // The key-level cas_required=false is overruled, with Vault's warning.
    const warned = await asRoot(env, 'POST', `${mount}/metadata/k`, { body: { cas_required: false } });
    expect(warned.status, warned.text).toBe(200);
    expect((warned.json as { warnings: string[] }).warnings).toEqual(['"cas_required" set to false, but is mandated by backend config. This value will be ignored.']);
  });
});

describe('JSON null (hvac sends it for arguments it was not given)', () => {
  it('is "not set" for every optional KV field: nothing changes, nothing is created', async () => {
    const mount = await enableKv(env, 2);
    await asRoot(env, 'POST', `${mount}/config`, { body: { max_versions: 4, cas_required: false, delete_version_after: '1h' } });
    let res = await asRoot(env, 'POST', `${mount}/config`, { body: { max_versions: null, cas_required: null, delete_version_after: null } });
    expect(res.status, res.text).toBe(204);
    expect(expectKvData(await asRoot(env, 'GET', `${mount}/config`))).toEqual({ max_versions: 4, cas_required: false, delete_version_after: '1h0m0s' });

    res = await asRoot(env, 'POST', `${mount}/metadata/nulls`, { body: { max_versions: null, cas_required: null, delete_version_after: null, custom_metadata: null } });
    expect(res.status, res.text).toBe(204);
    expectBare404(await asRoot(env, 'GET', `${mount}/metadata/nulls`));
    await asRoot(env, 'POST', `${mount}/metadata/nulls`, { body: { max_versions: 3, custom_metadata: { a: 'b' } } });
    await asRoot(env, 'POST', `${mount}/metadata/nulls`, { body: { max_versions: null, custom_metadata: null } });
    expect(expectKvData(await asRoot(env, 'GET', `${mount}/metadata/nulls`))).toMatchObject({ max_versions: 3, custom_metadata: { a: 'b' } });

    res = await asRoot(env, 'POST', `${mount}/data/nulls`, { body: { data: { k: 'v' }, options: null } });
    expect(expectKvData(res).version).toBe(1);
    expect(expectKvData(await asRoot(env, 'GET', `${mount}/data/nulls?version=1`)).data).toEqual({ k: 'v' });
  });
});

describe('invalid paths on a v2 mount (§8.8)', () => {
  const invalid = (cmd: string) =>
    `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${cmd}' for this operation.`;
  const root = 'Non-listing operations on the root of a K/V v2 mount are not supported.';

  it.each([
    ['GET', 'foo', invalid('get')],
    ['PUT', 'foo', invalid('put')],
    ['POST', 'app/db', invalid('put')],
    ['DELETE', 'foo', invalid('delete')],
    ['PATCH', 'foo', invalid('patch')],
    ['LIST', '', invalid('list')],
    ['LIST', 'foo', invalid('list')],
    ['LIST', 'data/app', invalid('list')],
    ['GET', 'data/app/', invalid('get')],
    ['GET', 'subkeys', invalid('get')],
    ['GET', 'config/x', invalid('get')],
    ['GET', 'data', root],
    ['PUT', 'metadata', root],
    ['GET', 'delete', root],
    ['POST', 'undelete', root],
    ['DELETE', 'destroy', root],
  ])('%s %s → 404 with the envelope and one warning', async (method, rest, warning) => {
    const path = `${kv}/${rest}`;
    const res =
      method === 'LIST'
        ? await asRoot(env, 'GET', `${path}?list=true`)
        : await asRoot(env, method, path, {
            ...(method === 'PUT' || method === 'POST' || method === 'PATCH' ? { body: { data: { a: 'b' } } } : {}),
            ...(method === 'PATCH' ? { headers: MERGE_PATCH } : {}),
          });
    expect(res.status, res.text).toBe(404);
    expect(res.json).toMatchObject({ data: null, warnings: [warning], mount_type: 'kv', lease_id: '', auth: null });
  });

  it('the invalid path answers after the ACL decision: a caller without rights gets 403', async () => {
    const token = await tokenWithPolicy(env, `path "${kv}/data/*" { capabilities = ["read"] }`);
    const res = await stack.request('GET', `${kv}/foo`, { token });
    expect(res.status, res.text).toBe(403);
  });
});

describe('paths that name no mount', () => {
  it('root gets Vault\'s 404 "no handler for route"; anyone else 403', async () => {
    const path = `${uniqueName('nosuch')}/data/x`;
    expectError(await asRoot(env, 'GET', path), 404, `no handler for route "${path}". route entry not found.`);
    const token = await tokenWithPolicy(env, `path "${kv}/*" { capabilities = ["read"] }`);
    expect((await stack.request('GET', path, { token })).status).toBe(403);
    expect((await stack.request('GET', path)).status).toBe(403);
  });
});
