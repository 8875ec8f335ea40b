/**
 * `sys/mounts` over HTTP for KV (reference §7.1–7.5, §8.10): enable (kv, kv-v1, kv-v2, generic),
 * list, read, tune (the 1 → 2 upgrade of a mount with data, and the 400 while it is under way),
 * disable (secrets gone, the mount stops answering first, a re-enable starts empty), reserved paths.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import {
  asRoot,
  dataOf,
  enableKv,
  errorsOf,
  expectBare404,
  expectDenied,
  expectError,
  expectKvData,
  kvEnv,
  sleep,
  tokenWithPolicy,
  uniqueName,
  warningsOf,
  type KvEnv,
} from '../clients/kv-support';

const MASTER_KEY = randomBytes(32).toString('base64url');
const UPGRADING = 'Upgrading from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service shortly.';

let stack: Stack;
let env: KvEnv;
beforeAll(async () => {
  stack = await startStack({ env: { AzureWebJobsSecretMasterKey: MASTER_KEY } });
  env = await kvEnv(stack);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const enable = (path: string, body: unknown) => asRoot(env, 'POST', `sys/mounts/${path}`, { body });

function expectSys(res: StackResponse): Record<string, unknown> {
  expect(res.status, res.text).toBe(200);
  expect((res.json as { mount_type: string }).mount_type).toBe('system');
  return dataOf(res);
}

/** How many rows of the KV table belong to a mount (every partition starts with its uuid). */
async function rowsOf(uuid: string): Promise<number> {
  let count = 0;
  const rows = stack.table('azauthkv').listEntities({ queryOptions: { filter: `PartitionKey ge '${uuid}|' and PartitionKey lt '${uuid}}'`, select: ['PartitionKey'] } });
  for await (const _ of rows) count += 1;
  return count;
}

async function uuidOf(path: string): Promise<string> {
  return expectSys(await asRoot(env, 'GET', `sys/mounts/${path}`)).uuid as string;
}

describe('enable', () => {
  it.each([
    ['kv', {}, null],
    ['kv', { options: { version: '2' } }, { version: '2' }],
    ['kv', { options: { version: 1 } }, { version: '1' }],
    ['kv-v1', {}, { version: '1' }],
    ['kv-v2', {}, { version: '2' }],
    ['generic', {}, null],
  ])('type %s %j → kv with options %j, and it serves', async (type, extra, options) => {
    const path = uniqueName('en');
    const res = await enable(path, { type, description: `a ${type} mount`, ...extra });
    expect(res.status, res.text).toBe(204);
    const info = expectSys(await asRoot(env, 'GET', `sys/mounts/${path}`));
    expect(info).toMatchObject({ type: 'kv', description: `a ${type} mount`, options, local: false, seal_wrap: false });
    expect(info.accessor).toMatch(/^kv_[0-9a-f]{8}$/);
    const v2 = (options as { version?: string } | null)?.version === '2';
    const write = await asRoot(env, 'PUT', v2 ? `${path}/data/k` : `${path}/k`, { body: v2 ? { data: { a: 'b' } } : { a: 'b' } });
    expect(write.status, write.text).toBe(v2 ? 200 : 204);
  });

  it('refuses a taken path (409), a missing type, unknown types, a version on another type, a bad version, and the config rules', async () => {
    const path = await enableKv(env, 2);
    expectError(await enable(path, { type: 'kv' }), 409, `path is already in use at ${path}/`);
    expectError(await enable(uniqueName('x'), {}), 400, 'backend type must be specified as a string');
    expectError(await enable(uniqueName('x'), { type: 'pki' }), 400, /plugin not found in the catalog: pki/);
    expectError(await enable(uniqueName('x'), { type: 'pki', options: { version: '2' } }), 400, 'secrets engine "pki" does not allow setting a version');
    expectError(await enable(uniqueName('x'), { type: 'kv', options: { version: '3' } }), 400, 'invalid version provided: 3');
    expectError(await enable(uniqueName('x'), { type: 'kv', config: { default_lease_ttl: '2h', max_lease_ttl: '1h' } }), 400, 'given default lease TTL greater than given max lease TTL');
    expectError(await enable(uniqueName('x'), { type: 'kv', config: { listing_visibility: 'everyone' } }), 400, 'invalid listing_visibility everyone');
  });

  it('accepts JSON null for every optional field (hvac) and warns about unknown fields (node-vault\'s mount_point)', async () => {
    const path = uniqueName('nul');
    const res = await enable(path, { type: 'kv', description: null, config: null, options: null, plugin_name: null, local: false, seal_wrap: false });
    expect(res.status, res.text).toBe(204);
    const other = uniqueName('nv');
    const warned = await enable(other, { mount_point: other, type: 'kv', options: { version: '2' } });
    expect(warned.status, warned.text).toBe(200);
    expect(warningsOf(warned)).toEqual(['Endpoint ignored these unrecognized parameters: [mount_point]']);
  });

  it.each(['sys', 'auth', 'cubbyhole', 'identity', 'audit'])('reserved path %s: 403 cannot mount; cannot unmount or tune it either', async (path) => {
    expectError(await enable(path, { type: 'kv' }), 403, `cannot mount "${path}/"`);
    if (path === 'sys') {
      // sys/mounts/sys is the literal route's; its tune too.
      expectError(await asRoot(env, 'DELETE', `sys/mounts/${path}`), 400, `cannot unmount "${path}/"`);
      expectError(await asRoot(env, 'POST', `sys/mounts/${path}/tune`, { body: { description: 'x' } }), 400, `cannot tune "${path}/"`);
    }
  });

  it('types that are never mounted: 403', async () => {
    for (const type of ['cubbyhole', 'system', 'token', 'identity']) {
      expectError(await enable(uniqueName('t'), { type }), 403, `mount type of "${type}" is not mountable`);
    }
  });
});

