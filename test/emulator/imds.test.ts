// IMDS: @azure/identity's ManagedIdentityCredential through AZURE_POD_IDENTITY_AUTHORITY_HOST, and
// the wire details other clients depend on (string lifetimes for Vault's Go helper, the Metadata
// header, /metadata/instance for VMs and scale-set members, identity selection, token caching).
//
// msal-node remembers the first managed-identity source and endpoint in static state for the life
// of the process, so this file drives one IMDS through the credential and the others by fetch.
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';
import { ARM, SUB, decodePayload } from './helpers';

let cloud: CloudEmulator;

beforeAll(async () => {
  cloud = await startCloudEmulator();
});
afterAll(async () => {
  delete process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  await cloud.stop();
});

async function imdsGet(base: string, path: string, headers: Record<string, string> = { Metadata: 'true' }): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const tokenPath = (resource: string, extra = '') => `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(resource)}${extra}`;
const lower = (id: string) => id.replace('/resourceGroups/', '/resourcegroups/');

describe('IMDS with @azure/identity', () => {
  it('serves ManagedIdentityCredential for the system and a user-assigned identity', async () => {
    const uami = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'ids', name: 'worker' });
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm-msal', location: 'eastus', systemAssigned: true, userAssigned: [uami.id] });
    process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = await cloud.imdsFor(vm.id);

    const system = await new ManagedIdentityCredential({ retryOptions: { maxRetries: 0 } }).getToken(`${ARM}.default`);
    // msal-node turns the scope into the resource by dropping '/.default', trailing slash included.
    expect(decodePayload(system.token)).toMatchObject({ aud: 'https://management.azure.com', oid: vm.principalId, appid: vm.clientId, xms_mirid: lower(vm.id) });
    expect(system.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_600_000);

    const user = await new ManagedIdentityCredential({ clientId: uami.clientId, retryOptions: { maxRetries: 0 } }).getToken(`${ARM}.default`);
    expect(decodePayload(user.token)).toMatchObject({ oid: uami.principalId, appid: uami.clientId, xms_mirid: lower(uami.id), xms_az_rid: lower(vm.id) });

    const byResource = await new ManagedIdentityCredential({ resourceId: uami.id, retryOptions: { maxRetries: 0 } }).getToken('https://vault.azure.net/.default');
    expect(decodePayload(byResource.token)).toMatchObject({ aud: 'https://vault.azure.net', oid: uami.principalId });
    // msal-node calls the token path with a trailing slash.
    expect(cloud.requests({ service: 'imds' }).every((r) => r.path === '/metadata/identity/oauth2/token/' && r.status === 200)).toBe(true);
  });
});

