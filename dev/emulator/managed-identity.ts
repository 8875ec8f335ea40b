// How Entra fills a managed identity's token for a given Azure resource: which principal signs in
// (oid/appid) and what the resource-id claims say (azure-identity-and-peers.md §0.2 and §3):
//   system-assigned VM        xms_mirid = VM id, no xms_az_rid
//   user-assigned             xms_mirid = UAMI id, xms_az_rid = the compute resource
//   uniform scale set         the scale-set id (instances are indistinguishable)
//   flexible scale-set member the member VM (`<vmss>_<8 hex>`)
//   App Service / Functions   the site (`Microsoft.Web/sites/<name>`)
// xms_* claims only appear for first-party audiences (ARM, Graph, Key Vault …), never for a custom
// app registration or api:// audience.
import type { ArmModel, ArmResource, PrincipalRecord } from './arm-model';
import { claimForm, idKey } from './ids';
import type { MintSpec, TokenVersion } from './tokens';

export interface ManagedIdentityTokenSpec {
  /** `aud`, e.g. `https://management.azure.com/`. */
  audience: string;
  /** VM, uniform instance or scale set, flexible member VM, or any resource added with addResource. */
  resourceId: string;
  /** 'system' (default) or the id of a user-assigned identity attached to the resource. */
  identity?: 'system' | string;
  /** Default: the tenant of the resource's subscription. */
  tenant?: string;
  /** Default: '2.0' for api://AzureADTokenExchange (the federation audience), else '1.0' as for ARM. */
  version?: TokenVersion;
  /** Force xms_mirid/xms_az_rid on or off; default on for first-party audiences only. */
  resourceClaims?: boolean;
  /** Default 86400: managed-identity tokens live about a day. */
  lifetimeSeconds?: number;
  /** Anything else of a MintSpec (exp, attack, extra claims …), applied last. */
  overrides?: Partial<MintSpec>;
}

export interface ResolvedIdentity {
  readonly principal: PrincipalRecord;
  readonly xmsMirid: string;
  readonly xmsAzRid: string | undefined;
}

/** Hosts of Microsoft first-party resources whose tokens carry xms_mirid/xms_az_rid. */
const FIRST_PARTY_HOSTS = [
  'management.azure.com',
  'management.core.windows.net',
  'management.usgovcloudapi.net',
  'management.core.usgovcloudapi.net',
  'management.chinacloudapi.cn',
  'management.core.chinacloudapi.cn',
  'graph.microsoft.com',
  'graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
  'graph.windows.net',
  'vault.azure.net',
  'vault.usgovcloudapi.net',
  'vault.azure.cn',
  'storage.azure.com',
  'database.windows.net',
  'servicebus.azure.net',
  'eventhubs.azure.net',
  'cognitiveservices.azure.com',
];

export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

