import { describe, expect, it } from 'vitest';
import { Acl } from '../../shared/policies/acl';
import { parsePolicy } from '../../shared/policies/parse';
import { aclOf, allowed, rule } from './support';

describe('the reference\'s worked examples (§2.8)', () => {
  it('secret/* read allows GET secret/a/b (prefix secret/)', () => {
    expect(allowed(aclOf([rule('secret/*', 'read')]), 'read', 'secret/a/b')).toBe(true);
  });

  it('a longer deny prefix wins over a shorter read prefix', () => {
    const acl = aclOf([rule('secret/*', 'read') + rule('secret/a/*', 'deny')]);
    expect(allowed(acl, 'read', 'secret/a/b')).toBe(false);
    expect(allowed(acl, 'read', 'secret/b')).toBe(true);
  });

  it('an exact rule wins over a deny prefix', () => {
    const acl = aclOf([rule('secret/*', 'deny') + rule('secret/a/b', 'read')]);
    expect(allowed(acl, 'read', 'secret/a/b')).toBe(true);
    expect(allowed(acl, 'read', 'secret/a/c')).toBe(false);
  });

  it('secret/a* (glob at 8) beats secret/+/b (+ at 7) for PUT secret/a/b', () => {
    const acl = aclOf([rule('secret/+/b', 'read') + rule('secret/a*', 'read', 'update')]);
    expect(allowed(acl, 'update', 'secret/a/b')).toBe(true);
    // The other way round, the + rule would have decided: it lacks update.
    expect(allowed(aclOf([rule('secret/+/b', 'read', 'update') + rule('secret/a*', 'read')]), 'update', 'secret/a/b')).toBe(false);
  });

  it('create without update writes a new secret but not over an existing one', () => {
    const acl = aclOf([rule('secret/data/*', 'create', 'read')]);
    expect(allowed(acl, 'create', 'secret/data/x')).toBe(true);
    expect(allowed(acl, 'update', 'secret/data/x')).toBe(false);
  });

  it('an exact rule on the path without its slash allows the LIST', () => {
    expect(allowed(aclOf([rule('secret/metadata/app', 'list')]), 'list', 'secret/metadata/app/')).toBe(true);
  });

  it('a deny in one policy beats a read in another on the same pattern', () => {
    expect(allowed(aclOf([rule('secret/x', 'read'), rule('secret/x', 'deny')]), 'read', 'secret/x')).toBe(false);
    expect(allowed(aclOf([rule('secret/x', 'deny'), rule('secret/x', 'read')]), 'read', 'secret/x')).toBe(false);
  });
});

