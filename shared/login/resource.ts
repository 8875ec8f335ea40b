/**
 * Vault's `verifyResource` (behaviour reference §4.4), with our changes:
 *  - names, resource group, subscription and resource_id are checked against the token's resource
 *    claim first, by whole segments (no ARM call is spent on a token that names another resource);
 *  - `subscription_id` must agree with the claim, and `resource_id` must be the claimed resource;
 *  - `resource_verification: claims` takes the Entra-signed claim as the proof of the identity's
 *    link to the resource and calls ARM only for `bound_locations` and for flexible scale sets (a
 *    member's name `<vmss>_<8 hex>` can be given to any VM, so ARM proves the membership);
 *  - the app-id fallback applies only to tokens Entra did not tie to the resource (no
 *    `xms_az_rid`), and `bound_resource_groups` is checked after it too (Vault skips it): an
 *    identity detached from the resource stops logging in;
 *  - ARM answers are cached per resource (see `shared/arm/resource-facts.ts`);
 *  - denials are 403, missing fields 400, ARM and Entra failures 502/503.
 */
import type { ArmFacts, ArmSession, FactsLookup } from '../arm/resource-facts';
import { VaultError, badRequest } from '../vault/errors';
import { hasResourceBinding } from '../roles/types';
import { containsIgnoringCase, type LoginClaims, type LoginRole } from './model';
import type { LoginRequest } from './request';
import { checkResourceGroupName } from './syntax';
import { claimMismatch, claimedResource, claimsFlexibleMemberOnly, loginTarget, resourceIdPlacementMismatch, type LoginTarget } from './resource-claims';

export interface ResourceCheckInput {
  readonly role: LoginRole;
  readonly request: LoginRequest;
  readonly claims: LoginClaims;
  /** The cloud's ARM audience, for the advice when the resource claims are missing. */
  readonly armAudience: string;
  readonly facts: ArmFacts;
  /** The mount's ARM session; only called when ARM is needed. */
  readonly session: () => Promise<ArmSession>;
}

/** A binding that does not hold: 403 with Vault's text. */
export const denied = (message: string): VaultError => new VaultError('permission_denied', message);


export async function verifyResource(input: ResourceCheckInput): Promise<void> {
  const { role, request, claims } = input;
  // A: without resource bindings Vault checks nothing here (the names go to metadata unverified).
  if (!hasResourceBinding(role)) return;
  // B
  if (request.subscription_id === '' || request.resource_group_name === '') {
    throw badRequest('subscription_id and resource_group_name are required');
  }
  const placement = { subscription_id: request.subscription_id, resource_group_name: request.resource_group_name };
  const target = loginTarget(request);

  // C: which resource, and the scale-set binding's demands on it.
  if (target.kind === 'none') {
    if (!claims.appId) throw badRequest('one of vm_name, vmss_name, resource_id, or an appid JWT claim must be provided');
    // Vault's D: with no resource named there is no resource_id to place in the resource group.
    throw denied('provided resource_id does not match resource_group_name');
  }
  if (role.boundScaleSets.length > 0 && target.kind === 'vm') throw denied("bound scale set defined but this vm isn't in a scale set");
  if (role.boundScaleSets.length > 0 && target.kind === 'resource') throw denied('scale set requires the vmss_name field to be set');
  if (target.kind === 'resource') {
    const misplaced = resourceIdPlacementMismatch(target.id, placement);
    if (misplaced) throw denied(misplaced);
  }

  // The token's own statement of where it comes from, checked before anything costs an ARM read.
  const claimed = claimedResource(claims, input.armAudience);
  if (!claimed.ok) throw denied(claimed.message);
  const mismatch = claimMismatch(target, placement, claimed.resource);
  if (mismatch) throw denied(mismatch);

  if (target.kind === 'vmss' && role.boundScaleSets.length > 0 && !containsIgnoringCase(role.boundScaleSets, target.name)) {
    throw denied('scale set not authorized');
  }
  // F (moved before ARM: it needs nothing from ARM)
  if (role.boundSubscriptionIds.length > 0 && !containsIgnoringCase(role.boundSubscriptionIds, request.subscription_id)) {
    throw denied('subscription not authorized');
  }

  let location: string | undefined;
  // Claims mode cannot tell a flexible scale set's member from any VM given a member's name
  // (`web_0123abcd`): such a login is proven with ARM, exactly as in arm mode.
  if (role.resourceVerification === 'arm' || claimsFlexibleMemberOnly(target, claimed.resource)) {
    const session = await input.session();
    const lookup = await lookupTarget(input.facts, session, target, placement);
    const facts = requireIdentities(lookup, target);
    location = facts.location;
    // E: the token's principal must be one of the resource's identities as ARM reports them.
    if (!facts.principalIds.includes(claims.objectId.toLowerCase())) {
      if (!claims.appId) throw denied('token object id does not match expected identities, and no app id was found');
      // With xms_az_rid, Entra issued the token to an identity attached to that resource; ARM not
      // listing it now means it was detached, which must end its logins (Vault's fallback would
      // still accept it while the identity lives in the login's or a bound resource group).
      if (claimed.resource.claim === 'xms_az_rid') {
        throw denied("token object id does not match expected identities: the token's user-assigned identity is no longer attached to the resource");
      }
      if (!(await appIdAmongGroupIdentities(input, session))) throw denied('neither token object id nor token app id match expected identities');
    }
  } else if (role.boundLocations.length > 0) {
    // Claims mode trusts the claim for the identity link; only the location has to come from ARM.
    const lookup = await lookupTarget(input.facts, await input.session(), target, placement);
    location = locationOf(lookup, target);
  }

  // G, also after an app-id match (Vault skips it then): the fallback finds the app id among the
  // identities of the login's group and of every bound group, so skipping G let a detached
  // identity living in a bound group log in from a resource in any group.
  if (role.boundResourceGroups.length > 0 && !containsIgnoringCase(role.boundResourceGroups, request.resource_group_name)) {
    throw denied('resource group not authorized');
  }
  // H
  if (role.boundLocations.length > 0) {
    if (!location) throw denied('location is empty');
    if (!containsIgnoringCase(role.boundLocations, location)) throw denied('location not authorized');
  }
}

