/**
 * What must hold under load and failure, against a real Table service: concurrent writers of one key
 * (with CAS exactly one winner; without, every version number used once), 512 KiB values, a 600 KiB
 * value refused with nothing left behind, storage failures at each step of a write and of a delete,
 * and a dump of every table after writes that finds no secret value or custom metadata in clear.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvMount } from '../../shared/kv/types';
import { TABLES, type TableName } from '../../shared/storage/tables';
import { VaultError } from '../../shared/vault/errors';
import { dumpTables, interceptingProvider } from '../crypto/support';
import { newMount, startKv, type KvFixture } from './support';

let kv: KvFixture;
beforeAll(async () => {
  kv = await startKv();
});
afterAll(async () => {
  await kv?.storage.azurite.stop();
});

async function partitionRows(mount: KvMount, key: string): Promise<string[]> {
  const client = await kv.storage.tables.table(TABLES.kv);
  const rows: string[] = [];
  for await (const e of client.listEntities({ queryOptions: { filter: `PartitionKey eq '${mount.uuid}|k|${key}'`, select: ['RowKey'] } })) rows.push(e.rowKey ?? '');
  return rows;
}

const storageDown = (): Error => Object.assign(new Error('injected: storage unavailable'), { name: 'RestError', statusCode: 503 });

describe('concurrent writers of one key', () => {
  it('without CAS: every write lands, each on its own version number, and each version holds its writer\'s data', async () => {
    const mount = newMount();
    await kv.engine().writeMetadata(mount, 'hot', { maxVersions: 50 });
    const writers = Array.from({ length: 20 }, () => kv.engine());
    const results = await Promise.all(writers.map((engine, i) => engine.writeData(mount, 'hot', { data: { writer: i } })));
    const versions = results.map((r) => r.data.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const [i, result] of results.entries()) {
      expect(await kv.engine().readData(mount, 'hot', result.data.version)).toMatchObject({ kind: 'found', data: { data: { writer: i } } });
    }
    expect((await kv.engine().readMetadata(mount, 'hot'))?.current_version).toBe(20);
  });

  it('with CAS: exactly one of the writers that saw the same version wins; the others get Vault\'s CAS error', async () => {
    const mount = newMount();
    const engine = kv.engine();
    for (let i = 0; i < 3; i++) await engine.writeData(mount, 'cas', { data: { i } });
    const writers = Array.from({ length: 20 }, () => kv.engine());
    const results = await Promise.allSettled(writers.map((w, i) => w.writeData(mount, 'cas', { data: { writer: i }, cas: 3 })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(VaultError);
        expect((r.reason as VaultError).errors).toEqual(['check-and-set parameter did not match the current version']);
      }
    }
    expect((await engine.readMetadata(mount, 'cas'))?.current_version).toBe(4);
    // The first version of a new key with cas 0: again exactly one winner.
    const firsts = await Promise.allSettled(writers.map((w, i) => w.writeData(mount, 'new-cas', { data: { writer: i }, cas: 0 })));
    expect(firsts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await engine.listKeys(mount, '')).toEqual(['cas', 'new-cas']);
  });

  it('a write starting from an existence check another writer has since outdated reads again and lands on the next version', async () => {
    const mount = newMount();
    const engine = kv.engine();
    // The key was absent when probed, and created before the write: the write must not create it twice.
    const absent = await engine.probe(mount, 'raced');
    expect(absent.exists).toBe(false);
    await engine.writeData(mount, 'raced', { data: { by: 'other' } });
    expect((await engine.writeData(mount, 'raced', { data: { by: 'probed' } }, {}, absent)).data.version).toBe(2);
    // The key existed when probed, and got a version before the write.
    const present = await engine.probe(mount, 'raced');
    expect(present.exists).toBe(true);
    await engine.writeData(mount, 'raced', { data: { by: 'other' } });
    expect((await engine.writeData(mount, 'raced', { data: { by: 'probed' } }, {}, present)).data.version).toBe(4);
    expect(await engine.readData(mount, 'raced')).toMatchObject({ kind: 'found', data: { data: { by: 'probed' }, metadata: { version: 4 } } });
    expect((await engine.readMetadata(mount, 'raced'))?.current_version).toBe(4);
  });

  it('a metadata write starting from an outdated existence check reads again and keeps the other writer\'s change', async () => {
    const mount = newMount();
    const engine = kv.engine();
    const absent = await engine.probe(mount, 'meta-raced');
    await engine.writeMetadata(mount, 'meta-raced', { maxVersions: 7 });
    await engine.writeMetadata(mount, 'meta-raced', { casRequired: true }, absent);
    const present = await engine.probe(mount, 'meta-raced');
    await engine.writeData(mount, 'meta-raced', { data: { v: 1 }, cas: 0 });
    await engine.writeMetadata(mount, 'meta-raced', { deleteVersionAfter: 60 }, present);
    expect(await engine.readMetadata(mount, 'meta-raced')).toMatchObject({ max_versions: 7, cas_required: true, delete_version_after: '1m0s', current_version: 1 });
    expect(await engine.listKeys(mount, '')).toEqual(['meta-raced']);
  });
});

describe('concurrent metadata and data changes of one key', () => {
  it('loses none of them: every custom metadata entry patched in while versions are written is kept', async () => {
    const mount = newMount();
    const engine = kv.engine();
    await engine.writeMetadata(mount, 'mixed', { customMetadata: { start: 'yes' }, maxVersions: 50 });
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => kv.engine().writeData(mount, 'mixed', { data: { i } })),
      ...Array.from({ length: 10 }, (_, i) => kv.engine().patchMetadata(mount, 'mixed', { customMetadata: { [`k${i}`]: `v${i}` } })),
      ...Array.from({ length: 3 }, (_, i) => kv.engine().deleteVersions(mount, 'mixed', [i + 1])),
    ]);
    const meta = await engine.readMetadata(mount, 'mixed');
    expect(meta?.current_version).toBe(10);
    expect(meta?.custom_metadata).toEqual({ start: 'yes', ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, `v${i}`])) });
    expect(meta?.max_versions).toBe(50);
  });
});

describe('value size', () => {
  it('round-trips 512 KiB of JSON', async () => {
    const mount = newMount();
    const engine = kv.engine();
    // {"v":"…"} is 8 bytes plus the string: exactly 512 KiB of JSON. Random text so no compression could help.
    const big = { v: randomBytes(393_210).toString('base64').slice(0, 512 * 1024 - 8) };
    expect(Buffer.byteLength(JSON.stringify(big))).toBe(512 * 1024);
    const written = await engine.writeData(mount, 'big', { data: big });
    const read = await kv.engine().readData(mount, 'big');
    expect(read.kind).toBe('found');
    if (read.kind === 'found') expect(read.data.data).toEqual(big);
    // Patch and a second version of the same size work too, and the v1 engine holds as much.
    await engine.patchData(mount, 'big', { data: { v: big.v.split('').reverse().join('') } });
    expect((await engine.readData(mount, 'big', written.data.version)).kind).toBe('found');
    await engine.writeV1(mount, 'big-v1', big);
    expect((await engine.readV1(mount, 'big-v1', 60))?.data).toEqual(big);
  });

  it('refuses 600 KiB with a 413 naming the limit, leaving nothing behind', async () => {
    const mount = newMount();
    const engine = kv.engine();
    const huge = { v: 'x'.repeat(600 * 1024) };
    for (const attempt of [() => engine.writeData(mount, 'huge', { data: huge }), () => engine.writeV1(mount, 'huge', huge)]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VaultError);
      expect((err as VaultError).status).toBe(413);
      expect((err as VaultError).errors[0]).toMatch(/614408 bytes of JSON; a version holds at most 524288 bytes \(512 KiB\)/);
    }
    expect(await partitionRows(mount, 'huge')).toEqual([]);
    expect(await engine.listKeys(mount, '')).toEqual([]);
    // A patch that would grow an existing secret past the limit is refused the same way, and changes nothing.
    await engine.writeData(mount, 'grows', { data: { a: 'x'.repeat(400 * 1024) } });
    expect(((await engine.patchData(mount, 'grows', { data: { b: 'y'.repeat(200 * 1024) } }).catch((e: unknown) => e)) as VaultError).status).toBe(413);
    expect((await engine.readMetadata(mount, 'grows'))?.current_version).toBe(1);
  });
});

describe('storage failures', () => {
  /** An engine whose storage fails the `nth` call of `method` (on the KV table), once. */
  function failing(method: string, nth = 1, table: TableName = TABLES.kv) {
    let seen = 0;
    const tables = interceptingProvider(kv.storage.tables, (name, called) => {
      if (name === table && called === method && ++seen === nth) throw storageDown();
    });
    return kv.engine({ tables });
  }

  it('a failed transaction leaves no version, no metadata and no listing, and the next write succeeds', async () => {
    const mount = newMount();
    const err = await failing('submitTransaction').writeData(mount, 'app/new', { data: { s: 'x' } }).catch((e: unknown) => e);
    expect((err as { statusCode?: number }).statusCode).toBe(503);
    const engine = kv.engine();
    expect(await partitionRows(mount, 'app~2fnew')).toEqual([]);
    expect(await engine.readData(mount, 'app/new')).toEqual({ kind: 'absent' });
    // The listing rows announced before the failure are pending and their key is dead: not shown.
    expect(await engine.listKeys(mount, '')).toEqual([]);
    expect(await engine.listKeys(mount, 'app/')).toEqual([]);
    expect((await engine.writeData(mount, 'app/new', { data: { s: 'y' } })).data.version).toBe(1);
    expect(await engine.listKeys(mount, 'app/')).toEqual(['new']);

    // On an existing key with a big value: still version 1 after the failure, version 2 next.
    const big = { s: 'z'.repeat(500 * 1024) };
    await expect(failing('submitTransaction').writeData(mount, 'app/new', { data: big })).rejects.toThrow(/injected/);
    expect((await engine.readMetadata(mount, 'app/new'))?.current_version).toBe(1);
    expect((await partitionRows(mount, 'app~2fnew')).sort()).toEqual(['m', 'v9999999998']);
    expect((await engine.writeData(mount, 'app/new', { data: big })).data.version).toBe(2);
  });

  it('a failure while announcing the listing writes no version, and leaves nothing shown', async () => {
    const mount = newMount();
    await expect(failing('createEntity', 2).writeData(mount, 'a/b/c', { data: { s: 1 } })).rejects.toThrow(/injected/);
    const engine = kv.engine();
    expect(await engine.readData(mount, 'a/b/c')).toEqual({ kind: 'absent' });
    expect(await engine.listKeys(mount, '')).toEqual([]);
    expect(await engine.listKeys(mount, 'a/')).toEqual([]);
    expect(await engine.listKeys(mount, 'a/b/')).toEqual([]);
    await engine.writeData(mount, 'a/b/c', { data: { s: 2 } });
    expect(await engine.listKeys(mount, 'a/b/')).toEqual(['c']);
  });

  it('a failure while confirming the listing after the version landed still lists the key', async () => {
    const mount = newMount();
    await expect(failing('upsertEntity').writeData(mount, 'f/k', { data: { s: 1 } })).rejects.toThrow(/injected/);
    const engine = kv.engine();
    expect((await engine.readData(mount, 'f/k')).kind).toBe('found');
    expect(await engine.listKeys(mount, '')).toEqual(['f/']);
    expect(await engine.listKeys(mount, 'f/')).toEqual(['k']);
  });

  it('a failure part-way through deleting a key with many versions leaves a consistent key; deleting again finishes', async () => {
    const mount = newMount();
    const engine = kv.engine();
    await engine.writeMetadata(mount, 'del', { maxVersions: 200 });
    for (let i = 0; i < 150; i++) await engine.writeData(mount, 'del', { data: { i } });
    await expect(failing('submitTransaction', 2).deleteMetadata(mount, 'del')).rejects.toThrow(/injected/);
    // The first batch removed the oldest versions as a prune would: what is left reads consistently.
    const meta = await engine.readMetadata(mount, 'del');
    expect(meta?.current_version).toBe(150);
    expect(meta?.oldest_version).toBe(100);
    expect(Object.keys(meta?.versions ?? {})).toHaveLength(150 - 99);
    expect(await engine.readData(mount, 'del', 99)).toEqual({ kind: 'absent' });
    expect(await engine.readData(mount, 'del')).toMatchObject({ kind: 'found', data: { data: { i: 149 } } });
    await engine.deleteMetadata(mount, 'del');
    expect(await partitionRows(mount, 'del')).toEqual([]);
    expect(await engine.listKeys(mount, '')).toEqual([]);
  });
});

