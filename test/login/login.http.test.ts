/**
 * `auth/<mount>/login` over real HTTP: local Functions host + embedded Azurite + cloud emulator
 * (Entra, ARM, the function app's own App Service identity). Covers Vault's processing order and
 * texts (behaviour reference §4.3–4.5), issue 4's improvements and its bad-input list, the ARM
 * cache, claims mode and fault handling.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManagedIdentityTokenSpec } from '../../dev/emulator/managed-identity';
import { startStack, type Stack, type StackResponse } from '../support/stack';

const ARM_AUDIENCE = 'https://management.azure.com/';
const SUB = randomUUID();
const OTHER_SUB = randomUUID();
const RG = 'rg-login';
const LOCATION = 'westeurope';

let stack: Stack;
let admin = '';
/** The function app's own managed identity (the emulator's App Service identity endpoint). */
let appIdentity = { principalId: '', tenantId: '' };
const ids = {
  web: '',
  web2: '',
  webOid: '',
  uvm: '',
  uami: { id: '', principalId: '', clientId: '' },
  pool: '',
  poolInstance: '',
  flex: '',
  flexMember: '',
  flexUami: '',
  site: '',
  otherSubVm: '',
};

beforeAll(async () => {
  stack = await startStack({
    envFromEmulator: async (emulator) => {
      const identity = await emulator.appServiceIdentity();
      appIdentity = { principalId: identity.principalId, tenantId: identity.tenantId };
      return identity.env;
    },
  });
  admin = await stack.adminToken();
  const arm = stack.emulator.arm;
  const tenant = stack.emulator.defaultTenantId;
  arm.addSubscription({ subscriptionId: SUB, tenantId: tenant });
  arm.addSubscription({ subscriptionId: OTHER_SUB, tenantId: tenant });
  const vm = (name: string, extra: Partial<Parameters<typeof arm.addVm>[0]> = {}) =>
    arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name, location: LOCATION, systemAssigned: true, ...extra });
  const web = vm('web');
  ids.web = web.id;
  ids.webOid = web.principalId ?? '';
  ids.web2 = vm('web2').id;
  const uami = arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-ids', name: 'app-identity' });
  ids.uami = { id: uami.id, principalId: uami.principalId, clientId: uami.clientId };
  ids.uvm = vm('uvm', { systemAssigned: false, userAssigned: [uami.id] }).id;
  const pool = arm.addScaleSet({ subscriptionId: SUB, resourceGroup: RG, name: 'pool', location: LOCATION, orchestration: 'Uniform', systemAssigned: true });
  ids.pool = pool.id;
  ids.poolInstance = pool.instances[0]?.id ?? '';
  const flexUami = arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-ids', name: 'flex-identity' });
  ids.flexUami = flexUami.id;
  const flex = arm.addScaleSet({ subscriptionId: SUB, resourceGroup: RG, name: 'flex', location: LOCATION, orchestration: 'Flexible', userAssigned: [flexUami.id] });
  ids.flex = flex.id;
  ids.flexMember = flex.instances[0]?.id ?? '';
  ids.site = arm.addResource({ id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/app`, location: LOCATION, systemAssigned: true }).id;
  ids.otherSubVm = arm.addVm({ subscriptionId: OTHER_SUB, resourceGroup: RG, name: 'web', location: LOCATION, systemAssigned: true }).id;

  await write('auth/azure/config', { tenant_id: tenant, resource: ARM_AUDIENCE, max_retries: 0 });
  await write('auth/azure/role/svc', { bound_service_principal_ids: ids.webOid, token_policies: 'read-secrets' });
  await write('auth/azure/role/batch', { bound_service_principal_ids: ids.webOid, token_type: 'batch', token_ttl: '10m' });
  await write('auth/azure/role/vm', { bound_service_principal_ids: '*', bound_resource_groups: RG });
  await write('auth/azure/role/vmclaims', { bound_service_principal_ids: '*', bound_resource_groups: RG, resource_verification: 'claims' });
  await write('auth/azure/role/resonly', { bound_resource_groups: RG });
  await write('auth/azure/role/located', { bound_service_principal_ids: '*', bound_resource_groups: RG, bound_locations: 'eastus' });
  await write('auth/azure/role/subs', { bound_service_principal_ids: '*', bound_subscription_ids: OTHER_SUB });
  await write('auth/azure/role/scale', { bound_service_principal_ids: '*', bound_scale_sets: 'pool,flex' });
  await write('auth/azure/role/groups', { bound_group_ids: 'g-allowed' });
  await write('auth/azure/role/cidr', { bound_service_principal_ids: ids.webOid, token_bound_cidrs: '10.0.0.0/8' });
  await write('auth/azure/role/local', { bound_service_principal_ids: ids.webOid, token_bound_cidrs: '127.0.0.0/8,::1/128' });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function write(path: string, body: Record<string, unknown>): Promise<void> {
  const res = await stack.request('POST', path, { token: admin, body });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${res.text}\n${stack.logs().slice(-2000)}`);
}

