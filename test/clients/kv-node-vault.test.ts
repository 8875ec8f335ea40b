/**
 * node-vault 0.12.0 driving KV over HTTP: `read`, `write`, `list`, `delete` on v1 and v2 paths (it
 * has no KV helpers, so callers spell `<mount>/data/...` themselves), `update` (PATCH, merge patch),
 * and its `mount`/`mounts`/`unmount` commands. `noCustomHTTPVerbs: true` makes `list` send
 * `GET ?list=1` (the local host cannot receive the LIST verb; see README). node-vault resolves only
 * 200 and 204 and rejects anything else with `errors[0]` (or "Status <n>") as the message.
 */
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type Stack } from '../support/stack';
import { enableKv, kvEnv, uniqueName, type KvEnv } from './kv-support';

let stack: Stack;
let env: KvEnv;
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const client = () => nodeVault({ endpoint: stack.url, token: env.root, noCustomHTTPVerbs: true });

const versionAnswer = z.object({ data: z.object({ version: z.number(), created_time: z.string(), deletion_time: z.string(), destroyed: z.boolean() }) });
const v2Read = z.object({ data: z.object({ data: z.record(z.string(), z.unknown()), metadata: z.object({ version: z.number() }).passthrough() }) });
const keysAnswer = z.object({ data: z.object({ keys: z.array(z.string()) }) });
const rejection = z.object({ message: z.string(), response: z.object({ statusCode: z.number(), body: z.unknown() }) });

async function rejected(promise: Promise<unknown>): Promise<z.infer<typeof rejection>> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome, 'the call resolved').toBeInstanceOf(Error);
  return rejection.parse(outcome);
}

describe('node-vault 0.12.0 on KV v2', () => {
  it('write, read, update (PATCH), list, delete; the 404s it rejects with', async () => {
    const mount = await enableKv(env, 2);
    const vault = client();
    const written = versionAnswer.parse(await vault.write(`${mount}/data/app/db`, { data: { password: 'p1', port: 5432 } }));
    expect(written.data).toMatchObject({ version: 1, deletion_time: '', destroyed: false });
    await vault.write(`${mount}/data/app/web`, { data: { token: 't' } });
    await vault.write(`${mount}/data/app/sub/x`, { data: { k: 'v' } });

    const read = v2Read.parse(await vault.read(`${mount}/data/app/db`));
    expect(read.data.data).toEqual({ password: 'p1', port: 5432 });
    expect(read.data.metadata.version).toBe(1);

    const patched = versionAnswer.parse(await vault.update(`${mount}/data/app/db`, { data: { port: null, tls: true } }));
    expect(patched.data.version).toBe(2);
    expect(v2Read.parse(await vault.read(`${mount}/data/app/db`)).data.data).toEqual({ password: 'p1', tls: true });

    expect(keysAnswer.parse(await vault.list(`${mount}/metadata/app`)).data.keys).toEqual(['db', 'sub/', 'web']);
    expect(keysAnswer.parse(await vault.list(`${mount}/metadata`)).data.keys).toEqual(['app/']);

    // check-and-set through options, and its error as the rejection message.
    const stale = await rejected(vault.write(`${mount}/data/app/db`, { data: { password: 'p3' }, options: { cas: 1 } }));
    expect(stale.message).toBe('check-and-set parameter did not match the current version');
    expect(stale.response.statusCode).toBe(400);

    expect(await vault.delete(`${mount}/data/app/db`)).toBe('');
    // A deleted version: 404 with Vault's envelope as body, which node-vault hands over.
    const deleted = await rejected(vault.read(`${mount}/data/app/db`));
    expect(deleted.response.statusCode).toBe(404);
    expect(deleted.message).toBe('Status 404');
    expect(deleted.response.body).toMatchObject({ data: { data: null, metadata: { version: 2, destroyed: false } } });

    // The soft delete is undone through a write to undelete/.
    await vault.write(`${mount}/undelete/app/db`, { versions: [2] });
    expect(v2Read.parse(await vault.read(`${mount}/data/app/db`)).data.metadata.version).toBe(2);
    await vault.write(`${mount}/destroy/app/db`, { versions: [1] });
    expect((await rejected(vault.read(`${mount}/data/app/db?version=1`))).response.statusCode).toBe(404);

    expect(await vault.delete(`${mount}/metadata/app/db`)).toBe('');
    const gone = await rejected(vault.read(`${mount}/data/app/db`));
    expect(gone.response.body).toEqual({ errors: [] });
    expect(keysAnswer.parse(await vault.list(`${mount}/metadata/app`)).data.keys).toEqual(['sub/', 'web']);
  });

  it('a v1-style write on a v2 mount is rejected with the 404 and its warning in the body', async () => {
    const mount = await enableKv(env, 2);
    const res = await rejected(client().write(`${mount}/app/db`, { password: 'p' }));
    expect(res.response.statusCode).toBe(404);
    expect(JSON.stringify(res.response.body)).toContain("use 'vault kv put' for this operation");
  });
});

describe('node-vault 0.12.0 on KV v1', () => {
  it('write (204 → ""), read with lease_duration, list, delete', async () => {
    const mount = await enableKv(env, 1);
    const vault = client();
    expect(await vault.write(`${mount}/app/db`, { password: 'p1', ttl: '10m' })).toBe('');
    await vault.write(`${mount}/app/web`, { token: 't' });
    const read = z.object({ data: z.record(z.string(), z.unknown()), lease_duration: z.number(), lease_id: z.string(), renewable: z.boolean() }).parse(await vault.read(`${mount}/app/db`));
    expect(read).toEqual({ data: { password: 'p1', ttl: '10m' }, lease_duration: 600, lease_id: '', renewable: false });
    expect(keysAnswer.parse(await vault.list(`${mount}/app`)).data.keys).toEqual(['db', 'web']);
    expect(await vault.delete(`${mount}/app/db`)).toBe('');
    expect((await rejected(vault.read(`${mount}/app/db`))).response.statusCode).toBe(404);
    // PATCH on a v1 mount: Vault's 405.
    const patch = await rejected(vault.update(`${mount}/app/web`, { token: 'u' }));
    expect(patch.response.statusCode).toBe(405);
    expect(patch.message).toBe('unsupported operation');
  });
});

describe('node-vault 0.12.0 mount commands', () => {
  it('mount (200 with the mount_point warning), mounts, unmount', async () => {
    const path = uniqueName('nvm');
    const vault = client();
    const mounted = z.object({ warnings: z.array(z.string()) }).parse(await vault.mount({ mount_point: path, type: 'kv', options: { version: '2' } }));
    expect(mounted.warnings).toEqual(['Endpoint ignored these unrecognized parameters: [mount_point]']);
    const mounts = z.object({ data: z.record(z.string(), z.object({ type: z.string(), options: z.unknown() }).passthrough()) }).parse(await vault.mounts());
    expect(mounts.data[`${path}/`]).toMatchObject({ type: 'kv', options: { version: '2' } });
    await vault.write(`${path}/data/k`, { data: { a: 'b' } });
    expect(await vault.unmount({ mount_point: path })).toBe('');
    const gone = await rejected(vault.read(`${path}/data/k`));
    expect(gone.response.statusCode).toBe(404);
    expect(gone.message).toBe(`no handler for route "${path}/data/k". route entry not found.`);
  });
});
