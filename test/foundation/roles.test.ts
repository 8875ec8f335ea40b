import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asAdmin, expectData, expectErrors, expectWarnings, uniqueMount, type AdminCall } from './helpers';

let stack: Stack;
let admin: AdminCall;
let mount: string;
beforeAll(async () => {
  stack = await startStack();
  admin = asAdmin(stack);
  mount = uniqueMount('roles');
  expect((await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } })).status).toBe(204);
});
afterAll(async () => {
  await stack?.stop();
});

const PIN = { bound_service_principal_ids: 'sp-1' };
let roleCounter = 0;
const uniqueRole = () => `role-${++roleCounter}`;
const writeRole = (name: string, body: unknown, path = mount) => admin('POST', `auth/${path}/role/${name}`, { body });
const readRole = async (name: string, path = mount) => expectData(await admin('GET', `auth/${path}/role/${name}`));

async function storedRoleCount(path: string): Promise<number> {
  let count = 0;
  for await (const _ of stack.table('azauthroles').listEntities({ queryOptions: { filter: `PartitionKey eq '${path}'` } })) count += 1;
  return count;
}

describe('write and read', () => {
  it('stores every field and reads it back in Vault\'s shape', async () => {
    const name = uniqueRole();
    const res = await admin('PUT', `auth/${mount}/role/${name}`, {
      body: {
        bound_service_principal_ids: ['sp-1', 'sp-2'],
        bound_group_ids: 'g-1, g-2',
        bound_subscription_ids: ['sub-1'],
        bound_resource_groups: 'rg-1',
        bound_locations: ['westeurope', 'northeurope'],
        bound_scale_sets: 'vmss-1',
        resource_verification: 'claims',
        token_bound_cidrs: '10.0.0.0/8, 192.168.1.1',
        token_explicit_max_ttl: '48h',
        token_max_ttl: '24h',
        token_no_default_policy: 'true',
        token_num_uses: '5',
        token_period: 0,
        token_policies: ['dev', 'ops'],
        token_ttl: '1h',
        token_type: 'service',
      },
    });
    expect(res.status, res.text).toBe(204);
    expect(await readRole(name)).toEqual({
      bound_service_principal_ids: ['sp-1', 'sp-2'],
      bound_group_ids: ['g-1', 'g-2'],
      bound_subscription_ids: ['sub-1'],
      bound_resource_groups: ['rg-1'],
      bound_locations: ['westeurope', 'northeurope'],
      bound_scale_sets: ['vmss-1'],
      resource_verification: 'claims',
      token_bound_cidrs: ['10.0.0.0/8', '192.168.1.1'],
      token_explicit_max_ttl: 172800,
      token_max_ttl: 86400,
      token_no_default_policy: true,
      token_num_uses: 5,
      token_period: 0,
      token_policies: ['dev', 'ops'],
      token_ttl: 3600,
      token_type: 'service',
    });
  });

  it('reads never-set lists as null, emptied lists as [], and Vault\'s token defaults', async () => {
    const name = uniqueRole();
    expect((await writeRole(name, { ...PIN, bound_group_ids: '' })).status).toBe(204);
    const data = await readRole(name);
    expect(data).toMatchObject({
      bound_service_principal_ids: ['sp-1'],
      bound_group_ids: [],
      bound_subscription_ids: null,
      bound_resource_groups: null,
      bound_locations: null,
      bound_scale_sets: null,
      resource_verification: 'arm',
      token_bound_cidrs: [],
      token_policies: [],
      token_type: 'default',
      token_ttl: 0,
      token_max_ttl: 0,
      token_explicit_max_ttl: 0,
      token_period: 0,
      token_num_uses: 0,
      token_no_default_policy: false,
    });
    expect(data).not.toHaveProperty('name');
    expect(data).not.toHaveProperty('policies');
  });

  it('keeps fields a later write omits', async () => {
    const name = uniqueRole();
    await writeRole(name, { ...PIN, token_ttl: 60, bound_locations: 'eastus' });
    expect((await writeRole(name, { token_policies: 'p' })).status).toBe(204);
    expect(await readRole(name)).toMatchObject({ token_ttl: 60, bound_locations: ['eastus'], token_policies: ['p'], bound_service_principal_ids: ['sp-1'] });
  });

  it('treats names case-insensitively and lists them lower-case', async () => {
    const path = uniqueMount('case');
    expect((await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } })).status).toBe(204);
    expect((await writeRole('MyRole', PIN, path)).status).toBe(204);
    expect((await readRole('myrole', path)).bound_service_principal_ids).toEqual(['sp-1']);
    expect((await readRole('MYROLE', path)).bound_service_principal_ids).toEqual(['sp-1']);
    expect((await writeRole('myROLE', { token_ttl: 30 }, path)).status).toBe(204);
    expect(expectData(await admin('GET', `auth/${path}/role?list=true`)).keys).toEqual(['myrole']);
    expect((await readRole('MyRole', path)).token_ttl).toBe(30);
  });

  it('answers 200 with a warning for unknown parameters and writes anyway', async () => {
    const name = uniqueRole();
    const warnings = expectWarnings(await writeRole(name, { ...PIN, bound_cidrs: '1.2.3.4', foo: 1 }));
    expect(warnings).toEqual(['Endpoint ignored these unrecognized parameters: [bound_cidrs foo]']);
    expect((await readRole(name)).bound_service_principal_ids).toEqual(['sp-1']);
  });

  it('warns when token_max_ttl exceeds the system maximum (AZAUTH_MAX_TTL, 768h by default)', async () => {
    const name = uniqueRole();
    const warnings = expectWarnings(await writeRole(name, { ...PIN, token_max_ttl: '800h' }));
    expect(warnings).toEqual([
      "max_ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
    ]);
    expect((await readRole(name)).token_max_ttl).toBe(800 * 3600);
  });

  it('stores resource_verification and validates it', async () => {
    const name = uniqueRole();
    await writeRole(name, { ...PIN, resource_verification: 'claims' });
    expect((await readRole(name)).resource_verification).toBe('claims');
    await writeRole(name, { resource_verification: 'arm' });
    expect((await readRole(name)).resource_verification).toBe('arm');
  });

  it('lets concurrent writes of different fields all land (ETag retries)', async () => {
    const name = uniqueRole();
    await writeRole(name, PIN);
    const changes = [{ token_ttl: 11 }, { token_max_ttl: 99 }, { bound_locations: 'l1' }, { bound_group_ids: 'g' }, { token_policies: 'x' }, { token_num_uses: 3 }];
    const results = await Promise.all(changes.map((body) => writeRole(name, body)));
    expect(results.map((r) => r.status)).toEqual(changes.map(() => 204));
    expect(await readRole(name)).toMatchObject({ token_ttl: 11, token_max_ttl: 99, bound_locations: ['l1'], bound_group_ids: ['g'], token_policies: ['x'], token_num_uses: 3 });
  });
});

