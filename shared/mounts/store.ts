/**
 * MountStore: the auth mounts in table `TABLES.mounts`, one partition, one row per mount path.
 *
 * The `azure` and `token` mounts are created on first use, together with a bootstrap marker, in one
 * atomic batch: so they exist from the first start, and a later `DELETE sys/auth/azure` is not undone
 * by the next read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { TABLES, getEntityOrUndefined, isConflict, isNotFound, type TableProvider } from '../storage/tables';
import { encodeKey } from '../storage/keys';
import { VaultError, badRequest } from '../vault/errors';
import { DEFAULT_AZURE_MOUNT, TOKEN_MOUNT, mountEntitySchema, mountPathProblem, type Mount, type MountType } from './types';

const PARTITION = 'mounts';
/** Row of the bootstrap marker; `!` never appears in an escaped key, so it cannot collide with a mount. */
const BOOTSTRAP_ROW = '!bootstrap';

export interface EnableMountInput {
  readonly type: MountType;
  readonly description?: string;
  readonly local?: boolean;
  readonly sealWrap?: boolean;
}

type MountEntity = Mount & { partitionKey: string; rowKey: string };

/** Vault's 404 for a path no route serves; used for `auth/<mount>/...` of a mount that does not exist. */
export function noHandlerFor(requestPath: string): VaultError {
  return new VaultError('unsupported_path', `no handler for route "${requestPath}". route entry not found.`);
}

export class MountStore {
  private bootstrapped: Promise<void> | undefined;

  constructor(private readonly tables: TableProvider) {}

  /** Every mount, the token store included, sorted by path. */
  async list(): Promise<Mount[]> {
    const client = await this.ready();
    const mounts: Mount[] = [];
    for await (const entity of client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${PARTITION}'` },
    })) {
      if (entity.rowKey === BOOTSTRAP_ROW) continue;
      mounts.push(toMount(entity));
    }
    return mounts.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async get(path: string): Promise<Mount | undefined> {
    if (mountPathProblem(path)) return undefined;
    const client = await this.ready();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, PARTITION, encodeKey(path));
    return entity ? toMount(entity) : undefined;
  }

  /**
   * The azure mount at `path`, or Vault's "no handler" 404 naming the request path: a config or role
   * request for a mount that does not exist (or is the token store) has no route in Vault.
   */
  async requireAzure(path: string, requestPath: string): Promise<Mount> {
    const mount = await this.get(path);
    if (!mount || mount.type !== 'azure') throw noHandlerFor(requestPath);
    return mount;
  }

  /** Enables a mount; 400 `path is already in use at <path>/` when taken (create is atomic). */
  async enable(path: string, input: EnableMountInput): Promise<Mount> {
    const problem = mountPathProblem(path);
    if (problem) throw badRequest(problem);
    const client = await this.ready();
    const mount = newMount(path, input);
    try {
      await client.createEntity<MountEntity>({ partitionKey: PARTITION, rowKey: encodeKey(path), ...mount });
    } catch (err) {
      if (isConflict(err)) throw badRequest(`path is already in use at ${path}/`);
      throw err;
    }
    return mount;
  }

  /** Removes the mount entry; true when one was removed. Cleaning up its data is the caller's job. */
  async remove(path: string): Promise<boolean> {
    if (mountPathProblem(path)) return false;
    const client = await this.ready();
    try {
      await client.deleteEntity(PARTITION, encodeKey(path));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async ready(): Promise<TableClient> {
    const client = await this.tables.table(TABLES.mounts);
    if (!this.bootstrapped) {
      const attempt = bootstrap(client);
      this.bootstrapped = attempt;
      // A failed bootstrap (storage down) must be retried on the next call, not remembered.
      attempt.catch(() => {
        if (this.bootstrapped === attempt) this.bootstrapped = undefined;
      });
    }
    await this.bootstrapped;
    return client;
  }
}

async function bootstrap(client: TableClient): Promise<void> {
  const marker = await getEntityOrUndefined(client, PARTITION, BOOTSTRAP_ROW);
  if (marker) return;
  const azure = newMount(DEFAULT_AZURE_MOUNT, { type: 'azure' });
  const token = newMount(TOKEN_MOUNT, { type: 'token', description: 'token based credentials' });
  try {
    // One batch: either the marker and both mounts exist afterwards, or none of them.
    await client.submitTransaction([
      ['create', { partitionKey: PARTITION, rowKey: BOOTSTRAP_ROW, createdAt: azure.createdAt }],
      ['create', { partitionKey: PARTITION, rowKey: encodeKey(azure.path), ...azure }],
      ['create', { partitionKey: PARTITION, rowKey: encodeKey(token.path), ...token }],
    ]);
  } catch (err) {
    // Another instance bootstrapped at the same moment: its batch won, which is just as good.
    if (isConflict(err)) return;
    throw err;
  }
}

function newMount(path: string, input: EnableMountInput): Mount {
  return {
    path,
    type: input.type,
    accessor: `auth_${input.type}_${randomBytes(4).toString('hex')}`,
    uuid: randomUUID(),
    description: input.description ?? '',
    local: input.local ?? false,
    sealWrap: input.sealWrap ?? false,
    createdAt: new Date().toISOString(),
  };
}

function toMount(entity: TableEntityResult<Record<string, unknown>>): Mount {
  const parsed = mountEntitySchema.safeParse(entity);
  if (!parsed.success) {
    throw new VaultError('internal', 'stored mount entry is unreadable', { cause: parsed.error });
  }
  return parsed.data;
}
