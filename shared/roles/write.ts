/**
 * Merging a role write into the stored role: Vault's tokenutil parsing, the deprecated-alias
 * upgrades, Vault's checks in Vault's order (vault-plugin-auth-azure `pathRoleCreateUpdate`), and our
 * binding rule in place of Vault's "at least one bound constraint". A role that would give `root`
 * is refused here (Vault stores it; every login on it then fails).
 */
import { quoteInput } from '../config/input-echo';
import { badRequest } from '../vault/errors';
import { formatGoDuration } from '../vault/goDuration';
import { invalidCidrMessage, parseCidr } from '../net/cidr';
import { RESOURCE_VERIFICATIONS, hasResourceBinding, newRole, pinsSpecificIds, type ResourceVerification, type Role, type RoleTokenType } from './types';

/** The request's fields after Vault field parsing; a key is present only when the request sent it. */
export interface RoleWriteInput {
  bound_service_principal_ids?: string[];
  bound_group_ids?: string[];
  bound_subscription_ids?: string[];
  bound_resource_groups?: string[];
  bound_locations?: string[];
  bound_scale_sets?: string[];
  resource_verification?: string;
  token_bound_cidrs?: string[];
  token_explicit_max_ttl?: number;
  token_max_ttl?: number;
  token_no_default_policy?: boolean;
  token_num_uses?: number;
  token_period?: number;
  token_policies?: string[];
  token_ttl?: number;
  token_type?: string;
  policies?: string[];
  num_uses?: number;
  ttl?: number;
  max_ttl?: number;
  period?: number;
}

export interface RoleWriteContext {
  /** The system (and so mount) maximum token TTL in seconds: `AZAUTH_MAX_TTL`. */
  readonly maxLeaseTtlSeconds: number;
}

export interface RoleWriteResult {
  readonly role: Role;
  readonly warnings: string[];
}

export const BINDING_RULE_MESSAGE =
  'role must pin its callers: set bound_service_principal_ids or bound_group_ids to specific ids (not "*"), ' +
  'or set at least one of bound_subscription_ids, bound_resource_groups, bound_scale_sets, bound_locations';

