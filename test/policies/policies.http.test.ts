/**
 * ACL policies over HTTP: the policy endpoints (sys/policies/acl, the legacy sys/policy), the built-in
 * `default` and `root`, and what a policy then lets a token do. The local host, Azurite and the cloud
 * emulator, via the shared stack.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { authOf, createToken, dataOf, errorsOf, expectBadRequest, expectInvalidToken, expectPlainDenial, login, makeRole, prepareMount, type TokenEnv } from '../tokens/http-support';

let stack: Stack | undefined;
let env: TokenEnv;

beforeAll(async () => {
  stack = await startStack();
  env = await prepareMount(stack);
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

const req = (method: string, path: string, token: string | undefined, body?: unknown): Promise<StackResponse> =>
  env.stack.request(method, path, { ...(token !== undefined ? { token } : {}), ...(body !== undefined ? { body } : {}) });

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function writePolicy(name: string, policy: string): Promise<void> {
  const res = await req('PUT', `sys/policies/acl/${name}`, env.admin, { policy });
  expect([200, 204], res.text).toContain(res.status);
}

/** A token of ours carrying exactly these policies (no default unless listed). */
async function tokenWith(policies: string[]): Promise<string> {
  return (await createToken(env, { policies, no_default_policy: true })).token;
}

describe('sys/policies/acl', () => {
  it('writes, reads, lists and deletes a policy; names are lower-cased', async () => {
    const name = unique('App');
    const text = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n';
    expect((await req('PUT', `sys/policies/acl/${name}`, env.admin, { policy: text })).status).toBe(204);
    const read = await req('GET', `sys/policies/acl/${name.toUpperCase()}`, env.admin);
    expect(dataOf(read)).toEqual({ name: name.toLowerCase(), policy: text });
    // This route does not copy data to the top level (the legacy one does).
    expect((read.json as Record<string, unknown>).policy).toBeUndefined();
    const keys = dataOf(await req('GET', 'sys/policies/acl?list=true', env.admin)).keys as string[];
    expect(keys).toContain(name.toLowerCase());
    expect(keys.at(-1)).toBe('root');
    expect(keys).toContain('default');
    expect((await req('DELETE', `sys/policies/acl/${name}`, env.admin)).status).toBe(204);
    expect((await req('GET', `sys/policies/acl/${name}`, env.admin)).status).toBe(404);
    // Deleting again is still 204.
    expect((await req('DELETE', `sys/policies/acl/${name}`, env.admin)).status).toBe(204);
  });

  it('accepts the JSON form and a base64-encoded document, and warns about duplicate attributes', async () => {
    const json = unique('json');
    await writePolicy(json, JSON.stringify({ path: { 'auth/token/lookup-self': { capabilities: ['read'] } } }));
    expect(dataOf(await req('GET', `sys/policies/acl/${json}`, env.admin)).policy).toContain('lookup-self');
    const b64 = unique('b64');
    const text = 'path "a/b" { capabilities = ["read"] }';
    await writePolicy(b64, Buffer.from(text).toString('base64'));
    expect(dataOf(await req('GET', `sys/policies/acl/${b64}`, env.admin)).policy).toBe(text);
  });

  it('default is there, editable and not deletable; root has no document and cannot be written or deleted', async () => {
    const policy = dataOf(await req('GET', 'sys/policies/acl/default', env.admin)).policy as string;
    expect(policy).toContain('auth/token/lookup-self');
    expectBadRequest(await req('DELETE', 'sys/policies/acl/default', env.admin), 'cannot delete default policy');
    expect(dataOf(await req('GET', 'sys/policies/acl/root', env.admin))).toEqual({ name: 'root', policy: '' });
    expectBadRequest(await req('PUT', 'sys/policies/acl/root', env.admin, { policy: 'path "x" { capabilities = ["read"] }' }), 'cannot update "root" policy');
    expectBadRequest(await req('DELETE', 'sys/policies/acl/root', env.admin), 'cannot delete "root" policy');
  });

  it('refuses malformed documents with Vault\'s texts', async () => {
    const bad = (policy: string) => req('PUT', `sys/policies/acl/${unique('bad')}`, env.admin, { policy });
    expect(errorsOf(await bad('path "a" {\n  capabilities = ["read"\n'))).toMatch(/^failed to parse policy: At 3:1: /);
    expect(errorsOf(await bad('path "a" { capabilities = ["read"] }\nname = "x"\nfoo = 1\n'))).toBe('failed to parse policy: 1 error occurred:\n\t* invalid key "foo" on line 3\n\n');
    expect(errorsOf(await bad('path "a" { capabilities = ["Read"] }'))).toBe('failed to parse policy: path "a": invalid capability "Read"');
    expect(errorsOf(await bad('path "a/+*" { capabilities = ["read"] }'))).toBe('failed to parse policy: path "a/+*": invalid use of wildcards (\'+*\' is forbidden)');
    expectBadRequest(await req('PUT', `sys/policies/acl/${unique('empty')}`, env.admin, { policy: '' }), "'policy' parameter not supplied or empty");
    const big = await bad(`# ${'x'.repeat(900 * 1024)}\n`);
    expect(big.status).toBe(400);
    expect(errorsOf(big)).toMatch(/at most 65536 bytes/);
  });

  it('concurrent writes of one policy each land whole', async () => {
    const name = unique('race');
    const texts = Array.from({ length: 8 }, (_, i) => `path "race/${i}" { capabilities = ["read"] }`);
    const results = await Promise.all(texts.map((policy) => req('PUT', `sys/policies/acl/${name}`, env.admin, { policy })));
    for (const res of results) expect(res.status, res.text).toBe(204);
    expect(texts).toContain(dataOf(await req('GET', `sys/policies/acl/${name}`, env.admin)).policy);
  });
});