describe('which rule applies: exact, prefix and + rules (§2.3)', () => {
  it('never unions rules of different patterns: the exact rule alone decides', () => {
    const acl = aclOf([rule('secret/*', 'read') + rule('secret/foo', 'list')]);
    expect(allowed(acl, 'read', 'secret/foo')).toBe(false);
    expect(allowed(acl, 'list', 'secret/foo')).toBe(true);
    expect(allowed(acl, 'read', 'secret/bar')).toBe(true);
  });

  it('a deny on a different pattern that loses does not deny', () => {
    const acl = aclOf([rule('secret/*', 'deny'), rule('secret/a/*', 'read')]);
    expect(allowed(acl, 'read', 'secret/a/x')).toBe(true);
    expect(allowed(acl, 'read', 'secret/b/x')).toBe(false);
  });

  it('an exact rule with no capabilities still blocks a broader grant', () => {
    const acl = aclOf([rule('secret/*', 'read') + 'path "secret/locked" {}\n']);
    expect(allowed(acl, 'read', 'secret/locked')).toBe(false);
  });

  it('uses the longest matching prefix only', () => {
    const acl = aclOf([rule('se*', 'update') + rule('secret/*', 'read') + rule('secret/ab*', 'delete')]);
    expect(allowed(acl, 'delete', 'secret/abc')).toBe(true);
    expect(allowed(acl, 'read', 'secret/abc')).toBe(false);
    expect(allowed(acl, 'read', 'secret/x')).toBe(true);
    expect(allowed(acl, 'update', 'sea')).toBe(true);
  });

  it('denies by default when nothing matches', () => {
    expect(allowed(aclOf([rule('secret/*', 'read')]), 'read', 'other/x')).toBe(false);
    expect(allowed(Acl.build([]), 'read', 'secret/x')).toBe(false);
  });

  it('treats * as the prefix of everything', () => {
    const acl = aclOf([rule('*', 'read')]);
    expect(allowed(acl, 'read', 'anything/at/all')).toBe(true);
    expect(allowed(acl, 'read', '')).toBe(true);
  });

  it('matches + to exactly one segment, an empty one included', () => {
    const acl = aclOf([rule('a/+/c', 'read')]);
    expect(allowed(acl, 'read', 'a/b/c')).toBe(true);
    expect(allowed(acl, 'read', 'a//c')).toBe(true);
    expect(allowed(acl, 'read', 'a/b/x/c')).toBe(false);
    expect(allowed(acl, 'read', 'a/b/c/d')).toBe(false);
    expect(allowed(acl, 'read', 'a/b')).toBe(false);
  });

  it('matches a lone + to single-segment paths', () => {
    const acl = aclOf([rule('+', 'read')]);
    expect(allowed(acl, 'read', 'secret')).toBe(true);
    expect(allowed(acl, 'read', 'secret/x')).toBe(false);
  });

  it('lets the last segment of a + rule with * be a prefix that swallows the rest', () => {
    const acl = aclOf([rule('kv/+/ap*', 'read') + rule('x/+/*', 'list')]);
    expect(allowed(acl, 'read', 'kv/team/app')).toBe(true);
    expect(allowed(acl, 'read', 'kv/team/apple/deep/path')).toBe(true);
    expect(allowed(acl, 'read', 'kv/team/other')).toBe(false);
    expect(allowed(acl, 'list', 'x/a')).toBe(false);
    expect(allowed(acl, 'list', 'x/a/')).toBe(true);
    expect(allowed(acl, 'list', 'x/a/b/c')).toBe(true);
  });

  it('matches +abc and an inner * literally', () => {
    const acl = aclOf([rule('a/+abc', 'read') + rule('a*b', 'update')]);
    expect(allowed(acl, 'read', 'a/+abc')).toBe(true);
    expect(allowed(acl, 'read', 'a/xabc')).toBe(false);
    expect(allowed(acl, 'update', 'a*b')).toBe(true);
    expect(allowed(acl, 'update', 'axb')).toBe(false);
  });

  it('strips leading slashes from the request path', () => {
    expect(allowed(aclOf([rule('secret/a', 'read')]), 'read', '//secret/a')).toBe(true);
  });
});

