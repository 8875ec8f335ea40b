/**
 * The keyring against a real Table service: terms, rotation by several instances at once, how a new
 * term reaches other instances, and values that were moved or tampered with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, KEYRING_PARTITION, termRowKey } from '../../shared/crypto/keyring';
import { EncryptionKey } from '../../shared/crypto/secretbox';
import { TABLES, type TableProvider } from '../../shared/storage/tables';
import { VaultError } from '../../shared/vault/errors';
import { newRootKey, startStorage, type Storage } from './support';

let storage: Storage;
beforeAll(async () => {
  storage = await startStorage();
});
afterAll(async () => {
  await storage?.azurite.stop();
});

/** All tests share one keyring (one state table), so they reason relative to its current term. */
function keyring(root: string, opts: { now?: () => number; tables?: TableProvider } = {}): Keyring {
  const tables = opts.tables ?? storage.tables;
  return new Keyring({
    table: () => tables.table(TABLES.state),
    rootKey: () => EncryptionKey.fromBase64(root),
    ...(opts.now ? { now: opts.now } : {}),
  });
}

const termOf = (sealed: Buffer): number => sealed.readUInt32BE(1);
const ROOT = newRootKey();

describe('keyring', () => {
  it('creates term 1 on first use and answers key-status in Vault shape', async () => {
    const ring = keyring(ROOT);
    const status = await ring.status();
    expect(status.term).toBeGreaterThanOrEqual(1);
    expect(status.install_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    const sealed = await ring.seal(Buffer.from('hello'), 'aad');
    expect(termOf(sealed)).toBe(status.term);
    expect((await ring.open(sealed, 'aad')).toString()).toBe('hello');
  });

  it('after rotate, new seals use the new term and values sealed under old terms still open', async () => {
    const ring = keyring(ROOT);
    const before = await ring.seal(Buffer.from('old value'), 'k|1');
    const oldTerm = termOf(before);
    const rotated = await ring.rotate();
    expect(rotated.term).toBe(oldTerm + 1);
    const after = await ring.seal(Buffer.from('new value'), 'k|2');
    expect(termOf(after)).toBe(rotated.term);
    // A fresh instance (another worker) opens both, loading each term as it meets it.
    const other = keyring(ROOT);
    expect((await other.open(before, 'k|1')).toString()).toBe('old value');
    expect((await other.open(after, 'k|2')).toString()).toBe('new value');
    expect((await other.status()).term).toBe(rotated.term);
  });

  it('gives each of several instances rotating at once its own term, and they all agree on every key', async () => {
    const start = (await keyring(ROOT).status()).term;
    const instances = Array.from({ length: 6 }, () => keyring(ROOT));
    const results = await Promise.all(instances.map((ring) => ring.rotate()));
    const terms = results.map((r) => r.term).sort((a, b) => a - b);
    expect(terms).toEqual(Array.from({ length: 6 }, (_, i) => start + 1 + i));
    // Every instance seals with its own newest view; every other instance opens it.
    const sealed = await Promise.all(instances.map((ring, i) => ring.seal(Buffer.from(`v${i}`), `aad${i}`)));
    for (const ring of [...instances, keyring(ROOT)]) {
      for (const [i, value] of sealed.entries()) expect((await ring.open(value, `aad${i}`)).toString()).toBe(`v${i}`);
    }
  });

  it('a new term reaches another instance within the refresh interval; an unknown term met while opening loads at once', async () => {
    let clock = Date.now();
    const reader = keyring(ROOT, { now: () => clock });
    const first = await reader.seal(Buffer.from('x'), 'a');
    const rotated = await keyring(ROOT).rotate();
    // Within the second the reader still seals under the term it knows...
    expect(termOf(await reader.seal(Buffer.from('x'), 'a'))).toBe(termOf(first));
    // ...and once a second has passed it has re-read the head.
    clock += 1001;
    expect(termOf(await reader.seal(Buffer.from('x'), 'a'))).toBe(rotated.term);
    // Another instance's value under a term this one never loaded opens without waiting.
    const newer = await keyring(ROOT).rotate();
    const value = await keyring(ROOT).seal(Buffer.from('fresh'), 'b');
    expect(termOf(value)).toBe(newer.term);
    expect((await reader.open(value, 'b')).toString()).toBe('fresh');
  });

  it('does not open a value moved to another place, tampered with, or with its term number edited', async () => {
    const ring = keyring(ROOT);
    const sealed = await ring.seal(Buffer.from('secret'), 'azauth/kv/v2|m|app/db|3');
    await expect(ring.open(sealed, 'azauth/kv/v2|m|app/db|4')).rejects.toThrow();
    await expect(ring.open(sealed, 'azauth/kv/v2|m|app/other|3')).rejects.toThrow();
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    await expect(ring.open(flipped, 'azauth/kv/v2|m|app/db|3')).rejects.toThrow();
    const otherTerm = Buffer.from(sealed);
    otherTerm.writeUInt32BE(1, 1);
    if (termOf(sealed) !== 1) await expect(ring.open(otherTerm, 'azauth/kv/v2|m|app/db|3')).rejects.toThrow();
    await expect(ring.open(Buffer.from('short'), 'x')).rejects.toThrow(/unknown format/);
  });

  it('does not open a term row copied onto another term, nor terms under another root key', async () => {
    const ring = keyring(ROOT);
    const a = await ring.rotate();
    const valueA = await ring.seal(Buffer.from('under a'), 'ctx');
    const b = await ring.rotate();
    const valueB = await ring.seal(Buffer.from('under b'), 'ctx');
    expect(termOf(valueA)).toBe(a.term);
    expect(termOf(valueB)).toBe(b.term);
    const table = await storage.tables.table(TABLES.state);
    const rowA = await table.getEntity<{ sealedKey: string }>(KEYRING_PARTITION, termRowKey(a.term));
    const rowB = await table.getEntity<{ sealedKey: string }>(KEYRING_PARTITION, termRowKey(b.term));
    // Copy term a's sealed key onto term b: a fresh instance must refuse to use it for b.
    await table.updateEntity({ partitionKey: KEYRING_PARTITION, rowKey: termRowKey(b.term), sealedKey: rowA.sealedKey }, 'Merge');
    await expect(keyring(ROOT).open(valueB, 'ctx')).rejects.toThrow(/does not open with the configured root key/);
    await table.updateEntity({ partitionKey: KEYRING_PARTITION, rowKey: termRowKey(b.term), sealedKey: rowB.sealedKey }, 'Merge');
    expect((await keyring(ROOT).open(valueB, 'ctx')).toString()).toBe('under b');
    await expect(keyring(newRootKey()).open(valueA, 'ctx')).rejects.toThrow(/does not open/);
  });

  it('refuses to seal without a root key, naming the setting', async () => {
    const ring = new Keyring({
      table: () => storage.tables.table(TABLES.state),
      rootKey: () => {
        throw new VaultError('bad_request', 'KV secrets cannot be stored: app setting AZAUTH_ENCRYPTION_KEY is not set');
      },
    });
    // A fresh table would need a key to create term 1; here the ring exists, so seal needs the key to load the term.
    await expect(ring.seal(Buffer.from('x'), 'a')).rejects.toThrow(/AZAUTH_ENCRYPTION_KEY/);
  });
});
