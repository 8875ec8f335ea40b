/**
 * Folder listings (`LIST metadata/<folder>`, v1 `LIST <folder>`): one partition per folder holding one
 * row per child, so listing a folder reads that folder's rows and nothing else, however many keys
 * the mount has elsewhere; 10,000 keys in one folder are ten pages of a single-partition query.
 *
 * A key lives in its own partition (shared/kv/paths.ts), so its listing rows cannot be written in
 * the same transaction as the key. Two rules keep them right without one:
 *
 *  - Creating a key: first `announce` (create each missing row of the chain, marked `pending`, all at
 *    once), then make the key exist, then `confirm` (upsert each row unmarked, deepest first).
 *  - Deleting a key: make it not exist, then `retract` (deepest first: when the child is no longer
 *    live, delete its row, check again, and put the row back if the child came alive meanwhile).
 *
 * Creator and deleter each write after they have checked, and each checks after they have written,
 * so whichever runs second restores what the other removed: a live key is never left unlisted. A
 * failure part-way leaves at worst a `pending` row for a key that does not exist; listings check
 * pending rows (rare) before showing them and remove dead ones, so nothing half-written is shown.
 */
import { odata, type TableClient } from '@azure/data-tables';
import { decodeKey } from '../storage/keys';
import { getEntityOrUndefined, isConflict, isNotFound } from '../storage/tables';
import { listingChain, listingPartition, listingRow } from './paths';

/** Pending rows older than this and found dead are removed by a listing (younger ones may belong to a write in flight). */
const STALE_PENDING_MS = 60_000;

export interface ListingDeps {
  readonly table: () => Promise<TableClient>;
  /** Whether the key (by segments) exists: a v2 key's metadata or a v1 value. */
  readonly keyLive: (segments: readonly string[]) => Promise<boolean>;
  readonly now: () => number;
}

export interface ListedChild {
  /** As Vault lists it: a key name, or a folder name ending in `/`. */
  readonly name: string;
  readonly pending: boolean;
  readonly pendingSince: number;
}

export class Listing {
  constructor(
    private readonly uuid: string,
    private readonly deps: ListingDeps,
  ) {}

  /** Before a key is created: its chain of listing rows, created where missing and marked pending. */
  async announce(segments: readonly string[]): Promise<void> {
    const client = await this.deps.table();
    const since = new Date(this.deps.now()).toISOString();
    await Promise.all(
      listingChain(segments).map(async ({ folder, child }) => {
        try {
          await client.createEntity({ partitionKey: listingPartition(this.uuid, folder), rowKey: listingRow(child), pending: since });
        } catch (err) {
          // Already listed (by an earlier key or version): leave it as it is.
          if (!isConflict(err)) throw err;
        }
      }),
    );
  }

  /**
   * After a key was created: every row of its chain present and unmarked, deepest first. The key's
   * own row is always rewritten (to clear its mark); a folder's row is read, and written only when
   * missing or still marked. Reading is enough: a deleter that removes the row after our read
   * re-checks the folder after its delete, finds our key, and puts the row back.
   */
  async confirm(segments: readonly string[]): Promise<void> {
    const client = await this.deps.table();
    for (const [level, { folder, child }] of listingChain(segments).entries()) {
      const partitionKey = listingPartition(this.uuid, folder);
      const rowKey = listingRow(child);
      if (level > 0) {
        const row = await getEntityOrUndefined<{ pending?: string }>(client, partitionKey, rowKey);
        if (row && row.pending === undefined) continue;
      }
      await client.upsertEntity({ partitionKey, rowKey }, 'Replace');
    }
  }

  /** After a key was removed: its rows, and those of folders left empty, removed deepest first. */
  async retract(segments: readonly string[]): Promise<void> {
    await this.retractFrom(segments, 0);
  }

