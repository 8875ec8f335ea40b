/**
 * A token's stored facts, and their mapping to and from a Table entity. Everything read back from
 * storage is validated with zod: a row that does not parse is treated as no token at all.
 */
import { z } from 'zod';
import { jsonColumn } from '../storage/columns';

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
  /**
   * Accessor of that mount when the token was issued ("" for tokens issued before it was recorded):
   * a path disabled and enabled again has a new accessor, so the old mount's tokens stay dead.
   */
  readonly mountAccessor: string;
  /**
   * Accessors of the token's ancestors, the root of its tree first and its parent last; empty for an
   * orphan. A token is usable only while every ancestor is (Vault's token tree): revoking or expiring
   * a parent ends its descendants at that moment, before their entities are deleted.
   */
  readonly ancestors: readonly string[];
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

/**
 * The entity: its own columns only for what storage filters on (`mount` for mount disable,
 * `expire_time` for tidy), what changes after issue (`num_uses`, `expire_time`,
 * `last_renewal_time`, each merged under the ETag) and the hash; everything fixed at issue is one
 * JSON column, `facts`. Every column costs on every read and write (the SDK's per-property
 * serialization and response flattening, Azurite's or Table Storage's own work), and a point read of
 * this entity happens on every use of a token, so 6 columns instead of 23 make each use cheaper.
 */
export interface TokenEntity {
  partitionKey: string;
  rowKey: string;
  token_hash: string;
  mount: string;
  expire_time: Date;
  num_uses: number;
  last_renewal_time: Date;
  /** JSON array of ancestor accessors (root first); changes when `revoke-orphan` cuts the tree. */
  ancestors: string;
  facts: string;
}

/** The `facts` column: what never changes after issue. */
interface TokenFacts {
  type: TokenType;
  policies: readonly string[];
  meta: Readonly<Record<string, string>> | null;
  display_name: string;
  path: string;
  mount_accessor: string;
  role: string;
  principal_id: string;
  tenant_id: string;
  entity_id: string;
  /** Unix ms. */
  issue_time: number;
  creation_ttl: number;
  explicit_max_ttl: number;
  period: number;
  renewable: boolean;
  bound_cidrs: readonly string[];
  issue_ttl: number;
  issue_max_ttl: number;
}

const EPOCH = new Date(0);

export function toEntity(record: TokenRecord, partitionKey: string): TokenEntity {
  const facts: TokenFacts = {
    type: record.type,
    policies: record.policies,
    meta: record.meta,
    display_name: record.displayName,
    path: record.path,
    mount_accessor: record.mountAccessor,
    role: record.role,
    principal_id: record.principalId,
    tenant_id: record.tenantId,
    entity_id: record.entityId,
    issue_time: record.issueTimeMs,
    creation_ttl: record.creationTtl,
    explicit_max_ttl: record.explicitMaxTtl,
    period: record.period,
    renewable: record.renewable,
    bound_cidrs: record.boundCidrs,
    issue_ttl: record.issueTtl,
    issue_max_ttl: record.issueMaxTtl,
  };
  return {
    partitionKey,
    rowKey: record.accessor,
    token_hash: record.hash,
    mount: record.mount,
    expire_time: record.expireTimeMs === null ? NEVER_EXPIRES : new Date(record.expireTimeMs),
    num_uses: record.numUses,
    last_renewal_time: record.lastRenewalTimeMs === null ? EPOCH : new Date(record.lastRenewalTimeMs),
    ancestors: JSON.stringify(record.ancestors),
    facts: JSON.stringify(facts),
  };
}

// The SDK hands numbers back as numbers, DateTime as Date; Int64 would be bigint (not used here).
const count = z.number().int().nonnegative();
const stringMap = z.record(z.string(), z.string());
const hashColumn = z.string().regex(/^[0-9a-f]{64}$/);

/** The columns every token entity has, whichever layout wrote it. */
const commonColumns = {
  rowKey: z.string(),
  token_hash: hashColumn,
  mount: z.string(),
  expire_time: z.date(),
  num_uses: count,
  last_renewal_time: z.date(),
  // Absent on rows written before token trees existed: those tokens are orphans.
  ancestors: jsonColumn(z.array(z.string()), { value: [] }),
  etag: z.string(),
};

const factsSchema = z.object({
  type: z.literal('service'),
  policies: z.array(z.string()),
  meta: stringMap.nullable(),
  display_name: z.string(),
  path: z.string(),
  mount_accessor: z.string().default(''),
  role: z.string(),
  principal_id: z.string(),
  tenant_id: z.string(),
  entity_id: z.string(),
  issue_time: count,
  creation_ttl: count,
  explicit_max_ttl: count,
  period: count,
  renewable: z.boolean(),
  bound_cidrs: z.array(z.string()),
  issue_ttl: count,
  issue_max_ttl: count,
});

const entitySchema = z.object({ ...commonColumns, facts: jsonColumn(factsSchema) });

export interface StoredToken {
  readonly record: TokenRecord;
  readonly etag: string;
}

type Columns = z.output<z.ZodObject<typeof commonColumns>>;

function storedToken(columns: Columns, facts: TokenFacts): StoredToken {
  const expire = columns.expire_time.getTime();
  const lastRenewal = columns.last_renewal_time.getTime();
  return {
    etag: columns.etag,
    record: {
      type: facts.type,
      hash: columns.token_hash,
      accessor: columns.rowKey,
      policies: facts.policies,
      meta: facts.meta,
      displayName: facts.display_name,
      path: facts.path,
      mount: columns.mount,
      mountAccessor: facts.mount_accessor,
      ancestors: columns.ancestors,
      role: facts.role,
      principalId: facts.principal_id,
      tenantId: facts.tenant_id,
      entityId: facts.entity_id,
      issueTimeMs: facts.issue_time,
      creationTtl: facts.creation_ttl,
      expireTimeMs: expire >= NEVER_EXPIRES.getTime() ? null : expire,
      explicitMaxTtl: facts.explicit_max_ttl,
      numUses: columns.num_uses,
      period: facts.period,
      renewable: facts.renewable,
      boundCidrs: facts.bound_cidrs,
      issueTtl: facts.issue_ttl,
      issueMaxTtl: facts.issue_max_ttl,
      lastRenewalTimeMs: lastRenewal === 0 ? null : lastRenewal,
    },
  };
}

/** The record behind a stored entity, or undefined when the row does not have our shape. */
export function fromEntity(entity: unknown): StoredToken | undefined {
  const parsed = entitySchema.safeParse(entity);
  return parsed.success ? storedToken(parsed.data, parsed.data.facts) : undefined;
}
