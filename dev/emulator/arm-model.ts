// The emulated subscriptions' resources: VMs, scale sets (uniform and flexible), user-assigned
// identities and any other resource type that can carry a managed identity. Tests seed it
// directly; the ARM, IMDS and App Service endpoints and the token minter read from it.
import { randomUUID } from 'node:crypto';
import { assertGuid, assertName, idKey, parseResourceId, randomHex, resourceGroupScope } from './ids';

/** A managed identity's service principal as Entra sees it. */
export interface PrincipalRecord {
  readonly principalId: string;
  readonly clientId: string;
  readonly tenantId: string;
}

export type ResourceKind = 'vm' | 'vmss' | 'vmssVm' | 'uami' | 'generic';
export type Orchestration = 'Uniform' | 'Flexible';

export interface ArmResource {
  /** Canonical casing, as created. */
  readonly id: string;
  readonly kind: ResourceKind;
  /** Full type, e.g. `Microsoft.Compute/virtualMachines`. */
  readonly type: string;
  readonly name: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  /**
   * Own identities. Scale-set members (uniform instances and flexible member VMs) have none of
   * their own: they carry the scale set's (see effectiveIdentities).
   */
  systemIdentity: PrincipalRecord | undefined;
  userAssigned: string[];
  /** VMs and uniform instances. */
  readonly vmId?: string;
  /** Uniform instances and flexible member VMs: their scale set. */
  readonly scaleSetId?: string;
  /** Uniform instances: the numeric instance id. */
  readonly instanceId?: string;
  /** Scale sets. */
  readonly orchestration?: Orchestration;
  readonly uniqueId?: string;
  /** Scale sets: ids of their instances (uniform) or member VMs (flexible). */
  members: string[];
  /** User-assigned identities: their own principal. */
  readonly principal?: PrincipalRecord;
  /** Generic resources: `kind` and extra properties echoed by GET. */
  readonly resourceKind?: string;
  readonly properties: Record<string, unknown>;
}

export interface AddUserAssignedIdentityOptions {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location?: string;
}

export interface IdentityOptions {
  /** Give the resource a system-assigned identity. */
  systemAssigned?: boolean;
  /** Ids of user-assigned identities (created earlier with addUserAssignedIdentity) to attach. */
  userAssigned?: readonly string[];
}

export interface AddVmOptions extends IdentityOptions {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
}

export interface AddScaleSetOptions extends IdentityOptions {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  orchestration: Orchestration;
  /** Default 2. */
  instances?: number;
}

export interface AddResourceOptions extends IdentityOptions {
  /** Resource-group-scoped id, e.g. `/subscriptions/…/resourceGroups/rg/providers/Microsoft.Web/sites/app`. */
  id: string;
  /** Defaults to the type parsed from the id. */
  type?: string;
  location?: string;
  /** ARM `kind`, e.g. `functionapp,linux`. */
  kind?: string;
  properties?: Record<string, unknown>;
}

export interface SeededIdentity {
  readonly id: string;
  /** System-assigned principal (object) id, when the resource has one. */
  readonly principalId?: string;
  /** Client (application) id of the system-assigned identity. ARM never shows it; tokens carry it as appid. */
  readonly clientId?: string;
}

export interface SeededVm extends SeededIdentity {
  readonly vmId: string;
}

export interface SeededScaleSet extends SeededIdentity {
  readonly instances: readonly { readonly id: string; readonly name: string; readonly vmId: string }[];
}

export interface SeededUserAssignedIdentity {
  readonly id: string;
  readonly principalId: string;
  readonly clientId: string;
  readonly tenantId: string;
}

/** Resource-provider catalogue entry: API versions newest first, a preview listed first as ARM often does. */
interface ProviderType {
  resourceType: string;
  apiVersions: string[];
}