  /**
   * From chain level `start` up (0 = the key's own row, 1 = its folder's row in the parent, …):
   * removes each row whose child is not live, re-checking after the delete.
   */
  private async retractFrom(segments: readonly string[], start: number): Promise<void> {
    const client = await this.deps.table();
    const chain = listingChain(segments);
    for (let level = start; level < chain.length; level++) {
      const link = chain[level];
      if (!link) return;
      const live = (): Promise<boolean> => (level === 0 ? this.deps.keyLive(segments) : this.folderHasRows(segments.slice(0, segments.length - level)));
      if (await live()) return;
      const partitionKey = listingPartition(this.uuid, link.folder);
      const rowKey = listingRow(link.child);
      try {
        await client.deleteEntity(partitionKey, rowKey);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (await live()) {
        // A creator made it live between our check and our delete: put the row back and stop.
        await client.upsertEntity({ partitionKey, rowKey }, 'Replace');
        return;
      }
    }
  }

  /** Whether the folder's partition has any row at all (pending ones count: a creator may be under way). */
  private async folderHasRows(folderSegments: readonly string[]): Promise<boolean> {
    const client = await this.deps.table();
    const pages = client
      .listEntities({ queryOptions: { filter: odata`PartitionKey eq ${listingPartition(this.uuid, folderSegments.join('/'))}`, select: ['RowKey'] } })
      .byPage({ maxPageSize: 1 });
    for await (const page of pages) {
      if (page.length > 0) return true;
    }
    return false;
  }

  /** The folder's children as stored, one page of Table Storage at a time (unsorted). */
  async *pages(folderSegments: readonly string[]): AsyncGenerator<ListedChild[]> {
    const client = await this.deps.table();
    const filter = odata`PartitionKey eq ${listingPartition(this.uuid, folderSegments.join('/'))}`;
    for await (const page of client.listEntities<{ pending?: string }>({ queryOptions: { filter, select: ['RowKey', 'pending'] } }).byPage({ maxPageSize: 1000 })) {
      yield page.map((entity) => {
        const pendingSince = typeof entity.pending === 'string' ? Date.parse(entity.pending) : Number.NaN;
        return { name: decodeKey(entity.rowKey ?? ''), pending: typeof entity.pending === 'string', pendingSince };
      });
    }
  }

  /**
   * The children Vault would list, sorted as Go sorts strings (by UTF-8 bytes). Pending rows are
   * shown only when their child is live; dead ones older than a minute are cleaned up on the way.
   */
  async list(folderSegments: readonly string[]): Promise<string[]> {
    const names: string[] = [];
    const pending: ListedChild[] = [];
    for await (const page of this.pages(folderSegments)) {
      for (const child of page) {
        if (child.pending) pending.push(child);
        else names.push(child.name);
      }
    }
    for (const child of pending) {
      const stale = this.deps.now() - child.pendingSince > STALE_PENDING_MS;
      if (await this.childVisible(folderSegments, child.name, 2)) {
        names.push(child.name);
        // Its creator stopped before confirming: confirm it, so later listings need not check it.
        if (stale) await this.confirmRow(folderSegments, child.name).catch(() => undefined);
      } else if (stale) await this.cleanDead(folderSegments, child.name).catch(() => undefined);
    }
    if (names.length === 0 && pending.length === 0 && folderSegments.length > 0) {
      // An empty folder still listed in its parent (a deleter stopped part-way): remove that row.
      await this.retractFolder(folderSegments).catch(() => undefined);
    }
    return names.sort(compareUtf8);
  }

  private async childVisible(folderSegments: readonly string[], name: string, depth: number): Promise<boolean> {
    if (!name.endsWith('/')) return this.deps.keyLive([...folderSegments, name]);
    const sub = [...folderSegments, name.slice(0, -1)];
    for await (const page of this.pages(sub)) {
      for (const child of page) {
        if (!child.pending) return true;
        if (depth > 0 && (await this.childVisible(sub, child.name, depth - 1))) return true;
      }
    }
    return false;
  }

  private async confirmRow(folderSegments: readonly string[], name: string): Promise<void> {
    const client = await this.deps.table();
    await client.upsertEntity({ partitionKey: listingPartition(this.uuid, folderSegments.join('/')), rowKey: listingRow(name) }, 'Replace');
  }

  private async cleanDead(folderSegments: readonly string[], name: string): Promise<void> {
    if (name.endsWith('/')) await this.retractFolder([...folderSegments, name.slice(0, -1)]);
    else await this.retract([...folderSegments, name]);
  }

  /** A folder's row in its parent (and further up), if the folder is empty: the chain of a child in it, from level 1. */
  private retractFolder(folderSegments: readonly string[]): Promise<void> {
    return this.retractFrom([...folderSegments, ''], 1);
  }
}

/** Go's sort.Strings order: byte-wise over UTF-8, which differs from JavaScript's UTF-16 order above U+FFFF. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
