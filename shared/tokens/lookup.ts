/** The `data` of lookup, lookup-self and lookup-accessor, with Vault's keys and JSON types. */
import type { TokenRecord } from './record';

export function lookupData(record: TokenRecord, id: string, nowMs: number): Record<string, unknown> {
  const data: Record<string, unknown> = {
    id,
    accessor: record.accessor,
    policies: [...record.policies],
    path: record.path,
    meta: record.meta ? { ...record.meta } : null,
    display_name: record.displayName,
    num_uses: record.numUses,
    orphan: record.ancestors.length === 0,
    creation_time: Math.floor(record.issueTimeMs / 1000),
    creation_ttl: record.creationTtl,
    expire_time: record.expireTimeMs === null ? null : new Date(record.expireTimeMs).toISOString(),
    ttl: remainingTtl(record, nowMs),
    explicit_max_ttl: record.explicitMaxTtl,
    entity_id: record.entityId,
    type: record.type,
    // Vault Agent type-asserts this as a bool on every lookup-self.
    renewable: isRenewableNow(record, nowMs),
    issue_time: new Date(record.issueTimeMs).toISOString(),
  };
  if (record.period !== 0) data.period = record.period;
  if (record.boundCidrs.length > 0) data.bound_cidrs = [...record.boundCidrs];
  if (record.lastRenewalTimeMs !== null) {
    data.last_renewal_time = Math.floor(record.lastRenewalTimeMs / 1000);
    data.last_renewal = new Date(record.lastRenewalTimeMs).toISOString();
  }
  return data;
}

/** Seconds left, from the expiry; 0 for a non-expiring token. */
export function remainingTtl(record: TokenRecord, nowMs: number): number {
  if (record.expireTimeMs === null) return 0;
  const nowRounded = Math.round(nowMs / 1000) * 1000;
  return Math.max(0, Math.trunc((record.expireTimeMs - nowRounded) / 1000));
}

export function isExpired(record: TokenRecord, nowMs: number): boolean {
  return record.expireTimeMs !== null && record.expireTimeMs <= nowMs;
}

/** Vault's lease `renewable()`: expiring, not yet expired, and issued renewable. */
export function isRenewableNow(record: TokenRecord, nowMs: number): boolean {
  return record.type === 'service' && record.expireTimeMs !== null && !isExpired(record, nowMs) && record.renewable;
}
