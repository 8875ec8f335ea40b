// ARM: @azure/arm-compute 24.1.0 deserialises VM and scale-set identities from the emulator
// (credential: ClientSecretCredential against the emulator's token endpoint, both trusting the CA
// through a pipeline policy), plus auth, api-version, 404, paging, providers and generic GETs.
import { ComputeManagementClient } from '@azure/arm-compute';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';
import { ARM, SUB, SUB2, trustEmulator } from './helpers';

let cloud: CloudEmulator;
let compute: ComputeManagementClient;
let armToken: string;

beforeAll(async () => {
  cloud = await startCloudEmulator();
  const app = cloud.graph.addApplication({ displayName: 'azauth-reader' });
  const policies = trustEmulator(cloud.httpsAgent());
  const credential = new ClientSecretCredential(cloud.defaultTenantId, app.appId, app.password?.secretText ?? '', {
    authorityHost: cloud.url,
    disableInstanceDiscovery: true,
    additionalPolicies: policies,
  });
  compute = new ComputeManagementClient(credential, SUB, { endpoint: cloud.url, additionalPolicies: policies, retryOptions: { maxRetries: 0 } });
  armToken = await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: ARM });
});
afterAll(async () => {
  await cloud.stop();
});

/** GET with an ARM token (null: no Authorization header at all). */
async function armGet(path: string, token: string | null = armToken): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await cloud.fetch(`${cloud.url}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('ARM through @azure/arm-compute', () => {
  it('returns a VM with system- and user-assigned identities and its instance view', async () => {
    const uami = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB2, resourceGroup: 'shared-ids', name: 'app-id' });
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg-vm', name: 'vm1', location: 'eastus', systemAssigned: true, userAssigned: [uami.id] });
    const got = await compute.virtualMachines.get('rg-vm', 'vm1', { expand: 'instanceView' });
    expect(got.id).toBe(vm.id);
    expect(got.location).toBe('eastus');
    expect(got.vmId).toBe(vm.vmId);
    expect(got.identity?.type).toBe('SystemAssigned, UserAssigned');
    expect(got.identity?.principalId).toBe(vm.principalId);
    expect(got.identity?.tenantId).toBe(cloud.defaultTenantId);
    expect(got.identity?.userAssignedIdentities?.[uami.id]).toEqual({ principalId: uami.principalId, clientId: uami.clientId });
    expect(got.instanceView?.statuses?.map((s) => s.code)).toContain('PowerState/running');
    // The client's token came from the emulator's token endpoint.
    expect(cloud.count({ service: 'entra', method: 'POST', pathIncludes: '/oauth2/v2.0/token' })).toBe(1);

    // Identity changes show at once; a deleted VM is a RestError 404 ResourceNotFound.
    cloud.arm.detachIdentity(vm.id, uami.id);
    expect((await compute.virtualMachines.get('rg-vm', 'vm1')).identity).toMatchObject({ type: 'SystemAssigned' });
    cloud.arm.detachIdentity(vm.id, 'system');
    expect((await compute.virtualMachines.get('rg-vm', 'vm1')).identity).toBeUndefined();
    // Re-enabling the system identity creates a new principal, as Azure does.
    const renewed = cloud.arm.attachIdentity(vm.id, 'system');
    expect(renewed.principalId).not.toBe(vm.principalId);
    expect(cloud.arm.attachIdentity(vm.id, uami.id).principalId).toBe(uami.principalId);
    expect((await compute.virtualMachines.get('rg-vm', 'vm1')).identity).toMatchObject({ type: 'SystemAssigned, UserAssigned', principalId: renewed.principalId });
    cloud.arm.remove(vm.id);
    await expect(compute.virtualMachines.get('rg-vm', 'vm1')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('returns uniform scale sets with user-assigned principal ids, flexible ones without', async () => {
    const uami = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-ss', name: 'pool-id' });
    const uniform = cloud.arm.addScaleSet({ subscriptionId: SUB, resourceGroup: 'rg-ss', name: 'uni', location: 'westeurope', orchestration: 'Uniform', systemAssigned: true, userAssigned: [uami.id], instances: 3 });
    const flex = cloud.arm.addScaleSet({ subscriptionId: SUB, resourceGroup: 'rg-ss', name: 'flx', location: 'westeurope', orchestration: 'Flexible', userAssigned: [uami.id], instances: 2 });

    const u = await compute.virtualMachineScaleSets.get('rg-ss', 'uni');
    expect(u.orchestrationMode).toBe('Uniform');
    expect(u.sku?.capacity).toBe(3);
    expect(u.identity?.principalId).toBe(uniform.principalId);
    expect(u.identity?.userAssignedIdentities?.[uami.id]).toEqual({ principalId: uami.principalId, clientId: uami.clientId });

    const f = await compute.virtualMachineScaleSets.get('rg-ss', 'flx');
    expect(f.orchestrationMode).toBe('Flexible');
    expect(f.identity?.type).toBe('UserAssigned');
    expect(f.identity?.principalId).toBeUndefined();
    expect(f.identity?.userAssignedIdentities?.[uami.id]?.principalId).toBeUndefined();

    const instance = await compute.virtualMachineScaleSetVMs.get('rg-ss', 'uni', '2');
    expect(instance.id).toBe(uniform.instances[2]?.id);
    expect(instance.instanceId).toBe('2');
    expect(instance.vmId).toBe(uniform.instances[2]?.vmId);

    // A flexible member is an ordinary VM pointing at its scale set.
    const memberName = flex.instances[0]?.name ?? '';
    const member = await compute.virtualMachines.get('rg-ss', memberName);
    expect(member.virtualMachineScaleSet?.id).toBe(flex.id);
    expect(member.identity?.userAssignedIdentities?.[uami.id]?.principalId).toBe(uami.principalId);
    expect(() => cloud.arm.detachIdentity(member.id ?? '', uami.id)).toThrow(/on the scale set/);

    // Deleting a scale set deletes its instances / member VMs.
    cloud.arm.remove(uniform.id);
    cloud.arm.remove(flex.id);
    await expect(compute.virtualMachineScaleSetVMs.get('rg-ss', 'uni', '0')).rejects.toMatchObject({ statusCode: 404 });
    await expect(compute.virtualMachines.get('rg-ss', memberName)).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('ARM wire behaviour', () => {
  it('requires an emulator-signed token for an ARM audience', async () => {
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg-auth', name: 'vm', location: 'eastus' });
    const path = `${vm.id}?api-version=2024-07-01`;
    const missing = await armGet(path, null);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { code: 'AuthenticationFailed' } });
    const graphToken = await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: 'https://graph.microsoft.com' });
    expect((await armGet(path, graphToken)).status).toBe(401);
    const expired = await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: ARM, exp: Math.floor(Date.now() / 1000) - 600 });
    expect((await armGet(path, expired)).status).toBe(401);
    expect((await armGet(path, await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: ARM, attack: 'unknown-key' }))).status).toBe(401);
    for (const audience of ['https://management.core.windows.net/', 'https://management.azure.com', 'https://management.usgovcloudapi.net/', 'https://management.chinacloudapi.cn/']) {
      expect((await armGet(path, await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience }))).status).toBe(200);
    }
    // A VM without identities has no identity block at all.
    expect((await armGet(path)).body['identity']).toBeUndefined();
  });

  it('requires api-version, matches ids case-insensitively, and 404s unknown resources', async () => {
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'Rg-Case', name: 'Web01', location: 'eastus', systemAssigned: true });
    const noVersion = await armGet(vm.id);
    expect(noVersion.status).toBe(400);
    expect(noVersion.body).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
    const lower = await armGet(`${vm.id.toLowerCase()}?API-VERSION=2024-07-01`);
    expect(lower.status).toBe(200);
    expect(lower.body['id']).toBe(vm.id);
    const missing = await armGet(`/subscriptions/${SUB}/resourceGroups/rg-case/providers/Microsoft.Compute/virtualMachines/nope?api-version=2024-07-01`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'ResourceNotFound' } });
    expect(String((missing.body['error'] as Record<string, unknown>)['message'])).toContain("'Microsoft.Compute/virtualMachines/nope'");
  });

  it('lists user-assigned identities of a resource group with nextLink paging', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'].map((n) => cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-list', name: `id-${n}` }));
    cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-other', name: 'elsewhere' });
    cloud.arm.pageSize = 2;
    try {
      const seen: Record<string, unknown>[] = [];
      let next: string | undefined = `/subscriptions/${SUB}/resourceGroups/rg-list/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31`;
      let pages = 0;
      while (next !== undefined) {
        const page = await armGet(next);
        expect(page.status).toBe(200);
        seen.push(...(page.body['value'] as Record<string, unknown>[]));
        const link = page.body['nextLink'];
        next = typeof link === 'string' ? link.slice(cloud.url.length) : undefined;
        if (typeof link === 'string') expect(link.startsWith(`${cloud.url}/subscriptions/`)).toBe(true);
        pages += 1;
      }
      expect(pages).toBe(3);
      expect(seen.map((r) => r['id'])).toEqual(ids.map((i) => i.id));
      expect(seen[0]).toMatchObject({ type: 'Microsoft.ManagedIdentity/userAssignedIdentities', properties: { principalId: ids[0]?.principalId, clientId: ids[0]?.clientId, tenantId: cloud.defaultTenantId } });
    } finally {
      cloud.arm.pageSize = 50;
    }
    const one = await armGet(`${ids[1]?.id ?? ''}?api-version=2023-01-31`);
    expect(one.body['properties']).toMatchObject({ principalId: ids[1]?.principalId });
  });

  it('serves resource providers (a preview API version first) and any resource by id', async () => {
    const provider = await armGet(`/subscriptions/${SUB}/providers/Microsoft.Web?api-version=2021-04-01`);
    expect(provider.status).toBe(200);
    const types = provider.body['resourceTypes'] as { resourceType: string; apiVersions: string[] }[];
    const sites = types.find((t) => t.resourceType === 'sites');
    expect(sites?.apiVersions[0]).toMatch(/preview/);
    expect(sites?.apiVersions.slice(1).every((v) => !v.includes('preview'))).toBe(true);
    expect((await armGet(`/subscriptions/${SUB}/providers/Microsoft.Nope?api-version=2021-04-01`)).status).toBe(404);

    const uami = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-web', name: 'site-id' });
    const site = cloud.arm.addResource({ id: `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.Web/sites/func1`, kind: 'functionapp', location: 'northeurope', systemAssigned: true, userAssigned: [uami.id] });
    const got = await armGet(`${site.id}?api-version=${sites?.apiVersions[1] ?? ''}`);
    expect(got.body).toMatchObject({ id: site.id, type: 'Microsoft.Web/sites', kind: 'functionapp', location: 'northeurope', identity: { type: 'SystemAssigned, UserAssigned', principalId: site.principalId } });

    // A type the catalogue does not know gets registered with default versions; versions can be replaced.
    cloud.arm.addResource({ id: `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Contoso.Widgets/widgets/w1`, systemAssigned: true });
    cloud.arm.setProviderApiVersions('Contoso.Widgets/widgets', ['2030-01-01-preview']);
    const custom = await armGet(`/subscriptions/${SUB}/providers/contoso.widgets?api-version=2021-04-01`);
    expect(custom.body).toMatchObject({ namespace: 'Contoso.Widgets', resourceTypes: [{ resourceType: 'widgets', apiVersions: ['2030-01-01-preview'] }] });
  });
});
