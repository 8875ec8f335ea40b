/**
 * Service tokens in Table Storage: one entity per token, partition = 3 hex characters of a hash of
 * the accessor, row = the accessor (itself derived one-way from the token). Every change after the
 * insert is conditional on the ETag read, so concurrent uses, renewals and revocations never
 * overwrite each other silently.
 */
import { odata, type TableClient, type TableEntityQueryOptions, type TableEntityResult } from '@azure/data-tables';
import { getEntityOrUndefined, isNotFound, isPreconditionFailed, statusOf } from '../storage/tables';
import { accessorOf, isAccessorShaped, partitionOf, sameHash, tokenHash } from './format';
import { NEVER_EXPIRES, fromEntity, toEntity, type StoredToken, type TokenRecord } from './record';

/** A row of the tree index: a child and whether it has children of its own. */
export interface TreeChild {
  readonly accessor: string;
  readonly hasChildren: boolean;
}

export type ConditionalOutcome = { ok: true; etag: string } | { ok: false; reason: 'changed' | 'gone' };

export interface TokenStore {
  insert(record: TokenRecord): Promise<string>;
  /** By the token itself; undefined when unknown (or when the stored hash does not match). */
  getByToken(token: string): Promise<StoredToken | undefined>;
  getByAccessor(accessor: string): Promise<StoredToken | undefined>;
  /** Merge `changes` if the entity still has `etag`. */
  update(accessor: string, etag: string, changes: Partial<TokenRecord>): Promise<ConditionalOutcome>;
  /** Delete; with an ETag only if unchanged. A missing entity counts as deleted (idempotent). */
  remove(accessor: string, etag?: string): Promise<ConditionalOutcome>;
  /** Pages of accessors; `continuation` resumes a previous page. */
  listAccessors(pageSize: number, continuation?: string): Promise<{ accessors: string[]; continuation?: string }>;
  /**
   * Records `child` under `parent` in the tree index (before the child is inserted); with
   * `grandparent`, also marks the parent's own index row as having children, so that a revocation
   * walk only lists the children of tokens that have some.
   */
  addChild(parent: string, child: string, grandparent?: string): Promise<void>;
  /** A page of a token's children from the tree index. */
  children(parent: string, pageSize: number, continuation?: string): Promise<{ children: TreeChild[]; continuation?: string }>;
  /** Replaces a token's ancestor list (revoke-orphan); false when the token is gone. */
  setAncestors(accessor: string, ancestors: readonly string[]): Promise<boolean>;
  /** Removes index rows of `parent` (idempotent). */
  removeChildren(parent: string, children: readonly string[]): Promise<void>;
  /** A page of the distinct parents that have index rows (for the sweep of abandoned trees). */
  parents(pageSize: number, continuation?: string): Promise<{ accessors: string[]; continuation?: string }>;
  /** Pages of tokens matching a filter on mount or expiry, keys only. */
  scan(
    filter: { mount: string } | { expiredBefore: Date },
    pageSize: number,
    continuation?: string,
  ): Promise<{ keys: { accessor: string; etag: string }[]; continuation?: string }>;
}

