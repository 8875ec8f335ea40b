/**
 * KV v2 and v1 semantics against a real Table service: the shapes handlers put in Vault's `data`,
 * the 404 kinds, CAS and cas_required, pruning, delete_version_after, delete/undelete/destroy,
 * metadata, subkeys, listing, v1 passthrough, the v1 → v2 upgrade and the mount purge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvEngine } from '../../shared/kv/store';
import type { KvMount } from '../../shared/kv/types';
import { TABLES } from '../../shared/storage/tables';
import { VaultError } from '../../shared/vault/errors';
import { newMount, startKv, type KvFixture } from './support';

let kv: KvFixture;
let engine: KvEngine;
beforeAll(async () => {
  kv = await startKv();
  engine = kv.engine();
});
afterAll(async () => {
  await kv?.storage.azurite.stop();
});

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

async function vaultError(promise: Promise<unknown>): Promise<VaultError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof VaultError) return err;
    throw err;
  }
  throw new Error('expected a VaultError');
}

async function rowsOf(mount: KvMount): Promise<Array<{ partitionKey: string; rowKey: string }>> {
  const client = await kv.storage.tables.table(TABLES.kv);
  const rows: Array<{ partitionKey: string; rowKey: string }> = [];
  for await (const e of client.listEntities({ queryOptions: { filter: `PartitionKey ge '${mount.uuid}|' and PartitionKey lt '${mount.uuid}}'`, select: ['PartitionKey', 'RowKey'] } })) {
    rows.push({ partitionKey: e.partitionKey ?? '', rowKey: e.rowKey ?? '' });
  }
  return rows;
}

describe('config', () => {
  it('reads defaults, writes only given fields, and disables delete_version_after with a negative', async () => {
    const mount = newMount();
    expect(await engine.getConfig(mount)).toEqual({ cas_required: false, delete_version_after: '0s', max_versions: 0 });
    await engine.writeConfig(mount, { maxVersions: 5 });
    await engine.writeConfig(mount, { casRequired: true, deleteVersionAfter: 3600 });
    expect(await engine.getConfig(mount)).toEqual({ cas_required: true, delete_version_after: '1h0m0s', max_versions: 5 });
    await engine.writeConfig(mount, { deleteVersionAfter: -30 });
    expect((await engine.getConfig(mount)).delete_version_after).toBe('-1s');
    await engine.writeConfig(mount, { deleteVersionAfter: 0, maxVersions: -1 });
    expect(await engine.getConfig(mount)).toEqual({ cas_required: true, delete_version_after: '0s', max_versions: 4294967295 });
    await engine.writeConfig(mount, {});
    expect((await engine.getConfig(mount)).max_versions).toBe(4294967295);
  });
});

describe('data', () => {
  it('writes versions and reads the current one or any kept one, in Vault shapes', async () => {
    const mount = newMount();
    const first = await engine.writeData(mount, 'app/db', { data: { password: 'p1', nested: { a: [1, { b: null }] }, empty: {} } }, { actor: 'token' });
    expect(first.warnings).toEqual([]);
    expect(first.data).toEqual({ created_time: expect.stringMatching(TS), custom_metadata: null, deletion_time: '', destroyed: false, version: 1 });
    const second = await engine.writeData(mount, 'app/db', { data: { password: 'p2' } });
    expect(second.data.version).toBe(2);
    const current = await engine.readData(mount, 'app/db');
    expect(current).toEqual({ kind: 'found', data: { data: { password: 'p2' }, metadata: { ...second.data } } });
    const old = await engine.readData(mount, 'app/db', 1);
    expect(old).toEqual({ kind: 'found', data: { data: { password: 'p1', nested: { a: [1, { b: null }] }, empty: {} }, metadata: first.data } });
    expect(await engine.readData(mount, 'app/db', 3)).toEqual({ kind: 'absent' });
    expect(await engine.readData(mount, 'app/none')).toEqual({ kind: 'absent' });
    expect((await engine.probe(mount, 'app/db')).exists).toBe(true);
    expect((await engine.probe(mount, 'app/none')).exists).toBe(false);
  });

  it('keys with single quotes (OData string delimiters) are written, read, listed and deleted like any other', async () => {
    const mount = newMount();
    await engine.writeData(mount, "it's/o'clock", { data: { q: "'" } });
    await engine.writeData(mount, "it's/o'clock", { data: { q: "''" } });
    expect(await engine.readData(mount, "it's/o'clock")).toMatchObject({ kind: 'found', data: { data: { q: "''" }, metadata: { version: 2 } } });
    expect((await engine.readMetadata(mount, "it's/o'clock"))?.current_version).toBe(2);
    expect(await engine.listKeys(mount, '')).toEqual(["it's/"]);
    expect(await engine.listKeys(mount, "it's")).toEqual(["o'clock"]);
    await engine.deleteLatest(mount, "it's/o'clock");
    expect(await engine.listKeys(mount, "it's", { excludeDeleted: true })).toEqual([]);
    await engine.deleteMetadata(mount, "it's/o'clock");
    expect(await engine.listKeys(mount, "it's")).toEqual([]);
  });

  it('refuses data that is not an object', async () => {
    const mount = newMount();
    for (const data of [undefined, null, 'x', [1], 3]) {
      expect((await vaultError(engine.writeData(mount, 'k', { data }))).errors).toEqual(['no data provided']);
    }
  });

  it('applies CAS and cas_required (mount or key) with Vault texts', async () => {
    const mount = newMount();
    expect((await engine.writeData(mount, 'k', { data: { a: 1 }, cas: 0 })).data.version).toBe(1);
    expect((await vaultError(engine.writeData(mount, 'k', { data: { a: 2 }, cas: 0 }))).errors).toEqual(['check-and-set parameter did not match the current version']);
    expect((await engine.writeData(mount, 'k', { data: { a: 2 }, cas: 1 })).data.version).toBe(2);
    await engine.writeMetadata(mount, 'k', { casRequired: true });
    expect((await vaultError(engine.writeData(mount, 'k', { data: { a: 3 } }))).errors).toEqual(['check-and-set parameter required for this call']);
    expect((await engine.writeData(mount, 'k', { data: { a: 3 }, cas: 2 })).data.version).toBe(3);
    await engine.writeConfig(mount, { casRequired: true });
    expect((await vaultError(engine.writeData(mount, 'other', { data: { a: 1 } }))).errors).toEqual(['check-and-set parameter required for this call']);
    expect((await engine.writeMetadata(mount, 'k', { casRequired: false })).warnings).toEqual([
      '"cas_required" set to false, but is mandated by backend config. This value will be ignored.',
    ]);
  });

  it('prunes beyond max_versions (the larger of key and mount) and moves oldest_version as Vault does', async () => {
    const mount = newMount();
    for (let i = 1; i <= 9; i++) await engine.writeData(mount, 'p', { data: { i } });
    expect((await engine.readMetadata(mount, 'p'))?.oldest_version).toBe(0);
    await engine.writeData(mount, 'p', { data: { i: 10 } });
    expect((await engine.readMetadata(mount, 'p'))?.oldest_version).toBe(1);
    await engine.writeData(mount, 'p', { data: { i: 11 } });
    let meta = await engine.readMetadata(mount, 'p');
    expect(meta?.oldest_version).toBe(2);
    expect(Object.keys(meta?.versions ?? {})).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);
    expect(await engine.readData(mount, 'p', 1)).toEqual({ kind: 'absent' });
    // Lowering max_versions prunes on the next write, several at once.
    await engine.writeMetadata(mount, 'p', { maxVersions: 2 });
    expect(Object.keys((await engine.readMetadata(mount, 'p'))?.versions ?? {})).toHaveLength(10);
    await engine.writeData(mount, 'p', { data: { i: 12 } });
    meta = await engine.readMetadata(mount, 'p');
    expect(meta?.oldest_version).toBe(11);
    expect(Object.keys(meta?.versions ?? {})).toEqual(['11', '12']);
    // The larger of key (2) and mount (4) wins.
    await engine.writeConfig(mount, { maxVersions: 4 });
    for (let i = 13; i <= 16; i++) await engine.writeData(mount, 'p', { data: { i } });
    expect(Object.keys((await engine.readMetadata(mount, 'p'))?.versions ?? {})).toEqual(['13', '14', '15', '16']);
    // Pruned rows are really gone from storage, not just hidden.
    const versionRows = (await rowsOf(mount)).filter((r) => r.partitionKey.endsWith('|k|p') && r.rowKey.startsWith('v'));
    expect(versionRows).toHaveLength(4);
  });

  it('prunes more versions than one transaction holds after max_versions drops from 150 to 1', async () => {
    const mount = newMount();
    await engine.writeMetadata(mount, 'many', { maxVersions: 150 });
    for (let i = 1; i <= 120; i++) await engine.writeData(mount, 'many', { data: { i } });
    await engine.writeMetadata(mount, 'many', { maxVersions: 1 });
    const written = await engine.writeData(mount, 'many', { data: { last: true } });
    expect(written.warnings).toEqual([]);
    const meta = await engine.readMetadata(mount, 'many');
    expect(meta?.current_version).toBe(121);
    expect(meta?.oldest_version).toBe(121);
    expect(Object.keys(meta?.versions ?? {})).toEqual(['121']);
    expect((await rowsOf(mount)).filter((r) => r.rowKey.startsWith('v'))).toHaveLength(1);
  });

  it('sets deletion times from delete_version_after and treats a passed one as deleted (404 with body)', async () => {
    const mount = newMount();
    let clock = Date.now();
    const timed = kv.engine({ now: () => clock });
    await timed.writeConfig(mount, { deleteVersionAfter: 60 });
    const written = await timed.writeData(mount, 'dva', { data: { a: 1 } });
    expect(Date.parse(written.data.deletion_time) - Date.parse(written.data.created_time)).toBe(60_000);
    // A future deletion time reads normally, with the time.
    const before = await timed.readData(mount, 'dva');
    expect(before.kind).toBe('found');
    clock += 61_000;
    const after = await timed.readData(mount, 'dva');
    expect(after.kind).toBe('gone');
    if (after.kind === 'gone') expect(after.data).toEqual({ data: null, metadata: written.data });
    // The key's value, when smaller, wins.
    await timed.writeMetadata(mount, 'dva', { deleteVersionAfter: 10 });
    const second = await timed.writeData(mount, 'dva', { data: { a: 2 } });
    expect(Date.parse(second.data.deletion_time) - Date.parse(second.data.created_time)).toBe(10_000);
    // A negative mount value disables it for every key.
    await timed.writeConfig(mount, { deleteVersionAfter: -1 });
    expect((await timed.writeData(mount, 'dva', { data: { a: 3 } })).data.deletion_time).toBe('');
    // Undelete restarts the clock (mount enabled again with 60 s, key 10 s → 10 s).
    await timed.writeConfig(mount, { deleteVersionAfter: 60 });
    await timed.undeleteVersions(mount, 'dva', [1]);
    const v1 = (await timed.readMetadata(mount, 'dva'))?.versions['1'];
    expect(Date.parse(v1?.deletion_time ?? '') - clock).toBe(10_000);
    expect((await timed.readData(mount, 'dva', 1)).kind).toBe('found');
  });

  it('deletes the latest version, and deletes, undeletes and destroys listed versions', async () => {
    const mount = newMount();
    for (let i = 1; i <= 4; i++) await engine.writeData(mount, 'life', { data: { i } });
    await engine.deleteLatest(mount, 'life', { actor: 'alice', entityId: 'e-1' });
    const gone = await engine.readData(mount, 'life');
    expect(gone.kind).toBe('gone');
    if (gone.kind === 'gone') {
      expect(gone.data.data).toBeNull();
      expect(gone.data.metadata.deletion_time).toMatch(TS);
      expect(gone.data.metadata.version).toBe(4);
    }
    const afterDelete = await engine.readMetadata(mount, 'life');
    expect(afterDelete?.last_updated_by).toEqual({ actor: 'alice', entity_id: 'e-1', operation: 'delete' });
    expect(afterDelete?.versions['4']?.deleted_by).toEqual({ actor: 'alice', entity_id: 'e-1', operation: 'delete' });
    // Deleting again is a no-op; deleting unknown keys too.
    await engine.deleteLatest(mount, 'life');
    await engine.deleteLatest(mount, 'never');

    await engine.deleteVersions(mount, 'life', [1, 2, 2, 99, -3], { actor: 'bob' });
    expect((await engine.readData(mount, 'life', 1)).kind).toBe('gone');
    expect((await engine.readData(mount, 'life', 2)).kind).toBe('gone');
    expect((await engine.readData(mount, 'life', 3)).kind).toBe('found');
    expect((await engine.readMetadata(mount, 'life'))?.last_updated_by).toEqual({ actor: 'bob', operation: 'update' });

    await engine.undeleteVersions(mount, 'life', [1, 4]);
    expect((await engine.readData(mount, 'life', 1)).kind).toBe('found');
    expect((await engine.readData(mount, 'life')).kind).toBe('found');
    const undeleted = await engine.readMetadata(mount, 'life');
    expect(undeleted?.versions['1']).toMatchObject({ deletion_time: '', deleted_by: null });
    expect(undeleted?.last_updated_by).toEqual({ operation: 'undelete' });

    await engine.destroyVersions(mount, 'life', [2, 3]);
    const destroyed = await engine.readData(mount, 'life', 3);
    expect(destroyed.kind).toBe('gone');
    if (destroyed.kind === 'gone') expect(destroyed.data.metadata.destroyed).toBe(true);
    // Destroyed values are erased from storage, not just flagged; undelete leaves them destroyed.
    const client = await kv.storage.tables.table(TABLES.kv);
    const row = await client.getEntity<Record<string, unknown>>(`${mount.uuid}|k|life`, 'v9999999996');
    expect(Object.keys(row).filter((k) => /^p\d+$/.test(k) || k === 'n')).toEqual([]);
    await engine.undeleteVersions(mount, 'life', [3]);
    expect((await engine.readData(mount, 'life', 3)).kind).toBe('gone');

    for (const op of [() => engine.deleteVersions(mount, 'life', []), () => engine.undeleteVersions(mount, 'life', [])]) {
      expect((await vaultError(op())).errors).toEqual(['No version number provided']);
    }
    expect((await vaultError(engine.destroyVersions(mount, 'life', []))).errors).toEqual(['no version number provided']);
    // Unknown key: no-op.
    await engine.deleteVersions(mount, 'nobody', [1]);
    await engine.destroyVersions(mount, 'nobody', [1]);
    expect(await engine.readMetadata(mount, 'nobody')).toBeUndefined();
  });

  it('writes a new version over a deleted or destroyed current one', async () => {
    const mount = newMount();
    await engine.writeData(mount, 'again', { data: { a: 1 } });
    await engine.destroyVersions(mount, 'again', [1]);
    const next = await engine.writeData(mount, 'again', { data: { a: 2 } });
    expect(next.data.version).toBe(2);
  });

  it('patches the current version with a merge patch; absent and gone keys answer their 404s', async () => {
    const mount = newMount();
    expect(await engine.patchData(mount, 'pt', { data: { a: 1 } })).toEqual({ kind: 'absent' });
    await engine.writeData(mount, 'pt', { data: { a: 'b', c: { d: 'e', f: 'g' }, keep: [1] } });
    const patched = await engine.patchData(mount, 'pt', { data: { a: 'z', c: { f: null }, add: 1 } }, { actor: 'p' });
    expect(patched).toMatchObject({ kind: 'written', data: { version: 2 }, warnings: [] });
    expect(await engine.readData(mount, 'pt')).toMatchObject({ kind: 'found', data: { data: { a: 'z', c: { d: 'e' }, keep: [1], add: 1 } } });
    expect((await engine.readMetadata(mount, 'pt'))?.versions['2']?.created_by).toEqual({ actor: 'p', operation: 'patch' });
    expect((await vaultError(engine.patchData(mount, 'pt', { data: { a: 1 }, cas: 1 }))).errors).toEqual([
      'check-and-set parameter did not match the current version',
    ]);
    expect((await engine.patchData(mount, 'pt', { data: { a: 1 }, cas: 2 })).kind).toBe('written');
    await engine.deleteLatest(mount, 'pt');
    const gone = await engine.patchData(mount, 'pt', { data: { a: 2 } });
    expect(gone.kind).toBe('gone');
    if (gone.kind === 'gone') expect(gone.data).toMatchObject({ version: 3, destroyed: false, custom_metadata: null, deletion_time: expect.stringMatching(TS) });
    // A key with metadata but no version: bare 404.
    await engine.writeMetadata(mount, 'meta-only', { maxVersions: 3 });
    expect(await engine.patchData(mount, 'meta-only', { data: { a: 1 } })).toEqual({ kind: 'absent' });
  });

  it('reads subkeys with depth, and the 404 kinds', async () => {
    const mount = newMount();
    await engine.writeData(mount, 'sk', { data: { a: { b: { c: 'secret' } }, d: 'x' } });
    const read = await engine.readSubkeys(mount, 'sk', { depth: 2 });
    expect(read).toEqual({ kind: 'found', data: { metadata: expect.objectContaining({ version: 1 }), subkeys: { a: { b: null }, d: null } } });
    expect(JSON.stringify(read)).not.toContain('secret');
    expect(await engine.readSubkeys(mount, 'none')).toEqual({ kind: 'absent' });
    await engine.deleteLatest(mount, 'sk');
    expect(await engine.readSubkeys(mount, 'sk')).toMatchObject({ kind: 'gone', data: { subkeys: null } });
  });
});

describe('metadata', () => {
  it('creates metadata without versions, changes only given fields, and seals custom metadata', async () => {
    const mount = newMount();
    expect(await engine.writeMetadata(mount, 'noop', {})).toEqual({ warnings: [] });
    expect(await engine.readMetadata(mount, 'noop')).toBeUndefined();
    await engine.writeMetadata(mount, 'm', { maxVersions: 3, customMetadata: { owner: 'team-a', n: 5 } });
    const meta = await engine.readMetadata(mount, 'm');
    expect(meta).toEqual({
      cas_required: false,
      created_time: expect.stringMatching(TS),
      current_version: 0,
      custom_metadata: { owner: 'team-a', n: '5' },
      delete_version_after: '0s',
      last_updated_by: null,
      max_versions: 3,
      oldest_version: 0,
      updated_time: meta?.created_time,
      versions: {},
    });
    await engine.writeMetadata(mount, 'm', { deleteVersionAfter: 90 });
    expect(await engine.readMetadata(mount, 'm')).toMatchObject({ max_versions: 3, delete_version_after: '1m30s', custom_metadata: { owner: 'team-a', n: '5' } });
    await engine.writeMetadata(mount, 'm', { customMetadata: { only: 'this' } });
    expect((await engine.readMetadata(mount, 'm'))?.custom_metadata).toEqual({ only: 'this' });
    const written = await engine.writeData(mount, 'm', { data: { v: 1 } });
    expect(written.data.custom_metadata).toEqual({ only: 'this' });
    const after = await engine.readMetadata(mount, 'm');
    expect(after?.created_time).toBe(meta?.created_time);
    expect(after?.updated_time).toBe(written.data.created_time);
    await engine.writeMetadata(mount, 'm', { customMetadata: {} });
    expect((await engine.readMetadata(mount, 'm'))?.custom_metadata).toBeNull();
    expect((await vaultError(engine.writeMetadata(mount, 'm', { customMetadata: { k: '' } }))).errors[0]).toMatch(/length of value for key "k" is 0/);
  });

  it('patches metadata: merges custom metadata (null removes), 404 for an unknown key, limits on the result', async () => {
    const mount = newMount();
    expect(await engine.patchMetadata(mount, 'unknown', { maxVersions: 1 })).toEqual({ kind: 'absent' });
    await engine.writeMetadata(mount, 'pm', { customMetadata: { a: '1', b: '2' }, casRequired: true });
    expect(await engine.patchMetadata(mount, 'pm', { customMetadata: { a: null, c: '3' }, maxVersions: 7 })).toEqual({ kind: 'written', warnings: [] });
    expect(await engine.readMetadata(mount, 'pm')).toMatchObject({ custom_metadata: { b: '2', c: '3' }, max_versions: 7, cas_required: true });
    const full = Object.fromEntries(Array.from({ length: 62 }, (_, i) => [`k${i}`, 'v']));
    await engine.patchMetadata(mount, 'pm', { customMetadata: full });
    expect((await vaultError(engine.patchMetadata(mount, 'pm', { customMetadata: { over: 'x' } }))).errors[0]).toMatch(/at most 64 keys, provided 65/);
  });

  it('deletes metadata and every version for good; the key can be written again from version 1', async () => {
    const mount = newMount();
    for (let i = 0; i < 3; i++) await engine.writeData(mount, 'gone/k', { data: { i } });
    await engine.writeMetadata(mount, 'gone/k', { customMetadata: { x: 'y' } });
    await engine.deleteMetadata(mount, 'gone/k');
    expect(await engine.readMetadata(mount, 'gone/k')).toBeUndefined();
    expect(await engine.readData(mount, 'gone/k')).toEqual({ kind: 'absent' });
    expect(await engine.listKeys(mount, '')).toEqual([]);
    expect(await rowsOf(mount)).toEqual([]);
    await engine.deleteMetadata(mount, 'gone/k');
    const again = await engine.writeData(mount, 'gone/k', { data: { fresh: true } });
    expect(again.data.version).toBe(1);
    expect((await engine.readMetadata(mount, 'gone/k'))?.custom_metadata).toBeNull();
  });

  it('deletes a key with more versions than one transaction holds', async () => {
    const mount = newMount();
    await engine.writeMetadata(mount, 'big', { maxVersions: 300 });
    for (let i = 0; i < 210; i++) await engine.writeData(mount, 'big', { data: { i } });
    expect((await engine.readMetadata(mount, 'big'))?.current_version).toBe(210);
    await engine.deleteMetadata(mount, 'big');
    expect(await rowsOf(mount)).toEqual([]);
  });
});

describe('listing', () => {
  it('lists immediate children, folders with a trailing slash, sorted; excludes deleted keys on request', async () => {
    const mount = newMount();
    for (const key of ['app/db', 'app/api/key', 'app/api/cert', 'app', 'top', 'z/deep/er/x', 'app/Ω', 'app/a b']) {
      await engine.writeData(mount, key, { data: { k: key } });
    }
    expect(await engine.listKeys(mount, '')).toEqual(['app', 'app/', 'top', 'z/']);
    expect(await engine.listKeys(mount, 'app/')).toEqual(['a b', 'api/', 'db', 'Ω']);
    expect(await engine.listKeys(mount, 'app')).toEqual(['a b', 'api/', 'db', 'Ω']);
    expect(await engine.listKeys(mount, 'app/api/')).toEqual(['cert', 'key']);
    expect(await engine.listKeys(mount, 'z/deep/')).toEqual(['er/']);
    expect(await engine.listKeys(mount, 'nothing/')).toEqual([]);
    await engine.deleteLatest(mount, 'app/db');
    expect(await engine.listKeys(mount, 'app/')).toEqual(['a b', 'api/', 'db', 'Ω']);
    expect(await engine.listKeys(mount, 'app/', { excludeDeleted: true })).toEqual(['a b', 'api/', 'Ω']);
    // Deleting the last key of a folder removes the folder from its parent, up to the root.
    await engine.deleteMetadata(mount, 'z/deep/er/x');
    expect(await engine.listKeys(mount, '')).toEqual(['app', 'app/', 'top']);
    await engine.deleteMetadata(mount, 'app/api/key');
    expect(await engine.listKeys(mount, 'app/')).toContain('api/');
    await engine.deleteMetadata(mount, 'app/api/cert');
    expect(await engine.listKeys(mount, 'app/')).toEqual(['a b', 'db', 'Ω']);
    expect((await vaultError(engine.listKeys(mount, 'a//b/'))).status).toBe(400);
  });

  it('keeps a folder listed when a key is created in it while its last other key is deleted', async () => {
    const mount = newMount();
    for (let round = 0; round < 15; round++) {
      await engine.writeData(mount, `race/old${round}`, { data: { a: 1 } });
      await Promise.all([engine.deleteMetadata(mount, `race/old${round}`), engine.writeData(mount, `race/new${round}`, { data: { a: 1 } })]);
      expect(await engine.listKeys(mount, '')).toEqual(['race/']);
      expect(await engine.listKeys(mount, 'race/')).toEqual([`new${round}`]);
      await engine.deleteMetadata(mount, `race/new${round}`);
      expect(await engine.listKeys(mount, '')).toEqual([]);
    }
  });
});

describe('v1 passthrough', () => {
  it('reads what was written, with lease_duration from ttl or the mount default', async () => {
    const mount = newMount();
    await engine.writeV1(mount, 'app/one', { password: 'x', ttl: '1h' });
    await engine.writeV1(mount, 'app/two', { password: 'y', lease: 90 });
    await engine.writeV1(mount, 'app/three', { password: 'z', ttl: 'soon' });
    expect(await engine.readV1(mount, 'app/one', 2764800)).toEqual({ data: { password: 'x', ttl: '1h' }, lease_duration: 3600 });
    expect((await engine.readV1(mount, 'app/two', 2764800))?.lease_duration).toBe(90);
    expect((await engine.readV1(mount, 'app/three', 2764800))?.lease_duration).toBe(2764800);
    await engine.writeV1(mount, 'app/one', { replaced: true });
    expect((await engine.readV1(mount, 'app/one', 60))?.data).toEqual({ replaced: true });
    expect(await engine.existsV1(mount, 'app/one')).toBe(true);
    expect(await engine.listKeys(mount, '')).toEqual(['app/']);
    expect(await engine.listKeys(mount, 'app/')).toEqual(['one', 'three', 'two']);
    await engine.deleteV1(mount, 'app/one');
    await engine.deleteV1(mount, 'app/one');
    expect(await engine.readV1(mount, 'app/one', 60)).toBeUndefined();
    expect((await vaultError(engine.writeV1(mount, 'app/empty', {}))).errors).toEqual(['missing data fields']);
  });

  it('upgrades every v1 key to version 1 of a v2 key, paged; an empty mount at once', async () => {
    const mount = newMount();
    expect(await engine.upgradeToV2(newMount())).toEqual({ count: 0, done: true });
    for (let i = 0; i < 7; i++) await engine.writeV1(mount, `u/k${i}`, { n: i });
    let total = 0;
    let calls = 0;
    for (;;) {
      const step = await engine.upgradeToV2(mount, { limit: 3 });
      total += step.count;
      calls += 1;
      if (step.done) break;
    }
    expect(total).toBe(7);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(await engine.readV1(mount, 'u/k3', 60)).toBeUndefined();
    expect(await engine.readData(mount, 'u/k3')).toMatchObject({ kind: 'found', data: { data: { n: 3 }, metadata: { version: 1 } } });
    expect(await engine.readMetadata(mount, 'u/k3')).toMatchObject({
      current_version: 1,
      oldest_version: 1,
      last_updated_by: { actor: 'kv_upgrade', operation: 'upgrade' },
      versions: { '1': { created_by: { actor: 'kv_upgrade', operation: 'upgrade' } } },
    });
    expect(await engine.listKeys(mount, 'u/')).toHaveLength(7);
  });
});

describe('purgeMount', () => {
  it('deletes every row of the mount and nothing of another, paged and idempotent', async () => {
    const mount = newMount();
    const other = newMount();
    await engine.writeConfig(mount, { maxVersions: 3 });
    for (let i = 0; i < 12; i++) await engine.writeData(mount, `p/k${i % 4}/x${i}`, { data: { i } });
    await engine.writeV1(mount, 'v1key', { a: 1 });
    await engine.writeData(other, 'keep', { data: { a: 1 } });
    const before = (await rowsOf(mount)).length;
    expect(before).toBeGreaterThan(30);
    let deleted = 0;
    for (let calls = 0; calls < 100; calls++) {
      const step = await engine.purgeMount(mount, { limit: 7 });
      deleted += step.count;
      if (step.done) break;
    }
    expect(deleted).toBe(before);
    expect(await rowsOf(mount)).toEqual([]);
    expect(await engine.purgeMount(mount)).toEqual({ count: 0, done: true });
    expect((await engine.readData(other, 'keep')).kind).toBe('found');
  });
});
