/**
 * Long-lived random keys the server generates for itself (the batch-token key, the audit HMAC key).
 * Each is created once, sealed under AZAUTH_ENCRYPTION_KEY, stored in the state table and cached per
 * process, so every instance and every restart uses the same key.
 *
 * Creation is race-safe: instances that find no key all generate one, but only the first
 * `createEntity` succeeds; the others get 409 and read the winner's key, so no two instances ever
 * hold different keys.
 */
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { newSealedDataKey, openDataKey, requireEncryptionKey, type RootKeySource } from '../crypto/secretbox';
import { LoadOnceCache } from '../storage/load-once';
import { getEntityOrUndefined, isConflict } from '../storage/tables';

export type ServerKeyName = 'batch-token' | 'audit-hmac';

export const SERVER_KEYS_PARTITION = 'server-keys';
const PARTITION = SERVER_KEYS_PARTITION;

/** Binds a sealed server key to its name (also used by the root-key rewrap). */
export function serverKeyContext(name: string): string {
  return `server-key:${name}`;
}
const storedKey = z.object({ sealed: z.string().min(1) });

export interface ServerKeys {
  get(name: ServerKeyName): Promise<Buffer>;
  /** The key if it has already been loaded in this process, without I/O. */
  peek(name: ServerKeyName): Buffer | undefined;
}

export function createServerKeys(stateTable: () => Promise<TableClient>, encryptionKeyBase64: RootKeySource): ServerKeys {
  const load = async (name: ServerKeyName): Promise<Buffer> => {
    const box = requireEncryptionKey(encryptionKeyBase64, `server key "${name}"`);
    const context = serverKeyContext(name);
    const table = await stateTable();
    const open = (entity: unknown): Buffer => {
      const parsed = storedKey.safeParse(entity);
      if (!parsed.success) throw new Error(`stored server key "${name}" is malformed`);
      return openDataKey(box, parsed.data.sealed, context, `stored server key "${name}"`);
    };
    const existing = await getEntityOrUndefined<Record<string, unknown>>(table, PARTITION, name);
    if (existing) return open(existing);
    const fresh = newSealedDataKey(box, context);
    try {
      await table.createEntity({ partitionKey: PARTITION, rowKey: name, sealed: fresh.sealed });
      return fresh.key;
    } catch (err) {
      if (!isConflict(err)) throw err;
      // Another instance won the race: use its key, never ours.
      const winner = await getEntityOrUndefined<Record<string, unknown>>(table, PARTITION, name);
      if (!winner) throw new Error(`server key "${name}" vanished while being created`);
      return open(winner);
    }
  };

  const keys = new LoadOnceCache(load);
  return { get: (name) => keys.get(name), peek: (name) => keys.peek(name) };
}
