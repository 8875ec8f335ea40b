/** A KV engine over an embedded Azurite, sealing with a real keyring. */
import { randomUUID } from 'node:crypto';
import { Keyring } from '../../shared/crypto/keyring';
import { EncryptionKey } from '../../shared/crypto/secretbox';
import { KvEngine } from '../../shared/kv/store';
import type { KvMount } from '../../shared/kv/types';
import { TABLES, type TableProvider } from '../../shared/storage/tables';
import { newRootKey, startStorage, type Storage } from '../crypto/support';

export interface KvFixture {
  readonly storage: Storage;
  readonly keyring: Keyring;
  readonly root: string;
  engine(options?: { tables?: TableProvider; now?: () => number }): KvEngine;
}

export async function startKv(): Promise<KvFixture> {
  const storage = await startStorage();
  const root = newRootKey();
  const keyring = new Keyring({ table: () => storage.tables.table(TABLES.state), rootKey: () => EncryptionKey.fromBase64(root) });
  return {
    storage,
    keyring,
    root,
    engine: (options = {}) => {
      const tables = options.tables ?? storage.tables;
      return new KvEngine({ table: () => tables.table(TABLES.kv), sealer: keyring, ...(options.now ? { now: options.now } : {}) });
    },
  };
}

/** A fresh mount (its own uuid), so tests in one file do not see each other's keys. */
export const newMount = (): KvMount => ({ uuid: randomUUID() });
