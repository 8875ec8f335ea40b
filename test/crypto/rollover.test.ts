/**
 * Root-key rollover end to end, against a real Table service: values written under the old root key
 * by the real owners (keyring, server keys, config store, rotation state) read after the rewrap with
 * only the new key configured; nothing needs the retired key; the rewrap is paged, resumable and
 * idempotent, and does not overwrite a value an operator changes while it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigStore } from '../../shared/config/store';
import { newMountConfig } from '../../shared/config/types';
import { Keyring } from '../../shared/crypto/keyring';
import { rewrapRootSealed, rootKeyStatus, type RewrapPage } from '../../shared/system/root-keys';
import { EncryptionKey, type RootKeySettings } from '../../shared/crypto/secretbox';
import { newSecretContext } from '../../shared/rotation/engine';
import { TableRotationStateStore, rotationStateSchema } from '../../shared/rotation/state';
import { TABLES, type TableProvider } from '../../shared/storage/tables';
import { createServerKeys } from '../../shared/tokens/serverKeys';
import { interceptingProvider, newRootKey, startStorage, type Storage } from './support';

let storage: Storage;
beforeAll(async () => {
  storage = await startStorage();
});
afterAll(async () => {
  await storage?.azurite.stop();
});

const OLD = newRootKey();
const NEW = newRootKey();
const onlyOld: RootKeySettings = { AZAUTH_ENCRYPTION_KEY: OLD };
const during: RootKeySettings = { AZAUTH_ENCRYPTION_KEY: OLD, AZAUTH_ENCRYPTION_KEY_NEXT: NEW };
const onlyNew: RootKeySettings = { AZAUTH_ENCRYPTION_KEY: NEW };

const keys = (settings: RootKeySettings): EncryptionKey => {
  const k = EncryptionKey.fromSource(settings);
  if (!k) throw new Error('no key');
  return k;
};
const keyring = (settings: RootKeySettings, tables: TableProvider = storage.tables): Keyring =>
  new Keyring({ table: () => tables.table(TABLES.state), rootKey: () => keys(settings) });

async function rewrapAll(tables: TableProvider, settings: RootKeySettings, pageSize: number): Promise<RewrapPage[]> {
  const pages: RewrapPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await rewrapRootSealed(tables, keys(settings), { cursor, pageSize });
    pages.push(page);
    cursor = page.cursor;
    if (pages.length > 200) throw new Error('rewrap does not end');
  } while (cursor !== undefined);
  return pages;
}

describe('root-key rollover', () => {
  it('moves every root-sealed value under the next key; afterwards only the new key is needed', async () => {
    // 1. Before the rollover: only the old key. Every owner stores something.
    const ring = keyring(onlyOld);
    const kvValue = await ring.seal(Buffer.from('kv secret under term 1'), 'azauth/kv/v2|m|app|1');
    await ring.rotate();
    const kvValue2 = await ring.seal(Buffer.from('kv secret under term 2'), 'azauth/kv/v2|m|app|2');
    const batchKey = await createServerKeys(() => storage.tables.table(TABLES.state), onlyOld).get('batch-token');
    const auditKey = await createServerKeys(() => storage.tables.table(TABLES.state), onlyOld).get('audit-hmac');
    const configs = new ConfigStore(storage.tables, onlyOld);
    for (const mount of ['azure', 'we/ird mount', 'no-secret']) {
      const sealed = mount === 'no-secret' ? '' : configs.sealClientSecret(mount, `pw-${mount}`);
      await configs.upsert(mount, () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r', clientSecretSealed: sealed }));
    }
    const states = new TableRotationStateStore(storage.tables);
    await states.write(
      'azure',
      rotationStateSchema.parse({ phase: 'pending', newSecretSealed: keys(onlyOld).seal('rotated-pw', newSecretContext('azure')) }),
      undefined,
    );
    await states.write('idle-mount', rotationStateSchema.parse({}), undefined);

    // 2. The operator configures the next key beside the current one. Everything still opens,
    //    the status says what is left, and a value written now is sealed under the next key.
    const before = await rootKeyStatus(storage.tables, keys(during));
    const oldCount = before.keys.find((k) => k.setting === 'AZAUTH_ENCRYPTION_KEY')?.values ?? 0;
    // 2+ keyring terms, 2 server keys, 2 client secrets, 1 pending rotation secret.
    expect(oldCount).toBeGreaterThanOrEqual(7);
    expect(before.pending).toBe(oldCount);
    expect(before.retirable).toEqual([]);
    expect(before.unreadable).toEqual([]);
    const duringConfigs = new ConfigStore(storage.tables, during);
    expect(await duringConfigs.getClientSecret('azure')).toBe('pw-azure');
    const writtenDuring = duringConfigs.sealClientSecret('late', 'pw-late');
    await duringConfigs.upsert('late', () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r', clientSecretSealed: writtenDuring }));

    // 3. Rewrap, two rows per call, resuming from each cursor.
    const pages = await rewrapAll(storage.tables, during, 2);
    expect(pages.length).toBeGreaterThan(3);
    expect(pages.reduce((n, p) => n + p.rewrapped, 0)).toBe(oldCount);
    expect(pages.every((p) => p.unreadable.length === 0)).toBe(true);
    const after = await rootKeyStatus(storage.tables, keys(during));
    expect(after.pending).toBe(0);
    expect(after.retirable).toEqual(['AZAUTH_ENCRYPTION_KEY']);
    // Idempotent: running it again rewrites nothing.
    const again = await rewrapAll(storage.tables, during, 100);
    expect(again.reduce((n, p) => n + p.rewrapped, 0)).toBe(0);

    // 4. The operator makes the next key the current one and removes the old: only NEW is configured.
    const fresh = keyring(onlyNew);
    expect((await fresh.open(kvValue, 'azauth/kv/v2|m|app|1')).toString()).toBe('kv secret under term 1');
    expect((await fresh.open(kvValue2, 'azauth/kv/v2|m|app|2')).toString()).toBe('kv secret under term 2');
    expect(await createServerKeys(() => storage.tables.table(TABLES.state), onlyNew).get('batch-token')).toEqual(batchKey);
    expect(await createServerKeys(() => storage.tables.table(TABLES.state), onlyNew).get('audit-hmac')).toEqual(auditKey);
    const newConfigs = new ConfigStore(storage.tables, onlyNew);
    expect(await newConfigs.getClientSecret('azure')).toBe('pw-azure');
    expect(await newConfigs.getClientSecret('we/ird mount')).toBe('pw-we/ird mount');
    expect(await newConfigs.getClientSecret('late')).toBe('pw-late');
    expect(await newConfigs.getClientSecret('no-secret')).toBeUndefined();
    const pending = (await states.read('azure')).state;
    expect(keys(onlyNew).open(pending.newSecretSealed, newSecretContext('azure'))).toBe('rotated-pw');
    const final = await rootKeyStatus(storage.tables, keys(onlyNew));
    expect(final.pending).toBe(0);
    expect(final.keys).toEqual([expect.objectContaining({ setting: 'AZAUTH_ENCRYPTION_KEY', sealing: true, values: oldCount + 1 })]);

    // 5. And nothing still opens with the retired key alone.
    const retired = await rootKeyStatus(storage.tables, keys(onlyOld));
    expect(retired.keys[0]?.values).toBe(0);
    await expect(keyring(onlyOld).open(kvValue, 'azauth/kv/v2|m|app|1')).rejects.toThrow(/does not open/);
    await expect(new ConfigStore(storage.tables, onlyOld).getClientSecret('azure')).rejects.toThrow(/cannot be decrypted/);
  });

  it('does not overwrite a value changed while the rewrap runs, and still moves the new one under the next key', async () => {
    const A = newRootKey();
    const B = newRootKey();
    const configs = new ConfigStore(storage.tables, { AZAUTH_ENCRYPTION_KEY: A });
    await configs.upsert('race', () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r', clientSecretSealed: configs.sealClientSecret('race', 'first') }));
    let raced = false;
    // An operator writes a new secret (under the old key, from an instance not yet restarted) between the
    // rewrap's read and its write.
    const racing = interceptingProvider(storage.tables, async (table, method, args) => {
      const entity = args[0] as { partitionKey?: string } | undefined;
      if (!raced && table === TABLES.configs && method === 'updateEntity' && entity?.partitionKey === 'race') {
        raced = true;
        await configs.update('race', (c) => ({ ...c, clientSecretSealed: configs.sealClientSecret('race', 'second') }));
      }
    });
    const settings = { AZAUTH_ENCRYPTION_KEY: A, AZAUTH_ENCRYPTION_KEY_NEXT: B };
    await rewrapAll(racing, settings, 1000);
    expect(raced).toBe(true);
    expect(await new ConfigStore(storage.tables, { AZAUTH_ENCRYPTION_KEY: B }).getClientSecret('race')).toBe('second');
  });

  it('reports a value no configured key opens, by where it is, and never retires a key while one exists', async () => {
    const stray = new ConfigStore(storage.tables, newRootKey());
    await stray.upsert('stray', () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r', clientSecretSealed: stray.sealClientSecret('stray', 'x') }));
    const settings = { AZAUTH_ENCRYPTION_KEY: newRootKey(), AZAUTH_ENCRYPTION_KEY_NEXT: newRootKey() };
    const status = await rootKeyStatus(storage.tables, keys(settings));
    expect(status.unreadable).toContainEqual({ field: 'auth mount client secret', table: TABLES.configs, partitionKey: 'stray', rowKey: 'config' });
    expect(status.retirable).toEqual([]);
    const pages = await rewrapAll(storage.tables, settings, 1000);
    expect(pages.flatMap((p) => p.unreadable)).toContainEqual(expect.objectContaining({ partitionKey: 'stray' }));
    await new ConfigStore(storage.tables, undefined).delete('stray');
  });
});
