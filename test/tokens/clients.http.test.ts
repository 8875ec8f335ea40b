/**
 * Real clients and what they rely on, through HTTP on the shared stack:
 * - node-vault (with noCustomHTTPVerbs) running login → lookup-self → renew-self → revoke-self;
 * - the fields Vault Agent type-asserts on lookup-self and the auth block it needs from renew-self;
 * - nothing in plain text: after logins, token creation, renewals and a config write with a client
 *   secret, no table in Azurite holds a token, a secret or an accessor→token mapping.
 */
import { randomUUID } from 'node:crypto';
import { TableServiceClient } from '@azure/data-tables';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type Stack } from '../support/stack';
import { authOf, createToken, login, makeRole, prepareMount, RESOURCE, type TokenEnv } from './http-support';

let stack: Stack | undefined;
let env: TokenEnv;

beforeAll(async () => {
  stack = await startStack();
  env = await prepareMount(stack);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

const authSchema = z.object({ client_token: z.string().min(1), accessor: z.string(), lease_duration: z.number(), renewable: z.boolean() });
const loginAnswer = z.object({ auth: authSchema });
const lookupAnswer = z.object({
  data: z.object({ id: z.string(), ttl: z.number(), renewable: z.boolean(), type: z.string() }).passthrough(),
});
const renewAnswer = z.object({ auth: authSchema, data: z.null() });

describe('node-vault 0.12.0', () => {
  it('runs login → lookup-self → renew-self → revoke-self, then sees "invalid token"', async () => {
    const role = await makeRole(env, { token_ttl: '20m', token_max_ttl: '1h' });
    const vault = nodeVault({ endpoint: env.stack.url, noCustomHTTPVerbs: true });
    const jwt = await env.stack.emulator.entra.mintToken({ tenant: env.tenant, audience: RESOURCE, oid: env.oid });
    const loggedIn = loginAnswer.parse(await vault.write('auth/azure/login', { role, jwt }));
    vault.token = loggedIn.auth.client_token;
    expect(loggedIn.auth.lease_duration).toBe(1200);

    const self = lookupAnswer.parse(await vault.tokenLookupSelf());
    expect(self.data.id).toBe(loggedIn.auth.client_token);
    expect(self.data.type).toBe('service');

    // With no increment node-vault sends an empty form-encoded POST; with one, JSON.
    const renewed = renewAnswer.parse(await vault.tokenRenewSelf());
    expect(renewed.auth.lease_duration).toBe(1200);
    expect(vault.token).toBe(loggedIn.auth.client_token);
    const longer = renewAnswer.parse(await vault.tokenRenewSelf({ increment: 1800 }));
    expect(longer.auth.lease_duration).toBe(1800);

    const revoked: unknown = await vault.tokenRevokeSelf();
    expect(revoked).toBe(''); // node-vault resolves a 204 with an empty body
    const dead: unknown = await vault.tokenLookupSelf().then(
      () => 'resolved',
      (err: unknown) => err,
    );
    expect(dead).toBeInstanceOf(Error);
    expect(String((dead as Error).message)).toContain('invalid token');
    expect((dead as { response?: { statusCode?: number } }).response?.statusCode).toBe(403);
  });

  it('token create, accessors list (GET ?list=1) and revoke by accessor as an admin', async () => {
    const vault = nodeVault({ endpoint: env.stack.url, noCustomHTTPVerbs: true, token: env.admin });
    const created = loginAnswer.parse(await vault.write('auth/token/create', { policies: ['ops'], ttl: '10m' }));
    const listed = z.object({ data: z.object({ keys: z.array(z.string()) }) }).parse(await vault.list('auth/token/accessors'));
    expect(listed.data.keys).toContain(created.auth.accessor);
    await vault.tokenRevokeAccessor({ accessor: created.auth.accessor });
    const after = z.object({ warnings: z.array(z.string()) }).parse(await vault.tokenRevokeAccessor({ accessor: created.auth.accessor }));
    expect(after.warnings).toEqual(['No token found with this accessor']);
  });
});

describe('what Vault Agent requires', () => {
  it('lookup-self: id string, ttl number, renewable bool, type string — for service, batch and root tokens', async () => {
    const service = await login(env, await makeRole(env, { token_ttl: '1h' }));
    const batch = await login(env, await makeRole(env, { token_type: 'batch', token_ttl: '1h' }));
    const root = await createToken(env, { policies: ['root'] });
    for (const token of [service.token, batch.token, root.token]) {
      const res = await env.stack.request('GET', 'auth/token/lookup-self', { token });
      expect(res.status, res.text).toBe(200);
      const data = lookupAnswer.parse(res.json).data;
      expect(data.id).toBe(token);
    }
  });

  it('renew-self (PUT {"increment":0}, as Agent sends it) returns a non-null auth with the token and its TTL', async () => {
    const { token } = await login(env, await makeRole(env, { token_ttl: '45m' }));
    const res = await env.stack.request('PUT', 'auth/token/renew-self', { body: { increment: 0 }, token, headers: { 'X-Vault-Request': 'true' } });
    expect(res.status, res.text).toBe(200);
    const auth = renewAnswer.parse(res.json).auth;
    expect(auth).toMatchObject({ client_token: token, lease_duration: 2700, renewable: true });
  });
});

describe('nothing in plain text', () => {
  it('no table holds a token, a client secret, a JWT or an accessor→token mapping', async () => {
    const secret = `s3cr3t-${randomUUID()}`;
    const config = await env.stack.request('POST', 'auth/azure/config', {
      token: env.admin,
      body: { tenant_id: env.tenant, resource: RESOURCE, client_id: randomUUID(), client_secret: secret },
    });
    expect(config.status, config.text).toBe(204);

    const role = await makeRole(env, { token_ttl: '1h' });
    const batchRole = await makeRole(env, { token_type: 'batch' });
    const jwt = await env.stack.emulator.entra.mintToken({ tenant: env.tenant, audience: RESOURCE, oid: env.oid });
    const tokens: string[] = [];
    const accessors: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await env.stack.request('POST', 'auth/azure/login', { body: { role, jwt } });
      expect(res.status, res.text).toBe(200);
      const auth = authSchema.parse(authOf(res));
      tokens.push(auth.client_token);
      accessors.push(auth.accessor);
      expect((await env.stack.request('POST', 'auth/token/renew-self', { token: auth.client_token })).status).toBe(200);
    }
    const batchLogin = await env.stack.request('POST', 'auth/azure/login', { body: { role: batchRole, jwt } });
    tokens.push(authSchema.parse(authOf(batchLogin)).client_token);
    for (const body of [{ policies: ['root'] }, { policies: ['a'], num_uses: 3 }, { policies: ['b'], type: 'batch' }]) {
      const created = await createToken(env, body);
      tokens.push(created.token);
      if (created.accessor) accessors.push(created.accessor);
    }

    const service = TableServiceClient.fromConnectionString(env.stack.tableConnectionString, { allowInsecureConnection: true });
    const dump: string[] = [];
    for await (const table of service.listTables()) {
      const client = env.stack.table(table.name ?? '');
      for await (const entity of client.listEntities()) dump.push(JSON.stringify(entity));
    }
    const everything = dump.join('\n');
    expect(dump.length).toBeGreaterThan(5);
    // The accessors are there (they are row keys) ...
    for (const accessor of accessors) expect(everything).toContain(accessor);
    // ... but no token, nor its random part, nor the secret or the JWT is.
    for (const token of tokens) {
      expect(everything).not.toContain(token);
      expect(everything).not.toContain(token.slice(4));
    }
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(jwt);
    expect(everything).not.toContain(jwt.split('.')[2]!);
  });
});

describe('audit log', () => {
  it('one record per request, with principal and outcome, and secrets only as stable HMACs', async () => {
    const role = await makeRole(env, { token_ttl: '1h' });
    const { token, accessor } = await login(env, role);
    const marker = randomUUID();
    // Three requests with the same token, one with a dead token; the marker finds them in the log.
    for (let i = 0; i < 2; i++) await env.stack.request('GET', `auth/token/lookup-self?m=${marker}`, { token });
    await env.stack.request('POST', 'auth/token/lookup-accessor', { token: env.admin, body: { accessor } });
    await env.stack.request('GET', `auth/token/lookup-self?m=${marker}`, { token: `hvs.${'Z'.repeat(43)}` });
    await new Promise((r) => setTimeout(r, 300));

    const records = env.stack
      .logs()
      .split('\n')
      .map((line) => line.slice(line.indexOf('{')))
      .filter((line) => line.includes('"type":"azauth.audit"'))
      .map((line) => z.object({ path: z.string(), outcome: z.string(), status: z.number(), principal_id: z.string().nullable(), mount: z.string().nullable(), secrets: z.record(z.string(), z.string()) }).passthrough().parse(JSON.parse(line)));
    const lookups = records.filter((r) => r.path === 'auth/token/lookup-self');
    const mine = lookups.filter((r) => r.outcome === 'success' && r.principal_id === env.oid && r.mount === 'azure');
    expect(mine.length).toBeGreaterThanOrEqual(2);
    const hashes = new Set(mine.map((r) => r.secrets.client_token));
    for (const r of records) for (const value of Object.values(r.secrets)) expect(value).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(lookups.some((r) => r.outcome === 'denied' && r.status === 403)).toBe(true);
    const byAccessor = records.filter((r) => r.path === 'auth/token/lookup-accessor' && r.principal_id === env.oid);
    expect(byAccessor.length).toBeGreaterThanOrEqual(1);
    expect(byAccessor[0]!.secrets.accessor).toMatch(/^hmac-sha256:/);

    // The same token always hashes the same (an operator can search for it) ...
    expect(hashes.size).toBeGreaterThan(0);
    const lookupHashes = mine.map((r) => r.secrets.client_token);
    expect(new Set(lookupHashes.slice(-2)).size).toBe(1);
    // ... and nothing in the host's whole output carries a token or an accessor in clear.
    const logs = env.stack.logs();
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(token.slice(4));
    expect(logs).not.toContain(accessor);
  });
});
