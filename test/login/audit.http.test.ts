/**
 * The audit record of a login names the caller's principal and tenant once its token is verified,
 * also when a binding then denies the login.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';

const ARM_AUDIENCE = 'https://management.azure.com/';

let stack: Stack;
let admin = '';
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.adminToken();
  const write = async (path: string, body: Record<string, unknown>) => {
    const res = await stack.request('POST', path, { token: admin, body });
    expect(res.status, res.text).toBeLessThan(300);
  };
  await write('auth/azure/config', { tenant_id: stack.emulator.defaultTenantId, resource: ARM_AUDIENCE });
  await write('auth/azure/role/only-sp', { bound_service_principal_ids: 'someone-else' });
});
afterAll(async () => {
  await stack?.stop();
});

interface AuditLine {
  path: string;
  outcome: string;
  status: number;
  principal_id: string | null;
  tenant_id: string | null;
  role: string | null;
  secrets: Record<string, string>;
}

describe('login audit records', () => {
  it('a denied login is audited with the verified principal and tenant, the JWT only as an HMAC', async () => {
    const oid = randomUUID();
    const jwt = await stack.emulator.entra.mintToken({ tenant: stack.emulator.defaultTenantId, audience: ARM_AUDIENCE, oid });
    const res = await stack.request('POST', 'auth/azure/login', { body: { role: 'only-sp', jwt } });
    expect(res.status, res.text).toBe(403);
    expect(res.text).toContain(`service principal not authorized: ${oid}`);

    await new Promise((resolve) => setTimeout(resolve, 200));
    const records = stack
      .logs()
      .split('\n')
      .filter((line) => line.includes('"type":"azauth.audit"'))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as AuditLine)
      .filter((r) => r.path === 'auth/azure/login' && r.principal_id === oid);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'denied', status: 403, role: 'only-sp', tenant_id: stack.emulator.defaultTenantId.toLowerCase() });
    expect(records[0]!.secrets.jwt).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(stack.logs()).not.toContain(jwt);
  });
});