describe('legacy sys/policy (node-vault, older hvac)', () => {
  it('lists keys and policies, copied to the top level; reads answer rules; `rules` writes warn', async () => {
    const name = unique('legacy');
    const write = await req('PUT', `sys/policy/${name}`, env.admin, { rules: 'path "x/*" { capabilities = ["list"] }' });
    expect(write.status, write.text).toBe(200);
    expect((write.json as { warnings: string[] }).warnings).toEqual(["'rules' is deprecated, please use 'policy' instead"]);
    const list = await req('GET', 'sys/policy', env.admin);
    const body = list.json as { keys: string[]; policies: string[]; data: { keys: string[]; policies: string[] } };
    expect(body.keys).toEqual(body.data.keys);
    expect(body.policies).toEqual(body.data.keys);
    expect(body.keys).toContain(name);
    const read = await req('GET', `sys/policy/${name}`, env.admin);
    expect((read.json as { rules: string }).rules).toBe('path "x/*" { capabilities = ["list"] }');
    expect(dataOf(read)).toEqual({ name, rules: 'path "x/*" { capabilities = ["list"] }' });
  });
});

describe('enforcement', () => {
  it('a login token does what its role\'s policy allows and nothing else', async () => {
    const policy = unique('roles-reader');
    await writePolicy(policy, 'path "auth/azure/role/*" { capabilities = ["read"] }\npath "auth/azure/role" { capabilities = ["list"] }');
    const { token } = await login(env, await makeRole(env, { token_policies: [policy] }));
    expect((await req('GET', `auth/azure/role/${await makeRole(env)}`, token)).status).toBe(200);
    expect((await req('GET', 'auth/azure/role?list=true', token)).status).toBe(200);
    expectPlainDenial(await req('GET', 'auth/azure/config', token));
    expectPlainDenial(await req('POST', `auth/azure/role/${unique('r')}`, token, { bound_service_principal_ids: [randomUUID()] }));
    // default is attached: its own lookup works, a POST lookup-self (an update) does not.
    expect((await req('GET', 'auth/token/lookup-self', token)).status).toBe(200);
    expectPlainDenial(await req('POST', 'auth/token/lookup-self', token));
  });

  it('create versus update: a create-only grant writes new roles but cannot overwrite them', async () => {
    const policy = unique('creator');
    await writePolicy(policy, 'path "auth/azure/role/*" { capabilities = ["create"] }');
    const token = await tokenWith([policy]);
    const name = unique('fresh');
    const body = { bound_service_principal_ids: [randomUUID()] };
    expect((await req('POST', `auth/azure/role/${name}`, token, body)).status).toBe(204);
    expectPlainDenial(await req('POST', `auth/azure/role/${name}`, token, body));
  });

  it('sudo paths need sudo: enabling an auth method', async () => {
    const withoutSudo = unique('nosudo');
    await writePolicy(withoutSudo, 'path "sys/auth/*" { capabilities = ["create", "update"] }');
    const withSudo = unique('sudo');
    await writePolicy(withSudo, 'path "sys/auth/*" { capabilities = ["create", "update", "sudo"] }');
    expectPlainDenial(await req('POST', `sys/auth/${unique('m')}`, await tokenWith([withoutSudo]), { type: 'azure' }));
    expect((await req('POST', `sys/auth/${unique('m')}`, await tokenWith([withSudo]), { type: 'azure' })).status).toBe(204);
  });

  it('without default a token cannot even look itself up; dead tokens say "invalid token"', async () => {
    const bare = await tokenWith([unique('nothing')]);
    expectPlainDenial(await req('GET', 'auth/token/lookup-self', bare));
    expectInvalidToken(await req('GET', 'auth/token/lookup-self', `hvs.${'A'.repeat(43)}`));
    expectPlainDenial(await req('GET', 'auth/token/lookup-self', undefined));
  });

  it('a policy change reaches tokens at once on the instance that wrote it; a deleted policy grants nothing', async () => {
    const policy = unique('moving');
    await writePolicy(policy, 'path "auth/azure/config" { capabilities = ["read"] }');
    const token = await tokenWith([policy]);
    expect((await req('GET', 'auth/azure/config', token)).status).toBe(200);
    await writePolicy(policy, 'path "auth/azure/role/*" { capabilities = ["read"] }');
    expectPlainDenial(await req('GET', 'auth/azure/config', token));
    await writePolicy(policy, 'path "auth/azure/config" { capabilities = ["read"] }');
    expect((await req('GET', 'auth/azure/config', token)).status).toBe(200);
    expect((await req('DELETE', `sys/policies/acl/${policy}`, env.admin)).status).toBe(204);
    expectPlainDenial(await req('GET', 'auth/azure/config', token));
  });

  it('a token with 200 policies works', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `many-${i}`);
    await writePolicy('many-199', 'path "auth/azure/config" { capabilities = ["read"] }');
    const token = await tokenWith(names);
    expect((await req('GET', 'auth/azure/config', token)).status).toBe(200);
    expectPlainDenial(await req('GET', 'sys/auth', token));
  });
});

describe('the token tree under policies', () => {
  it('a child gets only a subset of its parent\'s policies; orphans need sudo or create-orphan', async () => {
    const parentPolicy = unique('parent');
    await writePolicy(parentPolicy, 'path "auth/token/create" { capabilities = ["update"] }');
    const parent = (await createToken(env, { policies: [parentPolicy, 'extra'] })).token;
    const child = await req('POST', 'auth/token/create', parent, { policies: ['extra'] });
    expect(authOf(child)).toMatchObject({ policies: ['default', 'extra'], orphan: false });
    expectBadRequest(await req('POST', 'auth/token/create', parent, { policies: ['admin'] }), 'child policies must be subset of parent');
    expectBadRequest(await req('POST', 'auth/token/create', parent, { policies: ['root'] }), 'child policies must be subset of parent');
    expectBadRequest(await req('POST', 'auth/token/create', parent, { no_parent: true }), 'root or sudo privileges required to create orphan token');
    expectBadRequest(await req('POST', 'auth/token/create', parent, { period: '1h' }), 'root or sudo privileges required to create periodic token');
    // create-orphan is guarded by the ACL on its own path.
    expectPlainDenial(await req('POST', 'auth/token/create-orphan', parent, {}));
  });
});