const mi = (resourceId: string, more: Partial<ManagedIdentityTokenSpec> = {}): Promise<string> =>
  stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId, ...more });

function login(body: Record<string, unknown>, headers: Record<string, string> = {}, mount = 'azure'): Promise<StackResponse> {
  return stack.request('PUT', `auth/${mount}/login`, { body, headers });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorsOf(res: StackResponse): string {
  const errors = (res.json as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.join('\n') : '';
}

interface AuthBlockJson {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: string;
  orphan: boolean;
  num_uses: number;
  mfa_requirement: null;
}

function authOf(res: StackResponse): AuthBlockJson {
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.text}`);
  return (res.json as { auth: AuthBlockJson }).auth;
}

const vmLogin = (jwt: string, role: string, more: Record<string, string> = {}) => ({
  role,
  jwt,
  subscription_id: SUB,
  resource_group_name: RG,
  vm_name: 'web',
  vmss_name: '',
  ...more,
});

async function tokenCount(): Promise<number> {
  let n = 0;
  try {
    for await (const _ of stack.table('azauthtokens').listEntities()) n++;
  } catch {
    return 0;
  }
  return n;
}

function armRequestsFor(resourceId: string): number {
  const name = resourceId.split('/').pop() ?? '';
  return stack.emulator.requests({ service: 'arm' }).filter((r) => decodeURIComponent(r.path).toLowerCase().endsWith(`/${name.toLowerCase()}`)).length;
}

describe('Vault processing order and texts (§4.3)', () => {
  it('jwt first, then role, then the role must exist', async () => {
    const jwt = await mi(ids.web);
    for (const body of [{}, { role: 'svc' }, { role: 'svc', jwt: '' }]) {
      const res = await login(body);
      expect(res.status).toBe(400);
      expect(errorsOf(res)).toBe('jwt is required');
    }
    for (const body of [{ jwt }, { jwt, role: '' }]) {
      const res = await login(body);
      expect(res.status).toBe(400);
      expect(errorsOf(res)).toBe('role is required');
    }
    const unknown = await login({ jwt, role: 'NoSuchRole', subscription_id: 'not-a-guid' });
    expect(unknown.status).toBe(400);
    expect(errorsOf(unknown)).toBe('invalid role name "NoSuchRole"');
    const odd = await login({ jwt, role: '../svc' });
    expect(errorsOf(odd)).toBe('invalid role name "../svc"');
  });

  it('role names are case-insensitive; metadata keeps the role as sent', async () => {
    const auth = authOf(await login({ role: 'SVC', jwt: await mi(ids.web) }));
    expect(auth.metadata?.role).toBe('SVC');
  });

  it('token_bound_cidrs: the rightmost X-Forwarded-For decides, before any syntax check', async () => {
    const jwt = await mi(ids.web);
    const outside = await login({ role: 'cidr', jwt, subscription_id: 'not-a-guid' });
    expect(outside.status).toBe(403);
    expect(errorsOf(outside)).toBe('permission denied');
    // a client-supplied X-Forwarded-For is only the left part; the host appends the real peer
    const spoofed = await login({ role: 'cidr', jwt }, { 'X-Forwarded-For': '10.1.2.3' });
    expect(spoofed.status).toBe(403);
    const inside = await login({ role: 'local', jwt });
    expect(inside.status).toBe(200);
  });

  it('syntax checks after the role, before the token (bad input → 400, nothing stored)', async () => {
    const before = await tokenCount();
    const jwt = 'not even a jwt';
    const cases: Array<[Record<string, string>, string]> = [
      [{ subscription_id: 'not-a-guid' }, 'invalid subscription id "not-a-guid"'],
      [{ subscription_id: SUB, resource_group_name: 'rg/..' }, 'invalid resource group name "rg/.."'],
      [{ vmss_name: 'pool/..' }, 'invalid vmss_name "pool/.."'],
      [{ vm_name: 'web/../../web2' }, 'invalid vm name "web/../../web2"'],
      [{ resource_id: 'web' }, 'invalid resource_id "web": it must start with /subscriptions/'],
      [
        { resource_id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/app/..` },
        `invalid resource_id "/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/app/..": it has a "." or ".." path segment`,
      ],
    ];
    for (const [fields, message] of cases) {
      const res = await login({ role: 'vm', jwt, ...fields });
      expect(res.status, message).toBe(400);
      expect(errorsOf(res)).toBe(message);
    }
    expect(await tokenCount()).toBe(before);
  });

  it("a mount without tenant or resource anywhere answers Vault's text (the deployment's mistake: 500)", async () => {
    await write('sys/auth/unconfigured', { type: 'azure' });
    await write('auth/unconfigured/role/svc', { bound_service_principal_ids: ids.webOid });
    const res = await login({ role: 'svc', jwt: await mi(ids.web) }, {}, 'unconfigured');
    expect(res.status).toBe(500);
    expect(errorsOf(res)).toBe('tenant_id is required');
  });

  it('unknown mount is 404; GET on login is 405', async () => {
    const res = await login({ role: 'svc', jwt: 'x' }, {}, 'nosuchmount');
    expect(res.status).toBe(404);
    const get = await stack.request('GET', 'auth/azure/login');
    expect(get.status).toBe(405);
  });
});

