import { describe, expect, it } from 'vitest';
import { addressAllowed, parseCidr } from '../../../shared/net/cidr';
import { canonicalRoleName, isValidRoleName } from '../../../shared/roles/names';
import { newRole, roleReadData, storedRoleSchema, upgradeLegacyFields } from '../../../shared/roles/types';
import { BINDING_RULE_MESSAGE, applyRoleWrite, parsePolicies, type RoleWriteInput } from '../../../shared/roles/write';
import { formatGoDuration } from '../../../shared/vault/goDuration';
import { VaultError } from '../../../shared/vault/errors';

const CTX = { maxLeaseTtlSeconds: 768 * 3600 };
const PINNED: RoleWriteInput = { bound_service_principal_ids: ['sp-1'] };
const write = (input: RoleWriteInput, current = undefined as ReturnType<typeof newRole> | undefined) =>
  applyRoleWrite('web', current, input, CTX);

function refusal(input: RoleWriteInput): string {
  try {
    write(input);
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).status).toBe(400);
    return (err as VaultError).errors[0] ?? '';
  }
  throw new Error('expected a 400');
}

describe('role names', () => {
  it.each(['a', 'web', 'Web-App.v2', 'a_b', '_', '1', 'x'.repeat(255)])('accepts %j', (name) => expect(isValidRoleName(name)).toBe(true));
  it.each(['', '-a', 'a-', '.a', 'a.', 'a/b', 'a#b', 'a?b', 'a b', 'tab\t', 'nul\u0000', 'x'.repeat(256), 'x'.repeat(300), 'é', 'rôle', '名前', 'a%2Fb'])(
    'refuses %j',
    (name) => {
      expect(isValidRoleName(name)).toBe(false);
      expect(() => canonicalRoleName(name)).toThrow(/invalid role name/);
    },
  );
  it('lower-cases', () => expect(canonicalRoleName('MyRole')).toBe('myrole'));
});