describe('the five tie-breaks between matching prefix and + rules (§2.3 step 4)', () => {
  it('1. the later first wildcard wins: foo/a* over foo/+, foo/bar/+/baz over foo/+/bar/baz', () => {
    const acl = aclOf([rule('foo/a*', 'read') + rule('foo/+', 'update')]);
    expect(allowed(acl, 'read', 'foo/ab')).toBe(true);
    expect(allowed(acl, 'update', 'foo/ab')).toBe(false);
    expect(allowed(acl, 'update', 'foo/xb')).toBe(true);
    const deep = aclOf([rule('foo/+/bar/baz', 'update') + rule('foo/bar/+/baz', 'read')]);
    expect(allowed(deep, 'read', 'foo/bar/bar/baz')).toBe(true);
    expect(allowed(deep, 'update', 'foo/bar/bar/baz')).toBe(false);
  });

  it('2. at the same position, no trailing * beats one: foo/+/bar over foo/+/ba*, foo/+ over foo/*', () => {
    const acl = aclOf([rule('foo/+/ba*', 'update') + rule('foo/+/bar', 'read')]);
    expect(allowed(acl, 'read', 'foo/x/bar')).toBe(true);
    expect(allowed(acl, 'update', 'foo/x/bar')).toBe(false);
    expect(allowed(acl, 'update', 'foo/x/bat')).toBe(true);
    const plus = aclOf([rule('foo/*', 'update') + rule('foo/+', 'read')]);
    expect(allowed(plus, 'read', 'foo/x')).toBe(true);
    expect(allowed(plus, 'update', 'foo/x')).toBe(false);
    expect(allowed(plus, 'update', 'foo/x/y')).toBe(true);
  });

  it('3. then fewer + segments win: foo/bar/+/baz over foo/bar/+/+', () => {
    const acl = aclOf([rule('foo/bar/+/+', 'update') + rule('foo/bar/+/baz', 'read')]);
    expect(allowed(acl, 'read', 'foo/bar/x/baz')).toBe(true);
    expect(allowed(acl, 'update', 'foo/bar/x/baz')).toBe(false);
  });

  it('4. then the longer pattern wins: foo/+/bar* over foo/+/b*', () => {
    const acl = aclOf([rule('foo/+/b*', 'update') + rule('foo/+/bar*', 'read')]);
    expect(allowed(acl, 'read', 'foo/x/barn')).toBe(true);
    expect(allowed(acl, 'update', 'foo/x/barn')).toBe(false);
    expect(allowed(acl, 'update', 'foo/x/bin')).toBe(true);
  });

  it('5. then the lexicographically larger pattern wins: a/+/b/+ over a/+/+/c', () => {
    const acl = aclOf([rule('a/+/+/c', 'update') + rule('a/+/b/+', 'read')]);
    expect(allowed(acl, 'read', 'a/x/b/c')).toBe(true);
    expect(allowed(acl, 'update', 'a/x/b/c')).toBe(false);
    // Written in the other order, the same rule wins.
    const swapped = aclOf([rule('a/+/b/+', 'read') + rule('a/+/+/c', 'update')]);
    expect(allowed(swapped, 'read', 'a/x/b/c')).toBe(true);
  });
});

describe('merging blocks with the same pattern (§2.2)', () => {
  it('ORs capabilities across policies and within one policy', () => {
    for (const acl of [aclOf([rule('a', 'read'), rule('a', 'update')]), aclOf([rule('a', 'read') + rule('a', 'update')])]) {
      expect(allowed(acl, 'read', 'a')).toBe(true);
      expect(allowed(acl, 'update', 'a')).toBe(true);
      expect(allowed(acl, 'delete', 'a')).toBe(false);
    }
  });

  it('keeps merging per store: a prefix rule and an exact rule with the same text are different patterns', () => {
    const acl = aclOf([rule('a/*', 'read'), rule('a/', 'list')]);
    expect(acl.resultant()).toMatchObject({ exact_paths: { 'a/': { capabilities: ['list'] } }, glob_paths: { 'a/': { capabilities: ['read'] } } });
  });

  it('makes the entry deny-only when any block denies, and drops its parameter lists', () => {
    const acl = aclOf(['path "a" {\n capabilities = ["read"]\n allowed_parameters = { "x" = [] }\n required_parameters = ["x"]\n}', rule('a', 'deny'), rule('a', 'update')]);
    expect(allowed(acl, 'read', 'a', { data: { x: 1 } })).toBe(false);
    expect(acl.capabilities('a')).toEqual(['deny']);
    expect(acl.resultant()).toEqual({ root: false, exact_paths: { a: { capabilities: ['deny'], required_parameters: ['x'] } }, glob_paths: {} });
  });

  it('keeps the smaller non-zero wrapping bound of each kind', () => {
    const acl = aclOf(['path "a" {\n capabilities = ["read"]\n max_wrapping_ttl = 100\n min_wrapping_ttl = 10\n}', 'path "a" {\n max_wrapping_ttl = 50\n min_wrapping_ttl = 30\n}', rule('a', 'read')]);
    expect(acl.resultant()).toMatchObject({ exact_paths: { a: { min_wrapping_ttl: 10, max_wrapping_ttl: 50 } } });
    expect(allowed(acl, 'read', 'a', { wrapTtlSeconds: 60 })).toBe(false);
    expect(allowed(acl, 'read', 'a', { wrapTtlSeconds: 20 })).toBe(true);
  });

  it('denies everything when merged bounds cross (max below min)', () => {
    const acl = aclOf(['path "a" {\n capabilities = ["read"]\n max_wrapping_ttl = 20\n}', 'path "a" {\n min_wrapping_ttl = 30\n}']);
    for (const ttl of [10, 20, 25, 30, 40]) expect(allowed(acl, 'read', 'a', { wrapTtlSeconds: ttl })).toBe(false);
  });

  it('merges parameter lists per key: concatenated, or "any value" when either side is empty', () => {
    const acl = aclOf([
      'path "a" {\n capabilities = ["update"]\n allowed_parameters = { "x" = ["1"], "y" = ["1"] }\n}',
      'path "a" {\n allowed_parameters = { "x" = ["2"], "y" = [] }\n}',
    ]);
    expect(allowed(acl, 'update', 'a', { data: { x: '1' } })).toBe(true);
    expect(allowed(acl, 'update', 'a', { data: { x: '2' } })).toBe(true);
    expect(allowed(acl, 'update', 'a', { data: { x: '3' } })).toBe(false);
    expect(allowed(acl, 'update', 'a', { data: { y: 'anything' } })).toBe(true);
    expect(acl.resultant()).toMatchObject({ exact_paths: { a: { allowed_parameters: { x: ['2', '1'], y: [] } } } });
  });

  it('unites required parameters', () => {
    const acl = aclOf(['path "a" {\n capabilities = ["update"]\n required_parameters = ["x"]\n}', 'path "a" {\n required_parameters = ["y", "x"]\n}']);
    expect(allowed(acl, 'update', 'a', { data: { x: 1 } })).toBe(false);
    expect(allowed(acl, 'update', 'a', { data: { x: 1, y: 2 } })).toBe(true);
    expect(acl.resultant()).toMatchObject({ exact_paths: { a: { required_parameters: ['x', 'y'] } } });
  });

  it('merges + rules and prefix rules by their full pattern too', () => {
    const acl = aclOf([rule('kv/+/x', 'read'), rule('kv/+/x', 'update'), rule('kv/*', 'read'), rule('kv/*', 'list')]);
    expect(allowed(acl, 'update', 'kv/a/x')).toBe(true);
    expect(allowed(acl, 'list', 'kv/a/y')).toBe(true);
  });
});

