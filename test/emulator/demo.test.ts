// The demo world the CLI and dev mode print: its VM can get an IMDS token that ARM accepts and
// that names the VM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../dev/emulator/demo';
import { type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';
import { ARM, decodePayload } from './helpers';

let cloud: CloudEmulator;

beforeAll(async () => {
  cloud = await startCloudEmulator();
});
afterAll(async () => {
  await cloud.stop();
});

describe('seedDemo', () => {
  it('seeds a VM and a uniform scale set whose IMDS tokens ARM accepts', async () => {
    const demo = await seedDemo(cloud);
    expect(demo.tenantId).toBe(cloud.defaultTenantId);
    expect(demo.scaleSet.instanceIds).toHaveLength(2);
    const res = await fetch(`${demo.vm.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(ARM)}`, { headers: { Metadata: 'true' } });
    const token = String(((await res.json()) as Record<string, unknown>)['access_token']);
    expect(decodePayload(token)).toMatchObject({ oid: demo.vm.principalId, tid: demo.tenantId });
    const vm = await cloud.fetch(`${cloud.url}${demo.vm.id}?api-version=2024-07-01`, { headers: { authorization: `Bearer ${token}` } });
    expect(await vm.json()).toMatchObject({ identity: { principalId: demo.vm.principalId } });
    const ss = await fetch(`${demo.scaleSet.imdsUrl}/metadata/instance?api-version=2021-05-01`, { headers: { Metadata: 'true' } });
    expect(await ss.json()).toMatchObject({ compute: { vmScaleSetName: 'demo-vmss', subscriptionId: demo.subscriptionId, resourceGroupName: 'azauth-demo' } });
  });
});
