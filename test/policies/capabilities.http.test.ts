/**
 * The capability endpoints over HTTP (the reference's §4.3 and §4.4): `sys/capabilities`,
 * `sys/capabilities-self`, `sys/capabilities-accessor` with `path` and `paths` (a list or a comma
 * string), one key per path as given, the extra `capabilities` key for a single path, the top-level
 * copies, sorted answers, `["root"]`, `["deny"]` and Vault's error texts in Vault's order; and
 * `sys/internal/ui/resultant-acl`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { createToken, dataOf, expectBadRequest, expectPlainDenial, prepareMount, sleep, type TokenEnv } from '../tokens/http-support';

let stack: Stack | undefined;
let env: TokenEnv;
/** Grants on app/…, in an order the answers must not keep. */
const APP_POLICY = [
  'path "app/data/*" { capabilities = ["update", "read", "create", "list"] }',
  'path "app/data/secret" { capabilities = ["deny"] }',
  'path "app/metadata/team" { capabilities = ["list"] }',
  'path "app/+/admin" { capabilities = ["sudo", "read"] }',
  'path "sys/capabilities" { capabilities = ["update"] }',
].join('\n');
let appPolicy = '';
/** default + the app policy. */
let app = { token: '', accessor: '' };

beforeAll(async () => {
  stack = await startStack();
  env = await prepareMount(stack);
  appPolicy = unique('caps-app');
  await writePolicy(appPolicy, APP_POLICY);
  app = await createToken(env, { policies: [appPolicy] });
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const post = (path: string, token: string | undefined, body: unknown): Promise<StackResponse> =>
  env.stack.request('POST', path, { ...(token !== undefined ? { token } : {}), body });

async function writePolicy(name: string, policy: string): Promise<void> {
  const res = await env.stack.request('PUT', `sys/policies/acl/${name}`, { token: env.admin, body: { policy } });
  expect(res.status, res.text).toBe(204);
}

const top = (res: StackResponse): Record<string, unknown> => (res.json ?? {}) as Record<string, unknown>;

describe('sys/capabilities-self', () => {
  it('one path: its key, `capabilities`, both copied to the top level, sorted', async () => {
    const res = await post('sys/capabilities-self', app.token, { path: 'app/data/x' });
    expect(res.status, res.text).toBe(200);
    const expected = ['create', 'list', 'read', 'update'];
    expect(dataOf(res)).toEqual({ 'app/data/x': expected, capabilities: expected });
    expect(top(res)['app/data/x']).toEqual(expected);
    expect(top(res).capabilities).toEqual(expected);
    // The envelope is still whole.
    expect(top(res)).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, auth: null });
  });

  it('`paths` as a list: one key per path, no `capabilities` key; deny, sudo and list fallbacks', async () => {
    const paths = ['app/data/secret', 'app/x/admin', 'other/path', 'app/metadata/team/', 'app/data/'];
    const res = await post('sys/capabilities-self', app.token, { paths });
    expect(res.status, res.text).toBe(200);
    const want = {
      // An exact deny beats the prefix grant.
      'app/data/secret': ['deny'],
      // A + rule with sudo: sudo is listed among the capabilities.
      'app/x/admin': ['read', 'sudo'],
      // Nothing grants: ["deny"].
      'other/path': ['deny'],
      // Evaluated as a list: the trailing slash falls back to the exact rule without it.
      'app/metadata/team/': ['list'],
      'app/data/': ['create', 'list', 'read', 'update'],
    };
    expect(dataOf(res)).toEqual(want);
    for (const [path, caps] of Object.entries(want)) expect(top(res)[path]).toEqual(caps);
    expect(top(res).capabilities).toBeUndefined();
  });

  it('`paths` as a comma string, elements trimmed; keys keep a leading slash, the ACL ignores it', async () => {
    const res = await post('sys/capabilities-self', app.token, { paths: 'app/data/a, /app/data/b' });
    expect(res.status, res.text).toBe(200);
    const caps = ['create', 'list', 'read', 'update'];
    expect(dataOf(res)).toEqual({ 'app/data/a': caps, '/app/data/b': caps });
  });

  it('`paths` wins over `path`; a `token` field is ignored: the caller\'s own token is evaluated', async () => {
    const res = await post('sys/capabilities-self', app.token, { paths: ['app/data/x'], path: 'other', token: env.admin });
    expect(dataOf(res)).toEqual({ 'app/data/x': ['create', 'list', 'read', 'update'], capabilities: ['create', 'list', 'read', 'update'] });
  });

  it('root: ["root"] (an Entra admin, and a root token)', async () => {
    const res = await post('sys/capabilities-self', env.admin, { path: 'anything/at/all' });
    expect(dataOf(res)).toEqual({ 'anything/at/all': ['root'], capabilities: ['root'] });
    const rootToken = (await createToken(env, { policies: ['root'] })).token;
    expect(dataOf(await post('sys/capabilities-self', rootToken, { paths: ['a', 'b'] }))).toEqual({ a: ['root'], b: ['root'] });
  });

  it('errors: no paths, an empty path among them; default grants the endpoint, its absence denies it', async () => {
    expectBadRequest(await post('sys/capabilities-self', app.token, {}), 'paths must be supplied');
    expectBadRequest(await post('sys/capabilities-self', app.token, { paths: [] }), 'paths must be supplied');
    expectBadRequest(await post('sys/capabilities-self', app.token, { paths: 'a,,b' }), 'missing path');
    expectBadRequest(await post('sys/capabilities-self', app.token, { paths: ['a', ''] }), 'missing path');
    const noDefault = (await createToken(env, { policies: [appPolicy], no_default_policy: true })).token;
    expectPlainDenial(await post('sys/capabilities-self', noDefault, { path: 'app/data/x' }));
  });
});