export function createTokenStore(table: () => Promise<TableClient>, childTable: () => Promise<TableClient>): TokenStore {
  const get = async (accessor: string): Promise<StoredToken | undefined> => {
    const client = await table();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, partitionOf(accessor), accessor);
    return entity ? fromEntity(entity) : undefined;
  };

  return {
    async insert(record) {
      const client = await table();
      const result = await client.createEntity(toEntity(record, partitionOf(record.accessor)));
      return result.etag ?? '';
    },

    async getByToken(token) {
      const found = await get(accessorOf(token));
      // The accessor is a truncated digest; the full hash settles any (astronomically unlikely) collision.
      return found && sameHash(found.record.hash, tokenHash(token)) ? found : undefined;
    },

    async getByAccessor(accessor) {
      if (!isAccessorShaped(accessor)) return undefined;
      return get(accessor);
    },

    async update(accessor, etag, changes) {
      const client = await table();
      const columns = changesToColumns(changes);
      try {
        const result = await client.updateEntity({ partitionKey: partitionOf(accessor), rowKey: accessor, ...columns }, 'Merge', { etag });
        return { ok: true, etag: result.etag ?? '' };
      } catch (err) {
        if (isPreconditionFailed(err)) return { ok: false, reason: 'changed' };
        if (isNotFound(err)) return { ok: false, reason: 'gone' };
        throw err;
      }
    },

    async remove(accessor, etag) {
      const client = await table();
      try {
        await client.deleteEntity(partitionOf(accessor), accessor, etag ? { etag } : {});
        return { ok: true, etag: '' };
      } catch (err) {
        if (isPreconditionFailed(err)) return { ok: false, reason: 'changed' };
        if (isNotFound(err)) return { ok: false, reason: 'gone' };
        throw err;
      }
    },

    async listAccessors(pageSize, continuation) {
      const page = await pageOf(await table(), { select: ['RowKey'] }, pageSize, continuation);
      const accessors = page.rows.map((e) => e.rowKey).filter((k): k is string => typeof k === 'string');
      return { accessors, ...page.next };
    },

    async addChild(parent, child, grandparent) {
      const client = await childTable();
      if (grandparent) await client.upsertEntity({ partitionKey: grandparent, rowKey: parent, has_children: true }, 'Merge');
      await client.upsertEntity({ partitionKey: parent, rowKey: child }, 'Merge');
    },

    async children(parent, pageSize, continuation) {
      const query = { filter: odata`PartitionKey eq ${parent}`, select: ['RowKey', 'has_children'] };
      const page = await pageOf<{ has_children?: boolean }>(await childTable(), query, pageSize, continuation);
      const children = page.rows.flatMap((e) => (typeof e.rowKey === 'string' ? [{ accessor: e.rowKey, hasChildren: e.has_children === true }] : []));
      return { children, ...page.next };
    },

    async setAncestors(accessor, ancestors) {
      const client = await table();
      try {
        await client.updateEntity({ partitionKey: partitionOf(accessor), rowKey: accessor, ...changesToColumns({ ancestors }) }, 'Merge');
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },

    async removeChildren(parent, children) {
      if (children.length === 0) return;
      const client = await childTable();
      // One entity-group transaction per 100 rows of the same partition; a row already gone fails
      // the whole batch, so that case falls back to single deletes that ignore 404.
      for (let i = 0; i < children.length; i += 100) {
        const slice = children.slice(i, i + 100);
        try {
          await client.submitTransaction(slice.map((child) => ['delete', { partitionKey: parent, rowKey: child }]));
        } catch (err) {
          if (!isNotFound(err) && statusOf(err) !== 400) throw err;
          await Promise.all(
            slice.map(async (child) => {
              try {
                await client.deleteEntity(parent, child);
              } catch (inner) {
                if (!isNotFound(inner)) throw inner;
              }
            }),
          );
        }
      }
    },

    async parents(pageSize, continuation) {
      const page = await pageOf(await childTable(), { select: ['PartitionKey'] }, pageSize, continuation);
      const accessors = [...new Set(page.rows.map((e) => e.partitionKey).filter((k): k is string => typeof k === 'string'))];
      return { accessors, ...page.next };
    },

    async scan(filter, pageSize, continuation) {
      const expression =
        'mount' in filter
          ? odata`mount eq ${filter.mount}`
          : odata`expire_time lt ${filter.expiredBefore}`;
      const page = await pageOf(await table(), { filter: expression, select: ['RowKey'] }, pageSize, continuation);
      const keys = page.rows.flatMap((e) => (typeof e.rowKey === 'string' && e.etag ? [{ accessor: e.rowKey, etag: e.etag }] : []));
      return { keys, ...page.next };
    },
  };
}

/**
 * One page of a query, from `continuation` on: its rows, and `next` ({continuation}) when Table
 * Storage says more follow.
 */
async function pageOf<T extends object = Record<string, unknown>>(
  client: TableClient,
  queryOptions: TableEntityQueryOptions,
  pageSize: number,
  continuation: string | undefined,
): Promise<{ rows: TableEntityResult<T>[]; next: { continuation?: string } }> {
  const pages = client.listEntities<T>({ queryOptions }).byPage({ maxPageSize: pageSize, ...(continuation ? { continuationToken: continuation } : {}) });
  const first = await pages.next();
  if (first.done) return { rows: [], next: {} };
  return { rows: first.value, next: first.value.continuationToken ? { continuation: first.value.continuationToken } : {} };
}

/** The columns of a partial record, for Merge updates. */
function changesToColumns(changes: Partial<TokenRecord>): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  if (changes.numUses !== undefined) columns.num_uses = changes.numUses;
  if (changes.expireTimeMs !== undefined) columns.expire_time = changes.expireTimeMs === null ? NEVER_EXPIRES : new Date(changes.expireTimeMs);
  if (changes.lastRenewalTimeMs !== undefined && changes.lastRenewalTimeMs !== null) columns.last_renewal_time = new Date(changes.lastRenewalTimeMs);
  if (changes.ancestors !== undefined) columns.ancestors = JSON.stringify(changes.ancestors);
  const unsupported = Object.keys(changes).filter((k) => !['numUses', 'expireTimeMs', 'lastRenewalTimeMs', 'ancestors'].includes(k));
  // Only these facts ever change after issue; anything else is a programming error.
  if (unsupported.length) throw new Error(`token fields cannot change after issue: ${unsupported.join(', ')}`);
  return columns;
}