describe('list and read', () => {
  it('GET sys/mounts lists sys/ and every KV mount with Vault\'s keys, copied to the top level', async () => {
    const v2 = await enableKv(env, 2);
    const v1 = await enableKv(env, 1);
    const res = await asRoot(env, 'GET', 'sys/mounts');
    const data = expectSys(res);
    expect(data['sys/']).toMatchObject({ type: 'system' });
    for (const [path, version] of [[v2, '2'], [v1, '1']] as const) {
      const mount = data[`${path}/`] as Record<string, unknown>;
      expect(Object.keys(mount).sort()).toEqual([
        'accessor', 'config', 'description', 'external_entropy_access', 'local', 'options', 'plugin_version', 'running_plugin_version', 'running_sha256', 'seal_wrap', 'type', 'uuid',
      ]);
      expect(mount).toMatchObject({ type: 'kv', options: { version }, config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false } });
      expect((res.json as Record<string, unknown>)[`${path}/`]).toEqual(mount);
    }
  });

  it('GET sys/mounts/<path>: the mount; an unknown one is Vault\'s 400', async () => {
    const path = await enableKv(env, 2);
    expect(expectSys(await asRoot(env, 'GET', `sys/mounts/${path}`))).toMatchObject({ type: 'kv', options: { version: '2' } });
    expectError(await asRoot(env, 'GET', 'sys/mounts/nosuchmount'), 400, 'No secret engine mount at nosuchmount/');
  });

  it('needs read on sys/mounts: a KV-only token is denied', async () => {
    const token = await tokenWithPolicy(env, 'path "secret/*" { capabilities = ["read"] }');
    expectDenied(await stack.request('GET', 'sys/mounts', { token }));
  });
});

