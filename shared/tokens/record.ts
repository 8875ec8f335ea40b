/**
 * A token's stored facts, and their mapping to and from a Table entity. Everything read back from
 * storage is validated with zod: a row that does not parse is treated as no token at all.
 */
import { z } from 'zod';

export type TokenType = 'service' | 'batch';

export interface TokenRecord {
  readonly type: TokenType;
  /** SHA-256 of the token, hex. */
  readonly hash: string;
  /** "" for batch tokens. */
  readonly accessor: string;
  readonly policies: readonly string[];
  readonly meta: Readonly<Record<string, string>> | null;
  readonly displayName: string;
  /** Creation path, e.g. `auth/azure/login` or `auth/token/create`. */
  readonly path: string;
  /** Auth mount that issued it (`azure`, `token`, …); mount disable revokes by this. */
  readonly mount: string;
  /** Role it was issued under ("" for token-store tokens); renewal re-reads it. */
  readonly role: string;
  readonly principalId: string;
  readonly tenantId: string;
  readonly entityId: string;
  /** Issue time, Unix ms. Max TTLs count from here. */
  readonly issueTimeMs: number;
  /** The TTL the token had when issued, seconds. */
  readonly creationTtl: number;
  /** Unix ms; null for a non-expiring (root) token. */
  readonly expireTimeMs: number | null;
  readonly explicitMaxTtl: number;
  /** Uses left; 0 = unlimited. */
  readonly numUses: number;
  readonly period: number;
  readonly renewable: boolean;
  readonly boundCidrs: readonly string[];
  /** The role's token_ttl / token_max_ttl when issued (or the TTL asked of token create). */
  readonly issueTtl: number;
  readonly issueMaxTtl: number;
  readonly lastRenewalTimeMs: number | null;
}

/** Stand-in expiry for non-expiring tokens, so range filters never meet a missing property. */
export const NEVER_EXPIRES = new Date('9999-12-31T00:00:00.000Z');

export interface TokenEntity {
  partitionKey: string;
  rowKey: string;
  token_hash: string;
  type: TokenType;
  policies: string;
  meta: string;
  display_name: string;
  path: string;
  mount: string;
  role: string;
  principal_id: string;
  tenant_id: string;
  entity_id: string;
  issue_time: Date;
  creation_ttl: number;
  expire_time: Date;
  explicit_max_ttl: number;
  num_uses: number;
  period: number;
  renewable: boolean;
  bound_cidrs: string;
  issue_ttl: number;
  issue_max_ttl: number;
  last_renewal_time: Date;
}

const EPOCH = new Date(0);

export function toEntity(record: TokenRecord, partitionKey: string): TokenEntity {
  return {
    partitionKey,
    rowKey: record.accessor,
    token_hash: record.hash,
    type: record.type,
    policies: JSON.stringify(record.policies),
    meta: record.meta ? JSON.stringify(record.meta) : '',
    display_name: record.displayName,
    path: record.path,
    mount: record.mount,
    role: record.role,
    principal_id: record.principalId,
    tenant_id: record.tenantId,
    entity_id: record.entityId,
    issue_time: new Date(record.issueTimeMs),
    creation_ttl: record.creationTtl,
    expire_time: record.expireTimeMs === null ? NEVER_EXPIRES : new Date(record.expireTimeMs),
    explicit_max_ttl: record.explicitMaxTtl,
    num_uses: record.numUses,
    period: record.period,
    renewable: record.renewable,
    bound_cidrs: JSON.stringify(record.boundCidrs),
    issue_ttl: record.issueTtl,
    issue_max_ttl: record.issueMaxTtl,
    last_renewal_time: record.lastRenewalTimeMs === null ? EPOCH : new Date(record.lastRenewalTimeMs),
  };
}

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx): z.output<T> => {
    try {
      const parsed = schema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // fall through to the issue below
    }
    ctx.addIssue({ code: 'custom', message: 'malformed JSON column' });
    return z.NEVER;
  });

// The SDK hands numbers back as numbers, DateTime as Date; Int64 would be bigint (not used here).
const count = z.number().int().nonnegative();
const stringMap = z.record(z.string(), z.string());
const entitySchema = z.object({
  rowKey: z.string(),
  token_hash: z.string().regex(/^[0-9a-f]{64}$/),
  type: z.literal('service'),
  policies: jsonOf(z.array(z.string())),
  meta: z.string().transform((text, ctx): Record<string, string> | null => {
    if (text === '') return null;
    try {
      const parsed = stringMap.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // fall through
    }
    ctx.addIssue({ code: 'custom', message: 'malformed meta' });
    return z.NEVER;
  }),
  display_name: z.string(),
  path: z.string(),
  mount: z.string(),
  role: z.string(),
  principal_id: z.string(),
  tenant_id: z.string(),
  entity_id: z.string(),
  issue_time: z.date(),
  creation_ttl: count,
  expire_time: z.date(),
  explicit_max_ttl: count,
  num_uses: count,
  period: count,
  renewable: z.boolean(),
  bound_cidrs: jsonOf(z.array(z.string())),
  issue_ttl: count,
  issue_max_ttl: count,
  last_renewal_time: z.date(),
  etag: z.string(),
});

export interface StoredToken {
  readonly record: TokenRecord;
  readonly etag: string;
}

/** The record behind a stored entity, or undefined when the row does not have our shape. */
export function fromEntity(entity: unknown): StoredToken | undefined {
  const parsed = entitySchema.safeParse(entity);
  if (!parsed.success) return undefined;
  const e = parsed.data;
  return {
    etag: e.etag,
    record: {
      type: e.type,
      hash: e.token_hash,
      accessor: e.rowKey,
      policies: e.policies,
      meta: e.meta,
      displayName: e.display_name,
      path: e.path,
      mount: e.mount,
      role: e.role,
      principalId: e.principal_id,
      tenantId: e.tenant_id,
      entityId: e.entity_id,
      issueTimeMs: e.issue_time.getTime(),
      creationTtl: e.creation_ttl,
      expireTimeMs: e.expire_time.getTime() >= NEVER_EXPIRES.getTime() ? null : e.expire_time.getTime(),
      explicitMaxTtl: e.explicit_max_ttl,
      numUses: e.num_uses,
      period: e.period,
      renewable: e.renewable,
      boundCidrs: e.bound_cidrs,
      issueTtl: e.issue_ttl,
      issueMaxTtl: e.issue_max_ttl,
      lastRenewalTimeMs: e.last_renewal_time.getTime() === 0 ? null : e.last_renewal_time.getTime(),
    },
  };
}
