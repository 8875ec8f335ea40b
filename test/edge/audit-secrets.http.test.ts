/**
 * Issue 10 item 4: secrets never reach the log in clear. A wrongly typed sensitive field is not
 * echoed in the field-conversion error (nor in the log), and every audit record carries the
 * request's data and the response's data with every string value HMAC'd (numbers and booleans as
 * they are, structure kept); a field declared sensitive is HMAC'd whole, whatever its JSON type.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';

const RESOURCE = 'https://management.azure.com/';
const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;

let stack: Stack;
let admin = '';
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.adminToken();
  const res = await stack.request('POST', 'auth/azure/config', { token: admin, body: { tenant_id: stack.emulator.defaultTenantId, resource: RESOURCE } });
  expect(res.status, res.text).toBe(204);
});
afterAll(async () => {
  await stack?.stop();
});

interface AuditLine {
  request_id: string;
  path: string;
  operation: string;
  outcome: string;
  status: number;
  error: string | null;
  secrets: Record<string, string>;
  request?: { data?: unknown; truncated?: boolean };
  response?: { data?: unknown; auth?: unknown } | null;
}

function auditLines(): string[] {
  return stack
    .logs()
    .split('\n')
    .filter((line) => line.includes('"type":"azauth.audit"'))
    .map((line) => line.slice(line.indexOf('{')));
}

/** The audit record of the latest request to `path` (after the host flushed it). */
async function lastRecord(path: string): Promise<AuditLine> {
  await new Promise((resolve) => setTimeout(resolve, 150));
  const records = auditLines()
    .map((line) => JSON.parse(line) as AuditLine)
    .filter((r) => r.path === path);
  const record = records.at(-1);
  if (!record) throw new Error(`no audit record for ${path}\n${stack.logs()}`);
  return record;
}

async function auditHash(value: string): Promise<string> {
  const res = await stack.request('POST', 'sys/audit-hash/file', { token: admin, body: { input: value } });
  expect(res.status, res.text).toBe(200);
  return (res.json as { data: { hash: string } }).data.hash;
}

describe('a wrongly typed sensitive field is never echoed', () => {
  it.each([
    ['auth/azure/config', 'client_secret', (secret: string) => [secret]],
    ['auth/token/lookup', 'token', (secret: string) => [`hvs.${secret}`]],
    ['auth/token/revoke-orphan', 'token', (secret: string) => [`hvs.${secret}`]],
    ['sys/audit-hash/file', 'input', (secret: string) => ({ nested: secret })],
  ])('%s {"%s": <wrong type>}: 400 without the value, in the answer and in the log', async (path, field, value) => {
    const secret = `s3cr3t-${randomUUID()}`;
    const res = await stack.request('POST', path, { token: admin, body: { [field]: value(secret) } });
    expect(res.status, res.text).toBe(400);
    expect(res.text).not.toContain(secret);
    expect((res.json as { errors: string[] }).errors.join('; ')).toContain(`for field "${field}"`);
    const record = await lastRecord(path);
    expect(record.outcome).toBe('invalid');
    expect(stack.logs()).not.toContain(secret);
    // Declared sensitive: HMAC'd whole, whatever its type.
    const data = record.request?.data as Record<string, unknown>;
    expect(data[field]).toMatch(HMAC);
  });
});

describe('audit records carry request and response data, every string HMAC\'d', () => {
  it('a sensitive field sent as a number is HMAC\'d whole, not shown as the number', async () => {
    const secret = 98765432123456;
    const res = await stack.request('POST', 'auth/token/lookup', { token: admin, body: { token: secret } });
    expect(res.status, res.text).toBe(403);
    const record = await lastRecord('auth/token/lookup');
    expect((record.request?.data as Record<string, unknown>).token).toBe(await auditHash(String(secret)));
    expect(stack.logs()).not.toContain(String(secret));
  });

  it('a role write and read: strings as HMACs, numbers and booleans as they are, structure kept', async () => {
    const sp = `sp-${randomUUID()}`;
    const write = await stack.request('POST', 'auth/azure/role/shape', {
      token: admin,
      body: { bound_service_principal_ids: [sp], token_ttl: 3600, token_no_default_policy: true, token_policies: 'p-one,p-two' },
    });
    expect(write.status, write.text).toBeLessThan(300);
    const written = await lastRecord('auth/azure/role/shape');
    const spHash = await auditHash(sp);
    expect(written.request?.data).toEqual({
      bound_service_principal_ids: [spHash],
      token_ttl: 3600,
      token_no_default_policy: true,
      token_policies: await auditHash('p-one,p-two'),
    });

    const read = await stack.request('GET', 'auth/azure/role/shape', { token: admin });
    expect(read.status).toBe(200);
    const readRecord = await lastRecord('auth/azure/role/shape');
    expect(readRecord.operation).toBe('read');
    const data = readRecord.response?.data as Record<string, unknown>;
    expect(data.bound_service_principal_ids).toEqual([spHash]);
    expect(data.token_ttl).toBe(3600);
    expect(data.token_no_default_policy).toBe(true);
    expect(data.token_policies).toEqual([await auditHash('p-one'), await auditHash('p-two')]);
    expect(auditLines().join('\n')).not.toContain(sp);
  });

  it('a login: the JWT and the issued token and accessor appear only as HMACs', async () => {
    const oid = randomUUID();
    const role = await stack.request('POST', 'auth/azure/role/audited', { token: admin, body: { bound_service_principal_ids: [oid] } });
    expect(role.status, role.text).toBeLessThan(300);
    const jwt = await stack.emulator.entra.mintToken({ tenant: stack.emulator.defaultTenantId, audience: RESOURCE, oid });
    const res = await stack.request('POST', 'auth/azure/login', { body: { role: 'audited', jwt } });
    expect(res.status, res.text).toBe(200);
    const auth = (res.json as { auth: { client_token: string; accessor: string; lease_duration: number } }).auth;
    const record = await lastRecord('auth/azure/login');
    expect(record.outcome).toBe('success');
    expect((record.request?.data as Record<string, unknown>).jwt).toBe(await auditHash(jwt));
    const responseAuth = record.response?.auth as Record<string, unknown>;
    expect(responseAuth.client_token).toBe(await auditHash(auth.client_token));
    expect(responseAuth.accessor).toBe(await auditHash(auth.accessor));
    expect(responseAuth.lease_duration).toBe(auth.lease_duration);
    const log = stack.logs();
    for (const clear of [jwt, auth.client_token, auth.accessor]) expect(log).not.toContain(clear);
  });

  it('an error record carries no response data', async () => {
    const res = await stack.request('GET', 'auth/azure/role/does-not-exist', { token: admin });
    expect(res.status).toBe(404);
    const record = await lastRecord('auth/azure/role/does-not-exist');
    expect(record.response ?? null).toBeNull();
  });

  it('keeps a record bounded when the body is large', async () => {
    const big: Record<string, string> = {};
    for (let i = 0; i < 5000; i += 1) big[`key_${i}`] = `value-${i}-${'x'.repeat(64)}`;
    const res = await stack.request('POST', 'auth/azure/role/big', { token: admin, body: { bound_service_principal_ids: ['sp-big'], ...big } });
    expect(res.status, res.text).toBeLessThan(300);
    await lastRecord('auth/azure/role/big');
    const line = auditLines()
      .filter((l) => l.includes('"path":"auth/azure/role/big"'))
      .at(-1)!;
    expect(line.length).toBeLessThan(16 * 1024);
    const record = JSON.parse(line) as AuditLine;
    expect(record.request?.truncated).toBe(true);
    expect(line).not.toContain('value-1-');
  });
});
