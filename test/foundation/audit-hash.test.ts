import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asAdmin, expectData, expectErrors, type AdminCall } from './helpers';

let stack: Stack;
let admin: AdminCall;
beforeAll(async () => {
  stack = await startStack();
  admin = asAdmin(stack);
});
afterAll(async () => {
  await stack?.stop();
});

/** The audit records the host printed, parsed. */
function auditRecords(): Array<{ path: string; secrets: Record<string, string> }> {
  return stack
    .logs()
    .split('\n')
    .filter((line) => line.includes('"type":"azauth.audit"'))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { path: string; secrets: Record<string, string> });
}

describe('sys/audit-hash/{path}', () => {
  it('gives the HMAC under which the audit log shows a token, in data and at the top level', async () => {
    const created = await admin('POST', 'auth/token/create', { body: { policies: 'reader', ttl: '1h' } });
    const token = (created.json as { auth: { client_token: string } }).auth.client_token;
    expect((await stack.request('GET', 'auth/token/lookup-self', { token })).status).toBe(200);

    const res = await admin('POST', 'sys/audit-hash/log', { body: { input: token } });
    const data = expectData(res);
    expect(data.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect((res.json as Record<string, unknown>).hash).toBe(data.hash);

    await new Promise((resolve) => setTimeout(resolve, 200));
    const lookups = auditRecords().filter((r) => r.path === 'auth/token/lookup-self');
    expect(lookups.map((r) => r.secrets.client_token)).toContain(data.hash);
    // The input of the audit-hash call itself is logged only as its HMAC.
    expect(stack.logs()).not.toContain(token);
  });

  it('is admin-only, needs input, and only takes writes', async () => {
    expect((await stack.request('POST', 'sys/audit-hash/log', { body: { input: 'x' } })).status).toBe(403);
    expect(expectErrors(await admin('POST', 'sys/audit-hash/log', { body: {} }), 400)).toEqual(['the "input" parameter is required']);
    expect((await admin('GET', 'sys/audit-hash/log')).status).toBe(405);
  });
});