describe('audit', () => {
  it('records name the mount and role of role requests, and the mount of config and rotate-root requests', async () => {
    const name = uniqueRole();
    expect((await writeRole(name, PIN)).status).toBe(204);
    await readRole(name);
    expect((await admin('DELETE', `auth/${mount}/role/${name}`)).status).toBe(204);
    expect((await admin('GET', `auth/${mount}/config`)).status).toBe(404);
    expectErrors(await admin('POST', `auth/${mount}/rotate-root`), 400);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const records = stack
      .logs()
      .split('\n')
      .filter((line) => line.includes('"type":"azauth.audit"'))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { path: string; operation: string; mount: string | null; role: string | null });
    const roleRecords = records.filter((r) => r.path === `auth/${mount}/role/${name}`);
    expect(roleRecords.map((r) => r.operation).sort()).toEqual(['delete', 'read', 'update']);
    for (const record of roleRecords) expect(record).toMatchObject({ mount, role: name });
    expect(records.find((r) => r.path === `auth/${mount}/config`)).toMatchObject({ mount, role: null });
    expect(records.find((r) => r.path === `auth/${mount}/rotate-root`)).toMatchObject({ mount, operation: 'rotate-root' });
  });
});

describe('deprecated aliases', () => {
  it('an old name alone fills the token_* field and is echoed', async () => {
    const name = uniqueRole();
    expect((await writeRole(name, { ...PIN, policies: 'B, a,a', ttl: '1m', max_ttl: '2m', period: '30s', num_uses: 4 })).status).toBe(204);
    expect(await readRole(name)).toMatchObject({
      policies: ['a', 'b'],
      token_policies: ['a', 'b'],
      ttl: 60,
      token_ttl: 60,
      max_ttl: 120,
      token_max_ttl: 120,
      period: 30,
      token_period: 30,
      num_uses: 4,
      token_num_uses: 4,
    });
  });

  it('the new name wins and clears the old one', async () => {
    const name = uniqueRole();
    await writeRole(name, { ...PIN, ttl: 60 });
    await writeRole(name, { token_ttl: 90 });
    const data = await readRole(name);
    expect(data.token_ttl).toBe(90);
    expect(data).not.toHaveProperty('ttl');
    await writeRole(name, { ttl: 10, token_ttl: 20 });
    expect(await readRole(name)).toMatchObject({ ttl: 20, token_ttl: 20 });
  });

  it('upgrades a stored role written with only the old names', async () => {
    const name = uniqueRole();
    const legacy = { name, boundServicePrincipalIds: ['sp'], legacy: { policies: ['old'], ttl: 5, maxTtl: 50, period: 0, numUses: 2 } };
    await stack.table('azauthroles').createEntity({ partitionKey: mount, rowKey: name, name, role: JSON.stringify(legacy) });
    expect(await readRole(name)).toMatchObject({ token_policies: ['old'], policies: ['old'], token_ttl: 5, ttl: 5, token_max_ttl: 50, token_num_uses: 2, token_type: 'default' });
  });
});

