/** The audit record's request and response sections (issue 10 item 4), as pure functions. */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SECTION_BUDGET, auditRecord, UNAVAILABLE_HMAC } from '../../shared/audit/sink';
import type { AuditEntry } from '../../shared/vault/endpoint';

const key = randomBytes(32);
const hmac = (value: string) => `hmac-sha256:${createHmac('sha256', key).update(value).digest('hex')}`;

function entry(extra: Partial<AuditEntry>): AuditEntry {
  return {
    time: '2026-01-01T00:00:00.000Z',
    requestId: 'r',
    invocationId: 'i',
    path: 'p',
    pattern: 'p',
    operation: 'update',
    remoteAddress: undefined,
    caller: { kind: 'anonymous' },
    outcome: 'success',
    status: 200,
    notes: {},
    secrets: {},
    ...extra,
  };
}

describe('audit record sections', () => {
  it('HMACs every string, keeps numbers, booleans, null and structure', () => {
    const record = auditRecord(
      entry({ requestData: { a: 'x', n: 3, b: false, z: null, list: ['y', 1, { c: 'w' }] }, response: { data: { k: 'v' }, auth: { t: 'tok', ttl: 60 } } }),
      key,
    );
    expect(record.request).toEqual({ data: { a: hmac('x'), n: 3, b: false, z: null, list: [hmac('y'), 1, { c: hmac('w') }] } });
    expect(record.response).toEqual({ data: { k: hmac('v') }, auth: { t: hmac('tok'), ttl: 60 } });
  });

  it('HMACs a declared-sensitive field whole, whatever its type', () => {
    const record = auditRecord(entry({ requestData: { client_secret: ['s', 2], n: 5 }, sensitiveFields: ['client_secret', 'n'] }), key);
    expect(record.request).toEqual({ data: { client_secret: hmac('["s",2]'), n: hmac('5') } });
  });

  it('HMACs a value nested too deep as its JSON text', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i += 1) deep = [deep];
    const text = JSON.stringify(auditRecord(entry({ requestData: { deep } }), key));
    expect(text).not.toContain('bottom');
    expect(text.length).toBeLessThan(2_000);
  });

  it('replaces a section over budget by its size and HMAC', () => {
    const big = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, `v${i}`]));
    const record = auditRecord(entry({ requestData: big, response: { data: big } }), key);
    const json = JSON.stringify(big);
    expect(record.request).toEqual({ truncated: true, bytes: Buffer.byteLength(json), hmac: hmac(json) });
    expect(record.response).toEqual({ truncated: true, bytes: Buffer.byteLength(JSON.stringify({ data: big })), hmac: hmac(JSON.stringify({ data: big })) });
    expect(JSON.stringify(record).length).toBeLessThan(2 * SECTION_BUDGET);
  });

  it('has no response on errors and never a raw value without a key', () => {
    const record = auditRecord(entry({ outcome: 'error', status: 503, requestData: { a: 'secret-value' } }), undefined);
    expect(record.response).toBeNull();
    expect(record.request).toEqual({ data: { a: UNAVAILABLE_HMAC } });
  });
});