const DEFAULT_PROVIDERS: Readonly<Record<string, readonly ProviderType[]>> = {
  'Microsoft.Compute': [
    { resourceType: 'virtualMachines', apiVersions: ['2025-06-01-preview', '2025-04-01', '2024-11-01', '2024-07-01', '2024-03-01'] },
    { resourceType: 'virtualMachineScaleSets', apiVersions: ['2025-06-01-preview', '2025-04-01', '2024-11-01', '2024-07-01', '2024-03-01'] },
    {
      resourceType: 'virtualMachineScaleSets/virtualMachines',
      apiVersions: ['2025-06-01-preview', '2025-04-01', '2024-11-01', '2024-07-01', '2024-03-01'],
    },
  ],
  'Microsoft.ManagedIdentity': [
    { resourceType: 'userAssignedIdentities', apiVersions: ['2025-01-31-preview', '2024-11-30', '2023-01-31', '2018-11-30'] },
  ],
  'Microsoft.Web': [
    { resourceType: 'sites', apiVersions: ['2024-11-01-preview', '2024-04-01', '2023-12-01', '2022-09-01'] },
    { resourceType: 'sites/slots', apiVersions: ['2024-11-01-preview', '2024-04-01', '2023-12-01', '2022-09-01'] },
    { resourceType: 'serverfarms', apiVersions: ['2024-11-01-preview', '2024-04-01', '2023-12-01', '2022-09-01'] },
  ],
};

const GENERIC_API_VERSIONS = ['2024-10-01-preview', '2024-01-01', '2023-01-01'];

export class ArmModel {
  /** Page size of user-assigned identity listings; tests lower it to exercise nextLink paging. */
  pageSize = 50;
  private readonly resources = new Map<string, ArmResource>();
  private readonly subscriptionTenants = new Map<string, string>();
  private readonly providers = new Map<string, { namespace: string; types: ProviderType[] }>();

  constructor(private readonly defaultTenantId: string) {
    for (const [namespace, types] of Object.entries(DEFAULT_PROVIDERS)) {
      this.providers.set(namespace.toLowerCase(), { namespace, types: types.map((t) => ({ ...t, apiVersions: [...t.apiVersions] })) });
    }
  }

  /** Puts a subscription in a tenant. Subscriptions never added belong to the default tenant. */
  addSubscription(opts: { subscriptionId: string; tenantId: string }): void {
    assertGuid(opts.subscriptionId, 'subscriptionId');
    assertGuid(opts.tenantId, 'tenantId');
    this.subscriptionTenants.set(opts.subscriptionId.toLowerCase(), opts.tenantId);
  }

  tenantOf(subscriptionId: string): string {
    return this.subscriptionTenants.get(subscriptionId.toLowerCase()) ?? this.defaultTenantId;
  }

  get(id: string): ArmResource | undefined {
    return this.resources.get(idKey(id));
  }

  /** Every resource, in creation order (for the demo printout and debugging). */
  all(): readonly ArmResource[] {
    return [...this.resources.values()];
  }

  addUserAssignedIdentity(opts: AddUserAssignedIdentityOptions): SeededUserAssignedIdentity {
    this.checkScope(opts.subscriptionId, opts.resourceGroup, opts.name);
    const id = `${resourceGroupScope(opts.subscriptionId, opts.resourceGroup)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${opts.name}`;
    const principal = this.newPrincipal(opts.subscriptionId);
    this.insert({
      ...this.base(id, 'uami', 'Microsoft.ManagedIdentity/userAssignedIdentities', opts, opts.location ?? 'eastus'),
      principal,
    });
    return { id, ...principal };
  }

  addVm(opts: AddVmOptions): SeededVm {
    this.checkScope(opts.subscriptionId, opts.resourceGroup, opts.name);
    const id = `${resourceGroupScope(opts.subscriptionId, opts.resourceGroup)}/providers/Microsoft.Compute/virtualMachines/${opts.name}`;
    const resource: ArmResource = {
      ...this.base(id, 'vm', 'Microsoft.Compute/virtualMachines', opts, opts.location),
      ...this.identities(opts.subscriptionId, opts),
      tags: { ...(opts.tags ?? {}) },
      vmId: randomUUID(),
    };
    this.insert(resource);
    return { id, vmId: resource.vmId ?? '', ...principalOf(resource) };
  }

