/**
 * Every auth/token/* endpoint and rule through real HTTP: the local Functions host (built dist/),
 * embedded Azurite and the cloud emulator, via the shared stack.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../shared/tokens/format';
import { TABLES } from '../../shared/storage/tables';
import { startStack, type Stack } from '../support/stack';
import {
  authOf,
  createToken,
  dataOf,
  errorsOf,
  expectBadRequest,
  expectInvalidToken,
  expectPlainDenial,
  login,
  makeRole,
  prepareMount,
  requestFrom,
  RESOURCE,
  sleep,
  warningsOf,
  type TokenEnv,
} from './http-support';

const MASTER_KEY = randomBytes(32).toString('base64url');
let stack: Stack | undefined;
let env: TokenEnv;

beforeAll(async () => {
  stack = await startStack({ env: { AzureWebJobsSecretMasterKey: MASTER_KEY } });
  env = await prepareMount(stack);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

const req = (method: string, path: string, token?: string, body?: unknown) =>
  env.stack.request(method, path, { ...(token !== undefined ? { token } : {}), ...(body !== undefined ? { body } : {}) });

describe('lookup-self', () => {
  it('answers GET (and POST where a policy grants update) with Vault\'s keys and JSON types', async () => {
    const lookupByPost = `lookup-post-${Date.now()}`;
    const policy = await req('PUT', `sys/policies/acl/${lookupByPost}`, env.admin, { policy: 'path "auth/token/lookup-self" { capabilities = ["update"] }' });
    expect(policy.status, policy.text).toBe(204);
    const role = await makeRole(env, { token_ttl: '1h', token_policies: `App, web, ${lookupByPost}` });
    const { token, accessor, oid } = await login(env, role);
    for (const method of ['GET', 'POST']) {
      const res = await req(method, 'auth/token/lookup-self', token);
      expect(res.status, res.text).toBe(200);
      expect((res.json as { mount_type: string }).mount_type).toBe('token');
      const data = dataOf(res);
      expect(data).toMatchObject({
        id: token,
        accessor,
        policies: ['app', 'default', lookupByPost, 'web'],
        path: 'auth/azure/login',
        meta: { role, resource_group_name: '', subscription_id: '' },
        display_name: `azure-${oid}`,
        num_uses: 0,
        orphan: true,
        creation_ttl: 3600,
        explicit_max_ttl: 0,
        type: 'service',
        renewable: true,
      });
      expect(typeof data.creation_time).toBe('number');
      expect(Number.isInteger(data.ttl)).toBe(true);
      expect(data.ttl as number).toBeGreaterThan(3590);
      expect(data.ttl as number).toBeLessThanOrEqual(3600);
      expect(new Date(data.expire_time as string).getTime() - new Date(data.issue_time as string).getTime()).toBe(3600_000);
      expect(data.entity_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(data).not.toHaveProperty('period');
      expect(data).not.toHaveProperty('bound_cidrs');
    }
  });

  it('refuses dead and malformed tokens with 403 "permission denied" + "invalid token"', async () => {
    const role = await makeRole(env, { token_ttl: '1s' });
    const expiring = await login(env, role);
    const revoked = await login(env, await makeRole(env));
    expect((await req('POST', 'auth/token/revoke-self', revoked.token)).status).toBe(204);
    const batch = await login(env, await makeRole(env, { token_type: 'batch' }));
    const raw = Buffer.from(batch.token.slice(4), 'base64url');
    raw[raw.length - 20] = raw[raw.length - 20]! ^ 0x01;
    await sleep(1200);
    for (const bad of [
      expiring.token,
      revoked.token,
      `hvb.${raw.toString('base64url')}`,
      `hvs.${'A'.repeat(43)}`,
      `hvs.${'A'.repeat(10 * 1024)}`,
      `hvb.${'A'.repeat(10 * 1024)}`,
      `s.${'A'.repeat(24)}`,
      'not-a-token',
    ]) {
      expectInvalidToken(await req('GET', 'auth/token/lookup-self', bad));
    }
    // No token at all: plain permission denied.
    expectPlainDenial(await req('GET', 'auth/token/lookup-self'));
  });

  it('lets a batch token look itself up; it has no accessor and is not renewable', async () => {
    const { token } = await login(env, await makeRole(env, { token_type: 'batch', token_ttl: '10m' }));
    expect(token.startsWith('hvb.')).toBe(true);
    const data = dataOf(await req('GET', 'auth/token/lookup-self', token));
    expect(data).toMatchObject({ id: token, accessor: '', type: 'batch', renewable: false, creation_ttl: 600, orphan: true });
  });
});

describe('renew-self', () => {
  it('answers with an auth block; increment 0 means the role\'s token_ttl', async () => {
    const role = await makeRole(env, { token_ttl: '30m', token_max_ttl: '2h' });
    const { token, accessor } = await login(env, role);
    const res = await req('PUT', 'auth/token/renew-self', token, { increment: 0 });
    expect(res.status, res.text).toBe(200);
    expect((res.json as { data: unknown }).data).toBeNull();
    expect(authOf(res)).toMatchObject({ client_token: token, accessor, lease_duration: 1800, renewable: true, token_type: 'service' });
    const data = dataOf(await req('GET', 'auth/token/lookup-self', token));
    expect(typeof data.last_renewal_time).toBe('number');
    expect(typeof data.last_renewal).toBe('string');
  });

  it('caps an increment at the max TTL: 200 with the shorter TTL and a warning', async () => {
    const role = await makeRole(env, { token_ttl: '1h', token_max_ttl: '2h' });
    const { token } = await login(env, role);
    const res = await req('POST', 'auth/token/renew-self', token, { increment: '5h' });
    expect(res.status, res.text).toBe(200);
    const ttl = authOf(res).lease_duration as number;
    expect(ttl).toBeGreaterThan(7190);
    expect(ttl).toBeLessThanOrEqual(7200);
    expect(warningsOf(res)[0]).toMatch(/^TTL of "5h" exceeded the effective max_ttl of "1h59m\d+s|2h"; TTL value is capped accordingly$/);
    // Within the max, the increment is taken as asked.
    expect(authOf(await req('POST', 'auth/token/renew-self', token, { increment: 600 })).lease_duration).toBe(600);
  });

  it('periodic tokens reset to the period and ignore the increment', async () => {
    const role = await makeRole(env, { token_period: '10m', token_ttl: '1h' });
    const { token, res } = await login(env, role);
    expect(authOf(res).lease_duration).toBe(600);
    expect(dataOf(await req('GET', 'auth/token/lookup-self', token)).period).toBe(600);
    const renewed = await req('POST', 'auth/token/renew-self', token, { increment: 7200 });
    expect(authOf(renewed).lease_duration).toBe(600);
    expect(warningsOf(renewed)).toEqual([]);
  });

  it('explicit_max_ttl is a hard cap, at login and at renewal', async () => {
    const role = await makeRole(env, { token_explicit_max_ttl: '5m', token_ttl: '1h' });
    const { token, res } = await login(env, role);
    expect(authOf(res).lease_duration).toBe(300);
    expect(warningsOf(res)[0]).toContain('exceeded the effective max_ttl of "5m"');
    const renewed = await req('POST', 'auth/token/renew-self', token, { increment: 3600 });
    expect(renewed.status).toBe(200);
    expect(authOf(renewed).lease_duration as number).toBeLessThanOrEqual(300);
    expect(dataOf(await req('GET', 'auth/token/lookup-self', token)).explicit_max_ttl).toBe(300);
  });

  it('re-reads the role: its current token_ttl applies, and a deleted role fails with Vault\'s message', async () => {
    const role = await makeRole(env, { token_ttl: '1h' });
    const { token } = await login(env, role);
    expect((await req('POST', `auth/azure/role/${role}`, env.admin, { bound_service_principal_ids: [env.oid], token_ttl: '20m' })).status).toBe(204);
    expect(authOf(await req('POST', 'auth/token/renew-self', token)).lease_duration).toBe(1200);
    expect((await req('DELETE', `auth/azure/role/${role}`, env.admin)).status).toBe(204);
    // A role read serves renewals of that role for one second (see README): then the deletion shows.
    await sleep(1100);
    expectBadRequest(await req('POST', 'auth/token/renew-self', token), `role ${role} does not exist during renewal`);
  });

  it('refuses batch tokens, bad increments and GET', async () => {
    const batch = await login(env, await makeRole(env, { token_type: 'batch' }));
    expectBadRequest(await req('POST', 'auth/token/renew-self', batch.token), 'batch tokens cannot be renewed');
    const { token } = await login(env, await makeRole(env));
    expectBadRequest(await req('POST', 'auth/token/renew-self', token, { increment: -5 }), /negative value '-5'/);
    expectBadRequest(await req('POST', 'auth/token/renew-self', token, { increment: 'soon' }), /invalid duration "soon"/);
    // The ACL comes first: default grants only update on renew-self, so a GET is denied; root gets 405.
    expectPlainDenial(await req('GET', 'auth/token/renew-self', token));
    const root = await createToken(env, { policies: ['root'] });
    expect((await req('GET', 'auth/token/renew-self', root.token)).status).toBe(405);
  });

  it('a POST to lookup-self is an update, which the default policy does not grant', async () => {
    const { token } = await login(env, await makeRole(env));
    expectPlainDenial(await req('POST', 'auth/token/lookup-self', token));
  });

  it('a token that was not issued renewable cannot be renewed', async () => {
    const created = await createToken(env, { policies: ['p'], renewable: false, ttl: '1h' });
    expectBadRequest(await req('POST', 'auth/token/renew-self', created.token), 'lease is not renewable');
  });
});

describe('revoke-self', () => {
  it('revokes (204) and the token is gone, accessor included', async () => {
    const { token, accessor } = await login(env, await makeRole(env));
    const res = await req('POST', 'auth/token/revoke-self', token, {});
    expect(res.status, res.text).toBe(204);
    expectInvalidToken(await req('GET', 'auth/token/lookup-self', token));
    expectBadRequest(await req('POST', 'auth/token/lookup-accessor', env.admin, { accessor }), 'invalid accessor');
    const entity = await env.stack.table(TABLES.tokens).getEntity(partitionOf(accessor), accessor).catch((e: { statusCode?: number }) => e.statusCode);
    expect(entity).toBe(404);
  });

  it('batch tokens cannot be revoked', async () => {
    const { token } = await login(env, await makeRole(env, { token_type: 'batch' }));
    expectBadRequest(await req('POST', 'auth/token/revoke-self', token), 'batch tokens cannot be revoked');
  });
});

describe('admin endpoints', () => {
  it('lookup: by token (Vault\'s "bad token" 403 when unknown), missing token → 400, needs an admin', async () => {
    const { token } = await login(env, await makeRole(env));
    expect(dataOf(await req('POST', 'auth/token/lookup', env.admin, { token })).id).toBe(token);
    const unknown = await req('POST', 'auth/token/lookup', env.admin, { token: `hvs.${'B'.repeat(43)}` });
    expect(unknown.status).toBe(403);
    expect(errorsOf(unknown)).toBe('bad token');
    expectBadRequest(await req('POST', 'auth/token/lookup', env.admin, {}), 'missing token ID');
    // A root-token admin without `token` looks up its own token.
    const root = await createToken(env, { policies: ['root'] });
    expect(dataOf(await req('POST', 'auth/token/lookup', root.token, {})).id).toBe(root.token);
    // A live token without the root policy is not an admin: plain permission denied, no re-login.
    const other = await login(env, await makeRole(env));
    expectPlainDenial(await req('POST', 'auth/token/lookup', other.token, { token }));
  });

  it('lookup-accessor: id is empty; missing and unknown accessors are 400s, another mount\'s accessor too', async () => {
    const { token, accessor } = await login(env, await makeRole(env));
    const data = dataOf(await req('POST', 'auth/token/lookup-accessor', env.admin, { accessor }));
    expect(data).toMatchObject({ id: '', accessor, type: 'service' });
    expect(JSON.stringify(data)).not.toContain(token);
    expectBadRequest(await req('POST', 'auth/token/lookup-accessor', env.admin, {}), 'missing accessor');
    expectBadRequest(await req('POST', 'auth/token/lookup-accessor', env.admin, { accessor: 'A'.repeat(24) }), 'invalid accessor');
    const mounts = dataOf(await req('GET', 'sys/auth', env.admin));
    const mountAccessor = (mounts['azure/'] as { accessor: string }).accessor;
    expect(mountAccessor).toMatch(/^auth_azure_/);
    expectBadRequest(await req('POST', 'auth/token/lookup-accessor', env.admin, { accessor: mountAccessor }), 'invalid accessor');
  });

  it('renew and renew-accessor: auth block, client_token hidden by accessor', async () => {
    const role = await makeRole(env, { token_ttl: '15m' });
    const { token, accessor } = await login(env, role);
    const byToken = await req('POST', 'auth/token/renew', env.admin, { token, increment: 60 });
    expect(authOf(byToken)).toMatchObject({ client_token: token, lease_duration: 60 });
    const byAccessor = await req('POST', 'auth/token/renew-accessor', env.admin, { accessor, increment: '2m' });
    expect(authOf(byAccessor)).toMatchObject({ client_token: '', accessor, lease_duration: 120 });
    expectBadRequest(await req('POST', 'auth/token/renew', env.admin, {}), 'missing token ID');
    expectBadRequest(await req('POST', 'auth/token/renew', env.admin, { token: `hvs.${'C'.repeat(43)}` }), 'token not found');
    expectBadRequest(await req('POST', 'auth/token/renew-accessor', env.admin, { accessor: 'x' }), 'invalid accessor');
  });

  it('revoke: 204 also for an unknown token; batch 400; revoke-accessor of an unknown accessor: 200 + warning', async () => {
    const { token, accessor } = await login(env, await makeRole(env));
    expect((await req('POST', 'auth/token/revoke', env.admin, { token })).status).toBe(204);
    expectInvalidToken(await req('GET', 'auth/token/lookup-self', token));
    expect((await req('POST', 'auth/token/revoke', env.admin, { token })).status).toBe(204);
    expectBadRequest(await req('POST', 'auth/token/revoke', env.admin, {}), 'missing token ID');
    const batch = await login(env, await makeRole(env, { token_type: 'batch' }));
    expectBadRequest(await req('POST', 'auth/token/revoke', env.admin, { token: batch.token }), 'batch tokens cannot be revoked');

    const second = await login(env, await makeRole(env));
    expect((await req('POST', 'auth/token/revoke-accessor', env.admin, { accessor: second.accessor })).status).toBe(204);
    expectInvalidToken(await req('GET', 'auth/token/lookup-self', second.token));
    const unknown = await req('POST', 'auth/token/revoke-accessor', env.admin, { accessor });
    expect(unknown.status).toBe(200);
    expect(warningsOf(unknown)).toEqual(['No token found with this accessor']);
    expectBadRequest(await req('POST', 'auth/token/revoke-accessor', env.admin, {}), 'missing accessor');
  });

  it('accessors: GET ?list=true lists live accessors (admin only)', async () => {
    const { token, accessor } = await login(env, await makeRole(env));
    const res = await req('GET', 'auth/token/accessors?list=true', env.admin);
    expect(res.status, res.text).toBe(200);
    expect((dataOf(res).keys as string[])).toContain(accessor);
    expectPlainDenial(await req('GET', 'auth/token/accessors?list=true', token));
    expect((await req('GET', 'auth/token/accessors', env.admin)).status).toBe(405);
  });
});

describe('create', () => {
  it('issues an orphan service token with the given settings', async () => {
    const { res, token, accessor } = await createToken(env, {
      policies: 'Reader, writer',
      ttl: '2h',
      explicit_max_ttl: '3h',
      num_uses: 7,
      renewable: true,
      display_name: 'ci job#1',
      meta: { team: 'infra' },
    });
    expect(authOf(res)).toMatchObject({ lease_duration: 7200, policies: ['default', 'reader', 'writer'], num_uses: 7, orphan: true, renewable: true, metadata: { team: 'infra' } });
    const data = dataOf(await req('POST', 'auth/token/lookup-accessor', env.admin, { accessor }));
    expect(data).toMatchObject({ path: 'auth/token/create', display_name: 'token-ci-job-1', explicit_max_ttl: 10800, num_uses: 7, creation_ttl: 7200, meta: { team: 'infra' } });
    expect(token).toMatch(/^hvs\./);
  });

  it('periodic and batch tokens; Vault\'s refusals', async () => {
    const periodic = await createToken(env, { policies: ['p'], period: '15m', ttl: '1h' });
    expect(authOf(periodic.res).lease_duration).toBe(900);
    const batch = await createToken(env, { policies: ['p'], type: 'batch', ttl: '5m' });
    expect(authOf(batch.res)).toMatchObject({ token_type: 'batch', accessor: '', renewable: false, lease_duration: 300 });
    expectBadRequest(await req('POST', 'auth/token/create', env.admin, { type: 'batch', num_uses: 2 }), 'batch tokens cannot have "num_uses" set');
    expectBadRequest(await req('POST', 'auth/token/create', env.admin, { type: 'weird' }), "invalid 'token_type' value");
    expectBadRequest(await req('POST', 'auth/token/create', env.admin, { num_uses: -1 }), 'number of uses cannot be negative');
    expectBadRequest(await req('POST', 'auth/token/create', env.admin, { id: 'my-token' }), /custom token IDs are not supported/);
    expectBadRequest(await req('POST', 'auth/token/create', env.admin, { ttl: 'forever' }), /invalid duration "forever"/);
  });

  it('warns about unknown fields and caps a TTL above the system max (Vault answers 200)', async () => {
    const res = await req('POST', 'auth/token/create', env.admin, { policies: ['p'], ttl: '1000h', colour: 'blue' });
    expect(res.status, res.text).toBe(200);
    expect(authOf(res).lease_duration).toBe(768 * 3600);
    const warnings = warningsOf(res);
    expect(warnings).toContain('Endpoint ignored these unrecognized parameters: [colour]');
    expect(warnings).toContain('TTL of "1000h" exceeded the effective max_ttl of "768h"; TTL value is capped accordingly');
  });

  it('a root token never expires and is an admin; a token without root is not', async () => {
    const root = await createToken(env, { policies: ['root'] });
    expect(authOf(root.res)).toMatchObject({ policies: ['root'], lease_duration: 0, renewable: false });
    const self = dataOf(await req('GET', 'auth/token/lookup-self', root.token));
    expect(self).toMatchObject({ ttl: 0, expire_time: null, renewable: false });
    expect((await req('GET', 'auth/azure/config', root.token)).status).toBe(200);
    // A root token creating without policies passes its own on, as Vault does.
    const child = await req('POST', 'auth/token/create', root.token, {});
    expect(authOf(child).policies).toEqual(['root']);
    expectBadRequest(await req('POST', 'auth/token/renew-self', root.token), 'lease is not renewable');

    const plain = await createToken(env, { policies: ['ops'] });
    expectPlainDenial(await req('GET', 'auth/azure/config', plain.token));
    expectPlainDenial(await req('POST', 'auth/token/create', plain.token, {}));
    // An expiring root token may not mint a non-expiring one.
    const expiringRoot = await createToken(env, { policies: ['root'], ttl: '1h' });
    expectBadRequest(await req('POST', 'auth/token/create', expiringRoot.token, {}), 'expiring root tokens cannot create non-expiring root tokens');
  });
});

describe('token tree', () => {
  const lookupSelf = (token: string) => req('GET', 'auth/token/lookup-self', token);

  it('a limited-use token cannot create children, not even on its last use (issue 10, item 3)', async () => {
    const once = await createToken(env, { policies: ['root'], num_uses: 1 });
    expectBadRequest(await req('POST', 'auth/token/create', once.token, { policies: ['root'] }), 'restricted use token cannot generate child tokens');
    // That request was its one use: the token is gone and minted nothing.
    expectInvalidToken(await req('POST', 'auth/token/create', once.token, { policies: ['root'] }));
    const twice = await createToken(env, { policies: ['root'], num_uses: 2 });
    expectBadRequest(await req('POST', 'auth/token/create', twice.token, {}), 'restricted use token cannot generate child tokens');
    expectBadRequest(await req('POST', 'auth/token/create-orphan', twice.token, {}), 'restricted use token cannot generate child tokens');
  });

  it('children are not orphans; revoking a parent revokes its whole subtree and nothing else', async () => {
    const root = await createToken(env, { policies: ['root'] });
    const child = await req('POST', 'auth/token/create', root.token, {});
    expect(authOf(child)).toMatchObject({ policies: ['root'], orphan: false });
    const childToken = String(authOf(child).client_token);
    const grandchild = String(authOf(await req('POST', 'auth/token/create', childToken, { policies: ['p'] })).client_token);
    const sibling = String(authOf(await req('POST', 'auth/token/create', root.token, { policies: ['p'] })).client_token);
    expect(dataOf(await lookupSelf(grandchild))).toMatchObject({ orphan: false, policies: ['default', 'p'] });

    expect((await req('POST', 'auth/token/revoke', env.admin, { token: childToken })).status).toBe(204);
    expectInvalidToken(await lookupSelf(childToken));
    expectInvalidToken(await lookupSelf(grandchild));
    expect((await lookupSelf(sibling)).status).toBe(200);
    expect((await lookupSelf(root.token)).status).toBe(200);
    // revoke-self of the root takes the rest of the tree with it.
    expect((await req('POST', 'auth/token/revoke-self', root.token)).status).toBe(204);
    expectInvalidToken(await lookupSelf(sibling));
  });

  it('revoke-orphan revokes one token; its children live on as orphans', async () => {
    const root = await createToken(env, { policies: ['root'] });
    const middle = String(authOf(await req('POST', 'auth/token/create', root.token, {})).client_token);
    const below = String(authOf(await req('POST', 'auth/token/create', middle, {})).client_token);
    const deepest = String(authOf(await req('POST', 'auth/token/create', below, { policies: ['p'] })).client_token);
    expectBadRequest(await req('POST', 'auth/token/revoke-orphan', root.token, { token: 'hvs.' + 'x'.repeat(43) }), 'token to revoke not found');
    expect((await req('POST', 'auth/token/revoke-orphan', root.token, { token: middle })).status).toBe(204);
    expectInvalidToken(await lookupSelf(middle));
    expect(dataOf(await lookupSelf(below))).toMatchObject({ orphan: true });
    expect(dataOf(await lookupSelf(deepest))).toMatchObject({ orphan: false });
    // The cut tree no longer hangs off the root: revoking the root leaves it alone.
    expect((await req('POST', 'auth/token/revoke', env.admin, { token: root.token })).status).toBe(204);
    expect((await lookupSelf(below)).status).toBe(200);
    expect((await lookupSelf(deepest)).status).toBe(200);
    expect((await req('POST', 'auth/token/revoke', env.admin, { token: below })).status).toBe(204);
    expectInvalidToken(await lookupSelf(deepest));
  });

  it('an expired parent ends its descendants at once', async () => {
    const parent = await createToken(env, { policies: ['root'], ttl: '2s' });
    const created = authOf(await req('POST', 'auth/token/create', parent.token, { policies: ['p'], ttl: '1h' }));
    const child = String(created.client_token);
    const accessor = String(created.accessor);
    expect((await lookupSelf(child)).status).toBe(200);
    await sleep(2500);
    expectInvalidToken(await lookupSelf(child));
    // Looked at by others, by token or by accessor, it is gone the same way (Vault revoked the tree).
    const byToken = await req('POST', 'auth/token/lookup', env.admin, { token: child });
    expect(byToken.status, byToken.text).toBe(403);
    expect(errorsOf(byToken)).toBe('bad token');
    expectBadRequest(await req('POST', 'auth/token/lookup-accessor', env.admin, { accessor }), 'invalid accessor');
    expectBadRequest(await req('POST', 'auth/token/renew', env.admin, { token: child }), 'token not found');
    expectInvalidToken(await lookupSelf(child));
  });

  it('orphans only through no_parent or create-orphan', async () => {
    const root = await createToken(env, { policies: ['root'] });
    expect(authOf(await req('POST', 'auth/token/create', root.token, { no_parent: true }))).toMatchObject({ orphan: true });
    const orphan = await req('POST', 'auth/token/create-orphan', root.token, { policies: ['p'] });
    expect(authOf(orphan)).toMatchObject({ orphan: true, policies: ['default', 'p'] });
    expect(dataOf(await lookupSelf(String(authOf(orphan).client_token)))).toMatchObject({ path: 'auth/token/create-orphan', orphan: true });
    // Revoking the root does not reach an orphan it created.
    expect((await req('POST', 'auth/token/revoke-self', root.token)).status).toBe(204);
    expect((await lookupSelf(String(authOf(orphan).client_token))).status).toBe(200);
  });
});

describe('use counting and bound CIDRs', () => {
  it('with token_num_uses = 3, exactly 3 of 50 racing requests succeed; the last use deletes the token', async () => {
    const { token, accessor } = await login(env, await makeRole(env, { token_num_uses: 3 }));
    const answers = await Promise.all(Array.from({ length: 50 }, () => req('GET', 'auth/token/lookup-self', token)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    for (const a of answers.filter((x) => x.status !== 200)) expectInvalidToken(a);
    const gone = await env.stack.table(TABLES.tokens).getEntity(partitionOf(accessor), accessor).catch((e: { statusCode?: number }) => e.statusCode);
    expect(gone).toBe(404);
  });

  it('token_bound_cidrs are enforced on every use, from the address the host saw (rightmost X-Forwarded-For)', async () => {
    const role = await makeRole(env, { token_bound_cidrs: ['127.0.0.2/32'] });
    const { token } = await login(env, role, { from: '127.0.0.2' });
    expect((await requestFrom(env.stack, '127.0.0.2', 'GET', 'auth/token/lookup-self', { token })).status).toBe(200);
    expect(dataOf(await requestFrom(env.stack, '127.0.0.2', 'GET', 'auth/token/lookup-self', { token })).bound_cidrs).toEqual(['127.0.0.2/32']);
    expectPlainDenial(await req('GET', 'auth/token/lookup-self', token));
    // A client-supplied X-Forwarded-For does not help: the host appends the real address after it.
    expectPlainDenial(await requestFrom(env.stack, '127.0.0.1', 'GET', 'auth/token/lookup-self', { token, headers: { 'X-Forwarded-For': '127.0.0.2' } }));
    expectPlainDenial(await req('POST', 'auth/token/renew-self', token));
  });
});

describe('mount disable', () => {
  it('revokes the tokens that mount issued and only those', async () => {
    const mount = `m${randomBytes(3).toString('hex')}`;
    expect((await req('POST', `sys/auth/${mount}`, env.admin, { type: 'azure' })).status).toBe(204);
    expect((await req('POST', `auth/${mount}/config`, env.admin, { tenant_id: env.tenant, resource: RESOURCE })).status).toBe(204);
    expect((await req('POST', `auth/${mount}/role/app`, env.admin, { bound_service_principal_ids: [env.oid] })).status).toBe(204);
    const jwt = await env.stack.emulator.entra.mintToken({ tenant: env.tenant, audience: RESOURCE, oid: env.oid });
    const issued: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await req('POST', `auth/${mount}/login`, undefined, { role: 'app', jwt });
      expect(res.status, res.text).toBe(200);
      issued.push(authOf(res).client_token as string);
    }
    const elsewhere = await login(env, await makeRole(env));
    expect((await req('DELETE', `sys/auth/${mount}`, env.admin)).status).toBe(204);
    for (const token of issued) expectInvalidToken(await req('GET', 'auth/token/lookup-self', token));
    expect((await req('GET', 'auth/token/lookup-self', elsewhere.token)).status).toBe(200);
  });
});

describe('tidy', () => {
  it('auth/token/tidy deletes expired tokens (200 with a warning), keeps live ones', async () => {
    const short = await login(env, await makeRole(env, { token_ttl: '1s' }));
    const live = await login(env, await makeRole(env, { token_ttl: '1h' }));
    await sleep(1200);
    const res = await req('POST', 'auth/token/tidy', env.admin);
    expect(res.status, res.text).toBe(200);
    expect(warningsOf(res)).toEqual(['Tidy operation successfully completed.']);
    expect(dataOf(res).expired_tokens_deleted as number).toBeGreaterThanOrEqual(1);
    const table = env.stack.table(TABLES.tokens);
    expect(await table.getEntity(partitionOf(short.accessor), short.accessor).catch((e: { statusCode?: number }) => e.statusCode)).toBe(404);
    expect((await table.getEntity(partitionOf(live.accessor), live.accessor)).rowKey).toBe(live.accessor);
    expectPlainDenial(await req('POST', 'auth/token/tidy', live.token));
  });

  it('the tidy timer runs on demand through /admin/functions/tidy with the master key', async () => {
    const short = await login(env, await makeRole(env, { token_ttl: '1s' }));
    await sleep(1200);
    const run = await env.stack.request('POST', '/admin/functions/tidy', { body: { input: '' }, headers: { 'x-functions-key': MASTER_KEY } });
    expect(run.status).toBe(202);
    const table = env.stack.table(TABLES.tokens);
    let status: unknown = 200;
    for (let i = 0; i < 50 && status !== 404; i++) {
      await sleep(100);
      status = await table.getEntity(partitionOf(short.accessor), short.accessor).then(
        () => 200,
        (e: { statusCode?: number }) => e.statusCode,
      );
    }
    expect(status).toBe(404);
    expect(env.stack.logs()).toContain('"type":"azauth.tidy"');
    expect((await env.stack.request('POST', '/admin/functions/tidy', { body: { input: '' } })).status).toBe(401);
  });
});
