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

  it('keeps a key named __proto__ as a field of the record (as JSON.parse gave it), at the top and nested', () => {
    const requestData = JSON.parse('{"__proto__": "x", "nested": {"__proto__": {"k": "v"}}}') as Record<string, unknown>;
    const record = auditRecord(entry({ requestData }), key);
    expect(JSON.parse(JSON.stringify(record.request))).toEqual(JSON.parse(`{"data": {"__proto__": "${hmac('x')}", "nested": {"__proto__": {"k": "${hmac('v')}"}}}}`));
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

/**
 * The exact budget and depth arithmetic, pinned so that a refactoring of the sink cannot move a
 * truncation point unnoticed: a request section pays no braces, a response's data pays 2 (its own
 * braces, with or without secret keys), data and auth share one budget, and a section's fields are
 * walked from depth 1.
 */
describe('audit record budget and depth', () => {
  // A field costs its key's length + 4 (quotes, colon, comma); a number 8, a string or a value HMAC'd whole 80.
  const numberField = (room: number) => ({ ['k'.repeat(room - 4 - 8)]: 1 });

  it('fills a request section to the last character, and truncates one past it', () => {
    expect(auditRecord(entry({ requestData: numberField(SECTION_BUDGET) }), key).request).toEqual({ data: numberField(SECTION_BUDGET) });
    const over = numberField(SECTION_BUDGET + 1);
    const json = JSON.stringify(over);
    expect(auditRecord(entry({ requestData: over }), key).request).toEqual({ truncated: true, bytes: Buffer.byteLength(json), hmac: hmac(json) });
  });

  it('charges a sensitive request field as one HMAC, whatever its size', () => {
    const name = 'k'.repeat(SECTION_BUDGET - 4 - 80);
    const fits = auditRecord(entry({ requestData: { [name]: ['x'.repeat(9_000)] }, sensitiveFields: [name] }), key);
    expect(fits.request).toEqual({ data: { [name]: hmac(JSON.stringify(['x'.repeat(9_000)])) } });
    const over = auditRecord(entry({ requestData: { [`${name}k`]: 1 }, sensitiveFields: [`${name}k`] }), key);
    expect(over.request).toMatchObject({ truncated: true });
  });

  it('charges a response data object its braces, with or without secret keys', () => {
    const room = SECTION_BUDGET - 2;
    const name = 'k'.repeat(room - 4 - 80);
    const fits = (secretKeys?: string[]) => auditRecord(entry({ response: { data: { [name]: 7 }, secretKeys } }), key).response;
    // Walked, the number costs 8; as a secret key, 80.
    expect(fits([name])).toEqual({ data: { [name]: hmac('7') } });
    const plain = { ['k'.repeat(room - 4 - 8)]: 7 };
    expect(auditRecord(entry({ response: { data: plain } }), key).response).toEqual({ data: plain });

    const overSecret = { data: { [`${name}k`]: 7 }, secretKeys: [`${name}k`] };
    const json = JSON.stringify(overSecret);
    expect(auditRecord(entry({ response: overSecret }), key).response).toEqual({ truncated: true, bytes: Buffer.byteLength(json), hmac: hmac(json) });
    const overPlain = { data: { [`${'k'.repeat(room - 4 - 8)}k`]: 7 } };
    expect(auditRecord(entry({ response: overPlain }), key).response).toMatchObject({ truncated: true });
  });

  it('charges data and auth against one response budget', () => {
    // data { a: secret } costs 2 + 5 + 80; auth { <name>: 1 } costs 2 + name + 4 + 8.
    const name = 'k'.repeat(SECTION_BUDGET - 87 - 2 - 4 - 8);
    const response = (auth: string) => ({ data: { a: 1 }, auth: { [auth]: 1 }, secretKeys: ['a'] });
    expect(auditRecord(entry({ response: response(name) }), key).response).toEqual({ data: { a: hmac('1') }, auth: { [name]: 1 } });
    expect(auditRecord(entry({ response: response(`${name}k`) }), key).response).toMatchObject({ truncated: true });
  });

  it('walks a section field from depth 1 and keeps the record JSON in field order', () => {
    const nest = (levels: number): unknown => {
      let value: unknown = 'bottom';
      for (let i = 0; i < levels; i += 1) value = [value];
      return value;
    };
    // The field's value is at depth 1, so its 31st nested array is the last one walked.
    const walked = (levels: number) => {
      let value: unknown = hmac('bottom');
      for (let i = 0; i < levels; i += 1) value = [value];
      return value;
    };
    const hashedAt32 = (levels: number) => {
      let value: unknown = hmac(JSON.stringify(nest(levels - 31)));
      for (let i = 0; i < 31; i += 1) value = [value];
      return value;
    };
    const request = { z: nest(31), a: nest(32), s: 'x', n: 1 };
    const record = auditRecord(entry({ requestData: request, sensitiveFields: ['s'], response: { data: request, secretKeys: ['s'], auth: nest(33) } }), key);
    const data = { z: walked(31), a: hashedAt32(32), s: hmac('x'), n: 1 };
    expect(JSON.stringify(record.request)).toBe(JSON.stringify({ data }));
    // auth is walked from depth 0: one array more before the cut.
    let auth: unknown = hmac(JSON.stringify(nest(1)));
    for (let i = 0; i < 32; i += 1) auth = [auth];
    expect(JSON.stringify(record.response)).toBe(JSON.stringify({ data, auth }));
  });
});
