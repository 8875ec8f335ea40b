/**
 * The durable progress of a mount's root rotation: one entity in `TABLES.state` (partition = escaped
 * mount path, row `rotation`), replacing Vault's in-memory "swap pending" flag and its write-ahead log.
 * Every change is conditional on the ETag the writer read, so two writers never both win.
 *
 * Phases:
 *   idle      no rotation in progress (keeps the outcome of the last one)
 *   adding    intent recorded (display name chosen) before addPassword: a password by that name may
 *             or may not exist in Entra; the next run removes it and returns to idle
 *   pending   the new password exists and its secret is stored sealed here; after the swap delay it
 *             is installed in the config
 *   swapping  the config uses the new secret; the password it replaced is still to be removed
 */
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { TABLES, getEntityOrUndefined, isConflict, isNotFound, isPreconditionFailed, type TableProvider } from '../storage/tables';
import { decodeKey, encodeKey } from '../storage/keys';

export type RotationPhase = 'idle' | 'adding' | 'pending' | 'swapping';
export type RotationTrigger = 'manual' | 'scheduled';

const text = z.string().default('');

export const rotationStateSchema = z.object({
  phase: z.enum(['idle', 'adding', 'pending', 'swapping']).default('idle'),
  /** Of the rotation in progress: "" when idle. */
  rotationId: text,
  trigger: z.enum(['manual', 'scheduled', '']).default(''),
  startedAt: text,
  /** Who the rotation acts for, captured at its start so a later config change is noticed. */
  tenantId: text,
  clientId: text,
  environment: text,
  applicationObjectId: text,
  /** `azauth-<rotationId>`: how a password added but never recorded is found again. */
  displayName: text,
  /** Entra key id of the password the rotation replaces; "" when it could not be told (see engine). */
  replacedKeyId: text,
  /** SHA-256 digest of the secret being replaced, to notice an operator writing a new one meanwhile. */
  replacedSecretDigest: text,
  newKeyId: text,
  /** The new secret, AES-GCM sealed to this mount and field. */
  newSecretSealed: text,
  newSecretDigest: text,
  newSecretCreatedAt: text,
  newSecretExpiresAt: text,
  /** Exclusive right to act on this rotation until `leaseUntil` (RFC 3339); "" = free. */
  leaseOwner: text,
  leaseUntil: text,
  /** Outcome of the last rotation that ended (rotated, undone or abandoned). */
  lastRotationId: text,
  lastRotationAt: text,
  lastOutcome: z.enum(['rotated', 'undone', 'abandoned', '']).default(''),
  lastError: text,
  lastErrorAt: text,
  /** Last time the timer tried a scheduled rotation: failed attempts back off from it. */
  lastScheduledAttemptAt: text,
});

export type RotationState = z.output<typeof rotationStateSchema>;

export const IDLE_STATE: RotationState = rotationStateSchema.parse({});

export interface StoredRotationState {
  readonly state: RotationState;
  /** Undefined while no entity exists yet: the first write creates it. */
  readonly etag: string | undefined;
}

/** Another writer changed the entity since it was read: the caller's view is stale. */
export class RotationRaceLost extends Error {
  constructor() {
    super('the rotation state was changed by someone else');
    this.name = 'RotationRaceLost';
  }
}

export function isRaceLost(err: unknown): err is RotationRaceLost {
  return err instanceof RotationRaceLost;
}

export interface RotationStateStore {
  read(mount: string): Promise<StoredRotationState>;
  /** Creates (etag undefined) or replaces (etag given) the entity; throws RotationRaceLost on a lost race. */
  write(mount: string, state: RotationState, etag: string | undefined): Promise<string>;
  /** Mounts whose rotation is not idle: the timer finishes them even if their config is gone. */
  listInProgress(): Promise<string[]>;
  /** Deletes the entity if it is still at `etag` (absent is fine); throws RotationRaceLost if it changed. */
  remove(mount: string, etag: string): Promise<void>;
}

const ROW = 'rotation';

export class TableRotationStateStore implements RotationStateStore {
  constructor(private readonly tables: TableProvider) {}

  async read(mount: string): Promise<StoredRotationState> {
    const client = await this.client();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, encodeKey(mount), ROW);
    if (!entity) return { state: IDLE_STATE, etag: undefined };
    const parsed = rotationStateSchema.safeParse(entity);
    // An unreadable entity is a bug or tampering; refusing is safer than acting on a guess.
    if (!parsed.success) throw new Error(`rotation state of mount ${JSON.stringify(mount)} is unreadable`, { cause: parsed.error });
    return { state: parsed.data, etag: entity.etag };
  }

  async write(mount: string, state: RotationState, etag: string | undefined): Promise<string> {
    const client = await this.client();
    const entity = { partitionKey: encodeKey(mount), rowKey: ROW, ...state };
    try {
      const response = etag === undefined ? await client.createEntity(entity) : await client.updateEntity(entity, 'Replace', { etag });
      if (!response.etag) throw new Error('table storage returned no ETag');
      return response.etag;
    } catch (err) {
      if (isConflict(err) || isPreconditionFailed(err) || (etag !== undefined && isNotFound(err))) throw new RotationRaceLost();
      throw err;
    }
  }

  async listInProgress(): Promise<string[]> {
    const client = await this.client();
    const mounts: string[] = [];
    for await (const entity of client.listEntities<{ phase?: string }>({
      queryOptions: { filter: `RowKey eq '${ROW}' and phase ne 'idle'`, select: ['PartitionKey', 'phase'] },
    })) {
      if (entity.partitionKey) mounts.push(decodeKey(entity.partitionKey));
    }
    return mounts;
  }

  async remove(mount: string, etag: string): Promise<void> {
    const client = await this.client();
    try {
      await client.deleteEntity(encodeKey(mount), ROW, { etag });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isPreconditionFailed(err)) throw new RotationRaceLost();
      throw err;
    }
  }

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.state);
  }
}