describe('LIST and trailing slashes (§2.4, newest behaviour)', () => {
  it('tries the exact rule on the full path first, then without the slash', () => {
    expect(allowed(aclOf([rule('kv/x/', 'list')]), 'list', 'kv/x/')).toBe(true);
    expect(allowed(aclOf([rule('kv/x', 'list')]), 'list', 'kv/x/')).toBe(true);
    // Only LIST gets the fallback.
    expect(allowed(aclOf([rule('kv/x', 'read')]), 'read', 'kv/x/')).toBe(false);
  });

  it('matches kv/+ against the path without its slash, and kv/x/* against the path with it', () => {
    expect(allowed(aclOf([rule('kv/+', 'list')]), 'list', 'kv/x/')).toBe(true);
    expect(allowed(aclOf([rule('kv/x/*', 'list')]), 'list', 'kv/x/')).toBe(true);
  });

  it('lets a deny on kv/x/* beat a broader kv/+ list grant (the 2025 fix)', () => {
    const acl = aclOf([rule('kv/+', 'list'), rule('kv/x/*', 'deny')]);
    expect(allowed(acl, 'list', 'kv/x/')).toBe(false);
    expect(allowed(acl, 'list', 'kv/y/')).toBe(true);
    expect(acl.capabilities('kv/x/')).toEqual(['deny']);
  });

  it('lets a list grant that outranks the deny win', () => {
    // kv/+ (no trailing *) outranks the prefix kv/* at the same position.
    const acl = aclOf([rule('kv/*', 'deny'), rule('kv/+', 'list')]);
    expect(allowed(acl, 'list', 'kv/x/')).toBe(true);
    expect(allowed(acl, 'read', 'kv/x/')).toBe(false);
  });

  it('falls back to the most specific candidate when none denies or grants list', () => {
    const acl = aclOf([rule('kv/x/*', 'read') + rule('kv/*', 'update')]);
    expect(allowed(acl, 'list', 'kv/x/')).toBe(false);
    expect(acl.capabilities('kv/x/')).toEqual(['read']);
  });

  it('prefers a list grant over a more specific candidate that neither denies nor lists', () => {
    const acl = aclOf([rule('kv/x/*', 'read') + rule('kv/+', 'list')]);
    expect(allowed(acl, 'list', 'kv/x/')).toBe(true);
  });

  it('denies a LIST nothing matches', () => {
    expect(allowed(aclOf([rule('kv/a/*', 'list')]), 'list', 'kv/b/')).toBe(false);
  });
});

