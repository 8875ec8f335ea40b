/**
 * PolicyStore: ACL policies in `TABLES.policies` (partition `acl`, row = escaped name), and the
 * per-worker cache that turns a token's policy names into a compiled ACL.
 *
 * A row holds the policy text as written (UTF-8 bytes, at most MAX_POLICY_BYTES, in one binary
 * property) and a `version` that every write increments under the row's ETag, so concurrent writes
 * of one policy never interleave and each leaves a whole document.
 *
 * Caching, and how fast a change is seen: a parsed policy is kept per worker and revalidated once it
 * is `cacheMs` (1 s) old by a point read of its `version` column only; it is parsed again only when
 * the version moved (parsing costs milliseconds per KiB). A compiled ACL is kept per set of
 * (name, version) pairs, so it lives exactly as long as all of its policies are current. A write or
 * delete made through this store drops that policy at once, so the instance that wrote it enforces
 * the change immediately and every other instance within `cacheMs`.
 */
import type { TableClient } from '@azure/data-tables';
import { TABLES, getEntityOrUndefined, isConflict, isNotFound, setUpOnce, type TableProvider } from '../storage/tables';
import { retryLostRaces } from '../storage/optimistic';
import { decodeKey, encodeKey } from '../storage/keys';
import { z } from 'zod';
import { Acl, type TemplateContext } from './acl';
import { DEFAULT_POLICY_TEXT } from './default-policy';
import { parsePolicy } from './parse';
import type { ParsedPolicy } from './types';

const PARTITION = 'acl';
/** Policy names whose versions one query checks (a filter of `RowKey eq` terms joined by `or`). */
const VERSION_QUERY_NAMES = 15;
/** The built-in policies: `root` is never stored; `default` is created when absent and never deleted. */
export const ROOT_POLICY = 'root';
export const DEFAULT_POLICY = 'default';

export interface StoredPolicy {
  readonly name: string;
  /** The text exactly as written (after Vault's base64 decoding). */
  readonly text: string;
  readonly version: number;
}

export interface PolicyStoreOptions {
  readonly cacheMs?: number;
  readonly now?: () => number;
  /** Most compiled ACLs kept per worker (one per policy set, or per identity for templated sets). */
  readonly maxAcls?: number;
}

interface CachedPolicy {
  readonly version: number;
  readonly parsed: ParsedPolicy | undefined;
  readonly checkedAt: number;
}

const rowSchema = z.object({
  name: z.string(),
  text: z.instanceof(Uint8Array),
  version: z.number().int().nonnegative(),
  etag: z.string(),
});

const versionSchema = z.object({ version: z.number().int().nonnegative() });

export class PolicyStore {
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly maxAcls: number;
  private readonly policies = new Map<string, CachedPolicy>();
  private readonly loading = new Map<string, Promise<CachedPolicy>>();
  private readonly acls = new Map<string, Acl>();
  /** The table, with Vault's `default` policy created the first time (never overwritten after). */
  private readonly ready = setUpOnce(() => this.tables.table(TABLES.policies), ensureDefault);

  constructor(
    private readonly tables: TableProvider,
    options: PolicyStoreOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.maxAcls = options.maxAcls ?? 10_000;
  }

  // ---- documents -----------------------------------------------------------------------------

  async read(name: string): Promise<StoredPolicy | undefined> {
    const client = await this.ready();
    const entity = await getEntityOrUndefined<Record<string, unknown>>(client, PARTITION, encodeKey(name));
    return entity ? toStored(entity) : undefined;
  }

