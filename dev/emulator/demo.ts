// A small, fixed demo world for manual use and dev mode: one tenant, one subscription, one
// resource group with a VM (system identity) and a uniform scale set (system identity), plus an
// application with a client secret for a mount's own credentials.
import type { CloudEmulator } from './index';

export interface DemoWorld {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly vm: { readonly name: string; readonly id: string; readonly principalId: string; readonly imdsUrl: string };
  readonly scaleSet: {
    readonly name: string;
    readonly id: string;
    readonly principalId: string;
    readonly instanceIds: readonly string[];
    /** IMDS of instance 0. */
    readonly imdsUrl: string;
  };
  readonly application: { readonly objectId: string; readonly appId: string; readonly clientSecret: string };
}

export interface DemoOptions {
  /** Default 3f9c1a2b-5d4e-4f60-8a7b-9c0d1e2f3a4b (fixed so printed commands stay stable). */
  subscriptionId?: string;
  /** Default azauth-demo. */
  resourceGroup?: string;
}

export async function seedDemo(cloud: CloudEmulator, opts: DemoOptions = {}): Promise<DemoWorld> {
  const subscriptionId = opts.subscriptionId ?? '3f9c1a2b-5d4e-4f60-8a7b-9c0d1e2f3a4b';
  const resourceGroup = opts.resourceGroup ?? 'azauth-demo';
  const tenantId = cloud.defaultTenantId;
  cloud.arm.addSubscription({ subscriptionId, tenantId });
  const vm = cloud.arm.addVm({ subscriptionId, resourceGroup, name: 'demo-vm', location: 'westeurope', systemAssigned: true });
  const vmss = cloud.arm.addScaleSet({ subscriptionId, resourceGroup, name: 'demo-vmss', location: 'westeurope', orchestration: 'Uniform', systemAssigned: true, instances: 2 });
  const app = cloud.graph.addApplication({ displayName: 'azauth-demo-mount' });
  const [vmImds, vmssImds] = await Promise.all([cloud.imdsFor(vm.id), cloud.imdsFor(vmss.id)]);
  return {
    tenantId,
    subscriptionId,
    resourceGroup,
    vm: { name: 'demo-vm', id: vm.id, principalId: vm.principalId ?? '', imdsUrl: vmImds },
    scaleSet: { name: 'demo-vmss', id: vmss.id, principalId: vmss.principalId ?? '', instanceIds: vmss.instances.map((i) => i.id), imdsUrl: vmssImds },
    application: { objectId: app.id, appId: app.appId, clientSecret: app.password?.secretText ?? '' },
  };
}