describe('tune', () => {
  it('reads effective TTLs and options; changes description and TTLs; refuses downgrades and token_type', async () => {
    const path = await enableKv(env, 2);
    const tune = expectSys(await asRoot(env, 'GET', `sys/mounts/${path}/tune`));
    expect(tune).toMatchObject({ description: '', default_lease_ttl: 768 * 3600, max_lease_ttl: 768 * 3600, force_no_cache: false, options: { version: '2' } });
    expect((await asRoot(env, 'POST', `sys/mounts/${path}/tune`, { body: { description: 'tuned', default_lease_ttl: '1h', max_lease_ttl: '2h' } })).status).toBe(204);
    expect(expectSys(await asRoot(env, 'GET', `sys/mounts/${path}/tune`))).toMatchObject({ description: 'tuned', default_lease_ttl: 3600, max_lease_ttl: 7200 });
    expect(expectSys(await asRoot(env, 'GET', `sys/mounts/${path}`))).toMatchObject({ description: 'tuned', config: { default_lease_ttl: 3600, max_lease_ttl: 7200 } });
    expectError(await asRoot(env, 'POST', `sys/mounts/${path}/tune`, { body: { options: { version: '1' } } }), 400, 'cannot downgrade mount from version 2');
    expectError(await asRoot(env, 'POST', `sys/mounts/${path}/tune`, { body: { options: { version: '3' } } }), 400, 'invalid version provided: 3');
    expectError(await asRoot(env, 'POST', `sys/mounts/${path}/tune`, { body: { token_type: 'batch' } }), 400, "'token_type' can only be modified on auth mounts");
    expectError(await asRoot(env, 'POST', 'sys/mounts/nosuchmount/tune', { body: { description: 'x' } }), 400, 'tune of path "nosuchmount/" failed: no mount entry found');
    expectError(await asRoot(env, 'GET', 'sys/mounts/nosuchmount/tune'), 400, 'cannot fetch sysview for path "nosuchmount/"');
  });

  it('1 → 2 upgrades a mount with data: 200 with Vault\'s warning, then every old value reads as version 1', async () => {
    const path = await enableKv(env, 1);
    const values: Record<string, Record<string, unknown>> = {
      'app/db': { password: 'p1', port: 5432 },
      'app/web': { token: 't1' },
      top: { a: 'b' },
    };
    for (const [key, value] of Object.entries(values)) expect((await asRoot(env, 'PUT', `${path}/${key}`, { body: value })).status).toBe(204);

    const res = await asRoot(env, 'POST', `sys/mounts/${path}/tune`, { body: { options: { version: '2' } } });
    expect(res.status, res.text).toBe(200);
    expect(warningsOf(res)).toEqual(['Upgrading mount from version 1 to version 2. This mount will be unavailable for a brief period and will resume service shortly.']);

    expect(expectSys(await asRoot(env, 'GET', `sys/mounts/${path}`)).options).toEqual({ version: '2' });
    for (const [key, value] of Object.entries(values)) {
      const read = expectKvData(await asRoot(env, 'GET', `${path}/data/${key}`));
      expect(read.data).toEqual(value);
      expect(read.metadata).toMatchObject({ version: 1, deletion_time: '', destroyed: false });
      const meta = expectKvData(await asRoot(env, 'GET', `${path}/metadata/${key}`));
      expect(meta).toMatchObject({ current_version: 1, last_updated_by: { actor: 'kv_upgrade', operation: 'upgrade' } });
    }
    expect(expectKvData(await asRoot(env, 'GET', `${path}/metadata/app?list=true`)).keys).toEqual(['db', 'web']);
    expect(expectKvData(await asRoot(env, 'GET', `${path}/metadata/?list=true`)).keys).toEqual(['app/', 'top']);
    // The v1 path shape is now an invalid path on a v2 mount.
    expect((await asRoot(env, 'GET', `${path}/app/db`)).status).toBe(404);
    // The next write is version 2.
    expect(dataOf(await asRoot(env, 'PUT', `${path}/data/app/db`, { body: { data: { password: 'p2' } } })).version).toBe(2);
    // Tuning to 2 again is no upgrade: 204, no warning.
    expect((await asRoot(env, 'POST', `sys/mounts/${path}/tune`, { body: { options: { version: '2' } } })).status).toBe(204);
  });

  it('while an upgrade is under way (one cut short): 400 after the ACL decision; the cleanup timer finishes it', async () => {
    const path = await enableKv(env, 1);
    for (const key of ['a', 'b/c']) await asRoot(env, 'PUT', `${path}/${key}`, { body: { v: key } });
    // What a tune's first write leaves when the process dies before moving the data (shared/mounts/secrets-engine.ts).
    const mounts = stack.table('azauthmounts');
    const row = await mounts.getEntity<Record<string, unknown>>('secrets', path);
    // Marked a moment ago: the upgrade still belongs to its (cut-short) tune request, so the timer leaves it.
    await mounts.updateEntity({ partitionKey: 'secrets', rowKey: path, options: JSON.stringify({ version: '2' }), upgrading: true, upgradingSince: new Date().toISOString() }, 'Merge', { etag: row.etag });
    await sleep(1_300); // every instance's mount snapshot is at most a second old

    const allowed = await tokenWithPolicy(env, `path "${path}/*" { capabilities = ["read", "create", "update", "list"] }`);
    const outsider = await tokenWithPolicy(env, 'path "elsewhere/*" { capabilities = ["read"] }');
    for (const token of [env.root, allowed]) {
      expectError(await stack.request('GET', `${path}/data/a`, { token }), 400, UPGRADING);
      expectError(await stack.request('PUT', `${path}/data/a`, { token, body: { data: { v: 'x' } } }), 400, UPGRADING);
      expectError(await stack.request('GET', `${path}/metadata/?list=true`, { token }), 400, UPGRADING);
      expectError(await stack.request('GET', `${path}/a`, { token }), 400, UPGRADING);
    }
    expectDenied(await stack.request('GET', `${path}/data/a`, { token: outsider }));
    // The preflight still answers: the mount is there, as version 2.
    expect(((await stack.request('GET', `sys/internal/ui/mounts/${path}/a`, { token: env.root })).json as { data: { options: unknown } }).data.options).toEqual({ version: '2' });

    // A minute later the timer takes an upgrade over.
    await mounts.updateEntity({ partitionKey: 'secrets', rowKey: path, upgradingSince: new Date(Date.now() - 120_000).toISOString() }, 'Merge');
    const run = await fetch(`${stack.url}/admin/functions/mountCleanup`, {
      method: 'POST',
      headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ input: '' }),
    });
    expect(run.status).toBe(202);
    let read: StackResponse | undefined;
    for (let i = 0; i < 50; i++) {
      await sleep(200);
      read = await asRoot(env, 'GET', `${path}/data/a`);
      if (read.status !== 400) break;
    }
    expect(expectKvData(read!).data).toEqual({ v: 'a' });
    expect(expectKvData(await asRoot(env, 'GET', `${path}/data/b/c`)).data).toEqual({ v: 'b/c' });
    expect(expectKvData(await asRoot(env, 'GET', `${path}/metadata/?list=true`)).keys).toEqual(['a', 'b/']);
  });
});