  /** Stored policy names, sorted (without `root`, which is never stored). */
  async list(): Promise<string[]> {
    const client = await this.ready();
    const names: string[] = [];
    for await (const entity of client.listEntities({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'`, select: ['RowKey'] } })) {
      if (typeof entity.rowKey === 'string') names.push(decodeKey(entity.rowKey));
    }
    return names.sort();
  }

  /** Creates or replaces a policy; `text` must already have passed `parsePolicy`. */
  async write(name: string, text: string): Promise<void> {
    const client = await this.ready();
    const rowKey = encodeKey(name);
    const bytes = Buffer.from(text, 'utf8');
    try {
      await retryLostRaces(async () => {
        const current = await getEntityOrUndefined<Record<string, unknown>>(client, PARTITION, rowKey);
        if (!current) {
          await client.createEntity({ partitionKey: PARTITION, rowKey, name, text: bytes, version: 1 });
        } else {
          const { version } = toStored(current);
          await client.updateEntity({ partitionKey: PARTITION, rowKey, name, text: bytes, version: version + 1 }, 'Replace', { etag: current.etag });
        }
      }, 'the policy was changed by too many concurrent requests; try again');
    } finally {
      this.forget(name);
    }
  }

  /** Deletes a policy (idempotent). Tokens keep the name, which then grants nothing. */
  async delete(name: string): Promise<void> {
    const client = await this.ready();
    try {
      await client.deleteEntity(PARTITION, encodeKey(name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    } finally {
      this.forget(name);
    }
  }

  // ---- compiled ACLs -------------------------------------------------------------------------

  /**
   * The ACL of a token's policies (names already sanitised). `root` gives the root ACL; names with no
   * stored policy are ignored, as in Vault.
   */
  async aclFor(names: readonly string[], identity: TemplateContext = {}): Promise<Acl> {
    if (names.includes(ROOT_POLICY)) return Acl.ROOT;
    const loaded = await this.currentPolicies(names);
    const present = loaded.filter((entry): entry is { name: string; cached: CachedPolicy & { parsed: ParsedPolicy } } => entry.cached.parsed !== undefined);
    const templated = present.some((entry) => entry.cached.parsed.templated);
    // The key names every (policy, version) in the set, so a changed policy makes a new key.
    let key = present.map((entry) => `${entry.name}@${entry.cached.version}`).join('\0');
    if (templated) key += `\0#${identity.entityId ?? ''}\0${JSON.stringify(identity.aliases ?? {})}`;
    const known = this.acls.get(key);
    if (known) return known;
    const acl = Acl.build(
      present.map((entry) => ({ name: entry.name, rules: entry.cached.parsed.rules })),
      identity,
    );
    if (this.acls.size >= this.maxAcls) this.acls.clear();
    this.acls.set(key, acl);
    return acl;
  }

  /**
   * The parsed policies of `names`, each revalidated once `cacheMs` old. The stale ones are checked
   * together, by queries of their version columns in groups of `VERSION_QUERY_NAMES` (a token with
   * 200 policies costs 14 small queries a second, not 200 reads), and read whole only when their
   * version moved; single flight per name, so concurrent requests share one check.
   */
  private async currentPolicies(names: readonly string[]): Promise<Array<{ name: string; cached: CachedPolicy }>> {
    const now = this.now();
    const waiting = new Map<string, Promise<CachedPolicy>>();
    const todo: string[] = [];
    for (const name of names) {
      const cached = this.policies.get(name);
      if (cached && now - cached.checkedAt < this.cacheMs) continue;
      const pending = this.loading.get(name);
      if (pending) waiting.set(name, pending);
      else if (!todo.includes(name)) todo.push(name);
    }
    if (todo.length > 0) {
      const batch = this.loadMany(todo);
      for (const name of todo) {
        const pending = batch.then((loaded) => {
          const fresh = loaded.get(name) ?? { version: 0, parsed: undefined, checkedAt: now };
          this.policies.set(name, fresh);
          return fresh;
        });
        const settled = pending.finally(() => {
          if (this.loading.get(name) === settled) this.loading.delete(name);
        });
        this.loading.set(name, settled);
        waiting.set(name, settled);
      }
    }
    const results = new Map<string, CachedPolicy>();
    for (const [name, pending] of waiting) results.set(name, await pending);
    return names.map((name) => ({ name, cached: results.get(name) ?? this.policies.get(name) ?? { version: 0, parsed: undefined, checkedAt: now } }));
  }

  private async loadMany(names: readonly string[]): Promise<Map<string, CachedPolicy>> {
    const client = await this.ready();
    const checkedAt = this.now();
    const loaded = new Map<string, CachedPolicy>();
    const known = names.filter((name) => this.policies.has(name));
    const toRead = names.filter((name) => !this.policies.has(name));
    // Revalidate the known ones cheaply: only the version column crosses the wire.
    const versions = new Map<string, number>();
    const groups: string[][] = [];
    for (let i = 0; i < known.length; i += VERSION_QUERY_NAMES) groups.push(known.slice(i, i + VERSION_QUERY_NAMES));
    await Promise.all(
      groups.map(async (group) => {
        // Escaped keys hold only [A-Za-z0-9_.~-]: nothing to quote in the filter.
        const rows = group.map((name) => `RowKey eq '${encodeKey(name)}'`).join(' or ');
        for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}' and (${rows})`, select: ['RowKey', 'version'] } })) {
          const version = versionSchema.safeParse(entity);
          if (typeof entity.rowKey === 'string' && version.success) versions.set(decodeKey(entity.rowKey), version.data.version);
        }
      }),
    );
    for (const name of known) {
      const cached = this.policies.get(name);
      const version = versions.get(name);
      if (version === undefined) loaded.set(name, { version: 0, parsed: undefined, checkedAt });
      else if (cached && version === cached.version) loaded.set(name, { ...cached, checkedAt });
      else toRead.push(name);
    }
    await Promise.all(
      toRead.map(async (name) => {
        const entity = await getEntityOrUndefined<Record<string, unknown>>(client, PARTITION, encodeKey(name));
        if (!entity) {
          loaded.set(name, { version: 0, parsed: undefined, checkedAt });
          return;
        }
        const stored = toStored(entity);
        let parsed: ParsedPolicy | undefined;
        try {
          parsed = parsePolicy(stored.text);
        } catch {
          // Only texts that parsed are ever written; a row that no longer parses grants nothing.
          parsed = undefined;
        }
        loaded.set(name, { version: stored.version, parsed, checkedAt });
      }),
    );
    return loaded;
  }

  private forget(name: string): void {
    this.policies.delete(name);
    // ACL keys carry versions, but a delete leaves no version behind: drop them all (cheap to rebuild).
    this.acls.clear();
  }
}

async function ensureDefault(client: TableClient): Promise<void> {
  const rowKey = encodeKey(DEFAULT_POLICY);
  if (await getEntityOrUndefined(client, PARTITION, rowKey, ['version'])) return;
  try {
    await client.createEntity({ partitionKey: PARTITION, rowKey, name: DEFAULT_POLICY, text: Buffer.from(DEFAULT_POLICY_TEXT, 'utf8'), version: 1 });
  } catch (err) {
    // Another instance created it first: as good.
    if (!isConflict(err)) throw err;
  }
}

function toStored(entity: Record<string, unknown>): StoredPolicy {
  const parsed = rowSchema.safeParse(entity);
  if (!parsed.success) throw new Error('stored policy row is unreadable');
  return { name: parsed.data.name, text: Buffer.from(parsed.data.text).toString('utf8'), version: parsed.data.version };
}
