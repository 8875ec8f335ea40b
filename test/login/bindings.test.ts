import { describe, expect, it } from 'vitest';
import type { LoginClaims, LoginRole } from '../../shared/login/model';
import { COMBINATION_MESSAGE, principalDenial } from '../../shared/login/principal';
import { claimMismatch, claimedResource, loginTarget, resourceIdPlacementMismatch, type ClaimedResource } from '../../shared/login/resource-claims';
import { parseArmResourceId } from '../../shared/login/arm-id';

const SUB = '0f8fad5b-d9cb-469f-a165-70867728950e';
const OTHER_SUB = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const OID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const ARM = 'https://management.azure.com/';

function role(over: Partial<LoginRole> = {}): LoginRole {
  return {
    name: 'r',
    boundServicePrincipalIds: [],
    boundGroupIds: [],
    boundSubscriptionIds: [],
    boundResourceGroups: [],
    boundLocations: [],
    boundScaleSets: [],
    tokenBoundCidrs: [],
    resourceVerification: 'arm',
    ...over,
  };
}

function claims(over: Partial<LoginClaims> = {}): LoginClaims {
  return { tenantId: 't', objectId: OID, appId: undefined, groups: [], groupOverage: false, xmsAzRid: undefined, xmsMirid: undefined, ...over };
}

