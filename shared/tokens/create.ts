/**
 * `auth/token/create` and `auth/token/create-orphan` (Vault's handleCreateCommon without token
 * roles): turns the request fields and the calling token into an issue spec, with Vault's checks in
 * Vault's order and its policy rules for children. There are no custom token ids (tokens are random,
 * so that only their hash is stored).
 */
import { HIDDEN_POLICIES } from '../policies/names';
import { badRequest } from '../vault/errors';
import type { IssueSpec } from './issue';
import type { TokenRecord } from './record';
import { sanitizePolicies } from './ttl';

export interface CreateFields {
  readonly id?: string;
  readonly policies?: string[];
  readonly meta?: Record<string, string>;
  readonly no_parent?: boolean;
  readonly no_default_policy?: boolean;
  readonly renewable?: boolean;
  readonly ttl?: number;
  readonly explicit_max_ttl?: number;
  readonly display_name?: string;
  readonly num_uses?: number;
  readonly period?: number;
  readonly type?: string;
  readonly entity_alias?: string;
}

/** Who is asking, as the token store sees it. */
export interface CreateContext {
  /**
   * The calling token's record, or undefined for an Entra admin (root by configuration, but with no
   * token of ours to be the parent: what it creates is always an orphan).
   */
  readonly parent: TokenRecord | undefined;
  /** The calling token had a use limit before this request. */
  readonly parentLimitedUse: boolean;
  /** The caller is root, or its ACL grants `sudo` on the request path (Vault's "root or sudo"). */
  readonly rootOrSudo: boolean;
  /** The request came through `auth/token/create-orphan`. */
  readonly orphanEndpoint: boolean;
  /** The token mount's accessor, recorded on the new token. */
  readonly tokenMountAccessor: string;
}

export function createSpec(fields: CreateFields, ctx: CreateContext): IssueSpec {
  const { parent } = ctx;
  if (parent?.type === 'batch') throw badRequest('batch tokens cannot create more tokens');
  // Checked on the count before this request consumed a use: a token on its last use is still a
  // limited-use token and may not mint an unlimited one.
  if (ctx.parentLimitedUse) throw badRequest('restricted use token cannot generate child tokens');

  const type = fields.type ?? '';
  if (type !== '' && type !== 'service' && type !== 'batch') throw badRequest("invalid 'token_type' value");
  const isBatch = type === 'batch';
  if (isBatch) {
    const bad = fields.explicit_max_ttl ? 'explicit_max_ttl' : fields.num_uses ? 'num_uses' : fields.period ? 'period' : undefined;
    if (bad) throw badRequest(`batch tokens cannot have "${bad}" set`);
  }
  const numUses = fields.num_uses ?? 0;
  if (numUses < 0) throw badRequest('number of uses cannot be negative');
  if (fields.id) {
    if (!ctx.rootOrSudo) throw badRequest('root or sudo privileges required to specify token id');
    throw badRequest('custom token IDs are not supported: tokens are generated so that only their hash is stored');
  }
  if (fields.entity_alias) throw badRequest("'entity_alias' is only allowed in combination with token role");

  const parentIsRoot = parent === undefined || parent.policies.includes('root');
  const policies = childPolicies(fields, parent?.policies, ctx.rootOrSudo);
  for (const name of policies) if (HIDDEN_POLICIES.has(name)) throw badRequest(`cannot assign policy "${name}"`);
  const isRoot = policies.includes('root');
  if (isRoot && !parentIsRoot) throw badRequest('root tokens may not be created without parent token being root');
  if (isRoot && isBatch) throw badRequest('batch tokens cannot be root tokens');

  const orphan = ctx.orphanEndpoint || fields.no_parent === true || parent === undefined;
  if (fields.no_parent && !ctx.orphanEndpoint && !ctx.rootOrSudo) throw badRequest('root or sudo privileges required to create orphan token');
  if ((fields.period ?? 0) > 0 && !ctx.rootOrSudo) throw badRequest('root or sudo privileges required to create periodic token');
  // Batch tokens are never indexed under a parent (they have no accessor), but a batch child still
  // names its ancestors, so revoking the parent ends it too.
  const parentLink = !orphan && parent ? { parent: { accessor: parent.accessor, ancestors: parent.ancestors } } : {};

  return {
    type: isBatch ? 'batch' : 'service',
    mount: 'token',
    mountAccessor: ctx.tokenMountAccessor,
    path: ctx.orphanEndpoint ? 'auth/token/create-orphan' : 'auth/token/create',
    policies,
    // `default` has been decided above; planToken must not add it again.
    noDefaultPolicy: true,
    meta: fields.meta ?? null,
    displayName: displayNameFor(fields.display_name),
    // A child carries its parent's entity and bound CIDRs (Vault); an orphan is nobody's.
    entityId: orphan ? '' : (parent?.entityId ?? ''),
    boundCidrs: orphan ? [] : (parent?.boundCidrs ?? []),
    ttl: fields.ttl ?? 0,
    explicitMaxTtl: fields.explicit_max_ttl ?? 0,
    period: fields.period ?? 0,
    numUses,
    renewable: fields.renewable ?? true,
    allowRoot: true,
    parentExpires: parent !== undefined && parent.expireTimeMs !== null,
    ...parentLink,
  };
}

/**
 * Vault's policy rules for a new token (no role):
 * - none asked for: the parent's policies (root passes root on), `default` only if the parent has it;
 * - asked for without root or sudo: a subset of the parent's (`default` included: a parent without
 *   it cannot give it), plus `default` when the parent has it;
 * - asked for with root or sudo: any names, plus `default`;
 * - `no_default_policy` removes `default` in every case.
 * An Entra admin (`parentPolicies` undefined) asking for none gets `default`: it has no policy list
 * of its own to pass on.
 */
function childPolicies(fields: CreateFields, parentPolicies: readonly string[] | undefined, rootOrSudo: boolean): string[] {
  const requested = sanitizePolicies(fields.policies ?? [], false);
  let policies: string[];
  if (requested.length === 0) {
    policies = parentPolicies ? sanitizePolicies(parentPolicies, false) : ['default'];
  } else if (!rootOrSudo && parentPolicies) {
    // Vault compares the sanitised lists as they are (DoNotAddDefaultPolicy on both sides): a
    // `default` asked for is a policy like any other, which a parent without it cannot give.
    const allowed = new Set(sanitizePolicies(parentPolicies, false));
    if (!requested.every((p) => allowed.has(p))) throw badRequest('child policies must be subset of parent');
    policies = sanitizePolicies(parentPolicies.includes('default') ? [...requested, 'default'] : requested, false);
  } else {
    policies = sanitizePolicies(requested, true);
  }
  if (fields.no_default_policy) policies = policies.filter((p) => p !== 'default');
  return policies;
}

/** Vault: "token", or "token-" + the name with every character outside [A-Za-z0-9-] made "-". */
export function displayNameFor(name: string | undefined): string {
  if (!name) return 'token';
  return `token-${name}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-$/, '');
}