describe('binding rule', () => {
  it.each<[string, Record<string, unknown>]>([
    ['no bindings', { token_ttl: 60 }],
    ['empty lists', { bound_service_principal_ids: '', bound_group_ids: [] }],
    ['wildcard principals', { bound_service_principal_ids: '*' }],
    ['wildcard groups', { bound_group_ids: ['*'] }],
    ['both wildcards', { bound_service_principal_ids: '*', bound_group_ids: '*' }],
    ['a wildcard among ids', { bound_service_principal_ids: '*,sp-1' }],
  ])('refuses a role with %s (400, nothing stored)', async (_label, body) => {
    const name = uniqueRole();
    const errors = expectErrors(await writeRole(name, body), 400);
    expect(errors[0]).toMatch(/^role must pin its callers/);
    expect((await admin('GET', `auth/${mount}/role/${name}`)).status).toBe(404);
  });

  it.each<[string, Record<string, unknown>]>([
    ['specific principals', { bound_service_principal_ids: 'sp' }],
    ['specific groups', { bound_group_ids: 'g' }],
    ['a subscription (any principal)', { bound_service_principal_ids: '*', bound_subscription_ids: 'sub' }],
    ['a resource group', { bound_resource_groups: 'rg' }],
    ['a scale set', { bound_scale_sets: 'vmss' }],
    ['a location', { bound_locations: 'westeurope' }],
  ])('accepts a role pinned by %s', async (_label, body) => {
    expect((await writeRole(uniqueRole(), body)).status).toBe(204);
  });

  it('refuses an update that would unpin a stored role, keeping the stored role', async () => {
    const name = uniqueRole();
    await writeRole(name, PIN);
    expectErrors(await writeRole(name, { bound_service_principal_ids: '*' }), 400);
    expect((await readRole(name)).bound_service_principal_ids).toEqual(['sp-1']);
  });
});

