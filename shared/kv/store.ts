/**
 * The KV secrets engine's storage and sealing, HTTP-agnostic: one method per Vault operation, each
 * returning the `data` of Vault's response (shared/kv/types.ts). Layout (shared/kv/paths.ts), one
 * table, one partition per key:
 *
 *   m                  v2 metadata: current/oldest version, the lowest version row still stored,
 *                      key settings, sealed custom metadata, last_updated_by, tombstone flag
 *   v<inverted n>      one row per kept version: times, flags, attribution and the sealed value
 *                      split over p0…p8 (shared/kv/payload.ts)
 *   d                  a v1 value, sealed
 *
 * Every change to a v2 key is one entity-group transaction that includes a write of `m` conditional
 * on the ETag read before: the new version row, the new `m` and the pruned rows land together or not
 * at all, and of concurrent writers exactly one wins each version number (the others read again,
 * and with `cas` fail as Vault does). Sealed values bind mount uuid, key and version (or
 * `custom_metadata`) as authenticated data, so a row moved anywhere else does not open.
 */
import { odata, type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import type { Sealer } from '../crypto/keyring';
import { decodeKey } from '../storage/keys';
import { TABLES, getEntityOrUndefined, isConflict, isNotFound, isPreconditionFailed, type TableProvider } from '../storage/tables';
import { mapLimited } from '../storage/map-limited';
import { pauseBeforeRetry, retryLostRaces } from '../storage/optimistic';
import { parseDurationSeconds } from '../vault/fields';
import { formatGoDuration } from '../vault/goDuration';
import { badRequest, conflict } from '../vault/errors';
import { casError, addVersion, deletionTime, effectiveMaxVersions, isDeletedAt, isKept, DELETE_VERSION_AFTER_DISABLED } from './lifecycle';
import { parseCustomMetadata, validateCustomMetadata } from './input';
import { isJsonObject, setOwn, type JsonObject } from '../vault/json';
import { Listing } from './listing';
import { mergePatch } from './mergePatch';
import {
  CONFIG_ROW,
  METADATA_ROW,
  V1_ROW,
  configPartition,
  customMetadataAad,
  folderSegments,
  keyPartition,
  keyRangeEnd,
  keyRangeStart,
  keySegments,
  mountRangeEnd,
  mountRangeStart,
  v1Aad,
  versionAad,
  versionOfRow,
  versionRow,
} from './paths';
import { chunkProperties, encodeValue, joinChunks } from './payload';
import { subkeys } from './subkeys';
import { vaultTime, timeMs } from './time';
import type {
  Actor,
  Attribution,
  DataRead,
  KvConfigData,
  KvConfigInput,
  KvMount,
  Lookup,
  MetadataInput,
  MetadataRead,
  MountSweep,
  PatchResult,
  SubkeysRead,
  V1Read,
  VersionInfo,
  VersionMetadata,
  WriteResult,
} from './types';

/** Attempts of one change against concurrent writers of the same key; with the growing pauses, a few seconds. */
const MAX_ATTEMPTS = 40;
/** Operations per entity-group transaction (Table Storage's limit). */
const BATCH = 100;

/** Vault's text for a mount whose v1 → v2 upgrade is under way (the router answers it with a 400). */
export const UPGRADING_MESSAGE =
  'Upgrading from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service shortly.';

const CLEANUP_WARNING = 'error occurred when cleaning up old versions, these will be cleaned up on next write: ';

const attributionSchema = z.object({
  actor: z.string().optional(),
  client_id: z.string().optional(),
  entity_id: z.string().optional(),
  operation: z.string().optional(),
});

const metaSchema = z.object({
  current: z.number().int().nonnegative(),
  oldest: z.number().int().nonnegative(),
  /** Lowest version whose row may still exist (0 = no version row): rows exist for exactly [low, current]. */
  low: z.number().int().nonnegative(),
  created: z.string(),
  updated: z.string(),
  maxVersions: z.number().int().nonnegative(),
  casRequired: z.boolean(),
  dva: z.number().int(),
  cm: z.custom<Uint8Array>((value) => value instanceof Uint8Array).optional(),
  lastBy: z.string(),
  tomb: z.boolean(),
});
type Meta = z.output<typeof metaSchema>;

const versionSchema = z.object({
  ver: z.number().int().positive(),
  created: z.string(),
  deletion: z.string(),
  destroyed: z.boolean(),
  createdBy: z.string(),
  deletedBy: z.string(),
});
type VersionRow = z.output<typeof versionSchema>;

const configSchema = z.object({
  maxVersions: z.number().int().nonnegative().default(0),
  casRequired: z.boolean().default(false),
  dva: z.number().int().default(0),
});
type MountConfig = z.output<typeof configSchema>;

const META_COLUMNS = ['current', 'oldest', 'low', 'created', 'updated', 'maxVersions', 'casRequired', 'dva', 'cm', 'lastBy', 'tomb'];
const VERSION_COLUMNS = ['ver', 'created', 'deletion', 'destroyed', 'createdBy', 'deletedBy'];
/** Every column of the metadata and version rows but the sealed value's chunks. */
const ROW_COLUMNS_WITHOUT_VALUE = ['RowKey', ...new Set([...META_COLUMNS, ...VERSION_COLUMNS])];

/** How much of the newest version row a read of a key needs: none, its columns, or its sealed value too. */
type NewestVersion = 'none' | 'columns' | 'value';

type Entity = TableEntityResult<Record<string, unknown>>;

interface StoredMeta {
  readonly meta: Meta;
  readonly etag: string;
}

/**
 * A key's metadata row as one read found it: Vault's existence check (create vs update) is answered
 * from it, and a write that follows in the same request starts from it instead of reading it again
 * (its ETag guards the write, so a change in between only costs a retry).
 */
export interface KeyProbe {
  readonly exists: boolean;
  readonly stored: StoredMeta | undefined;
}

interface KeyState {
  /** Undefined when the key has no metadata row; a tombstone counts as no key for everything but the write's condition. */
  readonly stored: StoredMeta | undefined;
  /** The newest version row with its value, when asked for and present. */
  readonly newest: Entity | undefined;
}

export interface KvEngineOptions {
  /** The KV table (TABLES.kv). */
  readonly table: () => Promise<TableClient>;
  /** Seals every value and every custom metadata map (the keyring). */
  readonly sealer: Sealer;
  readonly now?: () => number;
}

/** Numbers that may exceed Int32 go in as Edm.Double, which holds every uint32 and every duration exactly. */
const dbl = (value: number): { value: number; type: 'Double' } => ({ value, type: 'Double' });

/** Go's uint32(int): how Vault stores a negative or oversized `max_versions`. */
const toUint32 = (n: number): number => ((Math.trunc(n) % 2 ** 32) + 2 ** 32) % 2 ** 32;

/**
 * How long a worker uses a mount's KV config (max_versions, cas_required, delete_version_after) for
 * writes before reading it again: one read a second instead of one per write. A config change made
 * through this worker applies at once; through another, within this time (the service's bound for
 * mounts, roles and policies too).
 */
const CONFIG_REUSE_MS = 1000;

export class KvEngine {
  private readonly now: () => number;
  private readonly configs = new Map<string, { readonly at: number; readonly read: Promise<MountConfig> }>();

  constructor(private readonly options: KvEngineOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The mount's config for a write, from a read at most CONFIG_REUSE_MS old (single flight). */
  private configForWrite(mount: KvMount): Promise<MountConfig> {
    const cached = this.configs.get(mount.uuid);
    if (cached && this.now() - cached.at < CONFIG_REUSE_MS) return cached.read;
    const read = this.readConfig(mount).then(({ config }) => config);
    // A failed read is not reused: the next write tries storage again.
    read.catch(() => this.configs.delete(mount.uuid));
    if (this.configs.size > 1000) this.configs.clear();
    this.configs.set(mount.uuid, { at: this.now(), read });
    return read;
  }

  // ---------------------------------------------------------------- config

  /** `GET config`. */
  async getConfig(mount: KvMount): Promise<KvConfigData> {
    const { config } = await this.readConfig(mount);
    return { cas_required: config.casRequired, delete_version_after: formatGoDuration(config.dva), max_versions: config.maxVersions };
  }

  /** `POST config`: only the given fields change; none is a no-op. */
  async writeConfig(mount: KvMount, input: KvConfigInput): Promise<void> {
    if (input.maxVersions === undefined && input.casRequired === undefined && input.deleteVersionAfter === undefined) return;
    const client = await this.options.table();
    await this.retry(async () => {
      const { config, etag } = await this.readConfig(mount);
      const next: MountConfig = {
        maxVersions: input.maxVersions === undefined ? config.maxVersions : toUint32(input.maxVersions),
        casRequired: input.casRequired ?? config.casRequired,
        dva:
          input.deleteVersionAfter === undefined
            ? config.dva
            : input.deleteVersionAfter < 0
              ? DELETE_VERSION_AFTER_DISABLED
              : Math.trunc(input.deleteVersionAfter),
      };
      const entity = { partitionKey: configPartition(mount.uuid), rowKey: CONFIG_ROW, maxVersions: dbl(next.maxVersions), casRequired: next.casRequired, dva: dbl(next.dva) };
      if (etag) await client.updateEntity(entity, 'Replace', { etag });
      else await client.createEntity(entity);
      this.configs.delete(mount.uuid);
      return true;
    }, 'the KV config was changed by concurrent requests; try again');
  }

  private async readConfig(mount: KvMount): Promise<{ config: MountConfig; etag: string | undefined }> {
    const client = await this.options.table();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, configPartition(mount.uuid), CONFIG_ROW);
    if (!entity) return { config: { maxVersions: 0, casRequired: false, dva: 0 }, etag: undefined };
    return { config: parse(configSchema, entity, 'KV config'), etag: entity.etag };
  }

  // ---------------------------------------------------------------- data

  /** The existence check of `data/<key>` and `metadata/<key>` (create vs update): the key has metadata (see KeyProbe). */
  async probe(mount: KvMount, key: string): Promise<KeyProbe> {
    keySegments(key);
    const stored = await this.readMeta(mount, key);
    return { exists: stored !== undefined && !stored.meta.tomb, stored };
  }

  /** `GET data/<key>[?version=N]`; a version ≤ 0 means the current one. */
  async readData(mount: KvMount, key: string, version = 0): Promise<Lookup<DataRead>> {
    const found = await this.readVersion(mount, key, version);
    if (found.kind === 'absent') return found;
    const { metadata, row } = found;
    if (found.kind === 'gone') return { kind: 'gone', data: { data: null, metadata } };
    return { kind: 'found', data: { data: await this.openValue(mount, key, row), metadata } };
  }

  /** `GET subkeys/<key>?version=N&depth=D`. */
  async readSubkeys(mount: KvMount, key: string, options: { version?: number; depth?: number } = {}): Promise<Lookup<SubkeysRead>> {
    const found = await this.readVersion(mount, key, options.version ?? 0);
    if (found.kind === 'absent') return found;
    if (found.kind === 'gone') return { kind: 'gone', data: { metadata: found.metadata, subkeys: null } };
    const value = await this.openValue(mount, key, found.row);
    return { kind: 'found', data: { metadata: found.metadata, subkeys: subkeys(value, options.depth ?? 0) } };
  }

  /** `POST|PUT data/<key>` with `{"data": …, "options": {"cas": n}}` (cas already parsed, see input.ts). */
  async writeData(
    mount: KvMount,
    key: string,
    input: { readonly data: unknown; readonly cas?: number | undefined },
    actor: Actor = {},
    probe?: KeyProbe,
  ): Promise<WriteResult> {
    if (!isJsonObject(input.data)) throw badRequest('no data provided');
    const json = encodeValue(input.data);
    const result = await this.commitVersion(mount, key, actor, 'write', input.cas, () => ({ json }), probe);
    if (result.kind !== 'written') throw new Error('a write cannot find its key absent');
    return { data: result.data, warnings: result.warnings };
  }

  /** `PATCH data/<key>`: a JSON merge patch of the current version's data, written as a new version. */
  async patchData(mount: KvMount, key: string, input: { readonly data: unknown; readonly cas?: number | undefined }, actor: Actor = {}): Promise<PatchResult> {
    if (!isJsonObject(input.data)) throw badRequest('no data provided');
    const patch = input.data;
    return this.commitVersion(mount, key, actor, 'patch', input.cas, async (state, meta) => {
      // After the CAS check, as Vault: no current version is a bare 404, a deleted or destroyed one a 404 with its metadata.
      if (!state.newest) return { early: { kind: 'absent' } };
      const row = parseVersionRow(state.newest);
      if (row.destroyed || isDeletedAt(timeMs(row.deletion), this.now())) {
        return { early: { kind: 'gone', data: await this.versionMetadata(mount, key, meta, row) } };
      }
      const merged = mergePatch(await this.openValue(mount, key, state.newest), patch);
      return { json: encodeValue(merged) };
    });
  }

  /** `DELETE data/<key>`: soft-deletes the current version; a no-op when there is nothing to delete. */
  async deleteLatest(mount: KvMount, key: string, actor: Actor = {}): Promise<void> {
    keySegments(key);
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    await this.retry(async () => {
      const state = await this.readKeyState(mount, key, 'columns');
      const stored = live(state.stored);
      if (!stored || stored.meta.current === 0 || !state.newest) return true;
      const row = parseVersionRow(state.newest);
      if (row.ver !== stored.meta.current || row.destroyed || isDeletedAt(timeMs(row.deletion), this.now())) return true;
      const by = JSON.stringify(attribution(actor, 'delete'));
      await client.submitTransaction([
        ['update', this.metaEntity(pk, { ...stored.meta, lastBy: by }), 'Replace', { etag: stored.etag }],
        ['update', { partitionKey: pk, rowKey: versionRow(row.ver), deletion: vaultTime(new Date(this.now())), deletedBy: by }, 'Merge'],
      ]);
      return true;
    }, 'the secret was changed by concurrent requests; try again');
  }

  /** `POST delete/<key>` with `versions`. */
  async deleteVersions(mount: KvMount, key: string, versions: readonly number[], actor: Actor = {}): Promise<void> {
    if (versions.length === 0) throw badRequest('No version number provided');
    const by = JSON.stringify(attribution(actor, 'update'));
    await this.changeVersions(mount, key, versions, by, (row, now) => {
      if (row.destroyed || isDeletedAt(timeMs(row.deletion), now)) return undefined;
      return { mode: 'Merge', props: { deletion: vaultTime(new Date(now)), deletedBy: by } };
    });
  }

  /** `POST undelete/<key>` with `versions`: clears the deletion (or restarts `delete_version_after`). */
  async undeleteVersions(mount: KvMount, key: string, versions: readonly number[], actor: Actor = {}): Promise<void> {
    if (versions.length === 0) throw badRequest('No version number provided');
    const { config } = await this.readConfig(mount);
    const by = JSON.stringify(attribution(actor, 'undelete'));
    await this.changeVersions(mount, key, versions, by, (row, now, meta) => {
      if (row.destroyed) return undefined;
      const until = deletionTime(now, config.dva, meta.dva);
      return { mode: 'Merge', props: { deletion: until === undefined ? '' : vaultTime(new Date(until)), deletedBy: '' } };
    });
  }

  /** `POST destroy/<key>` with `versions`: the values are erased for good; the versions' metadata stays. */
  async destroyVersions(mount: KvMount, key: string, versions: readonly number[]): Promise<void> {
    if (versions.length === 0) throw badRequest('no version number provided');
    await this.changeVersions(mount, key, versions, undefined, (row) => {
      if (row.destroyed) return undefined;
      // Replace without the value's properties: the sealed bytes are gone, not merely flagged.
      return { mode: 'Replace', props: { ...versionProps(row), destroyed: true } };
    });
  }

  // ---------------------------------------------------------------- metadata

  /** `GET metadata/<key>`; undefined is Vault's bare 404. */
  async readMetadata(mount: KvMount, key: string): Promise<MetadataRead | undefined> {
    keySegments(key);
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    let stored: Meta | undefined;
    const versions: Record<string, VersionInfo> = {};
    const rows: VersionRow[] = [];
    const query = client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${pk} and RowKey ge ${METADATA_ROW}`, select: ROW_COLUMNS_WITHOUT_VALUE },
    });
    for await (const entity of query) {
      if (entity.rowKey === METADATA_ROW) stored = parse(metaSchema, entity, 'KV metadata');
      else if (versionOfRow(entity.rowKey ?? '') !== undefined) rows.push(parseVersionRow(entity));
    }
    if (!stored || stored.tomb) return undefined;
    const meta = stored;
    for (const row of rows.sort((a, b) => a.ver - b.ver)) {
      if (!isKept(meta, row.ver)) continue;
      versions[String(row.ver)] = {
        created_by: parseAttribution(row.createdBy),
        created_time: row.created,
        deleted_by: parseAttribution(row.deletedBy),
        deletion_time: row.deletion,
        destroyed: row.destroyed,
      };
    }
    return {
      cas_required: meta.casRequired,
      created_time: meta.created,
      current_version: meta.current,
      custom_metadata: await this.openCustomMetadata(mount, key, meta),
      delete_version_after: formatGoDuration(meta.dva),
      last_updated_by: parseAttribution(meta.lastBy),
      max_versions: meta.maxVersions,
      oldest_version: meta.oldest,
      updated_time: meta.updated,
      versions,
    };
  }

  /**
   * `POST|PUT metadata/<key>`: creates the key's metadata if absent (with no version); only the given
   * fields change, `customMetadata` replacing the whole map. With no field at all: a no-op that
   * creates nothing. Returns Vault's warnings.
   */
  async writeMetadata(mount: KvMount, key: string, input: MetadataInput, probe?: KeyProbe): Promise<{ warnings: string[] }> {
    const segments = keySegments(key);
    if (!hasMetadataField(input)) return { warnings: [] };
    let custom: Record<string, string> | undefined;
    if (input.customMetadata !== undefined) {
      custom = stringsOnly(parseCustomMetadata(input.customMetadata, false));
      validateCustomMetadata(custom);
    }
    const { config } = await this.readConfig(mount);
    const warnings = input.casRequired === false && config.casRequired ? [CAS_IGNORED_WARNING] : [];
    await this.changeMetadata(
      mount,
      key,
      segments,
      true,
      async (meta) => ({
        ...applyMetadataFields(meta, input),
        ...(custom !== undefined ? { cm: await this.sealCustomMetadata(mount, key, custom) } : {}),
      }),
      probe,
    );
    return { warnings };
  }

  /**
   * `PATCH metadata/<key>`: like a write, but the key must exist, and `customMetadata` is merged
   * into the stored map (a null value removes an entry). The merged map must stay within Vault's
   * limits (Vault checks only the patch; see docs/secrets.md).
   */
  async patchMetadata(mount: KvMount, key: string, input: MetadataInput): Promise<{ kind: 'absent' } | { kind: 'written'; warnings: string[] }> {
    const segments = keySegments(key);
    const patch = input.customMetadata !== undefined ? parseCustomMetadata(input.customMetadata, true) : undefined;
    if (patch) validateCustomMetadata(stringsOnly(patch));
    const { config } = await this.readConfig(mount);
    const warnings = input.casRequired === false && config.casRequired ? [CAS_IGNORED_WARNING] : [];
    const written = await this.changeMetadata(mount, key, segments, false, async (meta) => {
      if (!patch) return applyMetadataFields(meta, input);
      const merged = stringsOnly(mergePatch((await this.openCustomMetadata(mount, key, meta)) ?? {}, patch) as Record<string, unknown>);
      validateCustomMetadata(merged);
      return { ...applyMetadataFields(meta, input), cm: await this.sealCustomMetadata(mount, key, merged) };
    });
    return written ? { kind: 'written', warnings } : { kind: 'absent' };
  }

  /** `DELETE metadata/<key>`: every version and the metadata, for good; a no-op for an unknown key. */
  async deleteMetadata(mount: KvMount, key: string): Promise<void> {
    const segments = keySegments(key);
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    await this.retry(async () => {
      const stored = await this.readMeta(mount, key);
      if (!stored) return true;
      let { meta, etag } = stored;
      if (!meta.tomb) {
        // Versions go oldest first, each batch also moving `low` under the ETag, so a concurrent
        // write fails the batch rather than leaving a version row behind; the last batch turns
        // `m` into a tombstone (readers treat it as no key) in the same transaction.
        const from = meta.low === 0 ? meta.current + 1 : meta.low;
        for (let start = from; ; start += BATCH - 1) {
          const end = Math.min(start + BATCH - 1, meta.current + 1);
          const last = end > meta.current;
          // Between batches the key reads as if its oldest versions had been pruned.
          const next: Meta = last ? { ...meta, tomb: true, low: 0, cm: undefined } : { ...meta, low: end, oldest: Math.max(meta.oldest, end) };
          const actions: TransactionAction[] = [['update', this.metaEntity(pk, next), 'Replace', { etag }]];
          for (let v = start; v < end; v++) actions.push(['delete', { partitionKey: pk, rowKey: versionRow(v) }]);
          const response = await client.submitTransaction(actions);
          meta = next;
          etag = response.getResponseForEntity(METADATA_ROW)?.etag ?? (await this.readMeta(mount, key))?.etag ?? '';
          if (last) break;
        }
      }
      try {
        await client.deleteEntity(pk, METADATA_ROW, { etag });
      } catch (err) {
        // Gone already, or re-created by a writer since: either way this delete is done.
        if (!isNotFound(err) && !isPreconditionFailed(err)) throw err;
      }
      return true;
    }, 'the secret was changed by concurrent requests; try again');
    await this.listing(mount).retract(segments);
  }

  /**
   * `LIST metadata/<folder>` (and v1 `LIST <folder>`): the folder's immediate children, sub-folders
   * ending in `/`, sorted; [] is Vault's 404. `excludeDeleted` drops keys whose current version has a
   * deletion time, past or future (as Vault codes it).
   */
  async listKeys(mount: KvMount, folder: string, options: { excludeDeleted?: boolean } = {}): Promise<string[]> {
    const segments = folderSegments(folder);
    const names = await this.listing(mount).list(segments);
    if (!options.excludeDeleted) return names;
    const keep = await mapLimited(names, 16, async (name) => {
      if (name.endsWith('/')) return true;
      const state = await this.readKeyState(mount, [...segments, name].join('/'), 'columns');
      const stored = live(state.stored);
      if (!stored || !state.newest) return true;
      return parseVersionRow(state.newest).deletion === '';
    });
    return names.filter((_, i) => keep[i]);
  }

  /** The folder's children page by page as Table Storage returns them (unsorted, pending rows included): for measuring. */
  listPages(mount: KvMount, folder: string): AsyncGenerator<Array<{ name: string; pending: boolean }>> {
    return this.listing(mount).pages(folderSegments(folder));
  }

  // ---------------------------------------------------------------- v1

  /** v1 existence check (create vs update). */
  async existsV1(mount: KvMount, key: string): Promise<boolean> {
    keySegments(key);
    const client = await this.options.table();
    return (await getEntityOrUndefined(client, keyPartition(mount.uuid, key), V1_ROW, ['RowKey'])) !== undefined;
  }

  /**
   * v1 `GET <key>`: the object as written, and `lease_duration` from its `ttl` (else `lease`) field when
   * that parses as a duration, otherwise the mount's default lease TTL (the caller resolves "system").
   */
  async readV1(mount: KvMount, key: string, defaultLeaseSeconds: number): Promise<V1Read | undefined> {
    keySegments(key);
    const client = await this.options.table();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, keyPartition(mount.uuid, key), V1_ROW);
    if (!entity) return undefined;
    const data = await this.openJson(joinChunks(entity), v1Aad(mount.uuid, key));
    const ttl = Object.prototype.hasOwnProperty.call(data, 'ttl') ? data.ttl : Object.prototype.hasOwnProperty.call(data, 'lease') ? data.lease : undefined;
    const parsed = ttl === undefined ? undefined : parseDurationSeconds(ttl);
    return { data, lease_duration: parsed?.ok ? parsed.seconds : defaultLeaseSeconds };
  }

  /** v1 `POST|PUT <key>`: the body replaces the value. */
  async writeV1(mount: KvMount, key: string, data: unknown): Promise<void> {
    const segments = keySegments(key);
    if (!isJsonObject(data) || Object.keys(data).length === 0) throw badRequest('missing data fields');
    const sealed = await this.options.sealer.seal(encodeValue(data), v1Aad(mount.uuid, key));
    const client = await this.options.table();
    const entity = { partitionKey: keyPartition(mount.uuid, key), rowKey: V1_ROW, ...chunkProperties(sealed) };
    try {
      await client.updateEntity(entity, 'Replace');
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // A new key: listed (pending) first, then created, then confirmed (shared/kv/listing.ts).
    const listing = this.listing(mount);
    await listing.announce(segments);
    try {
      await client.createEntity(entity);
    } catch (err) {
      if (!isConflict(err)) throw err;
      await client.updateEntity(entity, 'Replace');
    }
    await listing.confirm(segments);
  }

  /** v1 `DELETE <key>`: always succeeds. */
  async deleteV1(mount: KvMount, key: string): Promise<void> {
    const segments = keySegments(key);
    const client = await this.options.table();
    try {
      await client.deleteEntity(keyPartition(mount.uuid, key), V1_ROW);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.listing(mount).retract(segments);
  }

  // ---------------------------------------------------------------- whole mount

  /**
   * The v1 → v2 upgrade (Vault's, §8.10 of the reference): each v1 value becomes version 1 of a v2
   * key, created now, `last_updated_by` kv_upgrade/upgrade, in one transaction that also removes the
   * v1 row. Paged: handles up to `limit` keys per call; call again until `done`. Idempotent and
   * resumable: only v1 rows remain to be found.
   */
  async upgradeToV2(mount: KvMount, options: { limit?: number } = {}): Promise<MountSweep> {
    const client = await this.options.table();
    const limit = options.limit ?? 100;
    const filter = `PartitionKey ge '${keyRangeStart(mount.uuid)}' and PartitionKey lt '${keyRangeEnd(mount.uuid)}' and RowKey eq '${V1_ROW}'`;
    // Keys only: a page of values could be many megabytes; each value is read on its own below.
    const page = await firstPage(client, filter, ['PartitionKey', 'RowKey'], limit);
    const prefix = keyRangeStart(mount.uuid);
    let count = 0;
    for (const found of page.entities) {
      const pk = found.partitionKey ?? '';
      const key = decodeKey(pk.slice(prefix.length));
      const entity = await getEntityOrUndefined<Record<string, unknown>>(client, pk, V1_ROW);
      if (!entity) continue;
      const value = await this.options.sealer.open(joinChunks(entity), v1Aad(mount.uuid, key));
      const stored = await this.readMeta(mount, key);
      try {
        await this.upgradeKey(client, mount, key, pk, value, stored);
      } catch (err) {
        // Another upgrader (a second caller of this sweep) got to this key first.
        if (isNotFound(err) || isConflict(err) || isPreconditionFailed(err)) continue;
        throw err;
      }
      count += 1;
    }
    return { count, done: page.continuation === undefined && page.entities.length < limit };
  }

  /** One key of the upgrade: v1 row out, v2 metadata and version 1 in, one transaction. */
  private async upgradeKey(client: TableClient, mount: KvMount, key: string, pk: string, value: Buffer, stored: StoredMeta | undefined): Promise<void> {
    const deleteV1: TransactionAction = ['delete', { partitionKey: pk, rowKey: V1_ROW }];
    if (stored && !stored.meta.tomb) {
      // A v2 write reached this key during the upgrade: it is newer than the v1 value.
      await client.submitTransaction([deleteV1]);
      return;
    }
    const now = vaultTime(new Date(this.now()));
    const by = JSON.stringify({ actor: 'kv_upgrade', operation: 'upgrade' } satisfies Attribution);
    // Vault's upgrade adds version 1 with max_versions 1 in effect, so oldest_version is 1 at once.
    const meta: Meta = { current: 1, oldest: 1, low: 1, created: now, updated: now, maxVersions: 0, casRequired: false, dva: 0, lastBy: by, tomb: false };
    const sealed = await this.options.sealer.seal(value, versionAad(mount.uuid, key, 1));
    await client.submitTransaction([
      deleteV1,
      stored ? ['update', this.metaEntity(pk, meta), 'Replace', { etag: stored.etag }] : ['create', this.metaEntity(pk, meta)],
      ['create', this.versionEntity(pk, { ver: 1, created: now, deletion: '', destroyed: false, createdBy: by, deletedBy: '' }, sealed)],
    ]);
  }

  /**
   * Deletes every row of the mount (secret-engine disable): paged, up to `limit` rows per call;
   * call again until `done`. Idempotent and resumable: it always deletes whatever is left.
   */
  async purgeMount(mount: KvMount, options: { limit?: number } = {}): Promise<MountSweep> {
    const client = await this.options.table();
    const limit = options.limit ?? 1000;
    const filter = `PartitionKey ge '${mountRangeStart(mount.uuid)}' and PartitionKey lt '${mountRangeEnd(mount.uuid)}'`;
    const page = await firstPage(client, filter, ['PartitionKey', 'RowKey'], limit);
    const byPartition = new Map<string, string[]>();
    for (const entity of page.entities) {
      const rows = byPartition.get(entity.partitionKey ?? '') ?? [];
      rows.push(entity.rowKey ?? '');
      byPartition.set(entity.partitionKey ?? '', rows);
    }
    for (const [partitionKey, rows] of byPartition) {
      for (let i = 0; i < rows.length; i += BATCH) {
        const chunk = rows.slice(i, i + BATCH);
        try {
          await client.submitTransaction(chunk.map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }]));
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // Someone deleted one of them meanwhile (another purge): delete the rest one by one.
          for (const rowKey of chunk) {
            await client.deleteEntity(partitionKey, rowKey).catch((e: unknown) => {
              if (!isNotFound(e)) throw e;
            });
          }
        }
      }
    }
    return { count: page.entities.length, done: page.continuation === undefined && page.entities.length < limit };
  }

  // ---------------------------------------------------------------- internals

  private listing(mount: KvMount): Listing {
    return new Listing(mount.uuid, {
      table: this.options.table,
      now: this.now,
      keyLive: async (segments) => {
        const client = await this.options.table();
        const pk = keyPartition(mount.uuid, segments.join('/'));
        const rows = client.listEntities<{ tomb?: boolean }>({
          queryOptions: { filter: odata`PartitionKey eq ${pk} and (RowKey eq ${METADATA_ROW} or RowKey eq ${V1_ROW})`, select: ['RowKey', 'tomb'] },
        });
        for await (const row of rows) {
          if (row.rowKey === V1_ROW || row.tomb !== true) return true;
        }
        return false;
      },
    });
  }

  private async readMeta(mount: KvMount, key: string): Promise<StoredMeta | undefined> {
    const client = await this.options.table();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, keyPartition(mount.uuid, key), METADATA_ROW);
    if (!entity) return undefined;
    return { meta: parse(metaSchema, entity, 'KV metadata'), etag: entity.etag };
  }

  /**
   * The metadata row and, unless `newestVersion` is 'none', the newest version row: the first two
   * rows from `m` (versions sort newest first), one request; the value's chunks only for 'value'.
   */
  private async readKeyState(mount: KvMount, key: string, newestVersion: NewestVersion): Promise<KeyState> {
    if (newestVersion === 'none') return { stored: await this.readMeta(mount, key), newest: undefined };
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    const select = newestVersion === 'columns' ? ROW_COLUMNS_WITHOUT_VALUE : undefined;
    let stored: StoredMeta | undefined;
    let newest: Entity | undefined;
    const pages = client
      .listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${pk} and RowKey ge ${METADATA_ROW}`, select } })
      .byPage({ maxPageSize: 2 });
    for await (const page of pages) {
      for (const entity of page) {
        if (entity.rowKey === METADATA_ROW) stored = { meta: parse(metaSchema, entity, 'KV metadata'), etag: entity.etag };
        else if (!newest && versionOfRow(entity.rowKey ?? '') !== undefined) newest = entity;
      }
      // `m` sorts first, so a page with rows but no `m` means no key; a key without versions has no second row to wait for.
      if (page.length > 0 && (newest !== undefined || stored === undefined || stored.meta.current === 0)) break;
    }
    // The query is not a snapshot: a writer committing between the two rows makes the version row
    // newer than the `m` read. Answer consistently with `m`.
    if (stored && newest && versionOfRow(newest.rowKey ?? '') !== stored.meta.current) {
      newest = stored.meta.current === 0 ? undefined : await getEntityOrUndefined<Record<string, unknown>>(client, pk, versionRow(stored.meta.current), select);
    }
    return { stored, newest };
  }

  /** The version a read asks for, and its metadata: absent (bare 404), gone (404 with body) or found. */
  private async readVersion(
    mount: KvMount,
    key: string,
    version: number,
  ): Promise<{ kind: 'absent' } | { kind: 'gone' | 'found'; metadata: VersionMetadata; row: Entity }> {
    keySegments(key);
    let stored: StoredMeta | undefined;
    let row: Entity | undefined;
    if (version > 0) {
      const client = await this.options.table();
      const pk = keyPartition(mount.uuid, key);
      [stored, row] = await Promise.all([this.readMeta(mount, key), getEntityOrUndefined<Record<string, unknown>>(client, pk, versionRow(version))]);
    } else {
      ({ stored, newest: row } = await this.readKeyState(mount, key, 'value'));
    }
    const meta = live(stored)?.meta;
    if (!meta || !row) return { kind: 'absent' };
    const parsed = parseVersionRow(row);
    if (!isKept(meta, parsed.ver)) return { kind: 'absent' };
    const metadata = await this.versionMetadata(mount, key, meta, parsed);
    const gone = parsed.destroyed || isDeletedAt(timeMs(parsed.deletion), this.now());
    return { kind: gone ? 'gone' : 'found', metadata, row };
  }

  private async versionMetadata(mount: KvMount, key: string, meta: Meta, row: VersionRow): Promise<VersionMetadata> {
    return {
      created_time: row.created,
      custom_metadata: await this.openCustomMetadata(mount, key, meta),
      deletion_time: row.deletion,
      destroyed: row.destroyed,
      version: row.ver,
    };
  }

  /**
   * Writes a new version. For a patch, the key must exist (else a bare 404, before CAS, as Vault) and
   * `plan` sees its current value; a write's `plan` just returns the new JSON. Retries lost races; CAS
   * is checked on every attempt against what that attempt read, so of concurrent CAS writers exactly
   * one succeeds and every version number is used once.
   */
  private async commitVersion(
    mount: KvMount,
    key: string,
    actor: Actor,
    kind: 'write' | 'patch',
    cas: number | undefined,
    plan: (state: KeyState, meta: Meta) => Promise<{ early: PatchResult } | { json: Buffer }> | { early: PatchResult } | { json: Buffer },
    probe?: KeyProbe,
  ): Promise<PatchResult> {
    const segments = keySegments(key);
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    // A write starts from its existence check's read when it had one (a patch needs the newest
    // version too); the mount config (reused for a second) and the key are read together otherwise.
    const firstRead: Promise<KeyState> =
      probe && kind === 'write' ? Promise.resolve({ stored: probe.stored, newest: undefined }) : this.readKeyState(mount, key, kind === 'patch' ? 'value' : 'none');
    const [config, firstState] = await Promise.all([this.configForWrite(mount), firstRead]);
    let announced = false;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (attempt > 1) await pauseBeforeRetry(Math.min(attempt - 1, 10));
      const state = attempt === 1 ? firstState : await this.readKeyState(mount, key, kind === 'patch' ? 'value' : 'none');
      const stored = live(state.stored);
      if (kind === 'patch' && !stored) return { kind: 'absent' };
      const meta: Meta = stored?.meta ?? freshMeta(vaultTime(new Date(this.now())));
      const casProblem = casError(cas, meta.current, config.casRequired, meta.casRequired);
      if (casProblem) throw badRequest(casProblem);
      const step = await plan(state, meta);
      if ('early' in step) return step.early;
      // Vault's attribution names the request's operation: create or update (from the existence check), or patch.
      const operation = kind === 'patch' ? 'patch' : stored ? 'update' : 'create';
      const nowMs = this.now();
      const created = vaultTime(new Date(nowMs));
      const added = addVersion(meta, effectiveMaxVersions(meta.maxVersions, config.maxVersions));
      const until = deletionTime(nowMs, config.dva, meta.dva);
      const by = JSON.stringify(attribution(actor, operation));
      const row: VersionRow = { ver: added.version, created, deletion: until === undefined ? '' : vaultTime(new Date(until)), destroyed: false, createdBy: by, deletedBy: '' };
      const sealed = await this.options.sealer.seal(step.json, versionAad(mount.uuid, key, added.version));
      // Pruned rows go in the same transaction, up to what it holds; the rest right after (or on the next write).
      const low = meta.low === 0 ? added.version : meta.low;
      const pruneEnd = Math.min(added.oldest, low + BATCH - 3);
      const next: Meta = {
        ...meta,
        current: added.version,
        oldest: added.oldest,
        low: Math.max(low, pruneEnd),
        updated: created,
        created: meta.current === 0 && !stored ? created : meta.created,
        lastBy: by,
        tomb: false,
      };
      const actions: TransactionAction[] = [
        state.stored ? ['update', this.metaEntity(pk, next), 'Replace', { etag: state.stored.etag }] : ['create', this.metaEntity(pk, next)],
        ['create', this.versionEntity(pk, row, sealed)],
      ];
      for (let v = low; v < pruneEnd; v++) actions.push(['delete', { partitionKey: pk, rowKey: versionRow(v) }]);
      const isNew = !stored;
      if (isNew && !announced) {
        await this.listing(mount).announce(segments);
        announced = true;
      }
      let etag: string | undefined;
      try {
        const response = await client.submitTransaction(actions);
        etag = response.getResponseForEntity(METADATA_ROW)?.etag;
      } catch (err) {
        // Another writer took this version number (or changed the key): read again.
        if (isPreconditionFailed(err) || isConflict(err) || isNotFound(err)) continue;
        throw err;
      }
      if (isNew) await this.listing(mount).confirm(segments);
      const warnings: string[] = [];
      if (next.low < next.oldest) {
        const problem = await this.pruneRest(mount, key, next, etag).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
        if (problem) warnings.push(`${CLEANUP_WARNING}${problem}`);
      }
      return { kind: 'written', data: await this.versionMetadata(mount, key, next, row), warnings };
    }
    throw conflict('the secret was changed by concurrent requests; try again');
  }

  /** Deletes the version rows still below `oldest` after a write that could not prune them all in its transaction. */
  private async pruneRest(mount: KvMount, key: string, after: Meta, etagAfter: string | undefined): Promise<string | undefined> {
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    let meta = after;
    let etag = etagAfter ?? (await this.readMeta(mount, key))?.etag;
    while (meta.low < meta.oldest && etag) {
      const end = Math.min(meta.oldest, meta.low + BATCH - 1);
      const next: Meta = { ...meta, low: end };
      const actions: TransactionAction[] = [['update', this.metaEntity(pk, next), 'Replace', { etag }]];
      for (let v = meta.low; v < end; v++) actions.push(['delete', { partitionKey: pk, rowKey: versionRow(v) }]);
      try {
        const response = await client.submitTransaction(actions);
        etag = response.getResponseForEntity(METADATA_ROW)?.etag ?? (await this.readMeta(mount, key))?.etag;
      } catch (err) {
        // The key changed meanwhile: the next write carries on from its `low`.
        if (isPreconditionFailed(err)) return undefined;
        throw err;
      }
      meta = next;
    }
    return undefined;
  }

  /**
   * Changes versions (delete, undelete, destroy): reads the key and its versions' metadata, and writes
   * every change with `m` under its ETag, up to 99 versions per transaction.
   */
  private async changeVersions(
    mount: KvMount,
    key: string,
    versions: readonly number[],
    lastBy: string | undefined,
    change: (row: VersionRow, nowMs: number, meta: Meta) => { mode: 'Merge' | 'Replace'; props: Record<string, unknown> } | undefined,
  ): Promise<void> {
    keySegments(key);
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    await this.retry(async () => {
      const stored = live(await this.readMeta(mount, key));
      if (!stored) return true;
      const wanted = new Set(versions.filter((v) => isKept(stored.meta, v)));
      const rows = wanted.size === 0 ? [] : await this.versionRows(client, pk, stored.meta);
      const nowMs = this.now();
      const changes: TransactionAction[] = [];
      for (const row of rows) {
        if (!wanted.has(row.ver)) continue;
        const update = change(row, nowMs, stored.meta);
        if (update) changes.push(['update', { partitionKey: pk, rowKey: versionRow(row.ver), ...update.props }, update.mode]);
      }
      const meta: Meta = lastBy === undefined ? stored.meta : { ...stored.meta, lastBy };
      if (changes.length === 0 && lastBy === undefined) return true;
      let etag = stored.etag;
      let first = true;
      for (let i = 0; i < changes.length || first; i += BATCH - 1) {
        first = false;
        const response = await client.submitTransaction([['update', this.metaEntity(pk, meta), 'Replace', { etag }], ...changes.slice(i, i + BATCH - 1)]);
        etag = response.getResponseForEntity(METADATA_ROW)?.etag ?? (await this.readMeta(mount, key))?.etag ?? '';
      }
      return true;
    }, 'the secret was changed by concurrent requests; try again');
  }

  /** The metadata of every kept version (no values). */
  private async versionRows(client: TableClient, pk: string, meta: Meta): Promise<VersionRow[]> {
    const rows: VersionRow[] = [];
    const query = client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${pk} and RowKey gt ${METADATA_ROW}`, select: ['RowKey', ...VERSION_COLUMNS] },
    });
    for await (const entity of query) {
      if (versionOfRow(entity.rowKey ?? '') === undefined) continue;
      const row = parseVersionRow(entity);
      if (isKept(meta, row.ver)) rows.push(row);
    }
    return rows;
  }

  /**
   * Creates (`mayCreate`) or changes a key's metadata under its ETag. A new key is announced in its
   * folder listing first and confirmed after. Returns false when the key does not exist and may not be created.
   * The first attempt starts from `probe` when the request's existence check read the row.
   */
  private async changeMetadata(
    mount: KvMount,
    key: string,
    segments: readonly string[],
    mayCreate: boolean,
    apply: (meta: Meta) => Promise<Meta>,
    probe?: KeyProbe,
  ): Promise<boolean> {
    const client = await this.options.table();
    const pk = keyPartition(mount.uuid, key);
    let announced = false;
    let known = probe;
    return this.retry(async () => {
      const stored = known ? known.stored : await this.readMeta(mount, key);
      known = undefined;
      const existing = live(stored);
      if (!existing && !mayCreate) return false;
      const next = await apply(existing?.meta ?? freshMeta(vaultTime(new Date(this.now()))));
      if (!existing && !announced) {
        await this.listing(mount).announce(segments);
        announced = true;
      }
      const entity = this.metaEntity(pk, next);
      if (stored) await client.updateEntity(entity, 'Replace', { etag: stored.etag });
      else await client.createEntity(entity);
      if (!existing) await this.listing(mount).confirm(segments);
      return true;
    }, 'the secret was changed by concurrent requests; try again');
  }

  /** retryLostRaces with the KV engine's budget of attempts (writers of one hot key line up). */
  private retry<T>(attempt: () => Promise<T>, message: string): Promise<T> {
    return retryLostRaces(attempt, message, MAX_ATTEMPTS);
  }

  private metaEntity(pk: string, meta: Meta): Record<string, unknown> & { partitionKey: string; rowKey: string } {
    return {
      partitionKey: pk,
      rowKey: METADATA_ROW,
      current: meta.current,
      oldest: meta.oldest,
      low: meta.low,
      created: meta.created,
      updated: meta.updated,
      maxVersions: dbl(meta.maxVersions),
      casRequired: meta.casRequired,
      dva: dbl(meta.dva),
      ...(meta.cm ? { cm: meta.cm } : {}),
      lastBy: meta.lastBy,
      tomb: meta.tomb,
    };
  }

  private versionEntity(pk: string, row: VersionRow, sealed: Buffer): Record<string, unknown> & { partitionKey: string; rowKey: string } {
    return { partitionKey: pk, rowKey: versionRow(row.ver), ...versionProps(row), ...chunkProperties(sealed) };
  }

  private async openValue(mount: KvMount, key: string, row: Entity): Promise<JsonObject> {
    const parsed = parseVersionRow(row);
    return this.openJson(joinChunks(row), versionAad(mount.uuid, key, parsed.ver));
  }

  private async openJson(sealed: Buffer, aad: string): Promise<JsonObject> {
    const value: unknown = JSON.parse((await this.options.sealer.open(sealed, aad)).toString('utf8'));
    if (!isJsonObject(value)) throw new Error('a stored secret is not a JSON object');
    return value;
  }

  private async sealCustomMetadata(mount: KvMount, key: string, map: Record<string, string>): Promise<Uint8Array | undefined> {
    // Vault stores an empty map as none: reads answer null either way.
    if (Object.keys(map).length === 0) return undefined;
    return new Uint8Array(await this.options.sealer.seal(Buffer.from(JSON.stringify(map), 'utf8'), customMetadataAad(mount.uuid, key)));
  }

  private async openCustomMetadata(mount: KvMount, key: string, meta: Meta): Promise<Record<string, string> | null> {
    if (!meta.cm) return null;
    const opened: unknown = JSON.parse((await this.options.sealer.open(Buffer.from(meta.cm), customMetadataAad(mount.uuid, key))).toString('utf8'));
    // Checked by hand: a schema's record parser would rebuild the object and drop a "__proto__" key.
    if (!isJsonObject(opened)) throw new Error('stored custom metadata is unreadable');
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(opened)) {
      if (typeof v !== 'string') throw new Error('stored custom metadata is unreadable');
      setOwn(out, k, v);
    }
    return out;
  }
}

const CAS_IGNORED_WARNING = '"cas_required" set to false, but is mandated by backend config. This value will be ignored.';

function freshMeta(now: string): Meta {
  return { current: 0, oldest: 0, low: 0, created: now, updated: now, maxVersions: 0, casRequired: false, dva: 0, lastBy: '', tomb: false };
}

function live(stored: StoredMeta | undefined): StoredMeta | undefined {
  return stored && !stored.meta.tomb ? stored : undefined;
}

function hasMetadataField(input: MetadataInput): boolean {
  return input.maxVersions !== undefined || input.casRequired !== undefined || input.deleteVersionAfter !== undefined || input.customMetadata !== undefined;
}

function applyMetadataFields(meta: Meta, input: MetadataInput): Meta {
  return {
    ...meta,
    maxVersions: input.maxVersions === undefined ? meta.maxVersions : toUint32(input.maxVersions),
    casRequired: input.casRequired ?? meta.casRequired,
    dva: input.deleteVersionAfter === undefined ? meta.dva : Math.trunc(input.deleteVersionAfter),
  };
}

function stringsOnly(map: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) if (typeof v === 'string') setOwn(out, k, v);
  return out;
}

function versionProps(row: VersionRow): Record<string, unknown> {
  return { ver: row.ver, created: row.created, deletion: row.deletion, destroyed: row.destroyed, createdBy: row.createdBy, deletedBy: row.deletedBy };
}

function parseVersionRow(entity: Readonly<Record<string, unknown>>): VersionRow {
  return parse(versionSchema, entity, 'KV version');
}

function attribution(actor: Actor, operation: string): Attribution {
  return {
    ...(actor.actor ? { actor: actor.actor } : {}),
    ...(actor.clientId ? { client_id: actor.clientId } : {}),
    ...(actor.entityId ? { entity_id: actor.entityId } : {}),
    operation,
  };
}

function parseAttribution(text: string): Attribution | null {
  if (text === '') return null;
  const parsed = attributionSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}

function parse<T extends z.ZodType>(schema: T, entity: Readonly<Record<string, unknown>>, what: string): z.output<T> {
  // A query with a projection returns the selected properties a row lacks as null: read them as absent.
  const present = Object.fromEntries(Object.entries(entity).filter(([, value]) => value !== null));
  const parsed = schema.safeParse(present);
  // An unreadable row is a bug or tampering: refuse rather than answer from a guess.
  if (!parsed.success) throw new Error(`stored ${what} row is unreadable`, { cause: parsed.error });
  return parsed.data;
}

async function firstPage(client: TableClient, filter: string, select: string[] | undefined, limit: number): Promise<{ entities: Entity[]; continuation: string | undefined }> {
  const pages = client
    .listEntities<Record<string, unknown>>({ queryOptions: { filter, ...(select ? { select } : {}) } })
    .byPage({ maxPageSize: Math.max(1, Math.min(limit, 1000)) });
  const entities: Entity[] = [];
  let continuation: string | undefined;
  for await (const page of pages) {
    entities.push(...page);
    continuation = page.continuationToken ?? undefined;
    if (entities.length >= limit || continuation === undefined) break;
  }
  return { entities, continuation };
}

/** The app's KV engine over TABLES.kv, sealing with `sealer` (the keyring). */
export function createKvEngine(tables: TableProvider, sealer: Sealer): KvEngine {
  return new KvEngine({ table: () => tables.table(TABLES.kv), sealer });
}