describe('sys/capabilities (another token)', () => {
  it('answers for the token in the body; the caller needs update on sys/capabilities', async () => {
    const other = (await createToken(env, { policies: ['nothing-here'] })).token;
    const res = await post('sys/capabilities', app.token, { token: other, path: 'auth/token/lookup-self' });
    expect(res.status, res.text).toBe(200);
    // The other token has default, which grants read on lookup-self.
    expect(dataOf(res)).toEqual({ 'auth/token/lookup-self': ['read'], capabilities: ['read'] });
    expect(top(res).capabilities).toEqual(['read']);
    // The Go client's form: {"path": p, "token": t}; a token without default: ["deny"].
    const bare = (await createToken(env, { policies: ['nothing-here'], no_default_policy: true })).token;
    expect(dataOf(await post('sys/capabilities', env.admin, { token: bare, path: 'auth/token/lookup-self' })).capabilities).toEqual(['deny']);
    // default alone does not grant sys/capabilities.
    expectPlainDenial(await post('sys/capabilities', other, { token: app.token, path: 'x' }));
  });

  it('errors in Vault\'s order: no token, no paths, an empty path, an unknown or revoked token', async () => {
    expectBadRequest(await post('sys/capabilities', env.admin, {}), 'no token found');
    expectBadRequest(await post('sys/capabilities', env.admin, { path: 'x' }), 'no token found');
    // The paths are checked before the token is looked up.
    expectBadRequest(await post('sys/capabilities', env.admin, { token: `hvs.${'B'.repeat(43)}` }), 'paths must be supplied');
    expectBadRequest(await post('sys/capabilities', env.admin, { token: `hvs.${'B'.repeat(43)}`, paths: ['', 'x'] }), 'missing path');
    expectBadRequest(await post('sys/capabilities', env.admin, { token: `hvs.${'B'.repeat(43)}`, path: 'x' }), 'invalid token');
    expectBadRequest(await post('sys/capabilities', env.admin, { token: 'not-a-token', path: 'x' }), 'invalid token');
    const doomed = await createToken(env, { policies: [appPolicy] });
    expect((await post('auth/token/revoke', env.admin, { token: doomed.token })).status).toBe(204);
    expectBadRequest(await post('sys/capabilities', env.admin, { token: doomed.token, path: 'x' }), 'invalid token');
  });
});

