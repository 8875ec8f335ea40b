/**
 * A folder of 10,000 keys: listing it reads that folder's partition only. Prints the time to the
 * first page and to the whole sorted list (the figures reported in docs/secrets.md), and checks the
 * list is complete and exact.
 *
 * Writing 10,000 keys through the engine takes minutes against the in-process Azurite on these
 * two shared cores, so by default 500 keys are written through the engine and the listing rows of
 * the other 9,500 are written directly, in the engine's own format (shared/kv/paths.ts), in
 * batches; listing never reads anything else for them. KV_SCALE_FULL=1 writes all 10,000 through
 * the engine.
 */
import type { TransactionAction } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listingPartition, listingRow } from '../../shared/kv/paths';
import { TABLES } from '../../shared/storage/tables';
import { newMount, startKv, type KvFixture } from './support';

let kv: KvFixture;
beforeAll(async () => {
  kv = await startKv();
});
afterAll(async () => {
  await kv?.storage.azurite.stop();
});

const KEYS = 10_000;

describe('listing a folder of 10,000 keys', () => {
  it('returns the first page and the whole list quickly, complete and sorted, without reading other folders', async () => {
    const mount = newMount();
    const engine = kv.engine();
    const names = Array.from({ length: KEYS }, (_, i) => `key-${String(i).padStart(5, '0')}`);
    const full = process.env.KV_SCALE_FULL === '1';
    const throughEngine = full ? names : names.filter((_, i) => i % 20 === 0);
    const direct = full ? [] : names.filter((_, i) => i % 20 !== 0);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < throughEngine.length) {
          const name = throughEngine[next++] ?? '';
          await engine.writeData(mount, `big/${name}`, { data: { n: name } });
        }
      }),
    );
    const client = await kv.storage.tables.table(TABLES.kv);
    for (let i = 0; i < direct.length; i += 100) {
      await client.submitTransaction(
        direct.slice(i, i + 100).map((name): TransactionAction => ['create', { partitionKey: listingPartition(mount.uuid, 'big'), rowKey: listingRow(name) }]),
      );
    }
    const writeSeconds = (performance.now() - started) / 1000;
    // Keys elsewhere in the mount, which listing `big/` must not have to read.
    for (let i = 0; i < 50; i++) await engine.writeData(mount, `other/sub${i % 5}/k${i}`, { data: { i } });

    const t0 = performance.now();
    const pages = engine.listPages(mount, 'big/');
    const first = await pages.next();
    const firstPageMs = performance.now() - t0;
    await pages.return(undefined);
    expect(first.done).toBe(false);
    expect(first.value?.length).toBe(1000);

    const t1 = performance.now();
    const all = await engine.listKeys(mount, 'big/');
    const wholeMs = performance.now() - t1;
    expect(all).toEqual(names);

    const t2 = performance.now();
    expect(await engine.listKeys(mount, '')).toEqual(['big/', 'other/']);
    const rootMs = performance.now() - t2;

    console.log(
      `[kv listing] ${KEYS} keys (${throughEngine.length} through the engine, 32 concurrent writers) in ${writeSeconds.toFixed(1)} s; ` +
        `first page (1000 names) ${firstPageMs.toFixed(0)} ms; whole sorted list ${wholeMs.toFixed(0)} ms; mount root ${rootMs.toFixed(0)} ms`,
    );
    expect(wholeMs).toBeLessThan(10_000);
  }, 600_000);
});
