/**
 * MountStore: the mount table in `TABLES.mounts`. Auth mounts live in partition `mounts` (as they
 * always have), secret mounts in partition `secrets`; the row is the escaped path.
 *
 * Two ways to read it:
 * - `active()` / `liveTokenMount()` answer the hot paths (every login, every token use, every
 *   secret request) from a per-worker snapshot of the whole table that is at most `cacheMs` old
 *   (1 s, the login-state bound). A path missing from the snapshot triggers one re-read when the
 *   snapshot is older than `missRefreshMs`, so a mount enabled on another instance works almost at
 *   once while a flood of requests for unknown paths costs at most a few reads per second. Every
 *   write made through this store refreshes the snapshot at once, so the instance that disables a
 *   mount stops serving it immediately.
 * - Everything else (`list`, `read`, writes) reads storage directly.
 *
 * The `azure` and `token` mounts are created on first use, together with a bootstrap marker, in one
 * atomic batch: so they exist from the first start, and a later `DELETE sys/auth/azure` is not undone
 * by the next read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { TABLES, getEntityOrUndefined, isConflict, isNotFound, isPreconditionFailed, setUpOnce, type TableProvider } from '../storage/tables';
import { retryLostRaces } from '../storage/optimistic';
import { encodeKey } from '../storage/keys';
import { VaultError, badRequest, conflict } from '../vault/errors';
import {
  DEFAULT_AZURE_MOUNT,
  DEFAULT_TUNING,
  TOKEN_MOUNT,
  mountEntitySchema,
  mountPathProblem,
  type Mount,
  type MountTable,
  type MountTuning,
  type MountType,
} from './types';

const PARTITIONS: Record<MountTable, string> = { auth: 'mounts', secret: 'secrets' };
/** Row of the bootstrap marker; `!` never appears in an escaped key, so it cannot collide with a mount. */
const BOOTSTRAP_ROW = '!bootstrap';

export interface EnableMountInput {
  readonly type: MountType;
  readonly description?: string;
  readonly local?: boolean;
  readonly sealWrap?: boolean;
  readonly externalEntropyAccess?: boolean;
  readonly options?: Readonly<Record<string, string>> | null;
  readonly tuning?: Partial<MountTuning>;
}

export interface StoredMount {
  readonly mount: Mount;
  readonly etag: string;
}

export interface MountStoreOptions {
  /** Longest age of the hot-path snapshot (the login-state bound). */
  readonly cacheMs?: number;
  /** A path missing from a snapshot at least this old triggers one re-read. */
  readonly missRefreshMs?: number;
  readonly now?: () => number;
}

/** How long every instance may go on serving a mount after it was marked `disabling`. */
export const MOUNT_CACHE_MS = 1000;
const MISS_REFRESH_MS = 200;

interface Snapshot {
  readonly at: number;
  readonly mounts: ReadonlyMap<string, Mount>;
}

/** Vault's 404 for a path no route serves; used for `auth/<mount>/...` of a mount that does not exist. */
export function noHandlerFor(requestPath: string): VaultError {
  return new VaultError('unsupported_path', `no handler for route "${requestPath}". route entry not found.`);
}

const MOUNT_RACE_MESSAGE = 'the mount was changed by too many concurrent requests; try again';

const snapshotKey = (table: MountTable, path: string): string => `${table}\0${path}`;