describe('IMDS wire format', () => {
  it('returns lifetimes as JSON strings and caches the token as IMDS does', async () => {
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm-wire', location: 'eastus', systemAssigned: true });
    const base = await cloud.imdsFor(vm.id);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await cloud.imdsFor(vm.id.toUpperCase())).toBe(base);

    const first = await imdsGet(base, tokenPath(ARM));
    expect(first.status).toBe(200);
    for (const field of ['expires_in', 'expires_on', 'not_before', 'ext_expires_in']) expect(typeof first.body[field]).toBe('string');
    expect(first.body).toMatchObject({ resource: ARM, token_type: 'Bearer', client_id: vm.clientId });
    expect(Number(first.body['expires_on']) - Math.floor(Date.now() / 1000)).toBeGreaterThan(86_000);
    const second = await imdsGet(base, tokenPath(ARM));
    expect(decodePayload(String(second.body['access_token']))['uti']).toBe(decodePayload(String(first.body['access_token']))['uti']);

    const uncached = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm-nocache', location: 'eastus', systemAssigned: true });
    const noCache = await cloud.imdsFor(uncached.id, { cacheTokens: false, tokenLifetimeSeconds: 600 });
    const a = await imdsGet(noCache, tokenPath(ARM));
    const b = await imdsGet(noCache, tokenPath(ARM));
    expect(a.body['access_token']).not.toBe(b.body['access_token']);
    expect(a.body['expires_in']).toMatch(/^(59\d|600)$/);
  });

  it('refuses requests without Metadata: true, through a proxy, or without api-version / resource', async () => {
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm-guard', location: 'eastus', systemAssigned: true });
    const base = await cloud.imdsFor(vm.id);
    expect((await imdsGet(base, tokenPath(ARM), {})).body).toMatchObject({ error: 'invalid_request', error_description: 'Required metadata header not specified' });
    expect((await imdsGet(base, tokenPath(ARM), { Metadata: 'True' })).status).toBe(400);
    expect((await imdsGet(base, tokenPath(ARM), { Metadata: 'true', 'X-Forwarded-For': '10.0.0.9' })).status).toBe(400);
    expect((await imdsGet(base, '/metadata/identity/oauth2/token?resource=x')).status).toBe(400);
    expect((await imdsGet(base, '/metadata/identity/oauth2/token?api-version=2018-02-01')).body['error_description']).toBe('Required audience parameter not specified');
    expect((await imdsGet(base, '/metadata/instance?api-version=2021-05-01', {})).status).toBe(400);
  });

  it('selects user-assigned identities like IMDS, and says so when it cannot', async () => {
    const one = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'ids', name: 'one' });
    const two = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'ids', name: 'two' });
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm-uami', location: 'eastus', userAssigned: [one.id, two.id] });
    const base = await cloud.imdsFor(vm.id);
    const ambiguous = await imdsGet(base, tokenPath(ARM));
    expect(ambiguous.status).toBe(400);
    expect(String(ambiguous.body['error_description'])).toMatch(/Multiple user assigned identities/);
    expect(decodePayload(String((await imdsGet(base, tokenPath(ARM, `&object_id=${two.principalId}`))).body['access_token']))['oid']).toBe(two.principalId);
    expect(decodePayload(String((await imdsGet(base, tokenPath(ARM, `&msi_res_id=${encodeURIComponent(one.id)}`))).body['access_token']))['oid']).toBe(one.principalId);
    expect((await imdsGet(base, tokenPath(ARM, '&client_id=00000000-0000-4000-8000-000000000000'))).body['error_description']).toBe('Identity not found');
    // A custom audience: no resource-id claims.
    const custom = await imdsGet(base, tokenPath('api://azauth', `&client_id=${one.clientId}`));
    expect(decodePayload(String(custom.body['access_token']))['xms_mirid']).toBeUndefined();
  });

  it('describes VMs, uniform instances and flexible members in /metadata/instance', async () => {
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg-meta', name: 'solo', location: 'westeurope', systemAssigned: true, tags: { env: 'dev' } });
    const uniform = cloud.arm.addScaleSet({ subscriptionId: SUB, resourceGroup: 'rg-meta', name: 'pool', location: 'westeurope', orchestration: 'Uniform', systemAssigned: true, instances: 2 });
    const flex = cloud.arm.addScaleSet({ subscriptionId: SUB, resourceGroup: 'rg-meta', name: 'flex', location: 'westeurope', orchestration: 'Flexible', systemAssigned: true, instances: 1 });

    const solo = await imdsGet(await cloud.imdsFor(vm.id), '/metadata/instance?api-version=2021-05-01');
    expect(solo.body['compute']).toMatchObject({
      name: 'solo',
      resourceGroupName: 'rg-meta',
      subscriptionId: SUB,
      vmScaleSetName: '',
      location: 'westeurope',
      resourceId: vm.id,
      vmId: vm.vmId,
      azEnvironment: 'AzurePublicCloud',
      tagsList: [{ name: 'env', value: 'dev' }],
    });
    expect(solo.body['network']).toHaveProperty('interface');

    // A scale-set id stands for its first instance.
    const uniBase = await cloud.imdsFor(uniform.id);
    expect(uniBase).toBe(await cloud.imdsFor(uniform.instances[0]?.id ?? ''));
    const uni = await imdsGet(uniBase, '/metadata/instance/compute?api-version=2021-05-01');
    expect(uni.body).toMatchObject({ name: 'pool_0', vmScaleSetName: 'pool', resourceId: uniform.instances[0]?.id });
    const uniToken = await imdsGet(uniBase, tokenPath(ARM));
    expect(decodePayload(String(uniToken.body['access_token']))).toMatchObject({ oid: uniform.principalId, xms_mirid: lower(uniform.id) });

    const member = flex.instances[0];
    const flexBase = await cloud.imdsFor(member?.id ?? '');
    expect((await imdsGet(flexBase, '/metadata/instance?api-version=2021-05-01')).body['compute']).toMatchObject({ name: member?.name, vmScaleSetName: 'flex', resourceId: member?.id });
    expect(decodePayload(String((await imdsGet(flexBase, tokenPath(ARM))).body['access_token']))['xms_mirid']).toBe(lower(member?.id ?? ''));

    await expect(cloud.imdsFor(`/subscriptions/${SUB}/resourceGroups/rg-meta/providers/Microsoft.Compute/virtualMachines/none`)).rejects.toThrow(/no such resource/);
  });
});
