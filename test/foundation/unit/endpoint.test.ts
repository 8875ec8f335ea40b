import { describe, expect, it } from 'vitest';
import { clientAddress, clientToken, logicalPath, operationOf, parseBody } from '../../../shared/vault/endpoint';
import { VaultError } from '../../../shared/vault/errors';

const headers = (values: Record<string, string>) => ({
  get: (name: string) => values[name.toLowerCase()] ?? null,
});

describe('parseBody', () => {
  it('parses JSON whatever the content type says', () => {
    expect(parseBody('{"a":1}', null)).toEqual({ a: 1 });
    expect(parseBody('{"a":1}', 'application/x-www-form-urlencoded')).toEqual({ a: 1 });
    expect(parseBody('  {"a":"b"}', 'text/plain')).toEqual({ a: 'b' });
  });

  it('parses form bodies when the content type says so', () => {
    expect(parseBody('a=1&b=x%20y', 'application/x-www-form-urlencoded; charset=utf-8')).toEqual({ a: '1', b: 'x y' });
  });

  it('treats an empty body as no data', () => {
    expect(parseBody('', 'application/json')).toEqual({});
    expect(parseBody('   ', null)).toEqual({});
  });

  it.each(['{bad', '[1,2]', '"text"', '42', 'null', 'a=1'])('refuses %j with error parsing JSON', (text) => {
    try {
      parseBody(text, 'application/json');
      expect.unreachable();
    } catch (err) {
      expect((err as VaultError).status).toBe(400);
      expect((err as VaultError).errors).toEqual(['error parsing JSON']);
    }
  });
});

describe('clientToken', () => {
  it('prefers X-Vault-Token', () => {
    expect(clientToken(headers({ 'x-vault-token': 'v', authorization: 'Bearer b' }))).toBe('v');
  });
  it('falls back to Authorization: Bearer, trimmed', () => {
    expect(clientToken(headers({ authorization: 'Bearer  b1 ' }))).toBe('b1');
    expect(clientToken(headers({ 'x-vault-token': '  ', authorization: 'Bearer b2' }))).toBe('b2');
  });
  it('ignores other schemes and a bare "Bearer"', () => {
    expect(clientToken(headers({ authorization: 'Basic abc' }))).toBeUndefined();
    expect(clientToken(headers({ authorization: 'bearer abc' }))).toBeUndefined();
    expect(clientToken(headers({ authorization: 'Bearer ' }))).toBeUndefined();
    expect(clientToken(headers({}))).toBeUndefined();
  });
});

describe('clientAddress', () => {
  it.each([
    [null, undefined],
    ['', undefined],
    ['203.0.113.5', '203.0.113.5'],
    ['198.51.100.1, 203.0.113.5', '203.0.113.5'],
    ['203.0.113.5:4711', '203.0.113.5'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['1.1.1.1, ', undefined],
  ])('%j → %j', (header, expected) => expect(clientAddress(header)).toBe(expected));
});

describe('operationOf', () => {
  const q = (text: string) => new URLSearchParams(text);
  it('maps verbs as Vault does', () => {
    expect(operationOf('GET', q(''))).toBe('read');
    expect(operationOf('get', q(''))).toBe('read');
    expect(operationOf('POST', q(''))).toBe('update');
    expect(operationOf('PUT', q(''))).toBe('update');
    expect(operationOf('DELETE', q(''))).toBe('delete');
    expect(operationOf('LIST', q(''))).toBe('list');
  });
  it('lists on GET ?list=<true>', () => {
    expect(operationOf('GET', q('list=true'))).toBe('list');
    expect(operationOf('GET', q('list=1'))).toBe('list');
    expect(operationOf('GET', q('list=false'))).toBe('read');
  });
  it('refuses a list flag that is not a boolean with 400 and no message', () => {
    try {
      operationOf('GET', q('list=maybe'));
      expect.unreachable();
    } catch (err) {
      expect((err as VaultError).status).toBe(400);
      expect((err as VaultError).errors).toEqual([]);
    }
  });
  it('answers 405 for other verbs; PATCH is Vault\'s patch; HEAD and OPTIONS its header operation', () => {
    expect(operationOf('PATCH', q(''))).toBe('patch');
    // Checked by the ACL like any operation (only root passes), then refused by the path (405).
    expect(operationOf('HEAD', q(''))).toBe('header');
    expect(operationOf('OPTIONS', q(''))).toBe('header');
    expect(() => operationOf('TRACE', q(''))).toThrow(VaultError);
    try {
      operationOf('TRACE', q(''));
      expect.unreachable();
    } catch (err) {
      expect((err as VaultError).status).toBe(405);
    }
  });
});

describe('logicalPath', () => {
  it('strips /v1/ and decodes', () => {
    expect(logicalPath('/v1/auth/azure/login')).toBe('auth/azure/login');
    expect(logicalPath('/v1/auth/azure/role/a%20b')).toBe('auth/azure/role/a b');
    expect(logicalPath('/V1/sys/health')).toBe('sys/health');
    expect(logicalPath('/v1/bad%zz')).toBe('bad%zz');
  });
});
