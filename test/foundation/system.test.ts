import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { expectData, expectErrors } from './helpers';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('sys/health', () => {
  it('answers GET without a token, in Vault\'s shape', async () => {
    const res = await stack.request('GET', 'sys/health');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    const body = res.json as Record<string, unknown>;
    expect(body).toMatchObject({
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      enterprise: false,
    });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof body.cluster_name).toBe('string');
    expect(body.cluster_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs((body.server_time_utc as number) - Date.now() / 1000)).toBeLessThan(60);
    expect(body).not.toHaveProperty('request_id');
  });

  it('ignores any token sent to it (node-vault sends one)', async () => {
    expect((await stack.request('GET', 'sys/health', { token: 'garbage' })).status).toBe(200);
  });

  it('answers HEAD with the status and no body', async () => {
    const res = await stack.request('HEAD', 'sys/health');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect((await stack.request('HEAD', 'sys/health?activecode=299')).status).toBe(299);
  });

  it('parses Vault\'s query parameters: activecode applies, the standby/sealed ones are accepted', async () => {
    expect((await stack.request('GET', 'sys/health?activecode=299')).status).toBe(299);
    const res = await stack.request('GET', 'sys/health?standbyok=true&perfstandbyok=1&sealedcode=200&standbycode=200&uninitcode=200&drsecondarycode=200&performancestandbycode=200');
    expect(res.status).toBe(200);
    expect((res.json as Record<string, unknown>).initialized).toBe(true);
  });

  it.each(['standbyok=maybe', 'perfstandbyok=2', 'activecode=abc', 'sealedcode=99', 'standbycode=1000', 'uninitcode='])(
    'refuses %s with 400',
    async (query) => {
      const errors = expectErrors(await stack.request('GET', `sys/health?${query}`), 400);
      expect(errors[0]).toMatch(/^bad value for \w+ parameter/);
    },
  );

  it('answers 405 for other verbs', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) expect((await stack.request(method, 'sys/health')).status, method).toBe(405);
  });
});

describe('routes nothing serves', () => {
  // As in Vault, the ACL comes before routing: root learns the path does not exist, others are denied.
  it.each(['GET', 'POST', 'PUT', 'DELETE', 'PATCH'])('answer Vault\'s 404 for %s to root', async (method) => {
    const res = await stack.request(method, 'secret/data/foo', {
      token: await stack.adminToken(),
      ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }),
      ...(method === 'PATCH' ? { headers: { 'Content-Type': 'application/merge-patch+json' } } : {}),
    });
    expect(expectErrors(res, 404)).toEqual(['no handler for route "secret/data/foo". route entry not found.']);
  });

  it('answer 403 without a token, saying nothing about the path', async () => {
    expect(expectErrors(await stack.request('GET', 'secret/data/foo'), 403)).toEqual(['permission denied']);
  });

  it('name the decoded path', async () => {
    expect(expectErrors(await stack.request('GET', 'sys/nope%20here', { token: await stack.adminToken() }), 404)).toEqual(['no handler for route "sys/nope here". route entry not found.']);
  });
});

describe('Vault HTTP conventions', () => {
  it('sends Cache-Control: no-store, JSON and a trailing newline; errors carry only "errors"', async () => {
    const ok = await stack.request('GET', 'sys/auth', { token: await stack.adminToken() });
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.headers['content-type']).toContain('application/json');
    expect(ok.text.endsWith('}\n')).toBe(true);
    expect((ok.json as Record<string, unknown>).request_id).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await stack.request('GET', 'sys/auth');
    expect(failed.headers['cache-control']).toBe('no-store');
    expect(Object.keys(failed.json as object)).toEqual(['errors']);
  });

  it('takes the token from Authorization: Bearer when X-Vault-Token is absent, and X-Vault-Token wins', async () => {
    const token = await stack.adminToken();
    expect((await stack.request('GET', 'sys/auth', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const both = await stack.request('GET', 'sys/auth', { token: 'garbage', headers: { Authorization: `Bearer ${token}` } });
    expect(both.status).toBe(403);
    expect((await stack.request('GET', 'sys/auth', { headers: { Authorization: `Basic ${token}` } })).status).toBe(403);
  });

  it('treats a body without Content-Type as JSON, and POST like PUT', async () => {
    const token = await stack.adminToken();
    const res = await fetch(`${stack.url}/v1/auth/azure/role/noctype`, {
      method: 'PUT',
      headers: { 'X-Vault-Token': token },
      body: JSON.stringify({ bound_group_ids: 'g1' }),
    });
    expect(res.status).toBe(204);
    const read = await stack.request('GET', 'auth/azure/role/noctype', { token });
    expect(expectData(read).bound_group_ids).toEqual(['g1']);
  });

  it('refuses a body over the limit with 413 and stores nothing', async () => {
    const token = await stack.adminToken();
    const big = { bound_group_ids: 'g', padding: 'x'.repeat(1024 * 1024 + 10) };
    const errors = expectErrors(await stack.request('POST', 'auth/azure/role/toobig', { token, body: big }), 413);
    expect(errors[0]).toMatch(/too large/);
    expect((await stack.request('GET', 'auth/azure/role/toobig', { token })).status).toBe(404);
  });

  it('refuses malformed JSON with Vault\'s text', async () => {
    const token = await stack.adminToken();
    expect(expectErrors(await stack.request('POST', 'auth/azure/config', { token, body: '{not json' }), 400)).toEqual(['error parsing JSON']);
    expect(expectErrors(await stack.request('POST', 'auth/azure/config', { token, body: '["array"]' }), 400)).toEqual(['error parsing JSON']);
  });
});

describe('admin access on the foundation endpoints', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a call without a token with plain permission denied', async () => {
    const errors = expectErrors(await stack.request('POST', 'sys/auth/x1', { body: { type: 'azure' } }), 403);
    expect(errors.join()).toContain('permission denied');
    expect(errors.join()).not.toContain('invalid token');
  });

  it('refuses a valid token of a principal that is not an admin with plain permission denied', async () => {
    const jwt = await stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: stack.adminAudience, oid: randomUUID() });
    const errors = expectErrors(await stack.request('GET', 'sys/auth', { token: jwt }), 403);
    expect(errors.join()).toContain('permission denied');
    expect(errors.join()).not.toContain('invalid token');
  });

  it.each<[string, () => Promise<string>]>([
    ['garbage', async () => 'not-a-token'],
    ['an expired token', async () => stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: stack.adminAudience, oid: stack.adminPrincipalId, iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 })],
    ['a wrong-audience token', async () => stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: 'api://someone-else', oid: stack.adminPrincipalId })],
    ['a wrong-tenant token', async () => stack.emulator.entra.mintToken({ tenant: stack.emulator.entra.addTenant(), audience: stack.adminAudience, oid: stack.adminPrincipalId })],
    ['an HS256 token', async () => stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: stack.adminAudience, oid: stack.adminPrincipalId, attack: 'hs256-public-key' })],
    ['an alg:none token', async () => stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: stack.adminAudience, oid: stack.adminPrincipalId, attack: 'alg-none' })],
  ])('refuses %s with 403 invalid token, and changes nothing', async (_label, token) => {
    const path = `x${randomUUID().slice(0, 8)}`;
    const errors = expectErrors(await stack.request('POST', `sys/auth/${path}`, { token: await token(), body: { type: 'azure' } }), 403);
    expect(errors.join()).toContain('permission denied');
    expect(errors.join()).toContain('invalid token');
    const check = await stack.request('GET', `sys/auth/${path}`, { token: await stack.adminToken() });
    expect(check.status).toBe(400);
  });
});
