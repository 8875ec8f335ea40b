/**
 * What login needs to know about a role and about a verified token, independent of how the role
 * store and the Entra verifier represent them (`loginRoleOf` and `loginClaimsOf` in login.ts map
 * theirs to these).
 */
import type { ResourceVerification } from '../roles/types';

export interface LoginRole {
  /** Role name as stored (lower-case). */
  readonly name: string;
  readonly boundServicePrincipalIds: readonly string[];
  readonly boundGroupIds: readonly string[];
  readonly boundSubscriptionIds: readonly string[];
  readonly boundResourceGroups: readonly string[];
  readonly boundLocations: readonly string[];
  readonly boundScaleSets: readonly string[];
  readonly tokenBoundCidrs: readonly string[];
  readonly resourceVerification: ResourceVerification;
}

/** The claims of a verified Entra token that login reads. */
export interface LoginClaims {
  readonly tenantId: string;
  /** `oid`: the calling principal; "" when the token has none. */
  readonly objectId: string;
  /** `appid` (v1) or `azp` (v2): the client id of the calling identity, when present. */
  readonly appId: string | undefined;
  readonly groups: readonly string[];
  /** Entra put a pointer (`_claim_names.groups`) instead of the groups: more than 200 of them. */
  readonly groupOverage: boolean;
  readonly xmsAzRid: string | undefined;
  readonly xmsMirid: string | undefined;
}

/** Vault compares the ids and names of bindings without regard to case. */
export function containsIgnoringCase(list: readonly string[], value: string): boolean {
  const wanted = value.toLowerCase();
  return list.some((item) => item.toLowerCase() === wanted);
}
