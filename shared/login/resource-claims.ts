/**
 * Binding of the login's names to the resource Entra signed into the token. Entra writes the
 * calling compute resource into `xms_az_rid` when a user-assigned identity is used (its
 * `xms_mirid` is then the identity), and into `xms_mirid` alone for a system-assigned identity;
 * so the resource is `xms_az_rid` when present, else `xms_mirid`.
 *
 * Every comparison is by whole path segment and ignores case (Vault: case-insensitive substrings).
 */
import {
  isFlexibleMemberName,
  isOfType,
  parseArmResourceId,
  sameName,
  sameResource,
  VM_TYPE,
  VMSS_INSTANCE_TYPE,
  VMSS_TYPE,
  type ArmResourceId,
} from './arm-id';
import type { LoginClaims } from './model';

/** The resource a login names, in Vault's precedence: vmss_name, then vm_name, then resource_id. */
export type LoginTarget =
  | { readonly kind: 'vmss'; readonly name: string }
  | { readonly kind: 'vm'; readonly name: string }
  | { readonly kind: 'resource'; readonly id: ArmResourceId }
  | { readonly kind: 'none' };

export function loginTarget(fields: { vmss_name: string; vm_name: string; resource_id: string }): LoginTarget {
  if (fields.vmss_name !== '') return { kind: 'vmss', name: fields.vmss_name };
  if (fields.vm_name !== '') return { kind: 'vm', name: fields.vm_name };
  if (fields.resource_id !== '') {
    const parsed = parseArmResourceId(fields.resource_id);
    // The syntax step has refused malformed ids already; this keeps the types honest.
    if (!parsed.ok) throw new Error(`resource_id reached binding unparsed: ${parsed.reason}`);
    return { kind: 'resource', id: parsed.id };
  }
  return { kind: 'none' };
}

export type ClaimName = 'xms_az_rid' | 'xms_mirid';

export interface ClaimedResource {
  readonly claim: ClaimName;
  readonly id: ArmResourceId;
}

export type ClaimedResourceResult = { ok: true; resource: ClaimedResource } | { ok: false; message: string };

/**
 * The resource the token names. `armAudience` is the cloud's ARM audience, quoted in the advice
 * when the claims are missing (Entra issues them only for first-party audiences; Vault issue #237).
 */
export function claimedResource(claims: LoginClaims, armAudience: string): ClaimedResourceResult {
  const claim: ClaimName | undefined = nonEmpty(claims.xmsAzRid) ? 'xms_az_rid' : nonEmpty(claims.xmsMirid) ? 'xms_mirid' : undefined;
  if (claim === undefined) {
    return {
      ok: false,
      message:
        `xms_az_rid and xms_mirid claims are missing from token: Entra adds them only to tokens for a first-party audience; ` +
        `request the managed-identity token for a resource such as ${armAudience} and configure that as the mount's resource`,
    };
  }
  const value = claim === 'xms_az_rid' ? claims.xmsAzRid : claims.xmsMirid;
  const parsed = parseArmResourceId(value ?? '');
  if (!parsed.ok) return { ok: false, message: `${claim} token claim is not an ARM resource id: ${parsed.reason}` };
  return { ok: true, resource: { claim, id: parsed.id } };
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/** The scale set named by a claim: uniform (the set itself or one of its instances) or flexible (a member VM). */
function claimNamesScaleSet(id: ArmResourceId, vmss: string): { flexible: boolean; uniform: boolean } {
  const uniform =
    (isOfType(id, VMSS_TYPE) && sameName(id.name, vmss)) ||
    (isOfType(id, VMSS_INSTANCE_TYPE) && sameName(id.names[0] ?? '', vmss));
  const flexible = isOfType(id, VM_TYPE) && isFlexibleMemberName(id.name, vmss);
  return { flexible, uniform };
}

/**
 * Whether the claim ties a `vmss_name` login to its scale set only by a flexible member's name
 * (a VM named `<vmss>_<8 hex>`). Any VM can carry such a name, so the claim alone does not prove
 * membership (a uniform claim names the scale set itself and does).
 */
export function claimsFlexibleMemberOnly(target: LoginTarget, claimed: ClaimedResource): boolean {
  if (target.kind !== 'vmss') return false;
  const named = claimNamesScaleSet(claimed.id, target.name);
  return named.flexible && !named.uniform;
}

export interface LoginPlacement {
  readonly subscription_id: string;
  readonly resource_group_name: string;
}

/**
 * Checks the target, resource group and subscription against the claimed resource. Answers the
 * first mismatch in Vault's wording (with the claim that was used), or undefined when all agree.
 */
export function claimMismatch(target: LoginTarget, placement: LoginPlacement, claimed: ClaimedResource): string | undefined {
  const { claim, id } = claimed;
  switch (target.kind) {
    case 'vmss': {
      const named = claimNamesScaleSet(id, target.name);
      if (!named.flexible && !named.uniform) {
        return (
          `failed to verify flexible vmss claim: ${claim} token claim does not match vmss_name ${target.name}\n` +
          `failed to verify uniform vmss claim: ${claim} token claim does not match vmss_name ${target.name}`
        );
      }
      break;
    }
    case 'vm':
      if (!(isOfType(id, VM_TYPE) && sameName(id.name, target.name))) {
        return `${claim} token claim does not match vm_name ${target.name}`;
      }
      break;
    case 'resource':
      if (!sameResource(id, target.id)) return `${claim} token claim does not match resource_id ${target.id.canonical}`;
      break;
    case 'none':
      break;
  }
  if (!sameName(id.resourceGroup, placement.resource_group_name)) {
    return `${claim} token claim does not match resource_group_name ${placement.resource_group_name}`;
  }
  if (!sameName(id.subscriptionId, placement.subscription_id)) {
    return `${claim} token claim does not match subscription_id ${placement.subscription_id}`;
  }
  return undefined;
}

/** For a `resource_id` login: the id itself must sit in the named resource group and subscription. */
export function resourceIdPlacementMismatch(id: ArmResourceId, placement: LoginPlacement): string | undefined {
  if (!sameName(id.resourceGroup, placement.resource_group_name)) return 'provided resource_id does not match resource_group_name';
  if (!sameName(id.subscriptionId, placement.subscription_id)) return 'provided resource_id does not match subscription_id';
  return undefined;
}
