/**
 * Azure Resource Manager ids as path segments. Login compares the names a caller sends with the
 * resource Entra wrote into the token (`xms_az_rid` / `xms_mirid`) segment by segment, never as
 * substrings: Vault's substring test lets `vm_name=web` pass for a token of `web2`.
 *
 * ARM treats ids case-insensitively and real tokens vary their casing (`resourcegroups` vs
 * `resourceGroups`), so every comparison here ignores case.
 */

/** A resource-group-scoped ARM id, split into its parts. Names keep the casing they came with. */
export interface ArmResourceId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** Provider namespace, e.g. `Microsoft.Compute`. */
  readonly namespace: string;
  /** Type segments below the namespace, e.g. `['virtualMachineScaleSets', 'virtualMachines']`. */
  readonly types: readonly string[];
  /** One name per type segment, e.g. `['web', '3']`. */
  readonly names: readonly string[];
  /** `Microsoft.Compute/virtualMachines`: the form resource providers list their types in. */
  readonly fullType: string;
  /** The type below the namespace, `virtualMachines` or `virtualMachineScaleSets/virtualMachines`. */
  readonly providerType: string;
  /** Last name segment. */
  readonly name: string;
  /** `/subscriptions/<s>/resourceGroups/<rg>/providers/<ns>/<t>/<n>…` with the canonical keywords. */
  readonly canonical: string;
}

export type ArmIdParse = { ok: true; id: ArmResourceId } | { ok: false; reason: string };

// Characters ARM never allows in a name segment and that would change how a URL is read.
const FORBIDDEN_IN_SEGMENT = /[\\?#%\u0000-\u001f\u007f]/;
const NAMESPACE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$/;
const TYPE_SEGMENT = /^[A-Za-z][A-Za-z0-9]*$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Parses `/subscriptions/{guid}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{type}/{name}…]`.
 * Refuses empty, `.` and `..` segments (path traversal once the id becomes an ARM URL), extension
 * resources (a second `providers` segment) and characters that are not part of a path.
 */
export function parseArmResourceId(text: string): ArmIdParse {
  if (!text.startsWith('/')) return { ok: false, reason: 'it must start with /subscriptions/' };
  const trimmed = text.endsWith('/') ? text.slice(0, -1) : text;
  const segments = trimmed.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return { ok: false, reason: 'it has an empty path segment' };
    if (segment === '.' || segment === '..') return { ok: false, reason: 'it has a "." or ".." path segment' };
    if (FORBIDDEN_IN_SEGMENT.test(segment)) return { ok: false, reason: 'it contains a character not allowed in an ARM id' };
  }
  const [subscriptionsWord, subscriptionId, groupsWord, resourceGroup, providersWord, namespace, ...rest] = segments;
  if (subscriptionsWord?.toLowerCase() !== 'subscriptions' || subscriptionId === undefined) {
    return { ok: false, reason: 'it must start with /subscriptions/' };
  }
  if (!GUID.test(subscriptionId)) return { ok: false, reason: 'the subscription is not a GUID' };
  if (groupsWord?.toLowerCase() !== 'resourcegroups' || resourceGroup === undefined) {
    return { ok: false, reason: 'it must name a resource group (/resourceGroups/<name>)' };
  }
  if (providersWord?.toLowerCase() !== 'providers' || namespace === undefined) {
    return { ok: false, reason: 'it must name a resource (/providers/<namespace>/<type>/<name>)' };
  }
  if (!NAMESPACE.test(namespace)) return { ok: false, reason: `"${namespace}" is not a resource provider namespace` };
  if (rest.length === 0 || rest.length % 2 !== 0) {
    return { ok: false, reason: 'it must end with /<type>/<name> pairs below the provider namespace' };
  }
  const types: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const type = rest[i] ?? '';
    const name = rest[i + 1] ?? '';
    if (type.toLowerCase() === 'providers') return { ok: false, reason: 'extension resources (a second /providers/ segment) are not supported' };
    if (!TYPE_SEGMENT.test(type)) return { ok: false, reason: `"${type}" is not a resource type` };
    types.push(type);
    names.push(name);
  }
  const pairs = types.map((type, i) => `${type}/${names[i] ?? ''}`).join('/');
  const providerType = types.join('/');
  return {
    ok: true,
    id: {
      subscriptionId,
      resourceGroup,
      namespace,
      types,
      names,
      fullType: `${namespace}/${providerType}`,
      providerType,
      name: names[names.length - 1] ?? '',
      canonical: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${namespace}/${pairs}`,
    },
  };
}

export const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Two ids denote the same resource (ARM ids compare without regard to case). */
export function sameResource(a: ArmResourceId, b: ArmResourceId): boolean {
  return a.canonical.toLowerCase() === b.canonical.toLowerCase();
}

/** The resource has exactly this provider type, e.g. `Microsoft.Compute/virtualMachines`. */
export function isOfType(id: ArmResourceId, fullType: string): boolean {
  return sameName(id.fullType, fullType);
}

export const VM_TYPE = 'Microsoft.Compute/virtualMachines';
export const VMSS_TYPE = 'Microsoft.Compute/virtualMachineScaleSets';
export const VMSS_INSTANCE_TYPE = 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines';

/** Azure names the members of a flexible scale set `<scale set>_<8 hex digits>`. */
const FLEXIBLE_SUFFIX = /^[0-9a-f]{8}$/i;

/** True when `vmName` is a flexible-orchestration member name of the scale set `vmss`. */
export function isFlexibleMemberName(vmName: string, vmss: string): boolean {
  if (vmName.length !== vmss.length + 9) return false;
  if (!sameName(vmName.slice(0, vmss.length), vmss) || vmName[vmss.length] !== '_') return false;
  return FLEXIBLE_SUFFIX.test(vmName.slice(vmss.length + 1));
}
