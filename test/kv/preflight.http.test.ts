/**
 * `sys/internal/ui/mounts/<path>`, the KV version preflight of every `vault kv` command and every
 * Vault Agent template (reference §7.6, §10 item 1), and the mount listing without a path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { asRoot, enableKv, errorsOf, kvEnv, tokenWithPolicy, uniqueName, type KvEnv } from '../clients/kv-support';

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

const preflight = (path: string, token?: string) =>
  stack.request('GET', `sys/internal/ui/mounts/${path}`, { ...(token !== undefined ? { token } : {}), headers: { 'X-Vault-Request': 'true' } });

function expectRefusal(res: StackResponse, sanitized: string): void {
  expect(res.status, res.text).toBe(403);
  expect(res.headers['content-type']).toBe('application/json');
  expect(errorsOf(res)).toEqual([`preflight capability check returned 403, please ensure client's policies grant access to path "${sanitized}"`]);
}

describe('preflight 200', () => {
  it('a v2 mount: data.path "<mount>/", type "kv", options.version the string "2", and the mount info', async () => {
    const res = await preflight(`${kv2}/data/app/db`, env.root);
    expect(res.status, res.text).toBe(200);
    const data = (res.json as { data: Record<string, unknown> }).data;
    expect(data.path).toBe(`${kv2}/`);
    expect(data.type).toBe('kv');
    expect(data.options).toEqual({ version: '2' });
    expect(typeof (data.options as { version: unknown }).version).toBe('string');
    expect(data).toMatchObject({ description: '', local: false, seal_wrap: false, config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false } });
    expect(data.accessor).toMatch(/^kv_[0-9a-f]{8}$/);
    // The CLI's preflight for `vault kv put <mount>/app/db` names the path without data/.
    expect(((await preflight(`${kv2}/app/db`, env.root)).json as { data: { path: string } }).data.path).toBe(`${kv2}/`);
    // With -mount=<mount>, the path is the mount itself.
    expect((await preflight(kv2, env.root)).status).toBe(200);
  });

  it('a v1 mount: options.version "1"; a kv mount enabled without a version: options null (clients read v1)', async () => {
    const v1 = ((await preflight(`${kv1}/x`, env.root)).json as { data: Record<string, unknown> }).data;
    expect(v1).toMatchObject({ path: `${kv1}/`, type: 'kv', options: { version: '1' } });
    const plain = uniqueName('plain');
    expect((await asRoot(env, 'POST', `sys/mounts/${plain}`, { body: { type: 'kv' } })).status).toBe(204);
    expect(((await preflight(`${plain}/x`, env.root)).json as { data: Record<string, unknown> }).data).toMatchObject({ type: 'kv', options: null });
  });

  it('a token whose policy reaches anything under the mount passes, without any right on sys/', async () => {
    const token = await tokenWithPolicy(env, `path "${kv2}/data/app/*" { capabilities = ["read"] }`);
    const res = await preflight(`${kv2}/data/app/db`, token);
    expect(res.status, res.text).toBe(200);
    // Access is per mount, not per path: another path under the same mount passes too (Vault's hasMountAccess).
    expect((await preflight(`${kv2}/data/other`, token)).status).toBe(200);
    // And a segment-wildcard rule under the mount counts.
    const plus = await tokenWithPolicy(env, `path "${kv2}/+/team/*" { capabilities = ["list"] }`);
    expect((await preflight(`${kv2}/metadata/team/x`, plus)).status).toBe(200);
  });

  it('an Entra admin credential is root here too', async () => {
    const res = await preflight(`${kv2}/data/app`, await stack.adminToken());
    expect(res.status, res.text).toBe(200);
  });

  it('does not consume a use of a limited-use token', async () => {
    const created = await asRoot(env, 'POST', 'auth/token/create', { body: { policies: ['root'], num_uses: 2 } });
    const token = (created.json as { auth: { client_token: string } }).auth.client_token;
    for (let i = 0; i < 3; i++) expect((await preflight(`${kv2}/data/x`, token)).status).toBe(200);
    expect((await stack.request('GET', `${kv2}/config`, { token })).status).toBe(200);
    expect((await stack.request('GET', `${kv2}/config`, { token })).status).toBe(200);
    expect((await stack.request('GET', `${kv2}/config`, { token })).status).toBe(403);
  });
});

describe('preflight 403, never 404', () => {
  it('an unknown mount: 403 with Vault\'s preflight text naming the sanitised path', async () => {
    expectRefusal(await preflight('nosuchmount/data/app', env.root), 'nosuchmount/data/app/');
    expectRefusal(await preflight('nosuchmount/', env.root), 'nosuchmount/');
  });

  it('a mount the token reaches nothing under: the same 403', async () => {
    const token = await tokenWithPolicy(env, `path "${kv2}/data/*" { capabilities = ["read"] }`);
    expectRefusal(await preflight(`${kv1}/app`, token), `${kv1}/app/`);
    const denied = await tokenWithPolicy(env, `path "${kv2}/*" { capabilities = ["deny"] }`);
    expectRefusal(await preflight(`${kv2}/data/app`, denied), `${kv2}/data/app/`);
  });

  it('no token, or a dead one: 403 permission denied', async () => {
    for (const token of [undefined, `hvs.${'B'.repeat(24)}`, 'not-a-token']) {
      const res = await preflight(`${kv2}/data/app`, token);
      expect(res.status, res.text).toBe(403);
      expect(errorsOf(res)).toEqual(['permission denied']);
    }
  });

  it('a disabled mount stops being found', async () => {
    const doomed = await enableKv(env, 2);
    expect((await preflight(`${doomed}/data/x`, env.root)).status).toBe(200);
    expect((await asRoot(env, 'DELETE', `sys/mounts/${doomed}`)).status).toBe(204);
    expectRefusal(await preflight(`${doomed}/data/x`, env.root), `${doomed}/data/x/`);
  });

  it('an empty path is 400 "path not set"; only GET is served', async () => {
    const res = await stack.request('GET', 'sys/internal/ui/mounts/', { token: env.root });
    expect(res.status, res.text).toBe(400);
    expect(errorsOf(res)).toEqual(['path not set']);
    expect((await stack.request('POST', `sys/internal/ui/mounts/${kv2}`, { token: env.root, body: {} })).status).toBe(405);
  });
});

describe('the listing, sys/internal/ui/mounts', () => {
  it('with a token: the mounts it reaches, with full info; a dead token is 403', async () => {
    const token = await tokenWithPolicy(env, `path "${kv2}/data/*" { capabilities = ["read"] }`);
    const res = await stack.request('GET', 'sys/internal/ui/mounts', { token });
    expect(res.status, res.text).toBe(200);
    const data = (res.json as { data: { secret: Record<string, Record<string, unknown>>; auth: Record<string, unknown> } }).data;
    expect(Object.keys(data.secret)).toEqual([`${kv2}/`]);
    expect(data.secret[`${kv2}/`]).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(data.secret[`${kv2}/`]).toHaveProperty('accessor');
    const rootList = (await stack.request('GET', 'sys/internal/ui/mounts', { token: env.root })).json as { data: { secret: Record<string, unknown> } };
    expect(Object.keys(rootList.data.secret)).toEqual(expect.arrayContaining([`${kv2}/`, `${kv1}/`]));
    expect((await stack.request('GET', 'sys/internal/ui/mounts', { token: `hvs.${'C'.repeat(24)}` })).status).toBe(403);
  });

  it('without a token: only mounts tuned listing_visibility=unauth, as {type, description, options}', async () => {
    const visible = await enableKv(env, 2);
    expect((await asRoot(env, 'POST', `sys/mounts/${visible}/tune`, { body: { listing_visibility: 'unauth', description: 'shown' } })).status).toBe(204);
    const res = await stack.request('GET', 'sys/internal/ui/mounts');
    expect(res.status, res.text).toBe(200);
    const data = (res.json as { data: { secret: Record<string, unknown> } }).data;
    expect(data.secret).toEqual({ [`${visible}/`]: { type: 'kv', description: 'shown', options: { version: '2' } } });
    // A token that reaches nothing still sees the unauth-visible mount, with full info.
    const token = await tokenWithPolicy(env, `path "nothing/*" { capabilities = ["read"] }`);
    const withToken = (await stack.request('GET', 'sys/internal/ui/mounts', { token })).json as { data: { secret: Record<string, Record<string, unknown>> } };
    expect(Object.keys(withToken.data.secret)).toEqual([`${visible}/`]);
    expect(withToken.data.secret[`${visible}/`]).toHaveProperty('accessor');
  });
});