const BATCH_PERIODIC = "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens";
const BATCH_LIMITED_USES = "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Returns the role to store and any warnings, or throws a 400 VaultError; `current` is not modified. */
export function applyRoleWrite(
  name: string,
  current: Role | undefined,
  input: RoleWriteInput,
  ctx: RoleWriteContext,
): RoleWriteResult {
  const role: Mutable<Role> = { ...(current ?? newRole(name)), name };
  const legacy: Mutable<Role['legacy']> = { ...role.legacy };

  // 1. Vault's tokenutil.ParseTokenFields, in its order.
  if (input.token_bound_cidrs !== undefined) {
    for (const cidr of input.token_bound_cidrs) if (!parseCidr(cidr)) throw badRequest(invalidCidrMessage(cidr));
    role.tokenBoundCidrs = input.token_bound_cidrs;
  }
  if (input.token_explicit_max_ttl !== undefined) role.tokenExplicitMaxTtl = input.token_explicit_max_ttl;
  if (input.token_max_ttl !== undefined) role.tokenMaxTtl = input.token_max_ttl;
  if (input.token_no_default_policy !== undefined) role.tokenNoDefaultPolicy = input.token_no_default_policy;
  if (input.token_period !== undefined) role.tokenPeriod = input.token_period;
  if (input.token_policies !== undefined) role.tokenPolicies = input.token_policies;
  if (input.token_type !== undefined) role.tokenType = parseTokenType(input.token_type);
  if (input.token_num_uses !== undefined) role.tokenNumUses = input.token_num_uses;
  if (role.tokenNumUses < 0) throw badRequest("'token_num_uses' cannot be negative");
  checkBatchRules(role);
  if (input.token_ttl !== undefined) role.tokenTtl = input.token_ttl;
  if (role.tokenTtl > 0 && role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl) {
    throw badRequest("'token_ttl' cannot be greater than 'token_max_ttl'");
  }

  // 2. Deprecated names (tokenutil.UpgradeValue): an old name alone fills both slots; a new name
  //    clears the old slot unless both were sent.
  upgrade(input.token_policies, input.policies, (v) => (role.tokenPolicies = v), (v) => (legacy.policies = v), [], parsePolicies);
  upgrade(input.token_ttl, input.ttl, (v) => (role.tokenTtl = v), (v) => (legacy.ttl = v), 0);
  upgrade(input.token_max_ttl, input.max_ttl, (v) => (role.tokenMaxTtl = v), (v) => (legacy.maxTtl = v), 0);
  upgrade(input.token_period, input.period, (v) => (role.tokenPeriod = v), (v) => (legacy.period = v), 0);
  upgrade(input.token_num_uses, input.num_uses, (v) => (role.tokenNumUses = v), (v) => (legacy.numUses = v), 0);
  role.legacy = legacy;

  // Vault accepts these and then fails every login on the role ("auth methods cannot create root
  // tokens"); refusing the write says so where the mistake is made.
  if (role.tokenPolicies.some((policy) => policy.trim().toLowerCase() === 'root')) {
    const field = input.token_policies === undefined && input.policies !== undefined ? 'policies' : 'token_policies';
    throw badRequest(`${field} cannot contain "root": auth methods cannot create root tokens, so every login on this role would fail`);
  }

  // 3. Vault's role checks.
  if (role.tokenPeriod > ctx.maxLeaseTtlSeconds) {
    throw badRequest(
      `token period of "${formatGoDuration(role.tokenPeriod)}" is greater than the backend's maximum lease TTL of "${formatGoDuration(ctx.maxLeaseTtlSeconds)}"`,
    );
  }
  if (role.tokenNumUses < 0) throw badRequest('token num uses cannot be negative');
  // Vault checks batch rules before the alias upgrade, so `period`/`num_uses` slipped past it; not here.
  checkBatchRules(role);

  if (input.bound_service_principal_ids !== undefined) role.boundServicePrincipalIds = input.bound_service_principal_ids;
  if (input.bound_group_ids !== undefined) role.boundGroupIds = input.bound_group_ids;
  if (input.bound_subscription_ids !== undefined) role.boundSubscriptionIds = input.bound_subscription_ids;
  if (input.bound_resource_groups !== undefined) role.boundResourceGroups = input.bound_resource_groups;
  if (input.bound_locations !== undefined) role.boundLocations = input.bound_locations;
  if (input.bound_scale_sets !== undefined) role.boundScaleSets = input.bound_scale_sets;
  if (!pinsSpecificIds(role.boundServicePrincipalIds) && !pinsSpecificIds(role.boundGroupIds) && !hasResourceBinding(role)) {
    throw badRequest(BINDING_RULE_MESSAGE);
  }

  if (role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl) throw badRequest('ttl should not be greater than max_ttl');

  if (input.resource_verification !== undefined) role.resourceVerification = parseResourceVerification(input.resource_verification);

  const warnings: string[] = [];
  if (role.tokenMaxTtl > ctx.maxLeaseTtlSeconds) {
    warnings.push(
      "max_ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
    );
  }
  return { role, warnings };
}

function parseTokenType(value: string): RoleTokenType {
  switch (value) {
    case '':
    case 'default':
      return 'default';
    case 'service':
      return 'service';
    case 'batch':
      return 'batch';
    default:
      throw badRequest(`invalid 'token_type' value ${quoteInput(value)}`);
  }
}

function parseResourceVerification(value: string): ResourceVerification {
  const found = RESOURCE_VERIFICATIONS.find((candidate) => candidate === value.trim().toLowerCase());
  if (!found) throw badRequest(`invalid resource_verification ${quoteInput(value)}: must be "arm" or "claims"`);
  return found;
}

function checkBatchRules(role: Role): void {
  if (role.tokenType !== 'batch') return;
  if (role.tokenPeriod !== 0) throw badRequest(BATCH_PERIODIC);
  if (role.tokenNumUses !== 0) throw badRequest(BATCH_LIMITED_USES);
}

function upgrade<T>(
  newValue: T | undefined,
  oldValue: T | undefined,
  setNew: (value: T) => void,
  setOld: (value: T) => void,
  empty: T,
  normaliseOld: (value: T) => T = (value) => value,
): void {
  if (newValue === undefined) {
    if (oldValue === undefined) return;
    const value = normaliseOld(oldValue);
    setOld(value);
    setNew(value);
  } else {
    setOld(oldValue !== undefined ? newValue : empty);
  }
}

/** Vault's policyutil.ParsePolicies: trimmed, lower-cased, no empties, unique, sorted; `root` alone wins. */
export function parsePolicies(policies: string[]): string[] {
  const unique = [...new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''))].sort();
  return unique.includes('root') ? ['root'] : unique;
}
