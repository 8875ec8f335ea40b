import { randomBytes, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditRecord, createAuditSink, UNAVAILABLE_HMAC } from '../../shared/audit/sink';
import type { ServerKeys } from '../../shared/tokens/serverKeys';
import type { AuditEntry } from '../../shared/vault/endpoint';

const token = 'hvs.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const jwt = `eyJ${'x'.repeat(100)}.eyJ${'y'.repeat(80)}.sig`;

function entry(extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: '2025-01-01T00:00:00.000Z',
    requestId: 'req-1',
    invocationId: 'inv-1',
    path: 'auth/azure/login',
    pattern: 'auth/{mount}/login',
    operation: 'update',
    remoteAddress: '10.0.0.1',
    caller: { kind: 'anonymous' },
    outcome: 'invalid',
    status: 400,
    error: `Field validation failed: error converting input ${jwt.slice(0, 64)}… for field "x"`,
    notes: { mount: 'azure', role: 'web', principalId: 'oid', tenantId: 'tid' },
    secrets: { client_token: token, jwt },
    ...extra,
  };
}

describe('audit records', () => {
  it('carries the request facts and only HMACs of secrets, even inside error texts', () => {
    const key = randomBytes(32);
    const record = auditRecord(entry(), key);
    const expected = `hmac-sha256:${createHmac('sha256', key).update(token).digest('hex')}`;
    expect(record).toMatchObject({
      type: 'azauth.audit',
      request_id: 'req-1',
      path: 'auth/azure/login',
      operation: 'update',
      mount: 'azure',
      role: 'web',
      principal_id: 'oid',
      tenant_id: 'tid',
      remote_address: '10.0.0.1',
      outcome: 'invalid',
      status: 400,
    });
    expect(record.secrets.client_token).toBe(expected);
    expect(record.secrets.jwt).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const text = JSON.stringify(record);
    expect(text).not.toContain(token);
    expect(text).not.toContain(jwt.slice(0, 64));
  });

  it('never falls back to the raw value without a key', () => {
    const record = auditRecord(entry(), undefined);
    expect(record.secrets).toEqual({ client_token: UNAVAILABLE_HMAC, jwt: UNAVAILABLE_HMAC });
    expect(JSON.stringify(record)).not.toContain(token);
  });

  it('writes one JSON line per request through ctx.log, waiting for the key if needed', async () => {
    const key = randomBytes(32);
    let loaded: Buffer | undefined;
    const keys: ServerKeys = {
      get: async () => {
        loaded = key;
        return key;
      },
      peek: () => loaded,
    };
    const lines: string[] = [];
    const ctx = { invocationId: 'inv-1', log: (...args: unknown[]) => lines.push(String(args[0])), error: () => undefined };
    const sink = createAuditSink(keys);
    sink.audit(entry(), ctx); // key not loaded yet: written once it is
    await sink.ready();
    sink.audit(entry({ requestId: 'req-2' }), ctx); // synchronous now
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    const records = lines.map((l) => JSON.parse(l) as { request_id: string; secrets: Record<string, string> });
    expect(records.map((r) => r.request_id).sort()).toEqual(['req-1', 'req-2']);
    expect(records[0]!.secrets.client_token).toBe(await sink.auditHash(token));
  });
});