describe('operations and capabilities (§2.5)', () => {
  it('maps each operation to its capability', () => {
    const each = ['read', 'list', 'create', 'update', 'delete', 'patch'] as const;
    for (const operation of each) {
      const acl = aclOf([rule('a', operation)]);
      for (const other of each) expect(allowed(acl, other, 'a'), `${operation} rule, ${other} request`).toBe(other === operation);
    }
  });

  it('does not grant patch through update or the legacy write', () => {
    expect(allowed(aclOf(['path "a" { policy = "write" }']), 'patch', 'a')).toBe(false);
  });

  it('always allows help, without sudo, even with no policies', () => {
    expect(Acl.build([]).allowOperation({ path: 'sys/audit', operation: 'help' })).toEqual({ allowed: true, sudo: false, root: false });
  });

  it('reports sudo from the winning rule only', () => {
    const acl = aclOf([rule('secret/*', 'read', 'sudo') + rule('secret/a', 'read')]);
    expect(acl.allowOperation({ path: 'secret/a', operation: 'read' })).toEqual({ allowed: true, sudo: false, root: false });
    expect(acl.allowOperation({ path: 'secret/b', operation: 'read' })).toEqual({ allowed: true, sudo: true, root: false });
  });

  it('grants no operation with sudo alone, and still reports it', () => {
    const acl = aclOf([rule('sys/audit/*', 'sudo')]);
    expect(acl.allowOperation({ path: 'sys/audit/file', operation: 'update' })).toEqual({ allowed: false, sudo: true, root: false });
  });
});

describe('wrapping TTL bounds (§1.6)', () => {
  const acl = aclOf(['path "max" {\n capabilities = ["read"]\n max_wrapping_ttl = 60\n}\npath "min" {\n capabilities = ["read"]\n min_wrapping_ttl = "1m"\n}']);

  it('denies an unwrapped request to a rule with bounds', () => {
    expect(allowed(acl, 'read', 'max')).toBe(false);
    expect(allowed(acl, 'read', 'min')).toBe(false);
    expect(allowed(acl, 'read', 'max', { wrapTtlSeconds: 0 })).toBe(false);
  });

  it('allows a wrap TTL inside the bounds and denies one outside', () => {
    expect(allowed(acl, 'read', 'max', { wrapTtlSeconds: 60 })).toBe(true);
    expect(allowed(acl, 'read', 'max', { wrapTtlSeconds: 61 })).toBe(false);
    expect(allowed(acl, 'read', 'min', { wrapTtlSeconds: 60 })).toBe(true);
    expect(allowed(acl, 'read', 'min', { wrapTtlSeconds: 59 })).toBe(false);
  });
});

describe('capabilities() (§2.6)', () => {
  it('returns the winning entry\'s capabilities sorted', () => {
    expect(aclOf([rule('a', 'update', 'read', 'create', 'sudo', 'patch')]).capabilities('a')).toEqual(['create', 'patch', 'read', 'sudo', 'update']);
  });

  it('returns deny when nothing matches, the entry denies or grants nothing, or there are no policies', () => {
    const acl = aclOf([rule('d', 'deny') + 'path "e" {}\n']);
    expect(acl.capabilities('x')).toEqual(['deny']);
    expect(acl.capabilities('d')).toEqual(['deny']);
    expect(acl.capabilities('e')).toEqual(['deny']);
    expect(Acl.build([]).capabilities('sys/health')).toEqual(['deny']);
  });

  it('evaluates as a list, so a path with a slash falls back to the rule without it', () => {
    const acl = aclOf([rule('secret/metadata/app', 'list', 'read')]);
    expect(acl.capabilities('secret/metadata/app/')).toEqual(['list', 'read']);
    expect(acl.capabilities('/secret/metadata/app')).toEqual(['list', 'read']);
  });
});

