import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Acl } from '../../shared/policies/acl';
import { DEFAULT_POLICY_TEXT } from '../../shared/policies/default-policy';
import { parsePolicy } from '../../shared/policies/parse';

describe('the default policy', () => {
  const parsed = parsePolicy(DEFAULT_POLICY_TEXT);

  it('parses, is templated, and has Vault\'s current rules', () => {
    expect(parsed.templated).toBe(true);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.rules.map((r) => [r.path, r.capabilities.join(',')])).toEqual([
      ['auth/token/lookup-self', 'read'],
      ['auth/token/renew-self', 'update'],
      ['auth/token/revoke-self', 'update'],
      ['sys/capabilities-self', 'update'],
      ['identity/entity/id/{{identity.entity.id}}', 'read'],
      ['identity/entity/name/{{identity.entity.name}}', 'read'],
      ['sys/internal/ui/resultant-acl', 'read'],
      ['sys/renew', 'update'],
      ['sys/leases/renew', 'update'],
      ['sys/leases/lookup', 'update'],
      ['cubbyhole/*', 'create,read,update,delete,list'],
      ['sys/wrapping/wrap', 'update'],
      ['sys/wrapping/lookup', 'update'],
      ['sys/wrapping/unwrap', 'update'],
      ['sys/tools/hash', 'update'],
      ['sys/tools/hash/*', 'update'],
      ['sys/control-group/request', 'update'],
      ['identity/oidc/provider/+/authorize', 'read,update'],
    ]);
  });

  it('carries a comment for its rules', () => {
    expect(DEFAULT_POLICY_TEXT.split('\n').filter((line) => line.startsWith('#')).length).toBeGreaterThanOrEqual(15);
  });

  it('lets a token look itself up and ask its capabilities, and nothing else of note', () => {
    const acl = Acl.build([{ name: 'default', rules: parsed.rules }]);
    expect(acl.allowOperation({ path: 'auth/token/lookup-self', operation: 'read' }).allowed).toBe(true);
    expect(acl.allowOperation({ path: 'sys/capabilities-self', operation: 'update' }).allowed).toBe(true);
    expect(acl.allowOperation({ path: 'auth/token/lookup', operation: 'update' }).allowed).toBe(false);
    expect(acl.allowOperation({ path: 'sys/policies/acl/default', operation: 'read' }).allowed).toBe(false);
    expect(acl.allowOperation({ path: 'identity/oidc/provider/p1/authorize', operation: 'read' }).allowed).toBe(true);
  });

  it('drops the identity rules for a token without an entity, and fills them in for one with an entity', () => {
    const without = Acl.build([{ name: 'default', rules: parsed.rules }]);
    expect(without.resultant()).not.toHaveProperty(['exact_paths', 'identity/entity/id/{{identity.entity.id}}']);
    expect(Object.keys(Object(without.resultant()['exact_paths'])).some((k) => k.startsWith('identity/entity'))).toBe(false);
    const withEntity = Acl.build([{ name: 'default', rules: parsed.rules }], { entityId: 'e-1', entityName: 'web' });
    expect(withEntity.allowOperation({ path: 'identity/entity/id/e-1', operation: 'read' }).allowed).toBe(true);
    expect(withEntity.allowOperation({ path: 'identity/entity/name/web', operation: 'read' }).allowed).toBe(true);
    expect(withEntity.allowOperation({ path: 'identity/entity/id/e-2', operation: 'read' }).allowed).toBe(false);
  });
});

describe('the policy examples in docs/policies.md', () => {
  it('parse, each HCL block and the inline JSON form', () => {
    const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'policies.md'), 'utf8');
    const blocks = [...doc.matchAll(/```hcl\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) expect(() => parsePolicy(block), block).not.toThrow();
    const json = /The same in JSON: `([^`]+)`/.exec(doc)?.[1] ?? '';
    expect(parsePolicy(json).rules).toHaveLength(1);
  });

  it('decide as the page says', () => {
    const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'policies.md'), 'utf8');
    const [example = '', noUnion = ''] = [...doc.matchAll(/```hcl\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const acl = Acl.build([{ name: 'doc', rules: parsePolicy(example).rules }]);
    expect(acl.allowOperation({ path: 'kv/data/app/db', operation: 'patch' }).allowed).toBe(true);
    expect(acl.allowOperation({ path: 'kv/metadata/app/', operation: 'list' }).allowed).toBe(true);
    const create = (data: Record<string, unknown>) => acl.allowOperation({ path: 'auth/token/create', operation: 'update', data, wrapTtlSeconds: 300 }).allowed;
    expect(create({ policies: 'app-kv,default', ttl: '1h' })).toBe(true);
    expect(create({ policies: 'app-kv,Admin' })).toBe(false);
    expect(create({ ttl: '1h' })).toBe(false);
    expect(acl.allowOperation({ path: 'auth/token/create', operation: 'update', data: { policies: 'app-kv' } }).allowed).toBe(false);
    const second = Acl.build([{ name: 'doc', rules: parsePolicy(noUnion).rules }]);
    expect(second.allowOperation({ path: 'kv/data/admin', operation: 'read' }).allowed).toBe(false);
    expect(second.allowOperation({ path: 'kv/data/other', operation: 'read' }).allowed).toBe(true);
  });
});