describe('sys/capabilities-accessor', () => {
  it('answers for the token behind the accessor', async () => {
    const res = await post('sys/capabilities-accessor', env.admin, { accessor: app.accessor, paths: ['app/data/x', 'app/data/secret'] });
    expect(res.status, res.text).toBe(200);
    expect(dataOf(res)).toEqual({ 'app/data/x': ['create', 'list', 'read', 'update'], 'app/data/secret': ['deny'] });
    expect(top(res)['app/data/secret']).toEqual(['deny']);
  });

  it('errors in Vault\'s order: the accessor before the paths', async () => {
    expectBadRequest(await post('sys/capabilities-accessor', env.admin, {}), 'missing accessor');
    expectBadRequest(await post('sys/capabilities-accessor', env.admin, { accessor: 'nope' }), 'invalid accessor');
    expectBadRequest(await post('sys/capabilities-accessor', env.admin, { accessor: app.accessor }), 'paths must be supplied');
    expectBadRequest(await post('sys/capabilities-accessor', env.admin, { accessor: app.accessor, paths: 'x,' }), 'missing path');
    const doomed = await createToken(env, { policies: [appPolicy] });
    expect((await post('auth/token/revoke', env.admin, { token: doomed.token })).status).toBe(204);
    expectBadRequest(await post('sys/capabilities-accessor', env.admin, { accessor: doomed.accessor, path: 'x' }), 'invalid accessor');
    // The default policy does not grant it.
    expectPlainDenial(await post('sys/capabilities-accessor', app.token, { accessor: app.accessor, path: 'x' }));
  });

  it('a child whose parent has expired is gone: "invalid accessor", as after Vault revoked the tree', async () => {
    const parentPolicy = unique('caps-parent');
    await writePolicy(parentPolicy, 'path "auth/token/create" { capabilities = ["update"] }');
    const parent = await createToken(env, { policies: [parentPolicy], ttl: '2s' });
    const child = await post('auth/token/create', parent.token, { policies: [parentPolicy], ttl: '1h' });
    expect(child.status, child.text).toBe(200);
    const { accessor } = (child.json as { auth: { accessor: string } }).auth;
    expect((await post('sys/capabilities-accessor', env.admin, { accessor, path: 'auth/token/create' })).status).toBe(200);
    await sleep(2_500);
    expectBadRequest(await post('sys/capabilities-accessor', env.admin, { accessor, path: 'auth/token/create' }), 'invalid accessor');
    // The same lookup serves auth/token/lookup-accessor.
    expectBadRequest(await post('auth/token/lookup-accessor', env.admin, { accessor }), 'invalid accessor');
  });
});

describe('sys/internal/ui/resultant-acl', () => {
  it('root: {"root": true}', async () => {
    const res = await env.stack.request('GET', 'sys/internal/ui/resultant-acl', { token: env.admin });
    expect(res.status, res.text).toBe(200);
    expect(dataOf(res)).toEqual({ root: true });
    // Not one of the routes that copy data to the top level.
    expect(top(res).root).toBeUndefined();
  });

  it('a token: exact and glob paths (prefix keys without the *), Vault\'s capability order, no + rules', async () => {
    const name = unique('resultant');
    await writePolicy(
      name,
      [
        'path "kv/data/app/*" { capabilities = ["update", "read", "create", "patch", "delete", "list", "sudo"] }',
        'path "kv/data/app/locked" { capabilities = ["deny"] }',
        'path "auth/token/create" {',
        '  capabilities = ["update"]',
        '  allowed_parameters = { "policies" = ["app-*"], "ttl" = [] }',
        '  denied_parameters = { "NUM_USES" = [] }',
        '  required_parameters = ["policies"]',
        '  min_wrapping_ttl = "1m"',
        '  max_wrapping_ttl = 3600',
        '}',
        'path "kv/+/team" { capabilities = ["read"] }',
      ].join('\n'),
    );
    const token = (await createToken(env, { policies: [name] })).token;
    const res = await env.stack.request('GET', 'sys/internal/ui/resultant-acl', { token });
    expect(res.status, res.text).toBe(200);
    const data = dataOf(res) as { root: boolean; exact_paths: Record<string, unknown>; glob_paths: Record<string, unknown> };
    expect(data.root).toBe(false);
    expect(data.glob_paths['kv/data/app/']).toEqual({ capabilities: ['create', 'delete', 'list', 'read', 'sudo', 'update', 'patch'] });
    expect(data.exact_paths['kv/data/app/locked']).toEqual({ capabilities: ['deny'] });
    expect(data.exact_paths['auth/token/create']).toEqual({
      capabilities: ['update'],
      min_wrapping_ttl: 60,
      max_wrapping_ttl: 3600,
      allowed_parameters: { policies: ['app-*'], ttl: [] },
      denied_parameters: { num_uses: [] },
      required_parameters: ['policies'],
    });
    // From default: the self-service paths and cubbyhole.
    expect(data.exact_paths['auth/token/lookup-self']).toEqual({ capabilities: ['read'] });
    expect(data.exact_paths['sys/internal/ui/resultant-acl']).toEqual({ capabilities: ['read'] });
    expect(data.glob_paths['cubbyhole/']).toEqual({ capabilities: ['create', 'delete', 'list', 'read', 'update'] });
    // Segment-wildcard rules are not shown (Vault leaves them out).
    expect(JSON.stringify(data)).not.toContain('kv/+/team');
  });

  it('default grants it; without default the token is denied', async () => {
    const bare = (await createToken(env, { policies: [appPolicy], no_default_policy: true })).token;
    expectPlainDenial(await env.stack.request('GET', 'sys/internal/ui/resultant-acl', { token: bare }));
  });
});