describe('resultant() (§4.4)', () => {
  it('lists exact and prefix rules (keys without *), capabilities in Vault\'s fixed order, and leaves + rules out', () => {
    const acl = aclOf([
      rule('secret/data/app', 'update', 'read', 'list', 'delete', 'create', 'sudo', 'patch') +
        rule('secret/*', 'read') +
        rule('kv/+/x', 'read') +
        'path "empty" {}\n' +
        'path "p" {\n capabilities = ["update"]\n min_wrapping_ttl = 5\n max_wrapping_ttl = "1m"\n allowed_parameters = { "b" = ["1"], "a" = [] }\n denied_parameters = { "c" = [] }\n required_parameters = ["a"]\n}\n',
    ]);
    expect(acl.resultant()).toEqual({
      root: false,
      exact_paths: {
        'secret/data/app': { capabilities: ['create', 'delete', 'list', 'read', 'sudo', 'update', 'patch'] },
        empty: { capabilities: ['deny'] },
        p: { capabilities: ['update'], min_wrapping_ttl: 5, max_wrapping_ttl: 60, allowed_parameters: { a: [], b: ['1'] }, denied_parameters: { c: [] }, required_parameters: ['a'] },
      },
      glob_paths: { 'secret/': { capabilities: ['read'] } },
    });
  });
});

describe('hasMountAccess() (§7.6 step 4)', () => {
  it('is true when the mount path itself has capabilities', () => {
    expect(aclOf([rule('secret/*', 'read')]).hasMountAccess('secret/')).toBe(true);
    expect(aclOf([rule('secret', 'list')]).hasMountAccess('secret')).toBe(true);
  });

  it('is true when an exact or prefix rule under the mount grants something', () => {
    expect(aclOf([rule('secret/data/app', 'read')]).hasMountAccess('secret/')).toBe(true);
    expect(aclOf([rule('secret/data/*', 'read')]).hasMountAccess('/secret/')).toBe(true);
  });

  it('is true when a + rule can match beneath the mount', () => {
    expect(aclOf([rule('+/data/app', 'read')]).hasMountAccess('secret/')).toBe(true);
    expect(aclOf([rule('team/+/x', 'read')]).hasMountAccess('team/kv/')).toBe(true);
    expect(aclOf([rule('sec+/data', 'read')]).hasMountAccess('secret/')).toBe(false);
  });

  it('is false for rules that only deny, grant nothing, or sit elsewhere', () => {
    expect(aclOf([rule('secret/*', 'deny') + rule('secret/data/x', 'deny')]).hasMountAccess('secret/')).toBe(false);
    expect(aclOf(['path "secret/data/x" {}']).hasMountAccess('secret/')).toBe(false);
    expect(aclOf([rule('other/*', 'read') + rule('other/+/x', 'read')]).hasMountAccess('secret/')).toBe(false);
    expect(aclOf([rule('+/data/app', 'deny')]).hasMountAccess('secret/')).toBe(false);
    expect(Acl.build([]).hasMountAccess('secret/')).toBe(false);
  });

  it('ignores a deny on the mount when something under it grants', () => {
    expect(aclOf([rule('secret/*', 'deny') + rule('secret/data/app', 'read')]).hasMountAccess('secret/')).toBe(true);
  });
});