export class MountStore {
  /** The table, with the built-in mounts written the first time any instance starts. */
  private readonly ready = setUpOnce(() => this.tables.table(TABLES.mounts), bootstrap);
  private snapshot: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;
  private readonly cacheMs: number;
  private readonly missRefreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly tables: TableProvider,
    options: MountStoreOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? MOUNT_CACHE_MS;
    this.missRefreshMs = options.missRefreshMs ?? MISS_REFRESH_MS;
    this.now = options.now ?? Date.now;
  }

  // ---- hot path: the snapshot ------------------------------------------------------------------

  /** The active mount at `path` of `table`, from a snapshot at most `cacheMs` old. */
  async active(table: MountTable, path: string): Promise<Mount | undefined> {
    if (mountPathProblem(path)) return undefined;
    const key = snapshotKey(table, path);
    let snapshot = await this.current();
    if (!snapshot.mounts.has(key) && this.now() - snapshot.at >= this.missRefreshMs) snapshot = await this.refresh();
    const mount = snapshot.mounts.get(key);
    return mount?.state === 'active' ? mount : undefined;
  }

  /**
   * Whether a token issued through auth mount `path` may still be used: the mount is active and,
   * when the token recorded it, is the same enable of that path (a disabled and re-enabled path
   * gets a new accessor, so tokens of the old mount stay dead).
   */
  async liveTokenMount(path: string, accessor: string): Promise<boolean> {
    const mount = await this.active('auth', path);
    return mount !== undefined && (accessor === '' || mount.accessor === accessor);
  }

  /** Drops the snapshot, so the next hot-path read sees storage (after a write from elsewhere). */
  invalidate(): void {
    this.snapshot = undefined;
  }

  private async current(): Promise<Snapshot> {
    const snapshot = this.snapshot;
    if (snapshot && this.now() - snapshot.at < this.cacheMs) return snapshot;
    return this.refresh();
  }

  private refresh(): Promise<Snapshot> {
    // Single flight: concurrent misses share one read of the table.
    this.loading ??= this.readAll().then(
      (mounts) => {
        const fresh: Snapshot = { at: this.now(), mounts };
        this.snapshot = fresh;
        this.loading = undefined;
        return fresh;
      },
      (err: unknown) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  private async readAll(): Promise<Map<string, Mount>> {
    const client = await this.ready();
    const mounts = new Map<string, Mount>();
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      if (entity.rowKey === BOOTSTRAP_ROW) continue;
      if (entity.partitionKey !== PARTITIONS.auth && entity.partitionKey !== PARTITIONS.secret) continue;
      const mount = toMount(entity);
      mounts.set(snapshotKey(mount.table, mount.path), mount);
    }
    return mounts;
  }

  // ---- direct reads --------------------------------------------------------------------------

  /** The active mounts of a table, sorted by path (the token store included for `auth`). */
  async list(table: MountTable): Promise<Mount[]> {
    const client = await this.ready();
    const mounts: Mount[] = [];
    for await (const entity of client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${PARTITIONS[table]}'` },
    })) {
      if (entity.rowKey === BOOTSTRAP_ROW) continue;
      const mount = toMount(entity);
      if (mount.state === 'active') mounts.push(mount);
    }
    return mounts.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Secret mounts whose v1 → v2 upgrade began but did not finish (for the cleanup timer). */
  async upgrading(): Promise<Mount[]> {
    const client = await this.ready();
    const mounts: Mount[] = [];
    for await (const entity of client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${PARTITIONS.secret}' and upgrading eq true` },
    })) {
      const mount = toMount(entity);
      if (mount.state === 'active') mounts.push(mount);
    }
    return mounts;
  }

  /** Mounts whose disable began but did not finish, in both tables (for the cleanup timer). */
  async disabling(): Promise<Mount[]> {
    const client = await this.ready();
    const mounts: Mount[] = [];
    for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `state eq 'disabling'` } })) {
      if (entity.rowKey !== BOOTSTRAP_ROW) mounts.push(toMount(entity));
    }
    return mounts;
  }

  /** The entry at `path`, active or being disabled, straight from storage. */
  async read(table: MountTable, path: string): Promise<StoredMount | undefined> {
    if (mountPathProblem(path)) return undefined;
    const client = await this.ready();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, PARTITIONS[table], encodeKey(path));
    return entity ? { mount: toMount(entity), etag: entity.etag } : undefined;
  }

  /** The active entry at `path` straight from storage. */
  async get(table: MountTable, path: string): Promise<Mount | undefined> {
    const stored = await this.read(table, path);
    return stored?.mount.state === 'active' ? stored.mount : undefined;
  }

  /**
   * The active azure mount at `path`, or Vault's "no handler" 404 naming the request path: a config or
   * role request for a mount that does not exist (or is the token store) has no route in Vault.
   */
  async requireAzure(path: string, requestPath: string): Promise<Mount> {
    const mount = await this.active('auth', path);
    if (!mount || mount.type !== 'azure') throw noHandlerFor(requestPath);
    return mount;
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * Enables a mount; `path is already in use at <path>/` when taken, also by a mount still being
   * disabled (create is atomic): 400 for an auth mount (`sys/auth`), 409 for a secrets engine
   * (`sys/mounts`), as Vault answers each.
   */
  async enable(table: MountTable, path: string, input: EnableMountInput): Promise<Mount> {
    const problem = mountPathProblem(path);
    if (problem) throw badRequest(problem);
    const client = await this.ready();
    const mount = newMount(table, path, input);
    try {
      await client.createEntity({ partitionKey: PARTITIONS[table], rowKey: encodeKey(path), ...toColumns(mount) });
    } catch (err) {
      if (isConflict(err)) {
        const message = `path is already in use at ${path}/`;
        throw table === 'auth' ? badRequest(message) : conflict(message);
      }
      throw err;
    } finally {
      this.invalidate();
    }
    return mount;
  }

  /**
   * Changes an active mount under its ETag (tune). `mutate` may run more than once after a lost race
   * and may throw to refuse; undefined when there is no active mount at the path.
   */
  async update(table: MountTable, path: string, mutate: (mount: Mount) => Mount): Promise<Mount | undefined> {
    const client = await this.ready();
    return retryLostRaces(async () => {
      const stored = await this.read(table, path);
      if (!stored || stored.mount.state !== 'active') return undefined;
      const next = mutate(stored.mount);
      await client.updateEntity({ partitionKey: PARTITIONS[table], rowKey: encodeKey(path), ...toColumns(next) }, 'Replace', { etag: stored.etag });
      this.invalidate();
      return next;
    }, MOUNT_RACE_MESSAGE);
  }

  /**
   * Marks the mount at `path` as being disabled (idempotent: a mount already marked keeps its first
   * mark). Returns the marked entry, or undefined when nothing is mounted there.
   */
  async beginDisable(table: MountTable, path: string): Promise<Mount | undefined> {
    const client = await this.ready();
    return retryLostRaces(async () => {
      const stored = await this.read(table, path);
      if (!stored) return undefined;
      if (stored.mount.state === 'disabling') {
        this.invalidate();
        return stored.mount;
      }
      const marked: Mount = { ...stored.mount, state: 'disabling', disablingSince: new Date(this.now()).toISOString() };
      await client.updateEntity(
        { partitionKey: PARTITIONS[table], rowKey: encodeKey(path), state: marked.state, disablingSince: marked.disablingSince },
        'Merge',
        { etag: stored.etag },
      );
      this.invalidate();
      return marked;
    }, MOUNT_RACE_MESSAGE);
  }

  /** Removes the entry of this enable of the mount (matched by uuid); true when it was removed. */
  async remove(table: MountTable, path: string, uuid: string): Promise<boolean> {
    const stored = await this.read(table, path);
    if (!stored || stored.mount.uuid !== uuid) return false;
    const client = await this.ready();
    try {
      await client.deleteEntity(PARTITIONS[table], encodeKey(path), { etag: stored.etag });
      return true;
    } catch (err) {
      if (isNotFound(err) || isPreconditionFailed(err)) return false;
      throw err;
    } finally {
      this.invalidate();
    }
  }
}

