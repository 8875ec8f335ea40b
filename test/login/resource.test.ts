/**
 * Resource verification with an in-memory ARM reader that counts its calls: the logic of §4.4
 * (and our changes) without HTTP. The same behaviours are exercised over HTTP in login.http.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ArmFacts, type ArmSession } from '../../shared/arm/resource-facts';
import type { ArmProviderResourceType, ArmReader, ArmResourceSnapshot } from '../../shared/arm/reader';
import type { LoginClaims, LoginRole } from '../../shared/login/model';
import type { LoginRequest } from '../../shared/login/request';
import { verifyResource } from '../../shared/login/resource';
import { VaultError } from '../../shared/vault/errors';

const SUB = '0f8fad5b-d9cb-469f-a165-70867728950e';
const OID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const APP = 'a1b2c3d4-0000-4000-8000-000000000001';
const vmId = `/subscriptions/${SUB}/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/web`;
const vmssId = `/subscriptions/${SUB}/resourcegroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool`;
const uami = (name: string): string => `/subscriptions/${SUB}/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

class FakeReader implements ArmReader {
  calls: string[] = [];
  resources = new Map<string, ArmResourceSnapshot>();
  identities = new Map<string, string>();
  providers: ArmProviderResourceType[] = [];
  groupClientIds = new Map<string, string[]>();

  private key(...parts: string[]): string {
    return parts.join('/').toLowerCase();
  }
  async virtualMachine(s: string, rg: string, name: string) {
    this.calls.push(`vm ${name}`);
    return this.resources.get(this.key('vm', s, rg, name));
  }
  async scaleSet(s: string, rg: string, name: string) {
    this.calls.push(`vmss ${name}`);
    return this.resources.get(this.key('vmss', s, rg, name));
  }
  async resource(path: string, apiVersion: string) {
    this.calls.push(`resource ${apiVersion}`);
    return this.resources.get(this.key('res', decodeURIComponent(path)));
  }
  async userAssignedIdentity(path: string) {
    this.calls.push('uami');
    const principalId = this.identities.get(decodeURIComponent(path).toLowerCase());
    return principalId ? { principalId, clientId: undefined } : undefined;
  }
  async providerResourceTypes() {
    this.calls.push('provider');
    return this.providers;
  }
  async userAssignedClientIds(_s: string, rg: string) {
    this.calls.push(`list ${rg}`);
    return this.groupClientIds.get(rg.toLowerCase()) ?? [];
  }
}

function setup(roleOver: Partial<LoginRole>, requestOver: Partial<LoginRequest>, claimsOver: Partial<LoginClaims>) {
  const reader = new FakeReader();
  const session: ArmSession = { endpoint: 'https://arm.test', credentialKey: 'credential-a', reader: async () => reader };
  const facts = new ArmFacts({ ttlSeconds: 60 });
  const role: LoginRole = {
    name: 'r',
    boundServicePrincipalIds: ['*'],
    boundGroupIds: [],
    boundSubscriptionIds: [],
    boundResourceGroups: ['rg'],
    boundLocations: [],
    boundScaleSets: [],
    tokenBoundCidrs: [],
    resourceVerification: 'arm',
    ...roleOver,
  };
  const request: LoginRequest = { role: 'r', jwt: 'x', subscription_id: SUB, resource_group_name: 'rg', vm_name: 'web', vmss_name: '', resource_id: '', ...requestOver };
  const claims: LoginClaims = { tenantId: 't', objectId: OID, appId: undefined, groups: [], groupOverage: false, xmsAzRid: undefined, xmsMirid: vmId, ...claimsOver };
  const run = () => verifyResource({ role, request, claims, armAudience: 'https://management.azure.com/', facts, session: async () => session });
  return { reader, run };
}

async function denial(run: () => Promise<void>): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (err) {
    if (err instanceof VaultError) return { code: err.code, message: err.errors.join('\n') };
    throw err;
  }
  throw new Error('expected a refusal');
}

const vmWith = (principals: string[], location = 'westeurope'): ArmResourceSnapshot => ({
  location,
  identity: { systemPrincipalId: principals[0], userAssigned: principals.slice(1).map((p, i) => ({ resourceId: uami(`u${i}`), principalId: p, clientId: undefined })) },
});

describe('resource verification', () => {
  it('skips everything (no ARM) without resource bindings, as Vault', async () => {
    const { reader, run } = setup({ boundResourceGroups: [], boundServicePrincipalIds: [OID] }, { vm_name: 'other' }, {});
    await run();
    expect(reader.calls).toEqual([]);
  });

  it('arm: the token oid must be among the VM identities; one ARM read serves later logins', async () => {
    const { reader, run } = setup({}, {}, {});
    reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith(['someone-else', OID.toUpperCase()]));
    await run();
    await run();
    expect(reader.calls).toEqual(['vm web']);
  });

  it('arm: a detached identity is refused; a deleted VM is a 403 naming it', async () => {
    const { reader, run } = setup({}, {}, {});
    reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith(['someone-else']));
    expect(await denial(run)).toEqual({ code: 'permission_denied', message: 'token object id does not match expected identities, and no app id was found' });
    const gone = setup({}, {}, {});
    expect(await denial(gone.run)).toEqual({
      code: 'permission_denied',
      message: 'unable to retrieve virtual machine metadata: virtual machine web was not found',
    });
    const bare = setup({}, {}, {});
    bare.reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), { location: 'x', identity: undefined });
    expect((await denial(bare.run)).message).toBe('vm client did not return identity information');
  });

  it('arm: flexible scale set identities without principal ids are read one by one', async () => {
    const { reader, run } = setup({}, { vm_name: '', vmss_name: 'pool' }, { xmsAzRid: vmId.replace('/web', '/pool_0a1b2c3d'), xmsMirid: uami('u0') });
    reader.resources.set(`vmss/${SUB}/rg/pool`.toLowerCase(), {
      location: 'westeurope',
      identity: { systemPrincipalId: undefined, userAssigned: [{ resourceId: uami('u0'), principalId: undefined, clientId: undefined }] },
    });
    reader.identities.set(uami('u0').toLowerCase(), OID);
    await run();
    expect(reader.calls).toEqual(['vmss pool', 'uami']);
  });

  it('arm: the appid fallback finds the client id among the resource group identities', async () => {
    const { reader, run } = setup({ boundResourceGroups: ['rg', 'ids'] }, {}, { appId: APP });
    reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith(['someone-else']));
    reader.groupClientIds.set('ids', [APP]);
    await run();
    expect(reader.calls).toEqual(['vm web', 'list rg', 'list ids']);
    const none = setup({}, {}, { appId: APP });
    none.reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith(['someone-else']));
    expect((await denial(none.run)).message).toBe('neither token object id nor token app id match expected identities');
  });

  it('arm: an app-id match still needs the login resource group to be bound (Vault skips the check)', async () => {
    const { reader, run } = setup({ boundResourceGroups: ['ids'] }, {}, { appId: APP });
    reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith(['someone-else']));
    reader.groupClientIds.set('ids', [APP]);
    expect((await denial(run)).message).toBe('resource group not authorized');
  });

  it('arm: no app-id fallback for a token Entra tied to the resource (xms_az_rid): its identity was detached', async () => {
    const { reader, run } = setup({}, {}, { appId: APP, xmsAzRid: vmId, xmsMirid: uami('u9') });
    reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith(['someone-else']));
    reader.groupClientIds.set('rg', [APP]);
    expect((await denial(run)).message).toMatch(/^token object id does not match expected identities: .*no longer attached/);
    expect(reader.calls).toEqual(['vm web']);
  });

  it('claims: a flexible member\'s name is proven with ARM (any VM can carry it); a uniform claim is not', async () => {
    const member = vmId.replace('/web', '/pool_0a1b2c3d');
    const flexible = setup({ resourceVerification: 'claims', boundScaleSets: ['pool'], boundResourceGroups: [] }, { vm_name: '', vmss_name: 'pool' }, { xmsMirid: member });
    expect((await denial(flexible.run)).message).toBe('unable to retrieve virtual machine scale set metadata: virtual machine scale set pool was not found');
    const member2 = setup({ resourceVerification: 'claims', boundScaleSets: ['pool'], boundResourceGroups: [] }, { vm_name: '', vmss_name: 'pool' }, { xmsMirid: member });
    member2.reader.resources.set(`vmss/${SUB}/rg/pool`.toLowerCase(), vmWith([OID]));
    await member2.run();
    expect(member2.reader.calls).toEqual(['vmss pool']);
    const uniform = setup({ resourceVerification: 'claims', boundScaleSets: ['pool'], boundResourceGroups: [] }, { vm_name: '', vmss_name: 'pool' }, { xmsMirid: vmssId });
    await uniform.run();
    expect(uniform.reader.calls).toEqual([]);
  });

  it('arm: resource_id of any type uses the provider\'s first GA version', async () => {
    const site = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app`;
    const { reader, run } = setup({}, { vm_name: '', resource_id: site }, { xmsMirid: site });
    reader.providers = [{ resourceType: 'SITES', apiVersions: ['2024-11-01-preview', '2024-04-01'] }];
    reader.resources.set(`res/${site}`.toLowerCase(), vmWith([OID]));
    await run();
    expect(reader.calls).toEqual(['provider', 'resource 2024-04-01']);
  });

  it('checks the bound lists in order, and location from ARM', async () => {
    const base = () => {
      const s = setup({ boundLocations: ['westeurope'] }, {}, {});
      s.reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith([OID], 'eastus'));
      return s;
    };
    expect((await denial(base().run)).message).toBe('location not authorized');
    expect((await denial(setup({ boundSubscriptionIds: ['other'] }, {}, {}).run)).message).toBe('subscription not authorized');
    const rg = setup({ boundResourceGroups: ['prod'] }, {}, {});
    rg.reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith([OID]));
    expect((await denial(rg.run)).message).toBe('resource group not authorized');
    expect((await denial(setup({ boundScaleSets: ['pool'] }, {}, {}).run)).message).toBe("bound scale set defined but this vm isn't in a scale set");
  });

  it('claims: no ARM call unless bound_locations', async () => {
    const { reader, run } = setup({ resourceVerification: 'claims' }, {}, {});
    await run();
    expect(reader.calls).toEqual([]);
    const located = setup({ resourceVerification: 'claims', boundLocations: ['westeurope'] }, {}, {});
    located.reader.resources.set(`vm/${SUB}/rg/web`.toLowerCase(), vmWith(['not-the-caller']));
    await located.run();
    expect(located.reader.calls).toEqual(['vm web']);
  });

  it('needs subscription_id and resource_group_name (400), and a named resource', async () => {
    expect(await denial(setup({}, { subscription_id: '' }, {}).run)).toEqual({
      code: 'bad_request',
      message: 'subscription_id and resource_group_name are required',
    });
    expect(await denial(setup({}, { vm_name: '' }, {}).run)).toEqual({
      code: 'bad_request',
      message: 'one of vm_name, vmss_name, resource_id, or an appid JWT claim must be provided',
    });
  });
});