describe('refusals (400, nothing stored)', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp | string]> = [
    ['token_ttl above token_max_ttl', { ...PIN, token_ttl: '2h', token_max_ttl: '1h' }, "'token_ttl' cannot be greater than 'token_max_ttl'"],
    ['legacy ttl above legacy max_ttl', { ...PIN, ttl: '2h', max_ttl: '1h' }, 'ttl should not be greater than max_ttl'],
    ['batch with token_period', { ...PIN, token_type: 'batch', token_period: '1h' }, "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens"],
    ['batch with token_num_uses', { ...PIN, token_type: 'batch', token_num_uses: 2 }, "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count"],
    ['batch with legacy period', { ...PIN, token_type: 'batch', period: '1h' }, /periodic tokens/],
    ['unknown token_type', { ...PIN, token_type: 'default-service' }, 'invalid \'token_type\' value "default-service"'],
    ['bad CIDR', { ...PIN, token_bound_cidrs: '10.0.0.0/33' }, /invalid CIDR block or IP address "10.0.0.0\/33"/],
    ['CIDR garbage', { ...PIN, token_bound_cidrs: ['10.0.0.0/8', 'not-an-ip'] }, /"not-an-ip"/],
    ['negative token_num_uses', { ...PIN, token_num_uses: -1 }, "'token_num_uses' cannot be negative"],
    ['negative legacy num_uses', { ...PIN, num_uses: -1 }, 'token num uses cannot be negative'],
    ['token_period above the system max TTL', { ...PIN, token_period: '769h' }, 'token period of "769h0m0s" is greater than the backend\'s maximum lease TTL of "768h0m0s"'],
    ['negative duration', { ...PIN, token_ttl: '-5m' }, /^Field validation failed: error converting input -5m for field "token_ttl": cannot provide negative value/],
    ['unparsable duration', { ...PIN, token_max_ttl: 'forever' }, /field "token_max_ttl": time: invalid duration/],
    ['non-integer num uses', { ...PIN, token_num_uses: '1.5' }, /field "token_num_uses"/],
    ['non-boolean', { ...PIN, token_no_default_policy: 'perhaps' }, /field "token_no_default_policy"/],
    ['list of objects', { bound_service_principal_ids: [{ id: 1 }] }, /field "bound_service_principal_ids"/],
    ['bad resource_verification', { ...PIN, resource_verification: 'vibes' }, 'invalid resource_verification "vibes": must be "arm" or "claims"'],
    // issue 10 item 10: every login on such a role would fail ("auth methods cannot create root tokens")
    ['root in token_policies', { ...PIN, token_policies: ['web', 'root'] }, 'token_policies cannot contain "root": auth methods cannot create root tokens, so every login on this role would fail'],
    ['root in token_policies, any case and spacing', { ...PIN, token_policies: 'web, Root ' }, /^token_policies cannot contain "root"/],
    ['root in the deprecated policies', { ...PIN, policies: 'root' }, 'policies cannot contain "root": auth methods cannot create root tokens, so every login on this role would fail'],
    ['a 5,000-character token_type, not echoed whole', { ...PIN, token_type: 'q'.repeat(5000) }, /^invalid 'token_type' value "q{32}…" \(5000 characters\)$/],
  ];

  it.each(cases)('%s', async (_label, body, message) => {
    const name = uniqueRole();
    const errors = expectErrors(await writeRole(name, body), 400);
    if (typeof message === 'string') expect(errors).toEqual([message]);
    else expect(errors[0]).toMatch(message);
    expect((await admin('GET', `auth/${mount}/role/${name}`)).status).toBe(404);
  });

  it('refuses malformed JSON', async () => {
    expect(expectErrors(await writeRole(uniqueRole(), '{"bound_group_ids": ['), 400)).toEqual(['error parsing JSON']);
  });
});

