/**
 * Issue 11 §4, operators with least privilege, as docs/access.md documents it (the policies are read
 * from its fenced blocks, so the page and the test cannot drift apart):
 *
 * - the bootstrap: an Entra admin of AZAUTH_ADMIN_PRINCIPAL_IDS is root, and writes the operator
 *   policy and a role of the azure mount bound to the operator's (or pipeline's) principal;
 * - the operator logs in with its own Entra token for the mount's `resource` and gets a token whose
 *   policy grants `auth/azure/role/*` and `sys/policies/acl/*` only: it manages roles and policies
 *   and is refused everything else;
 * - what that pattern does not prevent (a policy writer who can also bind a role to itself can give
 *   itself anything but root), and the narrower pattern the page recommends for day-to-day work.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { authOf, dataOf, expectBadRequest, expectPlainDenial, prepareMount, RESOURCE, type TokenEnv } from '../tokens/http-support';

const ROOT = path.resolve(__dirname, '..', '..');

/** The fenced block right after `<!-- access:<marker> -->` in docs/access.md. */
function docsBlock(marker: string): string {
  const page = readFileSync(path.join(ROOT, 'docs', 'access.md'), 'utf8');
  const found = new RegExp(`<!-- access:${marker} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(page);
  if (!found?.[1]) throw new Error(`docs/access.md block ${marker} not found`);
  return found[1];
}

let stack: Stack | undefined;
let env: TokenEnv;
/** The operator's (or pipeline's) Entra object id: not an admin. */
const OPERATOR_OID = randomUUID();

beforeAll(async () => {
  stack = await startStack();
  env = await prepareMount(stack);
  // The bootstrap, done once by an Entra admin.
  await asAdmin('PUT', 'sys/policies/acl/azauth-operator', { policy: docsBlock('operator-policy') });
  await asAdmin('PUT', 'sys/policies/acl/azauth-role-operator', { policy: docsBlock('role-operator-policy') });
  await asAdmin('POST', 'auth/azure/role/operator', { bound_service_principal_ids: [OPERATOR_OID], token_policies: ['azauth-operator'], token_ttl: '15m' });
  await asAdmin('POST', 'auth/azure/role/role-operator', { bound_service_principal_ids: [OPERATOR_OID], token_policies: ['azauth-role-operator'], token_ttl: '15m' });
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

async function asAdmin(method: string, logical: string, body?: unknown): Promise<StackResponse> {
  const res = await env.stack.request(method, logical, { token: env.admin, ...(body !== undefined ? { body } : {}) });
  expect(res.status, `${method} ${logical}: ${res.text}`).toBeLessThan(300);
  return res;
}

const call = (token: string, method: string, logical: string, body?: unknown): Promise<StackResponse> =>
  env.stack.request(method, logical, { token, ...(body !== undefined ? { body } : {}) });

/** The operator's login: its own Entra token for the mount's resource, through a role bound to it. */
async function operatorLogin(role: string, oid = OPERATOR_OID): Promise<{ token: string; res: StackResponse }> {
  const jwt = await env.stack.emulator.entra.mintToken({ tenant: env.tenant, audience: RESOURCE, oid });
  const res = await env.stack.request('POST', 'auth/azure/login', { body: { role, jwt } });
  expect(res.status, res.text).toBe(200);
  return { token: (authOf(res).client_token as string) ?? '', res };
}

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

describe('the documented operator: auth/azure/role/* and sys/policies/acl/*', () => {
  it('logs in with its Entra token and gets exactly the operator policy', async () => {
    const { res } = await operatorLogin('operator');
    expect(authOf(res)).toMatchObject({ policies: ['azauth-operator', 'default'], token_policies: ['azauth-operator', 'default'], lease_duration: 900 });
    // Another principal cannot use the operator's role.
    const jwt = await env.stack.emulator.entra.mintToken({ tenant: env.tenant, audience: RESOURCE, oid: randomUUID() });
    expect((await env.stack.request('POST', 'auth/azure/login', { body: { role: 'operator', jwt } })).status).toBe(403);
  });

  it('manages roles: create, read, list, update, delete', async () => {
    const { token } = await operatorLogin('operator');
    const role = unique('app');
    expect((await call(token, 'POST', `auth/azure/role/${role}`, { bound_service_principal_ids: [randomUUID()], token_policies: ['app-web'] })).status).toBe(204);
    expect(dataOf(await call(token, 'GET', `auth/azure/role/${role}`)).token_policies).toEqual(['app-web']);
    expect(dataOf(await call(token, 'GET', 'auth/azure/role?list=true')).keys).toContain(role);
    expect((await call(token, 'POST', `auth/azure/role/${role}`, { token_ttl: '1h' })).status).toBe(204);
    expect((await call(token, 'DELETE', `auth/azure/role/${role}`)).status).toBe(204);
    expect((await call(token, 'GET', `auth/azure/role/${role}`)).status).toBe(404);
  });

  it('manages policies: write, read, list, delete', async () => {
    const { token } = await operatorLogin('operator');
    const name = unique('app');
    const text = 'path "auth/token/lookup-self" { capabilities = ["read"] }';
    expect((await call(token, 'PUT', `sys/policies/acl/${name}`, { policy: text })).status).toBe(204);
    expect(dataOf(await call(token, 'GET', `sys/policies/acl/${name}`)).policy).toBe(text);
    expect(dataOf(await call(token, 'GET', 'sys/policies/acl?list=true')).keys).toContain(name);
    expect((await call(token, 'DELETE', `sys/policies/acl/${name}`)).status).toBe(204);
  });

  it('is refused everything else: config, sys/auth, mounts, tokens, KV, the legacy policy path, keys', async () => {
    const { token } = await operatorLogin('operator');
    const refused: [string, string, unknown?][] = [
      ['GET', 'auth/azure/config'],
      ['POST', 'auth/azure/config', { tenant_id: env.tenant }],
      ['DELETE', 'auth/azure/config'],
      ['POST', 'auth/azure/rotate-root'],
      ['GET', 'sys/auth'],
      ['POST', `sys/auth/${unique('m')}`, { type: 'azure' }],
      ['DELETE', 'sys/auth/azure'],
      ['GET', 'sys/mounts'],
      ['POST', 'sys/mounts/kv', { type: 'kv', options: { version: '2' } }],
      ['POST', 'auth/token/create', { policies: ['azauth-operator', 'admin'] }],
      ['POST', 'auth/token/create', {}],
      ['POST', 'auth/token/create-orphan', { policies: ['azauth-operator'] }],
      ['GET', 'auth/token/accessors?list=true'],
      ['POST', 'auth/token/revoke-accessor', { accessor: 'x' }],
      ['GET', 'secret/data/app'],
      ['POST', 'secret/data/app', { data: { a: 1 } }],
      ['GET', 'sys/policy'],
      ['POST', 'sys/policy/app-x', { policy: 'path "a" {}' }],
      ['POST', 'sys/rotate'],
      ['GET', 'sys/key-status'],
      ['POST', 'sys/capabilities', { token: env.admin, path: 'x' }],
      ['POST', 'sys/capabilities-accessor', { accessor: 'x', path: 'x' }],
      ['POST', 'sys/audit-hash/file', { input: 'x' }],
    ];
    for (const [method, logical, body] of refused) {
      const res = await call(token, method, logical, body);
      expect(res.status, `${method} ${logical}: ${res.text}`).toBe(403);
      expectPlainDenial(res);
    }
    // What default gives it still works: its own lookup and capabilities.
    expect((await call(token, 'GET', 'auth/token/lookup-self')).status).toBe(200);
    expect(dataOf(await call(token, 'POST', 'sys/capabilities-self', { paths: ['auth/azure/role/x', 'sys/auth/x'] }))).toEqual({
      'auth/azure/role/x': ['create', 'delete', 'list', 'read', 'update'],
      'sys/auth/x': ['deny'],
    });
  });

  it('where it may create tokens, only with a subset of its own policies, never an orphan', async () => {
    await asAdmin('PUT', 'sys/policies/acl/azauth-token-maker', { policy: 'path "auth/token/create" { capabilities = ["update"] }' });
    const role = unique('op-tokens');
    await asAdmin('POST', `auth/azure/role/${role}`, { bound_service_principal_ids: [OPERATOR_OID], token_policies: ['azauth-operator', 'azauth-token-maker'] });
    const { token } = await operatorLogin(role);
    expectBadRequest(await call(token, 'POST', 'auth/token/create', { policies: ['admin'] }), 'child policies must be subset of parent');
    expectBadRequest(await call(token, 'POST', 'auth/token/create', { policies: ['root'] }), 'child policies must be subset of parent');
    expectBadRequest(await call(token, 'POST', 'auth/token/create', { no_parent: true }), 'root or sudo privileges required to create orphan token');
    const child = await call(token, 'POST', 'auth/token/create', { policies: ['azauth-operator'], ttl: '5m' });
    expect(child.status, child.text).toBe(200);
    expect(authOf(child)).toMatchObject({ policies: ['azauth-operator', 'default'], orphan: false });
  });

  it('Entra admins stay root', async () => {
    expect((await call(env.admin, 'GET', 'sys/auth')).status).toBe(200);
    expect(dataOf(await call(env.admin, 'POST', 'sys/capabilities-self', { path: 'sys/auth/x' })).capabilities).toEqual(['root']);
    expect(dataOf(await call(env.admin, 'GET', 'sys/internal/ui/resultant-acl'))).toEqual({ root: true });
  });

  it('what it does not prevent: writing a policy and a role bound to itself gives it anything but root', async () => {
    const { token } = await operatorLogin('operator');
    const policy = unique('self-granted');
    expect((await call(token, 'PUT', `sys/policies/acl/${policy}`, { policy: 'path "sys/auth" { capabilities = ["read"] }' })).status).toBe(204);
    const role = unique('self');
    expect((await call(token, 'POST', `auth/azure/role/${role}`, { bound_service_principal_ids: [OPERATOR_OID], token_policies: [policy] })).status).toBe(204);
    const escalated = (await operatorLogin(role)).token;
    expect((await call(escalated, 'GET', 'sys/auth')).status).toBe(200);
    // root itself stays out of reach: a role cannot carry it, a policy cannot be named so.
    expectBadRequest(await call(token, 'POST', `auth/azure/role/${role}`, { token_policies: ['root'] }), /cannot contain "root"/);
    expectBadRequest(await call(token, 'PUT', 'sys/policies/acl/root', { policy: 'path "*" { capabilities = ["sudo"] }' }), 'cannot update "root" policy');
  });
});

describe('the narrower pattern: roles of the app-* family giving app-* policies only', () => {
  it('writes app-* roles with app-* policies and nothing else; reads policies, cannot write them', async () => {
    await asAdmin('PUT', 'sys/policies/acl/app-web', { policy: 'path "auth/token/lookup-self" { capabilities = ["read"] }' });
    const { token, res } = await operatorLogin('role-operator');
    expect(authOf(res).policies).toEqual(['azauth-role-operator', 'default']);
    const role = unique('app-web');
    const workload = randomUUID();
    expect((await call(token, 'POST', `auth/azure/role/${role}`, { bound_service_principal_ids: [workload], token_policies: ['app-web', 'default'] })).status).toBe(204);
    expect(dataOf(await call(token, 'GET', `auth/azure/role/${role}`)).token_policies).toEqual(['app-web', 'default']);
    expect(dataOf(await call(token, 'GET', 'auth/azure/role?list=true')).keys).toContain(role);
    expect(dataOf(await call(token, 'GET', 'sys/policies/acl/app-web')).policy).toContain('lookup-self');
    expect(dataOf(await call(token, 'GET', 'sys/policies/acl?list=true')).keys).toContain('app-web');
    // The workload of that role logs in with what the role operator chose.
    const { res: workloadLogin } = await operatorLogin(role, workload);
    expect(authOf(workloadLogin).policies).toEqual(['app-web', 'default']);

    const refused: [string, string, unknown?][] = [
      // Policies outside app-*, in every form a role write can carry them.
      ['POST', `auth/azure/role/${unique('app-x')}`, { bound_service_principal_ids: [workload], token_policies: ['azauth-operator'] }],
      ['POST', `auth/azure/role/${unique('app-x')}`, { bound_service_principal_ids: [workload], token_policies: 'app-web,azauth-operator' }],
      ['POST', `auth/azure/role/${unique('app-x')}`, { bound_service_principal_ids: [workload], policies: ['azauth-operator'] }],
      ['POST', `auth/azure/role/${unique('app-x')}`, { bound_service_principal_ids: [workload], policies: 'app-web' }],
      // Roles outside app-*, its own included.
      ['POST', 'auth/azure/role/operator', { token_policies: ['app-web'] }],
      ['GET', 'auth/azure/role/operator'],
      ['DELETE', 'auth/azure/role/role-operator'],
      // Policies: read only.
      ['PUT', 'sys/policies/acl/app-web', { policy: 'path "*" { capabilities = ["sudo", "read"] }' }],
      ['DELETE', 'sys/policies/acl/app-web'],
      ['PUT', 'sys/policies/acl/azauth-role-operator', { policy: 'path "*" { capabilities = ["read"] }' }],
      ['GET', 'sys/policies/acl/azauth-operator'],
    ];
    for (const [method, logical, body] of refused) {
      const answer = await call(token, method, logical, body);
      expect(answer.status, `${method} ${logical} ${JSON.stringify(body)}: ${answer.text}`).toBe(403);
      expectPlainDenial(answer);
    }
  });

  it('a path trick cannot step outside app-*: encoded slashes and dot segments', async () => {
    const { token } = await operatorLogin('role-operator');
    // An encoded "/" passes the ACL as app-… and is refused as a name; nothing happens to "operator".
    const encoded = await call(token, 'GET', 'auth/azure/role/app-x%2F..%2Foperator');
    expect(encoded.status).toBe(400);
    // Dot segments are resolved before the ACL sees the path (the URL is normalised first).
    const dotted = await rawRequest(token, 'GET', '/v1/auth/azure/role/app-x/../operator');
    expect(dotted.status).toBe(403);
    // A policy name with an encoded traversal passes the ACL as app-… (the ACL sees the decoded
    // path) and is refused as a name (the route keeps %2F encoded, as Kestrel does).
    expectBadRequest(await call(token, 'GET', 'sys/policies/acl/app-x%2F..%2F..%2Fazauth-operator'), /^invalid policy name "app-x%2f\.\.%2f\.\.%2fazauth-operator": contains one of/);
    expect(dataOf(await call(env.admin, 'GET', 'auth/azure/role/operator')).token_policies).toEqual(['azauth-operator']);
  });
});

/** A request whose path goes on the wire exactly as given (fetch would resolve the dot segments). */
function rawRequest(token: string, method: string, target: string): Promise<{ status: number; text: string }> {
  const url = new URL(env.stack.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: target, headers: { 'X-Vault-Token': token }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