describe('identity templates at ACL build', () => {
  const policy = [
    rule('secret/{{identity.entity.id}}/*', 'read') +
      rule('names/{{ identity.entity.name }}', 'read') +
      rule('kv/{{identity.entity.aliases.auth_azure_1234.name}}/*', 'list') +
      rule('meta/{{identity.entity.metadata.team}}', 'read') +
      rule('time/{{time.now}}', 'read') +
      rule('groups/{{identity.groups.names.ops.id}}', 'read'),
  ];

  it('fills in the entity id, name and an alias name', () => {
    const acl = aclOf(policy, { entityId: 'e-1', entityName: 'web', aliases: { auth_azure_1234: 'vm-1' } });
    expect(allowed(acl, 'read', 'secret/e-1/x')).toBe(true);
    expect(allowed(acl, 'read', 'secret/e-2/x')).toBe(false);
    expect(allowed(acl, 'read', 'names/web')).toBe(true);
    expect(allowed(acl, 'list', 'kv/vm-1/')).toBe(true);
    expect(allowed(acl, 'list', 'kv/vm-2/')).toBe(false);
  });

  it('leaves out rules it cannot resolve: no entity, an unknown alias, and directives it does not support', () => {
    expect(aclOf(policy).resultant()).toEqual({ root: false, exact_paths: {}, glob_paths: {} });
    const acl = aclOf(policy, { entityId: 'e-1' });
    expect(acl.resultant()).toEqual({ root: false, exact_paths: {}, glob_paths: { 'secret/e-1/': { capabilities: ['read'] } } });
  });

  it('leaves out a rule whose value would add a wildcard, or is empty', () => {
    expect(allowed(aclOf(policy, { entityId: 'e-1', entityName: 'a*' }), 'read', 'names/a*')).toBe(false);
    expect(allowed(aclOf(policy, { entityId: 'e-1', entityName: '+' }), 'read', 'names/+')).toBe(false);
    expect(aclOf(policy, { entityId: '' }).resultant()).toEqual({ root: false, exact_paths: {}, glob_paths: {} });
  });

  it('does not apply an entity directive without an entity, even with aliases', () => {
    expect(allowed(aclOf(policy, { aliases: { auth_azure_1234: 'vm-1' } }), 'list', 'kv/vm-1/')).toBe(false);
  });
});

describe('root', () => {
  it('bypasses every check, sudo and parameters included', () => {
    expect(Acl.ROOT.isRoot).toBe(true);
    expect(Acl.ROOT.allowOperation({ path: 'sys/raw/x', operation: 'delete', data: { anything: 1 } })).toEqual({ allowed: true, sudo: true, root: true });
    expect(Acl.ROOT.capabilities('anything')).toEqual(['root']);
    expect(Acl.ROOT.resultant()).toEqual({ root: true });
    expect(Acl.ROOT.hasMountAccess('secret/')).toBe(true);
  });

  it('is what a set holding only root builds, and root with other policies is refused', () => {
    expect(Acl.build([{ name: 'root', rules: [] }])).toBe(Acl.ROOT);
    expect(() => Acl.build([{ name: 'root', rules: [] }, { name: 'default', rules: [] }])).toThrow('other policies present along with root');
    const ordinary = aclOf([rule('*', 'read', 'sudo')]);
    expect(ordinary.isRoot).toBe(false);
    expect(ordinary.allowOperation({ path: 'x', operation: 'read' }).root).toBe(false);
  });
});

describe('scale', () => {
  it('combines 200 policies in one ACL, each rule still deciding', () => {
    const policies = Array.from({ length: 200 }, (_, i) => ({
      name: `team-${i}`,
      rules: parsePolicy(rule(`kv/data/team-${i}/*`, 'read') + rule(`kv/metadata/team-${i}`, 'list') + rule('shared/config', i === 199 ? 'update' : 'read')).rules,
    }));
    const started = performance.now();
    const acl = Acl.build(policies);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(allowed(acl, 'read', 'kv/data/team-0/app')).toBe(true);
    expect(allowed(acl, 'read', 'kv/data/team-199/app')).toBe(true);
    expect(allowed(acl, 'read', 'kv/data/team-200/app')).toBe(false);
    expect(allowed(acl, 'list', 'kv/metadata/team-57/')).toBe(true);
    expect(acl.capabilities('shared/config')).toEqual(['read', 'update']);
    const resultant = acl.resultant();
    expect(Object.keys(Object(resultant['exact_paths'])).length).toBe(201);
    expect(Object.keys(Object(resultant['glob_paths'])).length).toBe(200);
  });
});
