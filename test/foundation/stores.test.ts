/**
 * The foundation's stores against a real Table service (embedded Azurite, in this process): races
 * that HTTP tests cannot provoke reliably, and bulk paths.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../dev/host/azurite';
import { ConfigStore } from '../../shared/config/store';
import { newMountConfig } from '../../shared/config/types';
import { MountStore } from '../../shared/mounts/store';
import { RoleStore } from '../../shared/roles/store';
import { newRole } from '../../shared/roles/types';
import { createTableProvider, type TableProvider } from '../../shared/storage/tables';
import { VaultError } from '../../shared/vault/errors';

let azurite: EmbeddedAzurite;
let tables: TableProvider;
const KEY = randomBytes(32).toString('base64');

beforeAll(async () => {
  azurite = await startEmbeddedAzurite();
  tables = createTableProvider({
    AzureWebJobsStorage: azurite.connectionString,
    AzureWebJobsStorage__tableServiceUri: undefined,
    AzureWebJobsStorage__accountName: undefined,
    AzureWebJobsStorage__clientId: undefined,
  });
});
afterAll(async () => {
  await azurite?.stop();
});

describe('MountStore', () => {
  it('bootstraps azure and token exactly once when many instances start together', async () => {
    const stores = Array.from({ length: 6 }, () => new MountStore(tables));
    const lists = await Promise.all(stores.map((store) => store.list('auth')));
    for (const list of lists) expect(list.map((m) => m.path)).toEqual(['azure', 'token']);
    const accessors = new Set(lists.map((list) => list[0]?.accessor));
    expect(accessors.size).toBe(1);
  });

  it('lets exactly one of many concurrent enables of a path win', async () => {
    const store = new MountStore(tables);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.enable('auth', 'race', { type: 'azure' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as VaultError).errors).toEqual(['path is already in use at race/']);
    }
  });

  it('does not recreate a disabled azure mount in a new instance', async () => {
    const store = new MountStore(tables);
    const [azure] = await store.list('auth');
    expect(await store.remove('auth', 'azure', azure!.uuid)).toBe(true);
    expect(await new MountStore(tables).get('auth', 'azure')).toBeUndefined();
    await store.enable('auth', 'azure', { type: 'azure' });
  });
});

describe('ConfigStore', () => {
  it('never loses a concurrent update (ETag-guarded read-modify-write)', async () => {
    const store = new ConfigStore(tables, KEY);
    await store.upsert('counter', () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r', maxRetries: 0 }));
    await Promise.all(Array.from({ length: 12 }, () => store.update('counter', (c) => ({ ...c, maxRetries: c.maxRetries + 1 }))));
    expect((await store.read('counter'))?.maxRetries).toBe(12);
  });

  it('answers 409 when it keeps losing the race, and never writes without the ETag', async () => {
    const real = await tables.table('azauthconfigs');
    const seen: Array<string | undefined> = [];
    const losing: TableProvider = {
      table: async () =>
        new Proxy(real, {
          get(target, prop, receiver) {
            if (prop === 'updateEntity') {
              return async (_entity: unknown, _mode: unknown, options?: { etag?: string }) => {
                seen.push(options?.etag);
                throw Object.assign(new Error('precondition failed'), { name: 'RestError', statusCode: 412 });
              };
            }
            return Reflect.get(target, prop, receiver) as unknown;
          },
        }),
    };
    await new ConfigStore(tables, KEY).upsert('contended', () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r' }));
    const store = new ConfigStore(losing, KEY);
    const error = await store.update('contended', (c) => ({ ...c, clientId: 'never' })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).status).toBe(409);
    expect(seen.length).toBeGreaterThan(1);
    for (const etag of seen) expect(etag).toMatch(/^W\/"/);
    expect((await new ConfigStore(tables, KEY).read('contended'))?.clientId).toBe('');
  });

  it('update is a no-op on a mount without config', async () => {
    const store = new ConfigStore(tables, KEY);
    let called = false;
    expect(await store.update('nothing-here', (c) => ((called = true), c))).toBeUndefined();
    expect(called).toBe(false);
    expect(await store.read('nothing-here')).toBeUndefined();
  });

  it('seals client secrets per mount: getClientSecret opens them, a copy in another mount does not open', async () => {
    const store = new ConfigStore(tables, KEY);
    const sealed = store.sealClientSecret('a', 'pw-a');
    await store.upsert('a', () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r', clientSecretSealed: sealed }));
    expect(await store.getClientSecret('a')).toBe('pw-a');
    await store.upsert('b', () => ({ ...newMountConfig(new Date()), tenantId: 't', resource: 'r', clientSecretSealed: sealed }));
    await expect(store.getClientSecret('b')).rejects.toThrow(/cannot be decrypted/);
    expect(await new ConfigStore(tables, undefined).read('a')).toBeDefined();
    expect(() => new ConfigStore(tables, undefined).sealClientSecret('a', 'x')).toThrow(/AZAUTH_ENCRYPTION_KEY/);
    await expect(new ConfigStore(tables, randomBytes(32).toString('base64')).getClientSecret('a')).rejects.toThrow(/cannot be decrypted/);
  });
});

describe('RoleStore', () => {
  it('never loses a concurrent change', async () => {
    const store = new RoleStore(tables);
    await store.upsert('m1', 'r', () => ({ role: { ...newRole('r'), tokenNumUses: 0 } }));
    await Promise.all(
      Array.from({ length: 10 }, () => store.upsert('m1', 'r', (current) => ({ role: { ...(current ?? newRole('r')), tokenNumUses: (current?.tokenNumUses ?? 0) + 1 } }))),
    );
    expect((await store.read('m1', 'r'))?.tokenNumUses).toBe(10);
  });

  it('deletes every role of a mount, beyond one batch of 100, and no other mount\'s', async () => {
    const store = new RoleStore(tables);
    const names = Array.from({ length: 130 }, (_, i) => `role-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((name) => store.upsert('bulk', name, () => ({ role: newRole(name) }))));
    }
    await store.upsert('other', 'keep', () => ({ role: newRole('keep') }));
    expect(await store.list('bulk')).toEqual(names);
    expect(await store.deleteAll('bulk')).toBe(130);
    expect(await store.list('bulk')).toEqual([]);
    expect(await store.list('other')).toEqual(['keep']);
  });

  it('escapes mount and role names into keys', async () => {
    const store = new RoleStore(tables);
    await store.upsert('we/ird#m?', 'na me', () => ({ role: newRole('na me') }));
    expect(await store.list('we/ird#m?')).toEqual(['na me']);
  });
});