describe('role names', () => {
  const badNames: Array<[string, string]> = [
    ['a slash', 'a/b'],
    ['an encoded slash', 'a%2Fb'],
    ['a hash', 'a%23b'],
    ['a question mark', 'a%3Fb'],
    ['a space', 'a%20b'],
    ['a control character', 'a%01b'],
    ['a tab', 'a%09b'],
    ['300 characters', 'a'.repeat(300)],
    ['non-ASCII letters', 'r%C3%B4le'],
    ['CJK', '%E5%90%8D'],
    ['a leading dash', '-ab'],
    ['a trailing dot', 'ab.'],
  ];

  it.each(badNames)('refuses %s with 400 invalid role name, for every operation', async (_label, urlName) => {
    const before = await storedRoleCount(mount);
    for (const method of ['POST', 'GET', 'DELETE']) {
      const res = await admin(method, `auth/${mount}/role/${urlName}`, { body: method === 'POST' ? PIN : undefined });
      expect(expectErrors(res, 400)[0], `${method} ${urlName}`).toMatch(/^invalid role name /);
    }
    expect(await storedRoleCount(mount)).toBe(before);
  });

  it('accepts 255 characters, dots, dashes and underscores', async () => {
    for (const name of ['a'.repeat(255), 'web.app-1_x', '_', '9']) {
      expect((await writeRole(name, PIN)).status, name).toBe(204);
      expect((await readRole(name)).bound_service_principal_ids).toEqual(['sp-1']);
    }
  });
});

describe('list', () => {
  it('lists sorted lower-case names at role and role/, 404 {"errors":[]} when empty', async () => {
    const path = uniqueMount('list');
    expect((await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } })).status).toBe(204);
    expect(expectErrors(await admin('GET', `auth/${path}/role?list=true`), 404)).toEqual([]);
    for (const name of ['zeta', 'Alpha', 'mid']) expect((await writeRole(name, PIN, path)).status).toBe(204);
    const viaRole = expectData(await admin('GET', `auth/${path}/role?list=true`));
    expect(viaRole.keys).toEqual(['alpha', 'mid', 'zeta']);
    expect(expectData(await admin('GET', `auth/${path}/role/?list=1`)).keys).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('answers 405 for a plain GET of role/, 400 for a list flag that is not a boolean', async () => {
    expect((await admin('GET', `auth/${mount}/role`)).status).toBe(405);
    expect(expectErrors(await admin('GET', `auth/${mount}/role?list=maybe`), 400)).toEqual([]);
  });
});

describe('delete', () => {
  it('removes a role (204), any casing, and is 204 when absent', async () => {
    const name = uniqueRole();
    await writeRole(name, PIN);
    expect((await admin('DELETE', `auth/${mount}/role/${name.toUpperCase()}`)).status).toBe(204);
    expect(expectErrors(await admin('GET', `auth/${mount}/role/${name}`), 404)).toEqual([]);
    expect((await admin('DELETE', `auth/${mount}/role/${name}`)).status).toBe(204);
  });
});

describe('routing and access', () => {
  it('answers Vault\'s no-handler 404 on an unknown mount', async () => {
    const res = await admin('POST', 'auth/nosuchmount/role/web', { body: PIN });
    expect(expectErrors(res, 404)).toEqual(['no handler for route "auth/nosuchmount/role/web". route entry not found.']);
    expectErrors(await admin('GET', 'auth/nosuchmount/role?list=true'), 404);
    expect(await storedRoleCount('nosuchmount')).toBe(0);
  });

  it('needs an admin for every operation', async () => {
    const name = uniqueRole();
    expectErrors(await stack.request('POST', `auth/${mount}/role/${name}`, { body: PIN }), 403);
    expect((await admin('GET', `auth/${mount}/role/${name}`)).status).toBe(404);
    await writeRole(name, PIN);
    expectErrors(await stack.request('GET', `auth/${mount}/role/${name}`), 403);
    expectErrors(await stack.request('GET', `auth/${mount}/role?list=true`, { token: 'not-a-token' }), 403);
    expectErrors(await stack.request('DELETE', `auth/${mount}/role/${name}`), 403);
    expect((await admin('GET', `auth/${mount}/role/${name}`)).status).toBe(200);
  });
});
