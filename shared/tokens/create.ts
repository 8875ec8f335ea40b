/**
 * `auth/token/create` (Vault's handleCreateCommon, restricted to what this service supports):
 * turns the request fields and the calling admin into an issue spec. Every token it makes is an
 * orphan service or batch token; there are no token-store roles and no custom token ids.
 */
import { badRequest } from '../vault/errors';
import type { Caller } from '../vault/types';
import type { IssueSpec } from './issue';
import type { TokenRecord } from './record';
import { sanitizePolicies } from './ttl';

export interface CreateFields {
  readonly id?: string;
  readonly policies?: string[];
  readonly meta?: Record<string, string>;
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

/** The parent: a root token's record, or undefined for an Entra admin (who has no token). */
export function createSpec(fields: CreateFields, caller: Caller, parent: TokenRecord | undefined): IssueSpec {
  if (caller.kind !== 'admin') throw badRequest('parent token lookup failed: no parent found');
  if (parent?.type === 'batch') throw badRequest('batch tokens cannot create more tokens');
  if (parent && parent.numUses > 0) throw badRequest('restricted use token cannot generate child tokens');
  if (fields.id) {
    // Vault lets root pick a token's value; ours must be random so that only a hash is stored.
    throw badRequest('custom token IDs are not supported: tokens are generated so that only their hash is stored');
  }
  if (fields.entity_alias) throw badRequest("'entity_alias' is only allowed in combination with token role");

  const type = fields.type ?? '';
  if (type !== '' && type !== 'service' && type !== 'batch') throw badRequest("invalid 'token_type' value");
  const numUses = fields.num_uses ?? 0;
  if (numUses < 0) throw badRequest('number of uses cannot be negative');

  // No policies asked for: inherit the parent's (Vault), without adding `default` on its own.
  // An Entra admin has no parent token, so it gets `default` as any sudo caller naming policies would.
  const requested = fields.policies ?? [];
  const inherit = requested.length === 0 && parent !== undefined;
  const policies = inherit ? sanitizePolicies(parent.policies, false) : requested;
  const addDefault = inherit ? false : !fields.no_default_policy;

  return {
    type: type === 'batch' ? 'batch' : 'service',
    mount: 'token',
    path: 'auth/token/create',
    policies,
    noDefaultPolicy: !addDefault,
    // Vault strips `default` whenever no_default_policy is set, even if named explicitly.
    stripDefaultPolicy: fields.no_default_policy ?? false,
    meta: fields.meta ?? null,
    displayName: displayNameFor(fields.display_name),
    // A created token is not an identity: no principal and no entity (Vault's orphan tokens).
    entityId: '',
    ttl: fields.ttl ?? 0,
    explicitMaxTtl: fields.explicit_max_ttl ?? 0,
    period: fields.period ?? 0,
    numUses,
    renewable: fields.renewable ?? true,
    allowRoot: true,
    parentExpires: parent !== undefined && parent.expireTimeMs !== null,
  };
}

/** Vault: "token", or "token-" + the name with every character outside [A-Za-z0-9-] made "-". */
export function displayNameFor(name: string | undefined): string {
  if (!name) return 'token';
  return `token-${name}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-$/, '');
}