async function bootstrap(client: TableClient): Promise<void> {
  const marker = await getEntityOrUndefined(client, PARTITIONS.auth, BOOTSTRAP_ROW);
  if (marker) return;
  const azure = newMount('auth', DEFAULT_AZURE_MOUNT, { type: 'azure' });
  const token = newMount('auth', TOKEN_MOUNT, { type: 'token', description: 'token based credentials' });
  try {
    // One batch: either the marker and both mounts exist afterwards, or none of them.
    await client.submitTransaction([
      ['create', { partitionKey: PARTITIONS.auth, rowKey: BOOTSTRAP_ROW, createdAt: azure.createdAt }],
      ['create', { partitionKey: PARTITIONS.auth, rowKey: encodeKey(azure.path), ...toColumns(azure) }],
      ['create', { partitionKey: PARTITIONS.auth, rowKey: encodeKey(token.path), ...toColumns(token) }],
    ]);
  } catch (err) {
    // Another instance bootstrapped at the same moment: its batch won, which is just as good.
    if (isConflict(err)) return;
    throw err;
  }
}

function newMount(table: MountTable, path: string, input: EnableMountInput): Mount {
  const suffix = randomBytes(4).toString('hex');
  return {
    table,
    path,
    type: input.type,
    // Vault: `auth_<type>_<hex>` for auth methods, `<type>_<hex>` for secrets engines.
    accessor: table === 'auth' ? `auth_${input.type}_${suffix}` : `${input.type}_${suffix}`,
    uuid: randomUUID(),
    description: input.description ?? '',
    local: input.local ?? false,
    sealWrap: input.sealWrap ?? false,
    externalEntropyAccess: input.externalEntropyAccess ?? false,
    options: input.options ?? null,
    tuning: { ...DEFAULT_TUNING, ...input.tuning },
    state: 'active',
    disablingSince: '',
    upgrading: false,
    upgradingSince: '',
    createdAt: new Date().toISOString(),
  };
}

/** The entity columns of a mount; `options` and `tuning` are JSON strings. */
function toColumns(mount: Mount): Record<string, string | boolean> {
  return {
    table: mount.table,
    path: mount.path,
    type: mount.type,
    accessor: mount.accessor,
    uuid: mount.uuid,
    description: mount.description,
    local: mount.local,
    sealWrap: mount.sealWrap,
    externalEntropyAccess: mount.externalEntropyAccess,
    options: JSON.stringify(mount.options),
    tuning: JSON.stringify(mount.tuning),
    state: mount.state,
    disablingSince: mount.disablingSince,
    upgrading: mount.upgrading,
    upgradingSince: mount.upgradingSince,
    createdAt: mount.createdAt,
  };
}

function toMount(entity: TableEntityResult<Record<string, unknown>>): Mount {
  const parsed = mountEntitySchema.safeParse(entity);
  if (!parsed.success) {
    throw new VaultError('internal', 'stored mount entry is unreadable', { cause: parsed.error });
  }
  return parsed.data;
}
