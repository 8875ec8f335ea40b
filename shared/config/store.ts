/**
 * ConfigStore: one entity per mount in `TABLES.configs` (partition = escaped mount path, row
 * `config`). Every change is a read-modify-write guarded by the entity's ETag and retried on a lost
 * race, so concurrent writers (an operator and the rotation timer) never overwrite each other.
 */
import type { TableClient } from '@azure/data-tables';
import { EncryptionKey, requireEncryptionKey, type RootKeySource } from '../crypto/secretbox';
import { TABLES, getEntityOrUndefined, isConflict, isNotFound, isPreconditionFailed, type TableProvider } from '../storage/tables';
import { MAX_OPTIMISTIC_ATTEMPTS, pauseBeforeRetry } from '../storage/optimistic';
import { encodeKey } from '../storage/keys';
import { VaultError, conflict } from '../vault/errors';
import { mountConfigEntitySchema, type MountConfig } from './types';

const ROW = 'config';

export interface StoredConfig {
  readonly config: MountConfig;
  readonly etag: string;
}

/** Returns the next config, or undefined to leave the stored one as it is. */
export type ConfigMutation<C> = (current: C) => MountConfig | undefined;

export class ConfigStore {
  private readonly key: EncryptionKey | undefined;

  /** `encryptionKeyBase64`: the root key settings (or one key's base64); without a key, no secret can be stored or opened. */
  constructor(
    private readonly tables: TableProvider,
    private readonly encryptionKeyBase64: RootKeySource,
  ) {
    this.key = EncryptionKey.fromSource(encryptionKeyBase64);
  }

  async get(mount: string): Promise<StoredConfig | undefined> {
    const client = await this.client();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, encodeKey(mount), ROW);
    if (!entity) return undefined;
    const parsed = mountConfigEntitySchema.safeParse(entity);
    if (!parsed.success) throw new VaultError('internal', 'stored config is unreadable', { cause: parsed.error });
    return { config: parsed.data, etag: entity.etag };
  }

  async read(mount: string): Promise<MountConfig | undefined> {
    return (await this.get(mount))?.config;
  }

  /** Creates or changes the config; `mutate` may run more than once (after a lost race) and may throw. */
  async upsert(mount: string, mutate: ConfigMutation<MountConfig | undefined>): Promise<MountConfig | undefined> {
    return this.modify(mount, mutate, true);
  }

  /**
   * Changes an existing config (for rotation: sealed secret, key id, expiration, last rotation).
   * Undefined when the mount has no config. `mutate` may run more than once and must be pure.
   */
  async update(mount: string, mutate: ConfigMutation<MountConfig>): Promise<MountConfig | undefined> {
    return this.modify(mount, (current) => (current ? mutate(current) : undefined), false);
  }

  /** Removes the mount's config, sealed secret included. Absent is fine. */
  async delete(mount: string): Promise<void> {
    const client = await this.client();
    try {
      await client.deleteEntity(encodeKey(mount), ROW);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Seals a client secret for `mount`; 400 naming AZAUTH_ENCRYPTION_KEY when the key is not set. */
  sealClientSecret(mount: string, plaintext: string): string {
    return requireEncryptionKey(this.encryptionKeyBase64, 'client_secret').seal(plaintext, secretContext(mount));
  }

  /** Opens a sealed client secret of `mount`; "" stays "". */
  openClientSecret(mount: string, sealed: string): string {
    if (sealed === '') return '';
    if (!this.key) throw new VaultError('internal', 'a client secret is stored but AZAUTH_ENCRYPTION_KEY is not set');
    try {
      return this.key.open(sealed, secretContext(mount));
    } catch (err) {
      throw new VaultError('internal', 'the stored client secret cannot be decrypted with AZAUTH_ENCRYPTION_KEY', { cause: err });
    }
  }

  /** The mount's client secret in plain text, or undefined when none is configured. */
  async getClientSecret(mount: string): Promise<string | undefined> {
    const config = await this.read(mount);
    if (!config || config.clientSecretSealed === '') return undefined;
    return this.openClientSecret(mount, config.clientSecretSealed);
  }

  private async modify(
    mount: string,
    mutate: (current: MountConfig | undefined) => MountConfig | undefined,
    mayCreate: boolean,
  ): Promise<MountConfig | undefined> {
    const client = await this.client();
    const partitionKey = encodeKey(mount);
    for (let attempt = 1; attempt <= MAX_OPTIMISTIC_ATTEMPTS; attempt++) {
      if (attempt > 1) await pauseBeforeRetry(attempt - 1);
      const stored = await this.get(mount);
      if (!stored && !mayCreate) return undefined;
      const next = mutate(stored?.config);
      if (!next) return stored?.config;
      const entity = { partitionKey, rowKey: ROW, ...next };
      try {
        if (stored) await client.updateEntity(entity, 'Replace', { etag: stored.etag });
        else await client.createEntity(entity);
        return next;
      } catch (err) {
        // Someone else changed or created it since our read: read again and re-apply the change.
        if (isPreconditionFailed(err) || isConflict(err)) continue;
        if (isNotFound(err) && stored) continue; // deleted meanwhile
        throw err;
      }
    }
    throw conflict('the config was changed by concurrent requests; try again');
  }

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.configs);
  }
}

/** Binds a sealed secret to its mount and field, so a ciphertext copied elsewhere fails to open (also used by the root-key rewrap). */
export function secretContext(mount: string): string {
  return `azauth:config:${mount}:client_secret`;
}
