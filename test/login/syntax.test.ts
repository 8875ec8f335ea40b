import { describe, expect, it } from 'vitest';
import { isFlexibleMemberName, parseArmResourceId } from '../../shared/login/arm-id';
import { checkResourceGroupName, checkResourceId, checkSubscriptionId, checkVmName, checkVmssName, firstSyntaxError } from '../../shared/login/syntax';

const SUB = '0f8fad5b-d9cb-469f-a165-70867728950e';
const empty = { subscription_id: '', resource_group_name: '', vm_name: '', vmss_name: '', resource_id: '' };

describe('login field syntax (Vault step 5)', () => {
  it('subscription_id must be a GUID, either case', () => {
    expect(checkSubscriptionId(SUB)).toBeUndefined();
    expect(checkSubscriptionId(SUB.toUpperCase())).toBeUndefined();
    expect(checkSubscriptionId('not-a-guid')).toBe('invalid subscription id "not-a-guid"');
    expect(checkSubscriptionId(`${SUB}/..`)).toBe(`invalid subscription id "${SUB}/.."`);
  });

  it('resource groups: Unicode letters, digits, - _ . ( ), not ending in a dot', () => {
    for (const ok of ['rg', 'my-rg_1', 'rg.(prod)', 'grüne-gruppe', 'rg-日本']) expect(checkResourceGroupName(ok)).toBeUndefined();
    for (const bad of ['rg.', 'rg/..', '../rg', 'rg name', 'rg#1']) {
      expect(checkResourceGroupName(bad)).toBe(`invalid resource group name ${JSON.stringify(bad)}`);
    }
  });

  it('vm and vmss names: a letter, then letters/digits/.-_, ending in a letter, digit or _', () => {
    for (const ok of ['a', 'web', 'web-01', 'vmss_0', 'web.prod_']) {
      expect(checkVmName(ok)).toBeUndefined();
      expect(checkVmssName(ok)).toBeUndefined();
    }
    for (const bad of ['0web', 'web-', 'web.', 'web/..', '../web', 'we b', '-']) {
      expect(checkVmName(bad)).toBe(`invalid vm name ${JSON.stringify(bad)}`);
      expect(checkVmssName(bad)).toBe(`invalid vmss_name ${JSON.stringify(bad)}`);
    }
  });

  it('resource_id must be a resource-group-scoped ARM id without traversal', () => {
    const good = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app`;
    expect(checkResourceId(good)).toBeUndefined();
    expect(checkResourceId(`${good}/`)).toBeUndefined();
    const cases: Array<[string, string]> = [
      ['web', 'it must start with /subscriptions/'],
      [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/..`, 'it has a "." or ".." path segment'],
      [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app/../../other`, 'it has a "." or ".." path segment'],
      [`/subscriptions/${SUB}/resourceGroups//providers/Microsoft.Web/sites/app`, 'it has an empty path segment'],
      [`/subscriptions/nope/resourceGroups/rg/providers/Microsoft.Web/sites/app`, 'the subscription is not a GUID'],
      [`/subscriptions/${SUB}/resourceGroups/rg`, 'it must name a resource (/providers/<namespace>/<type>/<name>)'],
      [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites`, 'it must end with /<type>/<name> pairs below the provider namespace'],
      [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app?x=1`, 'it contains a character not allowed in an ARM id'],
      [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/a/providers/Microsoft.X/y/z`, 'extension resources (a second /providers/ segment) are not supported'],
    ];
    for (const [input, reason] of cases) expect(checkResourceId(input)).toBe(`invalid resource_id ${JSON.stringify(input)}: ${reason}`);
  });

  it('checks in Vault order and skips empty values', () => {
    expect(firstSyntaxError(empty)).toBeUndefined();
    expect(firstSyntaxError({ ...empty, subscription_id: 'x', vm_name: '0' })).toBe('invalid subscription id "x"');
    expect(firstSyntaxError({ ...empty, vm_name: '0', vmss_name: '1' })).toBe('invalid vmss_name "1"');
    expect(firstSyntaxError({ ...empty, vm_name: 'web/..' })).toBe('invalid vm name "web/.."');
    expect(firstSyntaxError({ ...empty, resource_id: 'x' })).toMatch(/^invalid resource_id "x"/);
  });
});

describe('ARM ids', () => {
  it('splits ids into typed segments, any keyword casing', () => {
    const parsed = parseArmResourceId(`/SUBSCRIPTIONS/${SUB}/resourcegroups/RG/Providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/3`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.id).toMatchObject({
      subscriptionId: SUB,
      resourceGroup: 'RG',
      namespace: 'Microsoft.Compute',
      fullType: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
      names: ['web', '3'],
      name: '3',
      canonical: `/subscriptions/${SUB}/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/3`,
    });
  });

  it('recognises flexible member names <vmss>_<8 hex> only', () => {
    expect(isFlexibleMemberName('web_0a1b2c3d', 'web')).toBe(true);
    expect(isFlexibleMemberName('WEB_0A1B2C3D', 'web')).toBe(true);
    expect(isFlexibleMemberName('web2_0a1b2c3d', 'web')).toBe(false);
    expect(isFlexibleMemberName('web_prod_0a1b2c3d', 'web')).toBe(false);
    expect(isFlexibleMemberName('web_0a1b2c3', 'web')).toBe(false);
    expect(isFlexibleMemberName('web_0a1b2c3x', 'web')).toBe(false);
  });
});
