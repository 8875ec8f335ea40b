/**
 * Turning an issue request (from a login, `auth/token/create` or dev mode) into a token record,
 * with Vault's policy and TTL rules. Pure: storage and keys are the caller's business.
 */
import { createHash } from 'node:crypto';
import { badRequest } from '../vault/errors';
import type { AuthBlock } from '../vault/types';
import { invalidCidrs } from '../net/cidr';
import type { TokenRecord, TokenType } from './record';
import { calculateTtl, sanitizePolicies, type SystemTtls } from './ttl';

export interface IssueSpec {
  readonly type: TokenType;
  /** Auth mount that issues it: `azure` for `auth/azure/login`, `token` for the token store. */
  readonly mount: string;
  /** That mount's accessor (its current enable). */
  readonly mountAccessor: string;
  /**
   * The parent token (`auth/token/create` without `no_parent`): the new token lives only while the
   * parent and all its ancestors do. Absent for orphans (every login token is one, as in Vault).
   */
  readonly parent?: Pick<TokenRecord, 'accessor' | 'ancestors'>;
  /** Creation path, e.g. `auth/azure/login`. */
  readonly path: string;
  /** Role name as sent at login; renewal re-reads this role. Empty for token-store tokens. */
  readonly role?: string;
  /** The role's token_policies (or the policies asked of token create), before `default`. */
  readonly policies: readonly string[];
  /** token_no_default_policy: do not add `default`. */
  readonly noDefaultPolicy?: boolean;
  readonly meta?: Readonly<Record<string, string>> | null;
  readonly displayName: string;
  readonly principalId?: string;
  readonly tenantId?: string;
  /** Defaults to a stable id derived from tenant and principal when both are known. */
  readonly entityId?: string;
  /** token_ttl (login) or ttl (create), seconds; 0 = system default. */
  readonly ttl?: number;
  /** token_max_ttl, seconds; 0 = system max. */
  readonly maxTtl?: number;
  readonly explicitMaxTtl?: number;
  readonly period?: number;
  readonly numUses?: number;
  readonly boundCidrs?: readonly string[];
  /** Defaults to true for service tokens; batch tokens are never renewable. */
  readonly renewable?: boolean;
  /**
   * Only `auth/token/create` and dev mode may issue `root` tokens; auth methods never can (Vault:
   * "auth methods cannot create root tokens"). A root token without TTL or period never expires.
   */
  readonly allowRoot?: boolean;
  /** The creating token expires: it may not create a non-expiring token (Vault). */
  readonly parentExpires?: boolean;
}

/**
 * How deep a token tree may grow. Every use of a token reads each of its ancestors (so that revoking
 * a parent ends its descendants at once), so depth is a cost per use; Vault has no limit.
 */
export const MAX_TOKEN_TREE_DEPTH = 32;

export interface PlannedToken {
  /** The record to store (service) or seal (batch), without its token-derived hash/accessor. */
  readonly record: Omit<TokenRecord, 'hash' | 'accessor'>;
  readonly warnings: string[];
}

