/**
 * Vault's `verifyRole`: the service-principal and group bindings, with its `*` rule (a list that is
 * exactly `["*"]` matches anyone) and case-insensitive comparison. Pure: answers the denial text or
 * undefined.
 */
import { hasResourceBinding } from '../roles/types';
import { containsIgnoringCase, type LoginClaims, type LoginRole } from './model';

const isWildcard = (list: readonly string[]): boolean => list.length === 1 && list[0] === '*';

export const COMBINATION_MESSAGE = "expected specific bound_group_ids or bound_service_principal_ids; both cannot be empty or '*'";

export function principalDenial(role: LoginRole, claims: LoginClaims): string | undefined {
  const sp = role.boundServicePrincipalIds;
  const groups = role.boundGroupIds;
  const bothWildcard = isWildcard(sp) && isWildcard(groups);
  // Vault refuses a role with neither list at login. Our role store also accepts a role pinned by
  // resource bindings alone; resource verification (which cannot be skipped for such a role)
  // then has to prove that the token's identity belongs to the named resource.
  const bothEmpty = sp.length === 0 && groups.length === 0 && !hasResourceBinding(role);
  if (bothWildcard || bothEmpty) return COMBINATION_MESSAGE;

  if (sp.length > 0 && !isWildcard(sp) && !containsIgnoringCase(sp, claims.objectId)) {
    return `service principal not authorized: ${claims.objectId}`;
  }
  if (groups.length > 0 && !isWildcard(groups)) {
    if (claims.groupOverage) {
      // Entra leaves the groups out above 200 and points at Graph instead; Vault then sees no
      // groups and reports an empty list, which hides the cause.
      return 'groups not authorized: the token carries a group overage reference (_claim_names) instead of its groups; bind this identity by bound_service_principal_ids, or reduce its group memberships below 200';
    }
    if (!claims.groups.some((group) => containsIgnoringCase(groups, group))) {
      return `groups not authorized: [${claims.groups.join(' ')}]`;
    }
  }
  return undefined;
}