describe('applyRoleWrite', () => {
  it('starts from Vault defaults, with never-set lists as null', () => {
    const { role, warnings } = write(PINNED);
    expect(warnings).toEqual([]);
    const data = roleReadData(role);
    expect(data).toEqual({
      bound_service_principal_ids: ['sp-1'],
      bound_group_ids: null,
      bound_subscription_ids: null,
      bound_resource_groups: null,
      bound_locations: null,
      bound_scale_sets: null,
      resource_verification: 'arm',
      token_bound_cidrs: [],
      token_explicit_max_ttl: 0,
      token_max_ttl: 0,
      token_no_default_policy: false,
      token_num_uses: 0,
      token_period: 0,
      token_policies: [],
      token_ttl: 0,
      token_type: 'default',
    });
  });

  it('keeps what a later write omits and replaces what it sends ("" empties a list)', () => {
    const first = write({ ...PINNED, bound_locations: ['westeurope'], token_ttl: 60 }).role;
    const second = applyRoleWrite('web', first, { bound_locations: [] }, CTX).role;
    expect(second.boundLocations).toEqual([]);
    expect(second.tokenTtl).toBe(60);
    expect(second.boundServicePrincipalIds).toEqual(['sp-1']);
  });

  describe('binding rule', () => {
    it.each<[string, RoleWriteInput]>([
      ['nothing', {}],
      ['empty principal list', { bound_service_principal_ids: [] }],
      ['principal wildcard', { bound_service_principal_ids: ['*'] }],
      ['group wildcard', { bound_group_ids: ['*'] }],
      ['both wildcards', { bound_service_principal_ids: ['*'], bound_group_ids: ['*'] }],
      ['wildcard mixed with an id', { bound_service_principal_ids: ['*', 'sp-1'] }],
      ['empty resource lists', { bound_subscription_ids: [], bound_locations: [] }],
    ])('refuses %s', (_label, input) => {
      expect(refusal(input)).toBe(BINDING_RULE_MESSAGE);
    });

    it.each<[string, RoleWriteInput]>([
      ['a principal', { bound_service_principal_ids: ['sp'] }],
      ['a group', { bound_group_ids: ['g'] }],
      ['a subscription with wildcard principals', { bound_service_principal_ids: ['*'], bound_subscription_ids: ['sub'] }],
      ['a resource group', { bound_resource_groups: ['rg'] }],
      ['a scale set', { bound_scale_sets: ['vmss'] }],
      ['a location', { bound_locations: ['westeurope'] }],
    ])('accepts %s', (_label, input) => {
      expect(() => write(input)).not.toThrow();
    });

    it('also holds when a later write removes the last binding', () => {
      const { role } = write(PINNED);
      expect(() => applyRoleWrite('web', role, { bound_service_principal_ids: ['*'] }, CTX)).toThrow(BINDING_RULE_MESSAGE);
    });
  });

  it('uses tokenutil messages', () => {
    expect(refusal({ ...PINNED, token_type: 'default-service' })).toBe('invalid \'token_type\' value "default-service"');
    expect(refusal({ ...PINNED, token_num_uses: -1 })).toBe("'token_num_uses' cannot be negative");
    expect(refusal({ ...PINNED, token_type: 'batch', token_period: 60 })).toBe(
      "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
    );
    expect(refusal({ ...PINNED, token_type: 'batch', token_num_uses: 3 })).toBe(
      "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
    );
    expect(refusal({ ...PINNED, token_ttl: 7200, token_max_ttl: 3600 })).toBe("'token_ttl' cannot be greater than 'token_max_ttl'");
    expect(refusal({ ...PINNED, token_bound_cidrs: ['10.0.0.0/33'] })).toMatch(/invalid CIDR block or IP address "10.0.0.0\/33"/);
    expect(refusal({ ...PINNED, token_bound_cidrs: ['nope'] })).toMatch(/invalid CIDR/);
  });

  it('applies batch rules to the deprecated names too (Vault lets them slip)', () => {
    expect(refusal({ ...PINNED, token_type: 'batch', period: 60 })).toMatch(/periodic tokens/);
    expect(refusal({ ...PINNED, token_type: 'batch', num_uses: 2 })).toMatch(/limited use count/);
  });

  it('refuses a period above the system max TTL with Go-formatted durations', () => {
    expect(refusal({ ...PINNED, token_period: 769 * 3600 })).toBe(
      'token period of "769h0m0s" is greater than the backend\'s maximum lease TTL of "768h0m0s"',
    );
  });

  it('warns when token_max_ttl exceeds the system max TTL', () => {
    const { warnings } = write({ ...PINNED, token_max_ttl: 800 * 3600 });
    expect(warnings).toEqual([
      "max_ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
    ]);
  });

  describe('deprecated aliases', () => {
    it('an old name alone fills both slots and is echoed', () => {
      const { role } = write({ ...PINNED, policies: ['B', ' a', 'a', ''], ttl: 60, max_ttl: 120, period: 30, num_uses: 4 });
      expect(role.tokenPolicies).toEqual(['a', 'b']);
      expect(role).toMatchObject({ tokenTtl: 60, tokenMaxTtl: 120, tokenPeriod: 30, tokenNumUses: 4 });
      const data = roleReadData(role);
      expect(data).toMatchObject({ policies: ['a', 'b'], ttl: 60, max_ttl: 120, period: 30, num_uses: 4, token_policies: ['a', 'b'] });
    });

    it('a new name clears the old slot unless both are sent; then the new value wins', () => {
      const old = write({ ...PINNED, ttl: 60 }).role;
      const replaced = applyRoleWrite('web', old, { token_ttl: 90 }, CTX).role;
      expect(replaced.tokenTtl).toBe(90);
      expect(roleReadData(replaced).ttl).toBeUndefined();
      const both = write({ ...PINNED, ttl: 60, token_ttl: 90 }).role;
      expect(both.tokenTtl).toBe(90);
      expect(roleReadData(both).ttl).toBe(90);
    });

    it('root collapses policies', () => expect(parsePolicies(['dev', 'Root', 'ops'])).toEqual(['root']));

    it('legacy ttl above legacy max_ttl is refused with Vault\'s text', () => {
      expect(refusal({ ...PINNED, ttl: 7200, max_ttl: 3600 })).toBe('ttl should not be greater than max_ttl');
    });

    it('a negative legacy num_uses is refused', () => {
      expect(refusal({ ...PINNED, num_uses: -1 })).toBe('token num uses cannot be negative');
    });

    it('upgrades a stored role that only has the old names', () => {
      const stored = storedRoleSchema.parse({ name: 'old', boundGroupIds: ['g'], legacy: { policies: ['p'], ttl: 5, maxTtl: 10, period: 0, numUses: 2 } });
      const upgraded = upgradeLegacyFields(stored);
      expect(upgraded).toMatchObject({ tokenPolicies: ['p'], tokenTtl: 5, tokenMaxTtl: 10, tokenNumUses: 2, boundServicePrincipalIds: null });
    });
  });

  it('validates resource_verification', () => {
    expect(write({ ...PINNED, resource_verification: 'claims' }).role.resourceVerification).toBe('claims');
    expect(write({ ...PINNED, resource_verification: 'ARM' }).role.resourceVerification).toBe('arm');
    expect(refusal({ ...PINNED, resource_verification: 'trust-me' })).toBe('invalid resource_verification "trust-me": must be "arm" or "claims"');
  });

  it('does not modify the stored role it starts from', () => {
    const { role } = write(PINNED);
    const copy = JSON.stringify(role);
    applyRoleWrite('web', role, { token_ttl: 5, bound_group_ids: ['g'] }, CTX);
    expect(JSON.stringify(role)).toBe(copy);
  });
});

describe('cidr', () => {
  it('parses blocks and single addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')?.family).toBe('ipv6');
    expect(parseCidr('::1')?.prefix).toBe(128);
    for (const bad of ['10.0.0.0/33', '10.0.0/8', '300.1.1.1', '10.0.0.0/-1', '10.0.0.0/8/8', '::1/129', 'host', '']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('checks addresses against blocks', () => {
    expect(addressAllowed(['10.0.0.0/8'], '10.2.3.4')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], '11.2.3.4')).toBe(false);
    expect(addressAllowed(['10.1.2.3/8'], '10.9.9.9')).toBe(true);
    expect(addressAllowed(['127.0.0.1'], '127.0.0.1')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], undefined)).toBe(false);
    expect(addressAllowed([], undefined)).toBe(true);
    expect(addressAllowed(['2001:db8::/32'], '2001:db8::5')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], '::ffff:10.2.3.4')).toBe(true);
    expect(addressAllowed(['2001:db8::/32'], '[2001:db8::5]')).toBe(true);
    expect(addressAllowed(['10.0.0.0/8'], 'not-an-ip')).toBe(false);
  });
});

describe('formatGoDuration', () => {
  it.each([[0, '0s'], [45, '45s'], [90, '1m30s'], [3600, '1h0m0s'], [172800, '48h0m0s'], [3661, '1h1m1s']])('%d → %s', (s, text) =>
    expect(formatGoDuration(s)).toBe(text),
  );
});
