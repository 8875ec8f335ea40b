/**
 * RoleStore: roles in `TABLES.roles`, partition = escaped mount path, row = escaped lower-case role
 * name. The role itself is one JSON property, checked with zod on every load and upgraded from the
 * deprecated field names. Writes are conditional on the ETag and retried on a lost race.
 */
import type { TableClient } from '@azure/data-tables';
import { TABLES, getEntityOrUndefined, isConflict, isNotFound, isPreconditionFailed, type TableProvider } from '../storage/tables';
import { MAX_OPTIMISTIC_ATTEMPTS, pauseBeforeRetry } from '../storage/optimistic';
import { encodeKey, decodeKey } from '../storage/keys';
import { VaultError, badRequest, conflict } from '../vault/errors';
import { storedRoleSchema, upgradeLegacyFields, type Role } from './types';

/** A string property holds at most 64 KiB of UTF-16, i.e. 32 Ki characters. */
const MAX_ROLE_JSON_CHARS = 32 * 1024 - 1;

interface RoleEntity {
  partitionKey: string;
  rowKey: string;
  name: string;
  role: string;
}

export interface StoredRole {
  readonly role: Role;
  readonly etag: string;
}

export class RoleStore {
  constructor(private readonly tables: TableProvider) {}

  /** `name` must already be the canonical (lower-case) name. */
  async get(mount: string, name: string): Promise<StoredRole | undefined> {
    const client = await this.client();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, encodeKey(mount), encodeKey(name));
    if (!entity) return undefined;
    return { role: parseStoredRole(entity.role), etag: entity.etag };
  }

  async read(mount: string, name: string): Promise<Role | undefined> {
    return (await this.get(mount, name))?.role;
  }

  /** Role names of a mount, sorted. */
  async list(mount: string): Promise<string[]> {
    const client = await this.client();
    const names: string[] = [];
    const partition = encodeKey(mount);
    for await (const entity of client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${partition}'`, select: ['RowKey'] },
    })) {
      if (entity.rowKey) names.push(decodeKey(entity.rowKey));
    }
    return names.sort();
  }

  /**
   * Creates or replaces a role. `mutate` gets the stored role (or undefined) and returns the role to
   * store; it may run more than once after a lost race, and may throw to refuse the write.
   */
  async upsert<R extends { role: Role }>(mount: string, name: string, mutate: (current: Role | undefined) => R): Promise<R> {
    const client = await this.client();
    const partitionKey = encodeKey(mount);
    const rowKey = encodeKey(name);
    for (let attempt = 1; attempt <= MAX_OPTIMISTIC_ATTEMPTS; attempt++) {
      if (attempt > 1) await pauseBeforeRetry(attempt - 1);
      const stored = await this.get(mount, name);
      const result = mutate(stored?.role);
      const json = JSON.stringify(result.role);
      if (json.length > MAX_ROLE_JSON_CHARS) {
        throw badRequest(`role is too large to store (${json.length} characters of settings; the limit is ${MAX_ROLE_JSON_CHARS})`);
      }
      const entity: RoleEntity = { partitionKey, rowKey, name, role: json };
      try {
        if (stored) await client.updateEntity(entity, 'Replace', { etag: stored.etag });
        else await client.createEntity(entity);
        return result;
      } catch (err) {
        if (isPreconditionFailed(err) || isConflict(err) || (isNotFound(err) && stored)) continue;
        throw err;
      }
    }
    throw conflict('the role was changed by concurrent requests; try again');
  }

  async delete(mount: string, name: string): Promise<void> {
    const client = await this.client();
    try {
      await client.deleteEntity(encodeKey(mount), encodeKey(name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes every role of a mount (when the mount is disabled); returns how many were removed. */
  async deleteAll(mount: string): Promise<number> {
    const client = await this.client();
    const partitionKey = encodeKey(mount);
    const rowKeys: string[] = [];
    for await (const entity of client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${partitionKey}'`, select: ['RowKey'] },
    })) {
      if (entity.rowKey) rowKeys.push(entity.rowKey);
    }
    // A batch holds at most 100 operations of one partition; all roles of a mount share one.
    for (let start = 0; start < rowKeys.length; start += 100) {
      const batch = rowKeys.slice(start, start + 100).map((rowKey): ['delete', { partitionKey: string; rowKey: string }] => [
        'delete',
        { partitionKey, rowKey },
      ]);
      try {
        await client.submitTransaction(batch);
      } catch (err) {
        // A role deleted meanwhile fails the whole batch; fall back to one by one, ignoring 404s.
        if (!isNotFound(err)) throw err;
        for (const [, key] of batch) {
          await client.deleteEntity(key.partitionKey, key.rowKey).catch((e: unknown) => {
            if (!isNotFound(e)) throw e;
          });
        }
      }
    }
    return rowKeys.length;
  }

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.roles);
  }
}

function parseStoredRole(raw: unknown): Role {
  let json: unknown;
  try {
    json = typeof raw === 'string' ? JSON.parse(raw) : undefined;
  } catch {
    json = undefined;
  }
  const parsed = storedRoleSchema.safeParse(json);
  if (!parsed.success) throw new VaultError('internal', 'stored role is unreadable', { cause: parsed.error });
  return upgradeLegacyFields(parsed.data);
}