describe('the JWT: every bad token is refused with a precise message and nothing stored', () => {
  const tenant = () => stack.emulator.defaultTenantId;
  const cases: Array<[string, () => Promise<string>, number, RegExp]> = [
    ['not a JWT', async () => 'abc.def', 400, /malformed jwt/],
    ['200 KB long', async () => `${'a'.repeat(100_000)}.${'b'.repeat(100_000)}.c`, 400, /malformed jwt: token is 200003 characters long/],
    ['alg none', () => mi(ids.web, { overrides: { attack: 'alg-none' } }), 403, /unexpected signature algorithm "none"/],
    ['HS256 with the public key', () => mi(ids.web, { overrides: { attack: 'hs256-public-key' } }), 403, /unexpected signature algorithm "HS256"/],
    ['unknown kid', () => mi(ids.web, { overrides: { attack: 'unknown-key' } }), 403, /failed to verify signature: no key with kid/],
    ['wrong issuer', () => mi(ids.web, { overrides: { issuer: 'https://sts.windows.net/evil/' } }), 403, /id token issued by a different provider/],
    [
      'another tenant',
      async () => stack.emulator.entra.mintToken({ tenant: stack.emulator.entra.addTenant(), audience: ARM_AUDIENCE }),
      403,
      /different provider|tenant/,
    ],
    ['wrong audience', () => mi(ids.web, { audience: 'https://vault.azure.net' }), 403, /expected audience "https:\/\/management.azure.com\/"/],
    ['expired', () => mi(ids.web, { overrides: { exp: Math.floor(Date.now() / 1000) - 3600 } }), 403, /token is expired/],
    ['nbf in the future', () => mi(ids.web, { overrides: { nbf: Math.floor(Date.now() / 1000) + 3600 } }), 403, /before the nbf/],
    ['no exp', () => mi(ids.web, { overrides: { exp: null } }), 403, /exp claim missing/],
  ];
  for (const [name, mint, status, message] of cases) {
    it(name, async () => {
      void tenant;
      const before = await tokenCount();
      const res = await login({ role: 'svc', jwt: await mint() });
      expect(res.status).toBe(status);
      expect(errorsOf(res)).toMatch(message);
      expect(await tokenCount()).toBe(before);
    });
  }
});

describe('successful login (§4.5)', () => {
  it('service token: Vault auth block, metadata, stable entity id, one stored record', async () => {
    const before = await tokenCount();
    const jwt = await mi(ids.web);
    const res = await login(vmLogin(jwt, 'svc'));
    const auth = authOf(res);
    expect(auth.client_token).toMatch(/^hvs\./);
    expect(auth.accessor).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(auth.policies).toEqual(['default', 'read-secrets']);
    expect(auth.token_policies).toEqual(['default', 'read-secrets']);
    expect(auth.metadata).toEqual({ role: 'svc', resource_group_name: RG, subscription_id: SUB, vm_name: 'web', app_id: expect.any(String) });
    expect(auth).toMatchObject({ renewable: true, token_type: 'service', orphan: true, num_uses: 0, mfa_requirement: null, lease_duration: 768 * 3600 });
    expect(auth.entity_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await tokenCount()).toBe(before + 1);
    const again = authOf(await login(vmLogin(jwt, 'svc')));
    expect(again.entity_id).toBe(auth.entity_id);
    expect(again.client_token).not.toBe(auth.client_token);
    const lookup = await stack.request('GET', 'auth/token/lookup-self', { token: auth.client_token });
    expect(lookup.status).toBe(200);
    expect((lookup.json as { data: { display_name: string; path: string } }).data).toMatchObject({
      display_name: `azure-${ids.webOid}`,
      path: 'auth/azure/login',
    });
  });

  it('batch token from the role token_type: hvb., no accessor, not renewable, nothing stored', async () => {
    const before = await tokenCount();
    const auth = authOf(await login({ role: 'batch', jwt: await mi(ids.web) }));
    expect(auth.client_token).toMatch(/^hvb\./);
    expect(auth).toMatchObject({ accessor: '', renewable: false, token_type: 'batch', lease_duration: 600 });
    expect(await tokenCount()).toBe(before);
  });
});