export function isFirstPartyAudience(audience: string): boolean {
  let url: URL;
  try {
    url = new URL(audience);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:') return false;
  const host = url.hostname.toLowerCase();
  return FIRST_PARTY_HOSTS.some((h) => host === h || host.endsWith(`.${h}`));
}

export function defaultVersionFor(audience: string): TokenVersion {
  return audience.toLowerCase() === FEDERATION_AUDIENCE.toLowerCase() ? '2.0' : '1.0';
}

/** The compute resource Entra names in the claims for a resource the identity runs on. */
function computeResource(arm: ArmModel, resource: ArmResource): ArmResource {
  switch (resource.kind) {
    case 'vmssVm': {
      const scaleSet = resource.scaleSetId === undefined ? undefined : arm.get(resource.scaleSetId);
      if (scaleSet === undefined) throw new Error(`scale set of ${resource.id} no longer exists`);
      return scaleSet;
    }
    case 'vmss':
      if (resource.orchestration === 'Flexible') {
        throw new Error('a flexible scale set runs nothing itself: pass one of its member VM ids');
      }
      return resource;
    case 'uami':
      throw new Error('a user-assigned identity is not a compute resource: pass the resource it is attached to');
    case 'vm':
    case 'generic':
      return resource;
  }
}

export function resolveIdentity(arm: ArmModel, resourceId: string, identity: 'system' | string): ResolvedIdentity {
  const resource = arm.get(resourceId);
  if (resource === undefined) throw new Error(`no such resource: ${resourceId}`);
  const compute = computeResource(arm, resource);
  const effective = arm.effectiveIdentities(resource);
  if (identity === 'system') {
    if (effective.system === undefined) throw new Error(`${resource.id} has no system-assigned identity`);
    return { principal: effective.system, xmsMirid: claimForm(compute.id), xmsAzRid: undefined };
  }
  const uami = effective.userAssigned.find((u) => idKey(u.id) === idKey(identity));
  if (uami?.principal === undefined) throw new Error(`${identity} is not attached to ${resource.id}`);
  return { principal: uami.principal, xmsMirid: claimForm(uami.id), xmsAzRid: claimForm(compute.id) };
}

export interface IdentitySelector {
  clientId?: string | undefined;
  objectId?: string | undefined;
  resourceId?: string | undefined;
}

export type Selection = { ok: true; identity: 'system' | string } | { ok: false; message: string };

/**
 * Which identity a local token endpoint (IMDS, App Service) serves for a request: the selector's
 * user-assigned identity, else the system identity, else the only user-assigned one. Several
 * user-assigned and no selector is an error, as on Azure.
 */
export function selectIdentity(arm: ArmModel, resource: ArmResource, selector: IdentitySelector): Selection {
  const effective = arm.effectiveIdentities(resource);
  const given = [selector.clientId, selector.objectId, selector.resourceId].filter((s) => s !== undefined && s !== '');
  if (given.length > 1) return { ok: false, message: 'Only one of client_id, object_id or msi_res_id may be specified' };
  if (given.length === 1) {
    const match = effective.userAssigned.find(
      (u) =>
        (selector.clientId !== undefined && u.principal?.clientId.toLowerCase() === selector.clientId.toLowerCase()) ||
        (selector.objectId !== undefined && u.principal?.principalId.toLowerCase() === selector.objectId.toLowerCase()) ||
        (selector.resourceId !== undefined && idKey(u.id) === idKey(selector.resourceId)),
    );
    if (match !== undefined) return { ok: true, identity: match.id };
    // Azure also accepts the system identity's own client/object id as a selector.
    const system = effective.system;
    if (
      system !== undefined &&
      ((selector.clientId !== undefined && system.clientId.toLowerCase() === selector.clientId.toLowerCase()) ||
        (selector.objectId !== undefined && system.principalId.toLowerCase() === selector.objectId.toLowerCase()))
    ) {
      return { ok: true, identity: 'system' };
    }
    return { ok: false, message: 'Identity not found' };
  }
  if (effective.system !== undefined) return { ok: true, identity: 'system' };
  const [only, ...others] = effective.userAssigned;
  if (only !== undefined && others.length === 0) return { ok: true, identity: only.id };
  if (only !== undefined) {
    return { ok: false, message: 'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request' };
  }
  return { ok: false, message: 'Identity not found' };
}

/** Builds the MintSpec Entra would issue for a managed identity of `resourceId`. */
export function managedIdentityMintSpec(arm: ArmModel, spec: ManagedIdentityTokenSpec): MintSpec {
  const resolved = resolveIdentity(arm, spec.resourceId, spec.identity ?? 'system');
  const withClaims = spec.resourceClaims ?? isFirstPartyAudience(spec.audience);
  const mint: MintSpec = {
    tenant: spec.tenant ?? resolved.principal.tenantId,
    audience: spec.audience,
    version: spec.version ?? defaultVersionFor(spec.audience),
    oid: resolved.principal.principalId,
    appid: resolved.principal.clientId,
    appidacr: '2',
    lifetimeSeconds: spec.lifetimeSeconds ?? 86_400,
  };
  if (withClaims) {
    mint.xms_mirid = resolved.xmsMirid;
    if (resolved.xmsAzRid !== undefined) mint.xms_az_rid = resolved.xmsAzRid;
  }
  return { ...mint, ...(spec.overrides ?? {}) };
}

/**
 * Local token endpoints (IMDS, App Service) hand back the same cached token for repeat requests
 * (same uti) until it nears expiry, as the managed-identity back-end does; a naive "each uti once"
 * replay check breaks on that, and tests should see it.
 */
export class ManagedIdentityTokenCache {
  private readonly entries = new Map<string, { token: string; exp: number; nbf: number }>();

  async get(key: string, mint: () => Promise<{ token: string; exp: number; nbf: number }>): Promise<{ token: string; exp: number; nbf: number }> {
    const now = Math.floor(Date.now() / 1000);
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.exp - now > 300) return hit;
    const fresh = await mint();
    this.entries.set(key, fresh);
    return fresh;
  }

  clear(): void {
    this.entries.clear();
  }
}