/** Validates the spec and computes policies, TTL and expiry exactly as Vault does at issue. */
export function planToken(spec: IssueSpec, system: SystemTtls, nowMs: number): PlannedToken {
  const ttl = spec.ttl ?? 0;
  const maxTtl = spec.maxTtl ?? 0;
  const explicitMaxTtl = spec.explicitMaxTtl ?? 0;
  const period = spec.period ?? 0;
  const numUses = spec.numUses ?? 0;
  for (const [name, value] of Object.entries({ ttl, max_ttl: maxTtl, explicit_max_ttl: explicitMaxTtl, period })) {
    if (!Number.isSafeInteger(value) || value < 0) throw badRequest(`${name} must be positive`);
  }
  if (!Number.isSafeInteger(numUses) || numUses < 0) throw badRequest('number of uses cannot be negative');

  const policies = sanitizePolicies(spec.policies, !spec.noDefaultPolicy);
  const isRoot = policies.includes('root');
  if (isRoot && !spec.allowRoot) throw badRequest('auth methods cannot create root tokens');

  if (spec.type === 'batch') {
    const bad = explicitMaxTtl !== 0 ? 'explicit_max_ttl' : numUses !== 0 ? 'num_uses' : period !== 0 ? 'period' : undefined;
    if (bad) throw badRequest(`batch tokens cannot have "${bad}" set`);
    if (isRoot) throw badRequest('batch tokens cannot be root tokens');
  }

  const ancestors = spec.parent ? [...spec.parent.ancestors, spec.parent.accessor] : [];
  if (ancestors.length > MAX_TOKEN_TREE_DEPTH) {
    throw badRequest(`token tree too deep: a token may have at most ${MAX_TOKEN_TREE_DEPTH} ancestors; create an orphan token instead`);
  }

  let boundCidrs = [...(spec.boundCidrs ?? [])];
  const badCidrs = invalidCidrs(boundCidrs);
  if (badCidrs.length) throw badRequest(`invalid token_bound_cidrs: ${badCidrs.join(', ')}`);

  const warnings: string[] = [];
  let tokenTtl = 0;
  // As in Vault's token store: a root token asked for no TTL and no period does not expire.
  if (!(isRoot && ttl === 0 && period === 0)) {
    const result = calculateTtl(system, {
      increment: 0,
      backendTtl: ttl,
      period,
      backendMaxTtl: maxTtl,
      explicitMaxTtl,
      startTimeMs: nowMs,
      nowMs,
    });
    tokenTtl = result.ttl;
    warnings.push(...result.warnings);
  }
  if (tokenTtl === 0 && explicitMaxTtl > 0) tokenTtl = explicitMaxTtl;
  let renewable = spec.type === 'batch' ? false : (spec.renewable ?? true);
  if (tokenTtl === 0 && spec.parentExpires) throw badRequest('expiring root tokens cannot create non-expiring root tokens');
  if (tokenTtl === 0) {
    // A non-expiring token cannot be renewed and is not bound to addresses (Vault does the same).
    renewable = false;
    boundCidrs = [];
  }

  const meta = spec.meta && Object.keys(spec.meta).length > 0 ? { ...spec.meta } : null;
  const principalId = spec.principalId ?? '';
  const tenantId = spec.tenantId ?? '';
  return {
    warnings,
    record: {
      type: spec.type,
      policies,
      meta,
      displayName: spec.displayName,
      path: spec.path,
      mount: spec.mount,
      mountAccessor: spec.mountAccessor,
      ancestors,
      role: spec.role ?? '',
      principalId,
      tenantId,
      entityId: spec.entityId ?? (principalId && tenantId ? entityIdFor(tenantId, principalId) : ''),
      issueTimeMs: nowMs,
      creationTtl: tokenTtl,
      expireTimeMs: tokenTtl === 0 ? null : nowMs + tokenTtl * 1000,
      explicitMaxTtl,
      numUses,
      period,
      renewable,
      boundCidrs,
      issueTtl: ttl,
      issueMaxTtl: maxTtl,
      lastRenewalTimeMs: null,
    },
  };
}

/**
 * A stable entity id per (tenant, principal), shaped like a UUID as Vault's entity ids are. The
 * same workload gets the same entity id from every mount, role and instance.
 */
export function entityIdFor(tenantId: string, principalId: string): string {
  const digest = createHash('sha256').update(`azauth/entity/v1\0${tenantId.toLowerCase()}\0${principalId.toLowerCase()}`).digest();
  digest[6] = (digest[6]! & 0x0f) | 0x80; // version 8: custom, name-based
  digest[8] = (digest[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Vault's `auth` block for a record; `clientToken` is "" where Vault hides it (renew-accessor). */
export function authBlockOf(record: TokenRecord, clientToken: string, leaseDuration: number): AuthBlock {
  return {
    client_token: clientToken,
    accessor: record.accessor,
    policies: [...record.policies],
    token_policies: [...record.policies],
    metadata: record.meta ? { ...record.meta } : null,
    lease_duration: leaseDuration,
    renewable: record.renewable,
    entity_id: record.entityId,
    token_type: record.type,
    orphan: record.ancestors.length === 0,
    mfa_requirement: null,
    num_uses: record.numUses,
  };
}
