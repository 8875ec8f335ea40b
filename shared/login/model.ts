/**
 * What login needs to know about a role and about a verified token, independent of how the role
 * store and the Entra verifier represent them (adapters in `login-service.ts` map theirs to these).
 */

/** How the link between the token's identity and the named resource is proven. */
export type ResourceVerification = 'arm' | 'claims';

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

/** Bindings that need the calling resource (Vault's trigger for resource verification). */
export function hasResourceBindings(role: LoginRole): boolean {
  return (
    role.boundResourceGroups.length > 0 ||
    role.boundSubscriptionIds.length > 0 ||
    role.boundLocations.length > 0 ||
    role.boundScaleSets.length > 0
  );
}