  addScaleSet(opts: AddScaleSetOptions): SeededScaleSet {
    this.checkScope(opts.subscriptionId, opts.resourceGroup, opts.name);
    const count = opts.instances ?? 2;
    if (!Number.isInteger(count) || count < 0 || count > 1000) throw new Error('instances must be an integer between 0 and 1000');
    const id = `${resourceGroupScope(opts.subscriptionId, opts.resourceGroup)}/providers/Microsoft.Compute/virtualMachineScaleSets/${opts.name}`;
    const scaleSet: ArmResource = {
      ...this.base(id, 'vmss', 'Microsoft.Compute/virtualMachineScaleSets', opts, opts.location),
      ...this.identities(opts.subscriptionId, opts),
      orchestration: opts.orchestration,
      uniqueId: randomUUID(),
    };
    this.insert(scaleSet);
    const instances: { id: string; name: string; vmId: string }[] = [];
    for (let i = 0; i < count; i += 1) {
      const vmId = randomUUID();
      let member: ArmResource;
      if (opts.orchestration === 'Uniform') {
        // Uniform instances live under the scale set; their computer/display name is <vmss>_<n>.
        const memberId = `${id}/virtualMachines/${i}`;
        member = {
          ...this.base(memberId, 'vmssVm', 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines', opts, opts.location),
          name: `${opts.name}_${i}`,
          instanceId: String(i),
          scaleSetId: id,
          vmId,
        };
      } else {
        // Flexible members are ordinary VMs named <vmss>_<8 hex> in the scale set's resource group.
        const vmName = `${opts.name}_${randomHex(4)}`;
        const memberId = `${resourceGroupScope(opts.subscriptionId, opts.resourceGroup)}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
        member = { ...this.base(memberId, 'vm', 'Microsoft.Compute/virtualMachines', { ...opts, name: vmName }, opts.location), scaleSetId: id, vmId };
      }
      this.insert(member);
      scaleSet.members.push(member.id);
      instances.push({ id: member.id, name: member.name, vmId });
    }
    return { id, instances, ...principalOf(scaleSet) };
  }

  addResource(opts: AddResourceOptions): SeededIdentity {
    const parsed = parseResourceId(opts.id);
    if (parsed === undefined) throw new Error(`not a resource-group-scoped ARM id: ${opts.id}`);
    this.checkScope(parsed.subscriptionId, parsed.resourceGroup, parsed.name);
    const type = opts.type ?? parsed.type;
    this.ensureProviderType(type);
    const id = opts.id.replace(/\/+$/, '');
    const resource: ArmResource = {
      ...this.base(id, 'generic', type, { subscriptionId: parsed.subscriptionId, resourceGroup: parsed.resourceGroup, name: parsed.name }, opts.location ?? 'eastus'),
      ...this.identities(parsed.subscriptionId, opts),
      ...(opts.kind === undefined ? {} : { resourceKind: opts.kind }),
      properties: { ...(opts.properties ?? {}) },
    };
    this.insert(resource);
    return { id, ...principalOf(resource) };
  }

  /** Deletes a resource (a scale set with its instances/members). False when it did not exist. */
  remove(id: string): boolean {
    const resource = this.get(id);
    if (resource === undefined) return false;
    for (const member of resource.members) this.resources.delete(idKey(member));
    if (resource.scaleSetId !== undefined) {
      const scaleSet = this.get(resource.scaleSetId);
      if (scaleSet !== undefined) scaleSet.members = scaleSet.members.filter((m) => idKey(m) !== idKey(resource.id));
    }
    this.resources.delete(idKey(id));
    return true;
  }

  /**
   * Enables the system identity (a new principal, as Azure creates a new service principal each
   * time) or attaches a user-assigned identity. Returns the principal now in effect.
   */
  attachIdentity(resourceId: string, identity: 'system' | string): PrincipalRecord {
    const resource = this.ownerOfIdentities(resourceId);
    if (identity === 'system') {
      resource.systemIdentity ??= this.newPrincipal(resource.subscriptionId);
      return resource.systemIdentity;
    }
    const uami = this.requireUami(identity);
    if (uami.principal === undefined) throw new Error(`user-assigned identity ${uami.id} has no principal`);
    if (!resource.userAssigned.some((u) => idKey(u) === idKey(uami.id))) resource.userAssigned.push(uami.id);
    return uami.principal;
  }

  /** Disables the system identity or detaches a user-assigned one. False when it was not attached. */
  detachIdentity(resourceId: string, identity: 'system' | string): boolean {
    const resource = this.ownerOfIdentities(resourceId);
    if (identity === 'system') {
      const had = resource.systemIdentity !== undefined;
      resource.systemIdentity = undefined;
      return had;
    }
    const before = resource.userAssigned.length;
    resource.userAssigned = resource.userAssigned.filter((u) => idKey(u) !== idKey(identity));
    return resource.userAssigned.length !== before;
  }

  /** The identities a resource runs with: its own, or its scale set's for scale-set members. */
  effectiveIdentities(resource: ArmResource): { system: PrincipalRecord | undefined; userAssigned: readonly ArmResource[] } {
    const owner = resource.scaleSetId === undefined ? resource : (this.get(resource.scaleSetId) ?? resource);
    const userAssigned = owner.userAssigned.map((u) => this.get(u)).filter((u): u is ArmResource => u !== undefined && u.kind === 'uami');
    return { system: owner.systemIdentity, userAssigned };
  }

  listUserAssignedIdentities(subscriptionId: string, resourceGroup?: string): ArmResource[] {
    return [...this.resources.values()].filter(
      (r) =>
        r.kind === 'uami' &&
        r.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
        (resourceGroup === undefined || r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()),
    );
  }

  provider(namespace: string): { namespace: string; types: readonly ProviderType[] } | undefined {
    return this.providers.get(namespace.toLowerCase());
  }

  /** Replaces the API versions ARM reports for a resource type (e.g. only previews, to test fallbacks). */
  setProviderApiVersions(type: string, apiVersions: readonly string[]): void {
    const entry = this.ensureProviderType(type);
    entry.apiVersions = [...apiVersions];
  }

  private ensureProviderType(type: string): ProviderType {
    const slash = type.indexOf('/');
    if (slash <= 0 || slash === type.length - 1) throw new Error(`resource type must look like Namespace/type: ${type}`);
    const namespace = type.slice(0, slash);
    const resourceType = type.slice(slash + 1);
    let provider = this.providers.get(namespace.toLowerCase());
    if (provider === undefined) {
      provider = { namespace, types: [] };
      this.providers.set(namespace.toLowerCase(), provider);
    }
    let entry = provider.types.find((t) => t.resourceType.toLowerCase() === resourceType.toLowerCase());
    if (entry === undefined) {
      entry = { resourceType, apiVersions: [...GENERIC_API_VERSIONS] };
      provider.types.push(entry);
    }
    return entry;
  }

  private ownerOfIdentities(resourceId: string): ArmResource {
    const resource = this.get(resourceId);
    if (resource === undefined) throw new Error(`no such resource: ${resourceId}`);
    if (resource.scaleSetId !== undefined) {
      throw new Error('scale-set members carry their scale set\'s identities; change them on the scale set');
    }
    if (resource.kind === 'uami') throw new Error('a user-assigned identity cannot carry identities');
    return resource;
  }

  private requireUami(id: string): ArmResource {
    const uami = this.get(id);
    if (uami === undefined || uami.kind !== 'uami') throw new Error(`no user-assigned identity ${id} (add it with addUserAssignedIdentity first)`);
    return uami;
  }

  private identities(subscriptionId: string, opts: IdentityOptions): Pick<ArmResource, 'systemIdentity' | 'userAssigned'> {
    const userAssigned = (opts.userAssigned ?? []).map((u) => this.requireUami(u).id);
    return { systemIdentity: opts.systemAssigned === true ? this.newPrincipal(subscriptionId) : undefined, userAssigned };
  }

  private newPrincipal(subscriptionId: string): PrincipalRecord {
    return { principalId: randomUUID(), clientId: randomUUID(), tenantId: this.tenantOf(subscriptionId) };
  }

  private checkScope(subscriptionId: string, resourceGroup: string, name: string): void {
    assertGuid(subscriptionId, 'subscriptionId');
    assertName(resourceGroup, 'resourceGroup');
    assertName(name, 'name');
  }

  private base(
    id: string,
    kind: ResourceKind,
    type: string,
    scope: { subscriptionId: string; resourceGroup: string; name: string },
    location: string,
  ): ArmResource {
    return {
      id,
      kind,
      type,
      name: scope.name,
      subscriptionId: scope.subscriptionId,
      resourceGroup: scope.resourceGroup,
      location,
      tags: {},
      systemIdentity: undefined,
      userAssigned: [],
      members: [],
      properties: {},
    };
  }

  private insert(resource: ArmResource): void {
    const key = idKey(resource.id);
    if (this.resources.has(key)) throw new Error(`resource already exists: ${resource.id}`);
    this.resources.set(key, resource);
  }
}

function principalOf(resource: ArmResource): { principalId?: string; clientId?: string } {
  return resource.systemIdentity === undefined
    ? {}
    : { principalId: resource.systemIdentity.principalId, clientId: resource.systemIdentity.clientId };
}
