import { describe, expect, it } from 'vitest';
import type { AclOperation } from '../../shared/policies/acl';
import { aclOf, allowed } from './support';

/** An ACL with one path "p" allowing read, create, update, patch, delete and list, plus `constraints`. */
const constrained = (constraints: string) => aclOf([`path "p" {\n capabilities = ["read", "create", "update", "patch", "delete", "list"]\n ${constraints}\n}`]);

const check = (acl: ReturnType<typeof constrained>, data: Record<string, unknown> | undefined, operation: AclOperation = 'update'): boolean =>
  allowed(acl, operation, operation === 'list' ? 'p/' : 'p', data === undefined ? {} : { data });

describe('required_parameters', () => {
  const acl = constrained('required_parameters = ["Name"]');

  it('denies without the parameter and allows with it (the listed name lower-cased, the request key as sent)', () => {
    expect(check(acl, undefined)).toBe(false);
    expect(check(acl, {})).toBe(false);
    expect(check(acl, { other: 1 })).toBe(false);
    expect(check(acl, { name: 'x' })).toBe(true);
    expect(check(acl, { Name: 'x' })).toBe(false);
  });
});

describe('requests without data', () => {
  it('pass allowed and denied constraints, even a denied *', () => {
    expect(check(constrained('allowed_parameters = { "x" = ["1"] }'), undefined)).toBe(true);
    expect(check(constrained('denied_parameters = { "*" = [] }'), {})).toBe(true);
  });
});

describe('denied_parameters', () => {
  it('denies any data with a * key', () => {
    expect(check(constrained('denied_parameters = { "*" = [] }'), { anything: 1 })).toBe(false);
  });

  it('denies a key with an empty list whatever its value, matching request keys case-insensitively', () => {
    const acl = constrained('denied_parameters = { "TTL" = [] }');
    expect(check(acl, { ttl: '1h' })).toBe(false);
    expect(check(acl, { TTL: null })).toBe(false);
    expect(check(acl, { other: 1 })).toBe(true);
  });

  it('denies listed values: exact, globbed, an element of an array, a part of a comma list', () => {
    const acl = constrained('denied_parameters = { "role" = ["admin", "ops-*", "*-root", "*secret*"] }');
    expect(check(acl, { role: 'admin' })).toBe(false);
    expect(check(acl, { role: 'ops-east' })).toBe(false);
    expect(check(acl, { role: 'db-root' })).toBe(false);
    expect(check(acl, { role: 'a-secret-b' })).toBe(false);
    expect(check(acl, { role: ['reader', 'admin'] })).toBe(false);
    expect(check(acl, { role: 'reader, admin' })).toBe(false);
    expect(check(acl, { role: 'reader' })).toBe(true);
    expect(check(acl, { role: ['reader', 'writer'] })).toBe(true);
    expect(check(acl, { role: 'Admin' })).toBe(true);
  });

  it('lower-cases policies and token_policies values, so Admin cannot slip past a deny on admin', () => {
    const acl = constrained('denied_parameters = { "policies" = ["admin"], "token_policies" = ["root"] }');
    expect(check(acl, { policies: 'Admin' })).toBe(false);
    expect(check(acl, { policies: 'default,ADMIN' })).toBe(false);
    expect(check(acl, { Policies: ['default', 'AdMiN'] })).toBe(false);
    expect(check(acl, { token_policies: 'Root' })).toBe(false);
    expect(check(acl, { policies: 'default' })).toBe(true);
  });

  it('compares other values by equality: numbers, booleans, null', () => {
    const acl = constrained('denied_parameters = { "n" = [5, true] }');
    expect(check(acl, { n: 5 })).toBe(false);
    expect(check(acl, { n: true })).toBe(false);
    expect(check(acl, { n: 6 })).toBe(true);
    expect(check(acl, { n: '5' })).toBe(true);
    expect(check(acl, { n: null })).toBe(true);
  });
});