type NamedTarget = Exclude<LoginTarget, { kind: 'none' }>;

function lookupTarget(
  facts: ArmFacts,
  session: ArmSession,
  target: NamedTarget,
  placement: { subscription_id: string; resource_group_name: string },
): Promise<FactsLookup> {
  switch (target.kind) {
    case 'vmss':
      return facts.scaleSet(session, placement.subscription_id, placement.resource_group_name, target.name);
    case 'vm':
      return facts.virtualMachine(session, placement.subscription_id, placement.resource_group_name, target.name);
    case 'resource':
      return facts.resource(session, target.id);
  }
}

const WHAT: Record<NamedTarget['kind'], { metadata: string; noIdentity: string; noun: string }> = {
  vm: { metadata: 'unable to retrieve virtual machine metadata', noIdentity: 'vm client did not return identity information', noun: 'virtual machine' },
  vmss: {
    metadata: 'unable to retrieve virtual machine scale set metadata',
    noIdentity: 'vmss client did not return identity information',
    noun: 'virtual machine scale set',
  },
  resource: { metadata: 'unable to retrieve resource metadata', noIdentity: 'client did not return identity information', noun: 'resource' },
};

function notFound(target: NamedTarget): VaultError {
  const what = WHAT[target.kind];
  const name = target.kind === 'resource' ? target.id.canonical : target.name;
  return denied(`${what.metadata}: ${what.noun} ${name} was not found`);
}

function requireIdentities(lookup: FactsLookup, target: NamedTarget): { principalIds: readonly string[]; location: string | undefined } {
  switch (lookup.kind) {
    case 'not_found':
      throw notFound(target);
    case 'no_identity':
      throw denied(WHAT[target.kind].noIdentity);
    case 'found':
      return lookup.facts;
  }
}

function locationOf(lookup: FactsLookup, target: NamedTarget): string | undefined {
  switch (lookup.kind) {
    case 'not_found':
      throw notFound(target);
    case 'no_identity':
      return lookup.location;
    case 'found':
      return lookup.facts.location;
  }
}

/**
 * Vault's workload-identity fallback: the token's `appid` is the client id of a user-assigned
 * identity in the login's resource group or in one of the bound resource groups.
 */
async function appIdAmongGroupIdentities(input: ResourceCheckInput, session: ArmSession): Promise<boolean> {
  const appId = (input.claims.appId ?? '').toLowerCase();
  const groups = [input.request.resource_group_name, ...input.role.boundResourceGroups];
  const seen = new Set<string>();
  for (const group of groups) {
    // Bound groups are operator input; one that is not a group name must not become an ARM path.
    if (seen.has(group.toLowerCase()) || checkResourceGroupName(group) !== undefined) continue;
    seen.add(group.toLowerCase());
    const clientIds = await input.facts.userAssignedClientIds(session, input.request.subscription_id, group);
    if (clientIds.includes(appId)) return true;
  }
  return false;
}
