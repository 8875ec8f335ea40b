/**
 * A role of an `azure` mount (Vault's `auth/<mount>/role/<name>`): who may log in (the `bound_*`
 * lists), how login proves the caller's resource, and what token they get (the `token_*` fields).
 */
import { z } from 'zod';

/** `default` lets the mount decide (service tokens here). */
export type RoleTokenType = 'default' | 'service' | 'batch';

/**
 * How login proves the caller's Azure resource: `arm` asks Azure Resource Manager (Vault's way);
 * `claims` trusts the token's `xms_mirid`/`xms_az_rid` claims and makes no ARM call.
 */
export type ResourceVerification = 'arm' | 'claims';
export const RESOURCE_VERIFICATIONS: readonly ResourceVerification[] = ['arm', 'claims'];

export interface Role {
  /** Lower-case; names are case-insensitive. */
  readonly name: string;
  // Each list is null when it was never set (read back as JSON null), [] when set empty.
  readonly boundServicePrincipalIds: string[] | null;
  readonly boundGroupIds: string[] | null;
  readonly boundSubscriptionIds: string[] | null;
  readonly boundResourceGroups: string[] | null;
  readonly boundLocations: string[] | null;
  readonly boundScaleSets: string[] | null;
  readonly resourceVerification: ResourceVerification;
  // Vault's tokenutil fields; durations in whole seconds, 0 = mount/system default.
  readonly tokenTtl: number;
  readonly tokenMaxTtl: number;
  readonly tokenExplicitMaxTtl: number;
  readonly tokenPeriod: number;
  readonly tokenPolicies: string[];
  readonly tokenBoundCidrs: string[];
  readonly tokenNoDefaultPolicy: boolean;
  readonly tokenNumUses: number;
  readonly tokenType: RoleTokenType;
  /** Values of the deprecated names (`policies`, `ttl`, ...), kept so reads echo them as Vault does. */
  readonly legacy: LegacyTokenFields;
}

export interface LegacyTokenFields {
  readonly policies: string[];
  readonly ttl: number;
  readonly maxTtl: number;
  readonly period: number;
  readonly numUses: number;
}

export function newRole(name: string): Role {
  return {
    name,
    boundServicePrincipalIds: null,
    boundGroupIds: null,
    boundSubscriptionIds: null,
    boundResourceGroups: null,
    boundLocations: null,
    boundScaleSets: null,
    resourceVerification: 'arm',
    tokenTtl: 0,
    tokenMaxTtl: 0,
    tokenExplicitMaxTtl: 0,
    tokenPeriod: 0,
    tokenPolicies: [],
    tokenBoundCidrs: [],
    tokenNoDefaultPolicy: false,
    tokenNumUses: 0,
    tokenType: 'default',
    legacy: { policies: [], ttl: 0, maxTtl: 0, period: 0, numUses: 0 },
  };
}

const list = z.array(z.string()).nullable().default(null);
const seconds = z.number().int().nonnegative().default(0);

/** The stored JSON of a role (property `role` of its entity), checked on every load. */
export const storedRoleSchema = z.object({
  name: z.string(),
  boundServicePrincipalIds: list,
  boundGroupIds: list,
  boundSubscriptionIds: list,
  boundResourceGroups: list,
  boundLocations: list,
  boundScaleSets: list,
  resourceVerification: z.enum(['arm', 'claims']).default('arm'),
  tokenTtl: seconds,
  tokenMaxTtl: seconds,
  tokenExplicitMaxTtl: seconds,
  tokenPeriod: seconds,
  tokenPolicies: z.array(z.string()).default([]),
  tokenBoundCidrs: z.array(z.string()).default([]),
  tokenNoDefaultPolicy: z.boolean().default(false),
  tokenNumUses: z.number().int().nonnegative().default(0),
  tokenType: z.enum(['default', 'service', 'batch']).default('default'),
  legacy: z
    .object({
      policies: z.array(z.string()).default([]),
      ttl: seconds,
      maxTtl: seconds,
      period: seconds,
      numUses: z.number().int().default(0),
    })
    .default({ policies: [], ttl: 0, maxTtl: 0, period: 0, numUses: 0 }),
});

/**
 * Vault's upgrade on load: a role written with only the deprecated names has its `token_*` slots
 * filled from them, so every reader can rely on the `token_*` fields alone.
 */
export function upgradeLegacyFields(role: Role): Role {
  const { legacy } = role;
  return {
    ...role,
    tokenPolicies: role.tokenPolicies.length === 0 && legacy.policies.length > 0 ? [...legacy.policies] : role.tokenPolicies,
    tokenTtl: role.tokenTtl === 0 && legacy.ttl > 0 ? legacy.ttl : role.tokenTtl,
    tokenMaxTtl: role.tokenMaxTtl === 0 && legacy.maxTtl > 0 ? legacy.maxTtl : role.tokenMaxTtl,
    tokenPeriod: role.tokenPeriod === 0 && legacy.period > 0 ? legacy.period : role.tokenPeriod,
    tokenNumUses: role.tokenNumUses === 0 && legacy.numUses > 0 ? legacy.numUses : role.tokenNumUses,
  };
}

/** Whether a principal/group list names specific ids: non-empty and without the `*` wildcard. */
export function pinsSpecificIds(ids: readonly string[] | null): boolean {
  return ids !== null && ids.length > 0 && !ids.includes('*');
}

/** A role's resource bindings, as stored (null = never set) or as login reads them. */
export type ResourceBindings = {
  readonly [K in 'boundSubscriptionIds' | 'boundResourceGroups' | 'boundScaleSets' | 'boundLocations']: readonly string[] | null;
};

/**
 * Whether the role binds the caller's Azure resource. Role writes accept such a role as pinned, and
 * login then proves the bindings against the resource (Vault's trigger for resource verification).
 */
export function hasResourceBinding(role: ResourceBindings): boolean {
  return isSet(role.boundSubscriptionIds) || isSet(role.boundResourceGroups) || isSet(role.boundScaleSets) || isSet(role.boundLocations);
}

const isSet = (ids: readonly string[] | null): boolean => ids !== null && ids.length > 0;

/** `GET role/<name>` data, in Vault's shape plus `resource_verification`. */
export function roleReadData(role: Role): Record<string, unknown> {
  const data: Record<string, unknown> = {
    bound_service_principal_ids: role.boundServicePrincipalIds,
    bound_group_ids: role.boundGroupIds,
    bound_subscription_ids: role.boundSubscriptionIds,
    bound_resource_groups: role.boundResourceGroups,
    bound_locations: role.boundLocations,
    bound_scale_sets: role.boundScaleSets,
    resource_verification: role.resourceVerification,
    token_bound_cidrs: role.tokenBoundCidrs,
    token_explicit_max_ttl: role.tokenExplicitMaxTtl,
    token_max_ttl: role.tokenMaxTtl,
    token_no_default_policy: role.tokenNoDefaultPolicy,
    token_num_uses: role.tokenNumUses,
    token_period: role.tokenPeriod,
    token_policies: role.tokenPolicies,
    token_ttl: role.tokenTtl,
    token_type: role.tokenType,
  };
  // Vault echoes a deprecated name only while it holds a value.
  if (role.legacy.policies.length > 0) data.policies = role.tokenPolicies;
  if (role.legacy.ttl > 0) data.ttl = role.legacy.ttl;
  if (role.legacy.maxTtl > 0) data.max_ttl = role.legacy.maxTtl;
  if (role.legacy.period > 0) data.period = role.legacy.period;
  if (role.legacy.numUses > 0) data.num_uses = role.legacy.numUses;
  return data;
}