describe('allowed_parameters', () => {
  it('allows anything when only * is listed', () => {
    expect(check(constrained('allowed_parameters = { "*" = ["ignored"] }'), { a: 1, b: 'x' })).toBe(true);
  });

  it('denies a key that is not listed, allows a listed key with an empty list whatever its value', () => {
    const acl = constrained('allowed_parameters = { "Data" = [] }');
    expect(check(acl, { data: { any: 'thing' } })).toBe(true);
    expect(check(acl, { DATA: 1 })).toBe(true);
    expect(check(acl, { data: 1, version: 2 })).toBe(false);
  });

  it('lets * admit unlisted keys without checking their values, while listed keys are still checked', () => {
    const acl = constrained('allowed_parameters = { "*" = [], "ttl" = ["1h"] }');
    expect(check(acl, { other: 'x', ttl: '1h' })).toBe(true);
    expect(check(acl, { other: 'x', ttl: '2h' })).toBe(false);
  });

  it('checks values: a scalar must match one entry, globs included', () => {
    const acl = constrained('allowed_parameters = { "role" = ["reader", "app-*", "*-ro"] }');
    expect(check(acl, { role: 'reader' })).toBe(true);
    expect(check(acl, { role: 'app-1' })).toBe(true);
    expect(check(acl, { role: 'db-ro' })).toBe(true);
    expect(check(acl, { role: 'writer' })).toBe(false);
  });

  it('takes an array that matches as a whole, or whose every element matches', () => {
    const acl = constrained('allowed_parameters = { "roles" = [["a", "b"], "c", "d*"] }');
    expect(check(acl, { roles: ['a', 'b'] })).toBe(true);
    expect(check(acl, { roles: ['c', 'd1'] })).toBe(true);
    expect(check(acl, { roles: ['c', 'e'] })).toBe(false);
    expect(check(acl, { roles: [] })).toBe(true);
  });

  it('takes a comma-separated string whose every part matches; an empty string passes (Vault reads it as an empty list)', () => {
    const acl = constrained('allowed_parameters = { "policies" = ["default", "app-*"] }');
    expect(check(acl, { policies: 'default, app-kv' })).toBe(true);
    expect(check(acl, { policies: 'default,admin' })).toBe(false);
    expect(check(acl, { policies: 'DEFAULT' })).toBe(true);
    expect(check(acl, { policies: '' })).toBe(true);
  });

  it('reads a one-character entry literally: "*" as a value matches only "*"', () => {
    const acl = constrained('allowed_parameters = { "x" = ["*"] }');
    expect(check(acl, { x: '*' })).toBe(true);
    expect(check(acl, { x: 'anything' })).toBe(false);
    expect(check(constrained('allowed_parameters = { "x" = ["**"] }'), { x: 'anything' })).toBe(true);
  });

  it('compares non-string values by equality', () => {
    const acl = constrained('allowed_parameters = { "n" = [1, false] }');
    expect(check(acl, { n: 1 })).toBe(true);
    expect(check(acl, { n: false })).toBe(true);
    expect(check(acl, { n: 2 })).toBe(false);
    expect(check(acl, { n: '1' })).toBe(false);
    expect(check(acl, { n: { nested: 1 } })).toBe(false);
  });

  it('applies denied before allowed', () => {
    const acl = constrained('allowed_parameters = { "x" = [] }\n denied_parameters = { "x" = ["bad"] }');
    expect(check(acl, { x: 'good' })).toBe(true);
    expect(check(acl, { x: 'bad' })).toBe(false);
  });
});

describe('which operations are checked', () => {
  const acl = constrained('allowed_parameters = { "x" = ["1"] }\n required_parameters = ["x"]');

  it('checks read, create, update and patch', () => {
    for (const operation of ['read', 'create', 'update', 'patch'] as const) {
      expect(check(acl, { x: '2' }, operation), operation).toBe(false);
      expect(check(acl, { x: '1' }, operation), operation).toBe(true);
    }
  });

  it('does not check delete or list', () => {
    expect(check(acl, { x: '2' }, 'delete')).toBe(true);
    expect(check(acl, undefined, 'list')).toBe(true);
  });

  it('checks only once the capability is granted', () => {
    const readOnly = aclOf(['path "p" {\n capabilities = ["read"]\n allowed_parameters = { "*" = [] }\n}']);
    expect(check(readOnly, { x: 1 }, 'update')).toBe(false);
    expect(check(readOnly, { x: 1 }, 'read')).toBe(true);
  });
});