describe('disable', () => {
  it('deletes every secret of the mount; a re-enable at the path starts empty; disabling nothing is 204', async () => {
    const path = await enableKv(env, 2);
    for (const key of ['x', 'y/z']) await asRoot(env, 'PUT', `${path}/data/${key}`, { body: { data: { key } } });
    await asRoot(env, 'POST', `${path}/config`, { body: { max_versions: 3 } });
    const uuid = await uuidOf(path);
    expect(await rowsOf(uuid)).toBeGreaterThan(4);

    const res = await asRoot(env, 'DELETE', `sys/mounts/${path}`);
    expect(res.status, res.text).toBe(204);
    expect(await rowsOf(uuid)).toBe(0);
    expectError(await asRoot(env, 'GET', `${path}/data/x`), 404, `no handler for route "${path}/data/x". route entry not found.`);
    expectError(await asRoot(env, 'GET', `sys/mounts/${path}`), 400, `No secret engine mount at ${path}/`);
    expect(Object.keys(expectSys(await asRoot(env, 'GET', 'sys/mounts')))).not.toContain(`${path}/`);

    await enableKv(env, 2, path);
    expect(await uuidOf(path)).not.toBe(uuid);
    expectBare404(await asRoot(env, 'GET', `${path}/data/x`));
    expectBare404(await asRoot(env, 'GET', `${path}/metadata/?list=true`));
    expect(expectKvData(await asRoot(env, 'GET', `${path}/config`))).toEqual({ max_versions: 0, cas_required: false, delete_version_after: '0s' });

    expect((await asRoot(env, 'DELETE', `sys/mounts/${uniqueName('never')}`)).status).toBe(204);
  });

  it('reads of a mount being disabled: the mount stops answering before the disable returns, and never answers again', async () => {
    const path = await enableKv(env, 2);
    await asRoot(env, 'PUT', `${path}/data/k`, { body: { data: { v: 'here' } } });
    expect((await asRoot(env, 'GET', `${path}/data/k`)).status).toBe(200);

    let disableDone = false;
    const disable = asRoot(env, 'DELETE', `sys/mounts/${path}`).then((res) => {
      disableDone = true;
      return res;
    });
    const answers: Array<{ status: number; beforeDone: boolean; errors: string[] }> = [];
    while (!disableDone) {
      const res = await asRoot(env, 'GET', `${path}/data/k`);
      answers.push({ status: res.status, beforeDone: !disableDone, errors: errorsOf(res) });
    }
    expect((await disable).status).toBe(204);
    const after = await asRoot(env, 'GET', `${path}/data/k`);
    answers.push({ status: after.status, beforeDone: false, errors: errorsOf(after) });

    const firstRefusal = answers.findIndex((a) => a.status !== 200);
    expect(firstRefusal, JSON.stringify(answers)).toBeGreaterThanOrEqual(0);
    // It stopped answering while the disable was still running (it waits for every instance's snapshot, then purges).
    expect(answers[firstRefusal]!.beforeDone, JSON.stringify(answers)).toBe(true);
    for (const answer of answers.slice(firstRefusal)) {
      expect(answer.status).toBe(404);
      expect(answer.errors).toEqual([`no handler for route "${path}/data/k". route entry not found.`]);
    }
  });
});