describe('sealing at rest', () => {
  it('does not open a value or custom metadata moved to another key, version or mount, nor a tampered one', async () => {
    const mount = newMount();
    const engine = kv.engine();
    await engine.writeData(mount, 'a', { data: { s: 'of a, v1' } });
    await engine.writeData(mount, 'a', { data: { s: 'of a, v2' } });
    await engine.writeData(mount, 'b', { data: { s: 'of b, v1' } });
    await engine.writeMetadata(mount, 'a', { customMetadata: { owner: 'a' } });
    await engine.writeMetadata(mount, 'b', { customMetadata: { owner: 'b' } });
    const client = await kv.storage.tables.table(TABLES.kv);
    const pk = (m: KvMount, key: string): string => `${m.uuid}|k|${key}`;
    const valueOf = async (m: KvMount, key: string, row: string): Promise<Record<string, unknown>> => {
      const e = await client.getEntity<Record<string, unknown>>(pk(m, key), row);
      return Object.fromEntries(Object.entries(e).filter(([k]) => /^p\d+$/.test(k) || k === 'n'));
    };
    const v1 = 'v9999999998';
    const v2 = 'v9999999997';
    const readFails = async (p: Promise<unknown>): Promise<void> => {
      await expect(p).rejects.toThrow(/unable to authenticate|Unsupported state/);
    };

    // a's version 1 value copied into b's version 1 row: b's read refuses it.
    await client.updateEntity({ partitionKey: pk(mount, 'b'), rowKey: v1, ...(await valueOf(mount, 'a', v1)) }, 'Merge');
    await readFails(engine.readData(mount, 'b'));
    // a's version 1 value copied onto a's version 2: refused too.
    const a2 = await valueOf(mount, 'a', v2);
    await client.updateEntity({ partitionKey: pk(mount, 'a'), rowKey: v2, ...(await valueOf(mount, 'a', v1)) }, 'Merge');
    await readFails(engine.readData(mount, 'a'));
    await client.updateEntity({ partitionKey: pk(mount, 'a'), rowKey: v2, ...a2 }, 'Merge');
    expect(await engine.readData(mount, 'a')).toMatchObject({ kind: 'found', data: { data: { s: 'of a, v2' } } });
    // The same key and version in another mount: refused.
    const other = newMount();
    await engine.writeData(other, 'a', { data: { s: 'x' } });
    await engine.writeData(other, 'a', { data: { s: 'y' } });
    await client.updateEntity({ partitionKey: pk(other, 'a'), rowKey: v2, ...a2 }, 'Merge');
    await readFails(engine.readData(other, 'a'));
    // b's custom metadata copied onto a: refused.
    const bMeta = await client.getEntity<{ cm: Uint8Array }>(pk(mount, 'b'), 'm');
    await client.updateEntity({ partitionKey: pk(mount, 'a'), rowKey: 'm', cm: bMeta.cm }, 'Merge');
    await readFails(engine.readMetadata(mount, 'a'));
    // One flipped bit in a value: refused.
    const flipped = Buffer.from((a2.p0 as Uint8Array) ?? new Uint8Array());
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    await client.updateEntity({ partitionKey: pk(mount, 'a'), rowKey: v2, p0: new Uint8Array(flipped) }, 'Merge');
    await readFails(engine.readData(mount, 'a', 2));
  });

  it('leaves no secret value and no custom metadata in clear in any table', async () => {
    const mount = newMount();
    const engine = kv.engine();
    const marker = (label: string): string => `${label}-${randomBytes(12).toString('hex')}`;
    const secrets = {
      value: marker('VALUE'),
      nested: marker('NESTED'),
      patched: marker('PATCHED'),
      v1: marker('VONE'),
      cmKey: marker('CMKEY'),
      cmValue: marker('CMVALUE'),
      dataKey: marker('DATAKEY'),
      upgraded: marker('UPGRADED'),
    };
    await engine.writeData(mount, 'app/db', { data: { password: secrets.value, deep: { x: [secrets.nested] }, [secrets.dataKey]: 1 } });
    await engine.patchData(mount, 'app/db', { data: { added: secrets.patched } });
    await engine.writeMetadata(mount, 'app/db', { customMetadata: { [secrets.cmKey]: secrets.cmValue } });
    await engine.writeV1(mount, 'legacy/one', { token: secrets.v1 });
    const v1mount = newMount();
    await engine.writeV1(v1mount, 'up', { token: secrets.upgraded });
    await engine.upgradeToV2(v1mount);
    expect(await engine.readData(v1mount, 'up')).toMatchObject({ kind: 'found', data: { data: { token: secrets.upgraded } } });

    const dump = await dumpTables(kv.storage.tables, Object.values(TABLES));
    expect(dump.length).toBeGreaterThan(1000);
    for (const [label, secret] of Object.entries(secrets)) {
      for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')]) {
        expect(dump.includes(form), `${label} found in storage as ${form}`).toBe(false);
      }
    }
    // The dump does contain what is meant to be in clear: key names (as escaped row keys).
    expect(dump).toContain('app~2fdb');
  });
});