const vmId = (name: string, rg = 'rg', sub = SUB): string => `/subscriptions/${sub}/resourcegroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;
const vmssId = (name: string, rg = 'rg'): string => `/subscriptions/${SUB}/resourcegroups/${rg}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
const uamiId = (name: string): string => `/subscriptions/${SUB}/resourcegroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

function claimed(c: LoginClaims): ClaimedResource {
  const result = claimedResource(c, ARM);
  if (!result.ok) throw new Error(result.message);
  return result.resource;
}

const placement = { subscription_id: SUB, resource_group_name: 'rg' };
const target = (fields: Partial<{ vm_name: string; vmss_name: string; resource_id: string }>) =>
  loginTarget({ vm_name: '', vmss_name: '', resource_id: '', ...fields });

describe('service principal and group bindings (Vault verifyRole)', () => {
  it('refuses both lists empty or both "*"', () => {
    expect(principalDenial(role(), claims())).toBe(COMBINATION_MESSAGE);
    expect(principalDenial(role({ boundServicePrincipalIds: ['*'], boundGroupIds: ['*'] }), claims())).toBe(COMBINATION_MESSAGE);
  });

  it('allows a role pinned by resource bindings only (it must then prove the resource link)', () => {
    expect(principalDenial(role({ boundResourceGroups: ['rg'] }), claims())).toBeUndefined();
  });

  it('matches service principals case-insensitively; "*" alone means anyone', () => {
    expect(principalDenial(role({ boundServicePrincipalIds: [OID.toUpperCase()] }), claims())).toBeUndefined();
    expect(principalDenial(role({ boundServicePrincipalIds: ['*'] }), claims())).toBeUndefined();
    expect(principalDenial(role({ boundServicePrincipalIds: ['other'] }), claims())).toBe(`service principal not authorized: ${OID}`);
    // "*" among other ids is a literal, as in Vault
    expect(principalDenial(role({ boundServicePrincipalIds: ['*', 'other'] }), claims())).toBe(`service principal not authorized: ${OID}`);
  });

  it('needs one matching group; both lists set means both must pass', () => {
    expect(principalDenial(role({ boundGroupIds: ['G1'] }), claims({ groups: ['g0', 'g1'] }))).toBeUndefined();
    expect(principalDenial(role({ boundGroupIds: ['g9'] }), claims({ groups: ['g0', 'g1'] }))).toBe('groups not authorized: [g0 g1]');
    expect(principalDenial(role({ boundServicePrincipalIds: [OID], boundGroupIds: ['g9'] }), claims({ groups: ['g0'] }))).toBe('groups not authorized: [g0]');
    expect(principalDenial(role({ boundServicePrincipalIds: ['*'], boundGroupIds: ['g0'] }), claims({ groups: ['g0'] }))).toBeUndefined();
  });

  it('says so when the token has a group overage instead of groups', () => {
    const message = principalDenial(role({ boundGroupIds: ['g0'] }), claims({ groupOverage: true }));
    expect(message).toMatch(/^groups not authorized: the token carries a group overage reference \(_claim_names\)/);
    // with "*" groups are not checked, so the overage does not matter
    expect(principalDenial(role({ boundServicePrincipalIds: [OID], boundGroupIds: ['*'] }), claims({ groupOverage: true }))).toBeUndefined();
  });
});

describe('resource claims, whole segments, any case', () => {
  it('uses xms_az_rid when present, else xms_mirid; missing both advises a first-party audience', () => {
    expect(claimed(claims({ xmsAzRid: vmId('web'), xmsMirid: uamiId('id1') })).claim).toBe('xms_az_rid');
    expect(claimed(claims({ xmsMirid: vmId('web') })).claim).toBe('xms_mirid');
    const missing = claimedResource(claims(), ARM);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.message).toContain('request the managed-identity token for a resource such as https://management.azure.com/');
  });

  it('vm_name must be the whole last segment of a virtualMachines id (Vault: web matches web2)', () => {
    expect(claimMismatch(target({ vm_name: 'WEB' }), placement, claimed(claims({ xmsMirid: vmId('web') })))).toBeUndefined();
    expect(claimMismatch(target({ vm_name: 'web' }), placement, claimed(claims({ xmsMirid: vmId('web2') })))).toBe(
      'xms_mirid token claim does not match vm_name web',
    );
    // a user-assigned identity named like the VM is not the VM
    expect(claimMismatch(target({ vm_name: 'web' }), placement, claimed(claims({ xmsMirid: uamiId('web') })))).toBe(
      'xms_mirid token claim does not match vm_name web',
    );
  });

  it('vmss_name: uniform (the set or an instance) and flexible (<vmss>_<8 hex>)', () => {
    const vmss = target({ vmss_name: 'pool', vm_name: 'ignored' });
    expect(vmss).toEqual({ kind: 'vmss', name: 'pool' });
    expect(claimMismatch(vmss, placement, claimed(claims({ xmsMirid: vmssId('pool') })))).toBeUndefined();
    expect(claimMismatch(vmss, placement, claimed(claims({ xmsMirid: `${vmssId('POOL')}/virtualMachines/3` })))).toBeUndefined();
    expect(claimMismatch(vmss, placement, claimed(claims({ xmsAzRid: vmId('pool_1a2b3c4d'), xmsMirid: uamiId('u') })))).toBeUndefined();
    const refused = claimMismatch(vmss, placement, claimed(claims({ xmsMirid: vmssId('pool2') })));
    expect(refused).toBe(
      'failed to verify flexible vmss claim: xms_mirid token claim does not match vmss_name pool\n' +
        'failed to verify uniform vmss claim: xms_mirid token claim does not match vmss_name pool',
    );
    expect(claimMismatch(vmss, placement, claimed(claims({ xmsMirid: vmId('pool2_1a2b3c4d') })))).toBeDefined();
  });

  it('resource group and subscription must be the claim\'s, whole segment', () => {
    const vm = target({ vm_name: 'web' });
    expect(claimMismatch(vm, { ...placement, resource_group_name: 'RG' }, claimed(claims({ xmsMirid: vmId('web') })))).toBeUndefined();
    expect(claimMismatch(vm, placement, claimed(claims({ xmsMirid: vmId('web', 'rg-prod') })))).toBe(
      'xms_mirid token claim does not match resource_group_name rg',
    );
    expect(claimMismatch(vm, placement, claimed(claims({ xmsMirid: vmId('web', 'rg', OTHER_SUB) })))).toBe(
      `xms_mirid token claim does not match subscription_id ${SUB}`,
    );
  });

  it('resource_id must be the claimed resource and sit in the named group and subscription', () => {
    const site = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app`;
    const t = target({ resource_id: site });
    expect(claimMismatch(t, placement, claimed(claims({ xmsMirid: site.toLowerCase() })))).toBeUndefined();
    expect(claimMismatch(t, placement, claimed(claims({ xmsMirid: `${site}2` })))).toBe(`xms_mirid token claim does not match resource_id ${site}`);
    const parsed = parseArmResourceId(site);
    if (!parsed.ok) throw new Error('unparsed');
    expect(resourceIdPlacementMismatch(parsed.id, placement)).toBeUndefined();
    expect(resourceIdPlacementMismatch(parsed.id, { ...placement, resource_group_name: 'r' })).toBe('provided resource_id does not match resource_group_name');
    expect(resourceIdPlacementMismatch(parsed.id, { ...placement, subscription_id: OTHER_SUB })).toBe('provided resource_id does not match subscription_id');
  });
});