describe('bindings: whole segments, claims agree with the request (issue 4 item 2)', () => {
  it('a token of web2 cannot log in as web (Vault matches substrings)', async () => {
    const res = await login(vmLogin(await mi(ids.web2), 'vm'));
    expect(res.status).toBe(403);
    expect(errorsOf(res)).toBe('xms_mirid token claim does not match vm_name web');
  });

  it('claims naming another resource group or subscription are refused', async () => {
    const jwt = await mi(ids.web);
    const rg = await login(vmLogin(jwt, 'vm', { resource_group_name: 'rg-log' }));
    expect(rg.status).toBe(403);
    expect(errorsOf(rg)).toBe('xms_mirid token claim does not match resource_group_name rg-log');
    const sub = await login(vmLogin(await mi(ids.otherSubVm), 'vm'));
    expect(sub.status).toBe(403);
    expect(errorsOf(sub)).toBe(`xms_mirid token claim does not match subscription_id ${SUB}`);
  });

  it('claims naming another scale set are refused; uniform and flexible members log in', async () => {
    const uniform = await mi(ids.poolInstance);
    const wrong = await login(vmLogin(uniform, 'scale', { vm_name: '', vmss_name: 'flex' }));
    expect(wrong.status).toBe(403);
    expect(errorsOf(wrong)).toContain('failed to verify uniform vmss claim');
    expect(authOf(await login(vmLogin(uniform, 'scale', { vm_name: 'pool_0', vmss_name: 'pool' }))).metadata).toMatchObject({ vmss_name: 'pool' });
    const flexible = await mi(ids.flexMember, { identity: ids.flexUami });
    expect(authOf(await login(vmLogin(flexible, 'scale', { vm_name: '', vmss_name: 'flex' }))).token_type).toBe('service');
  });

  it('bound_scale_sets refuses a VM login; bound_subscription_ids and bound_locations are enforced', async () => {
    const jwt = await mi(ids.web);
    const scale = await login(vmLogin(jwt, 'scale'));
    expect(errorsOf(scale)).toBe("bound scale set defined but this vm isn't in a scale set");
    const subs = await login(vmLogin(jwt, 'subs'));
    expect(subs.status).toBe(403);
    expect(errorsOf(subs)).toBe('subscription not authorized');
    const located = await login(vmLogin(jwt, 'located'));
    expect(located.status).toBe(403);
    expect(errorsOf(located)).toBe('location not authorized');
  });

  it('resource_id of any type: must be the claimed resource', async () => {
    const site = await mi(ids.site);
    const body = { role: 'vm', jwt: site, subscription_id: SUB, resource_group_name: RG, resource_id: ids.site };
    expect(authOf(await login(body)).metadata).toMatchObject({ resource_id: ids.site });
    const other = await login({ ...body, resource_id: `${ids.site}2` });
    expect(other.status).toBe(403);
    expect(errorsOf(other)).toBe(`xms_mirid token claim does not match resource_id ${ids.site}2`);
  });

  it('a VM with a user-assigned identity: xms_az_rid names the VM', async () => {
    const jwt = await mi(ids.uvm, { identity: ids.uami.id });
    expect(authOf(await login(vmLogin(jwt, 'vm', { vm_name: 'uvm' }))).metadata).toMatchObject({ vm_name: 'uvm', app_id: ids.uami.clientId });
  });

  it('missing xms_* claims: says to request the token for a first-party audience', async () => {
    const res = await login(vmLogin(await mi(ids.web, { resourceClaims: false }), 'vm'));
    expect(res.status).toBe(403);
    expect(errorsOf(res)).toMatch(/xms_az_rid and xms_mirid claims are missing from token.*such as https:\/\/management\.azure\.com\//);
  });

  it('a role pinned by resource bindings only still proves the identity link', async () => {
    expect(authOf(await login(vmLogin(await mi(ids.web), 'resonly'))).token_type).toBe('service');
  });

  it('groups: Vault rules, and group overage is refused with a message saying so', async () => {
    const tenant = stack.emulator.defaultTenantId;
    const ok = await stack.emulator.entra.mintToken({ tenant, audience: ARM_AUDIENCE, groups: ['G-ALLOWED'] });
    expect(authOf(await login({ role: 'groups', jwt: ok })).token_type).toBe('service');
    const other = await stack.emulator.entra.mintToken({ tenant, audience: ARM_AUDIENCE, groups: ['g1', 'g2'] });
    expect(errorsOf(await login({ role: 'groups', jwt: other }))).toBe('groups not authorized: [g1 g2]');
    const overage = await stack.emulator.entra.mintToken({ tenant, audience: ARM_AUDIENCE, groupOverage: true });
    const res = await login({ role: 'groups', jwt: overage });
    expect(res.status).toBe(403);
    expect(errorsOf(res)).toMatch(/group overage/);
  });

  it('service principal not in the role: Vault text with the oid', async () => {
    const res = await login({ role: 'svc', jwt: await mi(ids.web2) });
    expect(res.status).toBe(403);
    expect(errorsOf(res)).toMatch(/^service principal not authorized: [0-9a-f-]{36}$/);
  });
});

describe("the rest of Vault's resource checks (§4.4), over HTTP", () => {
  it('without resource bindings the names are not checked (Vault), only copied to metadata', async () => {
    const auth = authOf(await login(vmLogin(await mi(ids.web), 'svc', { vm_name: 'web2' })));
    expect(auth.metadata).toMatchObject({ vm_name: 'web2' });
  });

  it('both lists "*" is refused even with resource bindings', async () => {
    await write('auth/azure/role/starstar', { bound_service_principal_ids: '*', bound_group_ids: '*', bound_resource_groups: RG });
    const res = await login(vmLogin(await mi(ids.web), 'starstar'));
    expect(res.status).toBe(403);
    expect(errorsOf(res)).toBe("expected specific bound_group_ids or bound_service_principal_ids; both cannot be empty or '*'");
  });

  it('subscription_id and resource_group_name are required (400); a named resource is required', async () => {
    const jwt = await mi(ids.web);
    const missing = await login({ role: 'vm', jwt, subscription_id: SUB, vm_name: 'web' });
    expect(missing.status).toBe(400);
    expect(errorsOf(missing)).toBe('subscription_id and resource_group_name are required');
    // managed-identity tokens carry appid, so Vault goes on and fails the resource-group check
    const unnamed = await login({ role: 'vm', jwt, subscription_id: SUB, resource_group_name: RG });
    expect(unnamed.status).toBe(403);
    expect(errorsOf(unnamed)).toBe('provided resource_id does not match resource_group_name');
  });

  it('bound_scale_sets: resource_id logins and other scale sets are refused', async () => {
    const site = await mi(ids.site);
    const res = await login({ role: 'scale', jwt: site, subscription_id: SUB, resource_group_name: RG, resource_id: ids.site });
    expect(errorsOf(res)).toBe('scale set requires the vmss_name field to be set');
    await write('auth/azure/role/poolonly', { bound_service_principal_ids: '*', bound_scale_sets: 'pool' });
    const flexible = await mi(ids.flexMember, { identity: ids.flexUami });
    const other = await login(vmLogin(flexible, 'poolonly', { vm_name: '', vmss_name: 'flex' }));
    expect(other.status).toBe(403);
    expect(errorsOf(other)).toBe('scale set not authorized');
  });

  it('bound_resource_groups and resource_id placement', async () => {
    await write('auth/azure/role/otherrg', { bound_service_principal_ids: '*', bound_resource_groups: 'rg-elsewhere' });
    const rg = await login(vmLogin(await mi(ids.web), 'otherrg'));
    expect(rg.status).toBe(403);
    expect(errorsOf(rg)).toBe('resource group not authorized');
    const site = await mi(ids.site);
    const misplaced = await login({ role: 'vm', jwt: site, subscription_id: SUB, resource_group_name: 'rg-ids', resource_id: ids.site });
    expect(errorsOf(misplaced)).toBe('provided resource_id does not match resource_group_name');
  });

  it('a resource without any identity: Vault\'s "did not return identity information"', async () => {
    const arm = stack.emulator.arm;
    const bare = arm.addResource({ id: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Web/sites/bare`, location: LOCATION, systemAssigned: true });
    const jwt = await mi(bare.id);
    arm.detachIdentity(bare.id, 'system');
    const res = await login({ role: 'vm', jwt, subscription_id: SUB, resource_group_name: RG, resource_id: bare.id });
    expect(res.status).toBe(403);
    expect(errorsOf(res)).toBe('client did not return identity information');
  });
});

describe('ARM verification and its economy', () => {
  it('arm mode: an oid no longer attached to the VM is refused (fresh VM, no cache)', async () => {
    const arm = stack.emulator.arm;
    const lonely = arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name: 'lonely', location: LOCATION, systemAssigned: true });
    const jwt = await mi(lonely.id);
    arm.detachIdentity(lonely.id, 'system');
    const res = await login(vmLogin(jwt, 'vm', { vm_name: 'lonely' }));
    expect(res.status).toBe(403);
    expect(errorsOf(res)).toBe('vm client did not return identity information');
    arm.attachIdentity(lonely.id, 'system'); // a new principal: the old token's oid is not it
    const fresh = arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name: 'lonely2', location: LOCATION, systemAssigned: true });
    const other = await mi(fresh.id);
    arm.detachIdentity(fresh.id, 'system');
    arm.attachIdentity(fresh.id, 'system');
    const swapped = await login(vmLogin(other, 'vm', { vm_name: 'lonely2' }));
    expect(swapped.status).toBe(403);
    // managed-identity tokens carry appid, so Vault's app-id fallback was tried (and found nothing)
    expect(errorsOf(swapped)).toBe('neither token object id nor token app id match expected identities');
    // claims mode takes Entra's word for the link: the signed claim still names the VM
    expect(authOf(await login(vmLogin(other, 'vmclaims', { vm_name: 'lonely2' }))).token_type).toBe('service');
  });

  it("Vault's app-id fallback: oid not on the VM, appid a user-assigned identity in a bound resource group", async () => {
    await write('auth/azure/role/wif', { bound_service_principal_ids: '*', bound_resource_groups: [RG, 'rg-ids'] });
    const tenant = stack.emulator.defaultTenantId;
    const mint = (appid: string) =>
      stack.emulator.entra.mintToken({ tenant, audience: ARM_AUDIENCE, oid: randomUUID(), appid, xms_mirid: ids.web.replace('/resourceGroups/', '/resourcegroups/') });
    const ok = await login(vmLogin(await mint(ids.uami.clientId), 'wif'));
    expect(ok.status, ok.text).toBe(200);
    expect(authOf(ok).metadata).toMatchObject({ app_id: ids.uami.clientId });
    const unknown = await login(vmLogin(await mint(randomUUID()), 'wif'));
    expect(unknown.status).toBe(403);
    expect(errorsOf(unknown)).toBe('neither token object id nor token app id match expected identities');
    // The fallback does not skip bound_resource_groups (Vault skips it): the login's group must be bound too.
    await write('auth/azure/role/wifonly', { bound_service_principal_ids: '*', bound_resource_groups: 'rg-ids' });
    const elsewhere = await login(vmLogin(await mint(ids.uami.clientId), 'wifonly'));
    expect(elsewhere.status, elsewhere.text).toBe(403);
    expect(errorsOf(elsewhere)).toBe('resource group not authorized');
  });

  it('a user-assigned identity detached from a VM stops logging in, whichever resource group it lives in (issue 10 item 9)', async () => {
    const arm = stack.emulator.arm;
    await write('auth/azure/role/prodonly', { bound_service_principal_ids: '*', bound_resource_groups: 'rg-prod' });
    const shared = arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-prod', name: 'detach-identity' });
    const vmIn = (resourceGroup: string, name: string) =>
      arm.addVm({ subscriptionId: SUB, resourceGroup, name, location: LOCATION, systemAssigned: true, userAssigned: [shared.id] }).id;
    const login$ = (jwt: string, resourceGroup: string, name: string) =>
      login({ role: 'prodonly', jwt, subscription_id: SUB, resource_group_name: resourceGroup, vm_name: name });

    // Attached, in rg-dev: the identity is the VM's, but rg-dev is not bound.
    const attached = vmIn('rg-dev', 'dev-attached');
    const attachedRes = await login$(await mi(attached, { identity: shared.id }), 'rg-dev', 'dev-attached');
    expect(attachedRes.status).toBe(403);
    expect(errorsOf(attachedRes)).toBe('resource group not authorized');

    // The reviewer's case: token taken while attached, identity detached, VM in rg-dev (Vault: 200).
    const detachedDev = vmIn('rg-dev', 'dev-detached');
    const devJwt = await mi(detachedDev, { identity: shared.id });
    arm.detachIdentity(detachedDev, shared.id);
    const devRes = await login$(devJwt, 'rg-dev', 'dev-detached');
    expect(devRes.status, devRes.text).toBe(403);

    // The README's promise: a detached identity stops logging in even from a bound resource group.
    const detachedProd = vmIn('rg-prod', 'prod-detached');
    const prodJwt = await mi(detachedProd, { identity: shared.id });
    const before = await login$(prodJwt, 'rg-prod', 'prod-detached');
    expect(before.status, before.text).toBe(200);
    const coldProd = vmIn('rg-prod', 'prod-detached-2');
    const coldJwt = await mi(coldProd, { identity: shared.id });
    arm.detachIdentity(coldProd, shared.id);
    const after = await login$(coldJwt, 'rg-prod', 'prod-detached-2');
    expect(after.status, after.text).toBe(403);
    expect(errorsOf(after)).toMatch(/^token object id does not match expected identities/);
  });

  it('100 concurrent logins of one VM cost one ARM read', async () => {
    const arm = stack.emulator.arm;
    const busy = arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name: 'busy', location: LOCATION, systemAssigned: true });
    const jwt = await mi(busy.id);
    const responses = await Promise.all(Array.from({ length: 100 }, () => login(vmLogin(jwt, 'vm', { vm_name: 'busy' }))));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(armRequestsFor(busy.id)).toBe(1);
  });

  it('claims mode: a standalone VM named like a flexible member is refused; real members are proven with ARM (issue 10 item 8)', async () => {
    const arm = stack.emulator.arm;
    await write('auth/azure/role/flexclaims', { bound_service_principal_ids: '*', bound_scale_sets: 'flex', resource_verification: 'claims' });
    // A VM that merely has a member's name, in another resource group and in the scale set's own.
    for (const resourceGroup of ['rg-elsewhere', RG]) {
      const impostor = arm.addVm({ subscriptionId: SUB, resourceGroup, name: 'flex_0123abcd', location: LOCATION, systemAssigned: true });
      const res = await login({ role: 'flexclaims', jwt: await mi(impostor.id), subscription_id: SUB, resource_group_name: resourceGroup, vmss_name: 'flex' });
      expect(res.status, res.text).toBe(403);
    }
    // A real member: one read of the scale set (and of its identity), shared by later logins.
    const before = stack.emulator.count({ service: 'arm', pathIncludes: '/virtualMachineScaleSets/flex' });
    const member = await mi(ids.flexMember, { identity: ids.flexUami });
    for (let i = 0; i < 3; i++) {
      const ok = await login({ role: 'flexclaims', jwt: member, subscription_id: SUB, resource_group_name: RG, vmss_name: 'flex' });
      expect(ok.status, ok.text).toBe(200);
    }
    expect(stack.emulator.count({ service: 'arm', pathIncludes: '/virtualMachineScaleSets/flex' })).toBeLessThanOrEqual(before + 1);
    // A uniform scale set needs no ARM in claims mode: the claim is the scale set itself.
    await write('auth/azure/role/poolclaims', { bound_service_principal_ids: '*', bound_scale_sets: 'pool', resource_verification: 'claims' });
    const armBefore = stack.emulator.count({ service: 'arm' });
    const uniform = await login({ role: 'poolclaims', jwt: await mi(ids.poolInstance), subscription_id: SUB, resource_group_name: RG, vmss_name: 'pool' });
    expect(uniform.status, uniform.text).toBe(200);
    expect(stack.emulator.count({ service: 'arm' })).toBe(armBefore);
  });

  it('claims mode makes no ARM call', async () => {
    const arm = stack.emulator.arm;
    const quiet = arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name: 'quiet', location: LOCATION, systemAssigned: true });
    const jwt = await mi(quiet.id);
    const before = stack.emulator.count({ service: 'arm' });
    for (let i = 0; i < 5; i++) expect((await login(vmLogin(jwt, 'vmclaims', { vm_name: 'quiet' }))).status).toBe(200);
    expect(stack.emulator.count({ service: 'arm' })).toBe(before);
    expect(armRequestsFor(quiet.id)).toBe(0);
  });

  it('ARM failing is a 502 naming ARM; Entra failing is a 502 naming Entra', async () => {
    const arm = stack.emulator.arm;
    const flaky = arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name: 'flaky', location: LOCATION, systemAssigned: true });
    const jwt = await mi(flaky.id);
    const fault = stack.emulator.faults.add({ service: 'arm', pathIncludes: '/virtualMachines/flaky', status: 500 });
    const res = await login(vmLogin(jwt, 'vm', { vm_name: 'flaky' }));
    fault.remove();
    expect(res.status).toBe(502);
    expect(errorsOf(res)).toMatch(/^ARM unavailable: unable to retrieve virtual machine metadata: 500/);
    // not cached: ARM back, login works
    expect((await login(vmLogin(jwt, 'vm', { vm_name: 'flaky' }))).status).toBe(200);

    // a second mount on a tenant whose metadata the verifier has not fetched yet
    const tenant = stack.emulator.entra.addTenant();
    await write('sys/auth/other', { type: 'azure' });
    await write('auth/other/config', { tenant_id: tenant, resource: ARM_AUDIENCE });
    await write('auth/other/role/any', { bound_group_ids: 'g' });
    const entraFault = stack.emulator.faults.add({ service: 'entra', status: 503 });
    const down = await login({ role: 'any', jwt: await stack.emulator.entra.mintToken({ tenant, audience: ARM_AUDIENCE, groups: ['g'] }) }, {}, 'other');
    entraFault.remove();
    expect(down.status).toBe(502);
    expect(errorsOf(down)).toMatch(/^entra unavailable/);
  });
});

describe('Entra discovery failures (issue 10 item 10)', () => {
  it('a mistyped tenant costs two discovery requests per few seconds, not per login; a later success shows within seconds', async () => {
    const tenant = randomUUID(); // unknown to Entra: discovery answers 400 AADSTS90002
    await write('sys/auth/typo', { type: 'azure' });
    await write('auth/typo/config', { tenant_id: tenant, resource: ARM_AUDIENCE });
    await write('auth/typo/role/any', { bound_group_ids: 'g' });
    const discoveries = () => stack.emulator.count({ service: 'entra', pathIncludes: `/${tenant}/` });
    const jwt = await stack.emulator.entra.mintToken({ tenant: stack.emulator.defaultTenantId, audience: ARM_AUDIENCE, groups: ['g'] });
    for (let i = 0; i < 5; i++) {
      const res = await login({ role: 'any', jwt }, {}, 'typo');
      expect(res.status).toBe(502);
      expect(errorsOf(res)).toMatch(/^entra unavailable: .*AADSTS90002/);
    }
    expect(discoveries()).toBe(2); // the v1 and the v2 document, once

    // The tenant becomes reachable (fixed config, or Entra back): logins pass again within seconds.
    stack.emulator.entra.addTenant(tenant);
    const valid = await stack.emulator.entra.mintToken({ tenant, audience: ARM_AUDIENCE, groups: ['g'] });
    const started = Date.now();
    let res = await login({ role: 'any', jwt: valid }, {}, 'typo');
    while (res.status !== 200 && Date.now() - started < 20_000) {
      await sleep(250);
      res = await login({ role: 'any', jwt: valid }, {}, 'typo');
    }
    expect(res.status, res.text).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 40_000);
});

describe("the app's own Azure credentials, in Vault's order", () => {
  async function mountWith(mount: string, config: Record<string, unknown>): Promise<void> {
    await write(`sys/auth/${mount}`, { type: 'azure' });
    await write(`auth/${mount}/config`, { tenant_id: stack.emulator.defaultTenantId, resource: ARM_AUDIENCE, max_retries: 0, ...config });
    await write(`auth/${mount}/role/vm`, { bound_service_principal_ids: '*', bound_resource_groups: RG });
  }
  const freshVm = async (name: string): Promise<string> =>
    mi(stack.emulator.arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name, location: LOCATION, systemAssigned: true }).id);
  const tokenRequests = (): number => stack.emulator.count({ service: 'entra', method: 'POST', pathIncludes: '/oauth2/v2.0/token' });

  it('client_secret in the config: a client-secret credential against the cloud authority', async () => {
    const app = stack.emulator.graph.addApplication({ displayName: 'azauth-arm-reader' });
    await mountWith('bysecret', { client_id: app.appId, client_secret: app.password?.secretText ?? '' });
    const before = tokenRequests();
    const res = await login(vmLogin(await freshVm('bysecret-vm'), 'vm', { vm_name: 'bysecret-vm' }), {}, 'bysecret');
    expect(res.status, res.text).toBe(200);
    expect(tokenRequests()).toBe(before + 1);
  });

  it('a wrong client_secret is a 502 naming Entra, not a denial', async () => {
    const app = stack.emulator.graph.addApplication({ displayName: 'azauth-wrong-secret' });
    await mountWith('badsecret', { client_id: app.appId, client_secret: 'not-the-secret' });
    const res = await login(vmLogin(await freshVm('badsecret-vm'), 'vm', { vm_name: 'badsecret-vm' }), {}, 'badsecret');
    expect(res.status).toBe(502);
    expect(errorsOf(res)).toMatch(/^entra unavailable: the function app could not get an ARM access token/);
  });

  it("identity_token_audience: federation with the app's own managed-identity token as the assertion", async () => {
    const app = stack.emulator.graph.addApplication({ displayName: 'azauth-federated', withPassword: false });
    stack.emulator.graph.addFederatedCredential(app.id, {
      issuer: `${stack.emulator.url}/${appIdentity.tenantId}/v2.0`,
      subject: appIdentity.principalId,
      audiences: ['api://AzureADTokenExchange'],
    });
    await mountWith('federated', { client_id: app.appId, identity_token_audience: 'api://AzureADTokenExchange' });
    const before = tokenRequests();
    const assertionsBefore = stack.emulator.count({ service: 'identity', pathIncludes: 'AzureADTokenExchange' });
    const res = await login(vmLogin(await freshVm('federated-vm'), 'vm', { vm_name: 'federated-vm' }), {}, 'federated');
    expect(res.status, res.text).toBe(200);
    expect(tokenRequests()).toBe(before + 1);
    expect(stack.emulator.count({ service: 'identity', pathIncludes: 'AzureADTokenExchange' })).toBe(assertionsBefore + 1);
  });

  it('retries follow max_retries: one ARM 500 is absorbed with max_retries=1', async () => {
    await mountWith('retrying', { max_retries: 1, retry_delay: 1, max_retry_delay: 1 });
    const jwt = await freshVm('retrying-vm');
    const fault = stack.emulator.faults.add({ service: 'arm', pathIncludes: '/virtualMachines/retrying-vm', status: 500, times: 1 });
    const res = await login(vmLogin(jwt, 'vm', { vm_name: 'retrying-vm' }), {}, 'retrying');
    fault.remove();
    expect(res.status, res.text).toBe(200);
    expect(fault.fired).toBe(1);
    expect(stack.emulator.count({ service: 'arm', pathIncludes: '/virtualMachines/retrying-vm' })).toBe(2);
  });

  it("facts read with one mount's credential never approve another mount's login (issue 10 item 7)", async () => {
    const good = stack.emulator.graph.addApplication({ displayName: 'azauth-good-reader' });
    const wrong = stack.emulator.graph.addApplication({ displayName: 'azauth-wrong-reader' });
    await mountWith('goodreader', { client_id: good.appId, client_secret: good.password?.secretText ?? '' });
    await mountWith('wrongreader', { client_id: wrong.appId, client_secret: 'not-the-secret' });
    const jwt = await freshVm('shared-facts-vm');
    const body = vmLogin(jwt, 'vm', { vm_name: 'shared-facts-vm' });
    const cold = await login(body, {}, 'wrongreader');
    expect(cold.status, cold.text).toBe(502);
    expect((await login(body, {}, 'goodreader')).status).toBe(200);
    const warm = await login(body, {}, 'wrongreader');
    expect(warm.status, warm.text).toBe(502);
    expect(errorsOf(warm)).toMatch(/^entra unavailable: the function app could not get an ARM access token/);
  });

  it("the app's own identity endpoint failing is a 502 naming Entra", async () => {
    // msal keeps managed-identity tokens process-wide per scope: another cloud's ARM scope has none yet.
    await mountWith('noidentity', { environment: 'AzureUSGovernmentCloud' });
    const jwt = await freshVm('noidentity-vm');
    const fault = stack.emulator.faults.add({ service: 'identity', status: 503 });
    const res = await login(vmLogin(jwt, 'vm', { vm_name: 'noidentity-vm' }), {}, 'noidentity');
    fault.remove();
    expect(res.status).toBe(502);
    expect(errorsOf(res)).toMatch(/^entra unavailable: the function app could not get an ARM access token/);
  });

  it('otherwise the managed identity: the azure mount got its ARM token from the App Service identity endpoint', () => {
    expect(stack.emulator.count({ service: 'identity', pathIncludes: 'management.azure.com' })).toBeGreaterThan(0);
  });
});

