/** The token service against a real (in-process) Azurite: storage shape, races, revocation, tidy. */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessorOf, partitionOf, tokenHash } from '../../shared/tokens/format';
import { tidyTokens } from '../../shared/tokens/tidy';
import { createServerKeys } from '../../shared/tokens/serverKeys';
import { TokenService } from '../../shared/tokens/service';
import { createRootToken } from '../../shared/tokens/root';
import { TABLES } from '../../shared/storage/tables';
import type { TokenView } from '../../shared/vault/types';
import { createTokenStore } from '../../shared/tokens/store';
import { toEntity, type TokenRecord } from '../../shared/tokens/record';
import { newService, startCore, TEST_AZURE_ACCESSOR, TEST_ENCRYPTION_KEY, TEST_TOKEN_ACCESSOR, type CoreFixture } from './core-support';

/** One use of a token as the authorization decision makes it: resolve (liveness, CIDRs), then spend a use. */
async function useToken(service: TokenService, token: string, remoteAddress: string | undefined): Promise<TokenView> {
  const found = await service.resolve(token, remoteAddress);
  return service.viewOf(await service.use(found), found.record.numUses > 0);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const randomBase62 = (length: number): string => Array.from({ length }, () => BASE62[Math.floor(Math.random() * 62)]).join('');

let core: CoreFixture;
beforeAll(async () => {
  core = await startCore();
});
afterAll(async () => {
  await core?.azurite.stop();
});

const login = {
  type: 'service' as const,
  mount: 'azure',
  mountAccessor: TEST_AZURE_ACCESSOR,
  path: 'auth/azure/login',
  role: 'Web',
  policies: ['web'],
  displayName: 'azure-oid-1',
  principalId: 'oid-1',
  tenantId: 'tenant-1',
  meta: { role: 'Web', subscription_id: 'sub', resource_group_name: 'rg' },
};

describe('issue and store', () => {
  it('stores one entity keyed by the accessor, holding only the hash', async () => {
    const fx = newService(core);
    const issued = await fx.service.issueToken({ ...login, ttl: 3600 });
    expect(issued.auth).toMatchObject({
      client_token: issued.token,
      accessor: accessorOf(issued.token),
      policies: ['default', 'web'],
      token_policies: ['default', 'web'],
      lease_duration: 3600,
      renewable: true,
      token_type: 'service',
      orphan: true,
      num_uses: 0,
      mfa_requirement: null,
      metadata: login.meta,
    });
    const rows = [];
    for await (const e of (await core.table(fx.tokensTable)).listEntities()) rows.push(e);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.partitionKey).toBe(partitionOf(issued.auth.accessor));
    expect(row.rowKey).toBe(issued.auth.accessor);
    expect(row.token_hash).toBe(tokenHash(issued.token));
    // Own columns only for what is filtered on or changes after issue; the rest is one JSON column.
    const columns = Object.keys(row).filter((k) => !['partitionKey', 'rowKey', 'etag', 'timestamp'].includes(k)).sort();
    expect(columns).toEqual(['ancestors', 'expire_time', 'facts', 'last_renewal_time', 'mount', 'num_uses', 'token_hash']);
    expect(JSON.parse(String(row.facts))).toMatchObject({ type: 'service', policies: ['default', 'web'], role: 'Web', principal_id: 'oid-1', meta: login.meta });
    expect(JSON.stringify(row)).not.toContain(issued.token);
    expect(JSON.stringify(row)).not.toContain(issued.token.slice(4));
  });

  it('finds a token by itself and by its accessor; not by a wrong token of the right shape', async () => {
    const fx = newService(core);
    const issued = await fx.service.issueToken(login);
    expect((await fx.service.find(issued.token))?.record.accessor).toBe(issued.auth.accessor);
    expect((await fx.service.findByAccessor(issued.auth.accessor))?.record.hash).toBe(tokenHash(issued.token));
    expect(await fx.service.find(`hvs.${'A'.repeat(43)}`)).toBeUndefined();
    expect(await fx.service.findByAccessor('auth_azure_12345678')).toBeUndefined();
  });

  it('batch tokens are verified by another instance sharing the stored key, and are not stored', async () => {
    const fx = newService(core);
    const issued = await fx.service.issueToken({ ...login, type: 'batch', ttl: 600 });
    expect(issued.token.startsWith('hvb.')).toBe(true);
    expect(issued.auth).toMatchObject({ accessor: '', renewable: false, token_type: 'batch', lease_duration: 600 });
    // A second instance: same tables, its own key cache.
    const otherKeys = createServerKeys(() => core.table(fx.stateTable), TEST_ENCRYPTION_KEY);
    expect((await otherKeys.get('batch-token')).equals(await fx.keys.get('batch-token'))).toBe(true);
    const view = await useToken(fx.service, issued.token, '127.0.0.1');
    expect(view).toMatchObject({ type: 'batch', accessor: '', policies: ['default', 'web'], mount: 'azure', principalId: 'oid-1' });
    const rows = [];
    for await (const e of (await core.table(fx.tokensTable)).listEntities()) rows.push(e);
    expect(rows).toHaveLength(0);
    fx.clock.now += 601_000;
    await expect(useToken(fx.service, issued.token, '127.0.0.1')).rejects.toThrow('invalid token');
  });
});

describe('server keys', () => {
  it('two instances creating at once end with one key, stored sealed', async () => {
    const fx = newService(core);
    const instances = Array.from({ length: 6 }, () => createServerKeys(() => core.table(fx.stateTable), TEST_ENCRYPTION_KEY));
    const keys = await Promise.all(instances.map((k) => k.get('audit-hmac')));
    for (const k of keys) expect(k.equals(keys[0]!)).toBe(true);
    const rows = [];
    for await (const e of (await core.table(fx.stateTable)).listEntities()) rows.push(e);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(keys[0]!.toString('base64'));
    expect(JSON.stringify(rows)).not.toContain(keys[0]!.toString('hex'));
  });

  it('refuses to create a key without AZAUTH_ENCRYPTION_KEY; a batch token is then just invalid', async () => {
    const fx = newService(core);
    const keys = createServerKeys(() => core.table(fx.stateTable), undefined);
    await expect(keys.get('batch-token')).rejects.toThrow('AZAUTH_ENCRYPTION_KEY is not set');
    const issued = await fx.service.issueToken({ ...login, type: 'batch' });
    const keyless = new TokenService({
      store: fx.store,
      keys,
      system: { defaultTtl: 3600, maxTtl: 7200 },
      roles: { read: async () => undefined },
      mounts: { liveTokenMount: async () => true },
    });
    await expect(useToken(keyless, issued.token, '127.0.0.1')).rejects.toThrow('invalid token');
    await expect(keyless.issueToken({ ...login, type: 'batch' })).rejects.toThrow('AZAUTH_ENCRYPTION_KEY is not set');
  });
});

describe('use counting', () => {
  it('exactly N of 50 racing uses succeed; the last use deletes the token', async () => {
    const fx = newService(core);
    const issued = await fx.service.issueToken({ ...login, numUses: 5 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => useToken(fx.service, issued.token, '127.0.0.1')));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(5);
    for (const f of failed) expect(String(f.reason)).toContain('invalid token');
    expect(await fx.store.getByAccessor(issued.auth.accessor)).toBeUndefined();
  });

  it('bound CIDRs are checked on every use, before a use is consumed', async () => {
    const fx = newService(core);
    const issued = await fx.service.issueToken({ ...login, numUses: 2, boundCidrs: ['10.0.0.0/8'] });
    await expect(useToken(fx.service, issued.token, '192.168.1.1')).rejects.toThrow(/^permission denied$/);
    await expect(useToken(fx.service, issued.token, undefined)).rejects.toThrow(/^permission denied$/);
    await useToken(fx.service, issued.token, '10.9.9.9');
    expect((await fx.service.find(issued.token))?.record.numUses).toBe(1);
  });
});

describe('renewal', () => {
  it('re-reads the role, caps at its max, and fails when the role is gone', async () => {
    const fx = newService(core);
    fx.roles.set('azure/web', { tokenTtl: 600, tokenMaxTtl: 3600, tokenPeriod: 0 });
    const issued = await fx.service.issueToken({ ...login, ttl: 600, maxTtl: 3600 });
    const target = await fx.service.find(issued.token);
    fx.clock.now += 100_000;
    const renewed = await fx.service.renew(target!, 0, issued.token, 'invalid_token');
    expect(renewed.auth.lease_duration).toBe(600);
    expect(renewed.warnings).toEqual([]);

    // The role now allows 2h TTLs but only 1h total: capped at what is left of the max. (A role
    // read serves renewals for a second, so the change shows after that.)
    fx.roles.set('azure/web', { tokenTtl: 7200, tokenMaxTtl: 3600, tokenPeriod: 0 });
    const stale = await fx.service.renew((await fx.service.find(issued.token))!, 0, issued.token, 'invalid_token');
    expect(stale.auth.lease_duration).toBe(600);
    fx.clock.now += 1000;
    const capped = await fx.service.renew((await fx.service.find(issued.token))!, 0, issued.token, 'invalid_token');
    expect(capped.auth.lease_duration).toBe(3499);
    expect(capped.warnings[0]).toMatch(/TTL of "2h" exceeded the effective max_ttl of "58m19s"/);

    fx.roles.delete('azure/web');
    fx.clock.now += 1000;
    await expect(fx.service.renew((await fx.service.find(issued.token))!, 0, issued.token, 'invalid_token')).rejects.toThrow(
      'role Web does not exist during renewal',
    );
  });

  it('concurrent renewals and uses all land (ETag retries)', async () => {
    const fx = newService(core);
    fx.roles.set('azure/web', { tokenTtl: 600, tokenMaxTtl: 0, tokenPeriod: 0 });
    const issued = await fx.service.issueToken({ ...login, ttl: 600 });
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => fx.service.renew((await fx.service.find(issued.token))!, 300, issued.token, 'invalid_token')),
    );
    for (const r of results) expect(r.auth.lease_duration).toBe(300);
  });
});

describe('revocation, mounts and tidy', () => {
  it('revoking deletes the one entity; revoking again is harmless', async () => {
    const fx = newService(core);
    const issued = await fx.service.issueToken(login);
    expect(await fx.service.revokeAccessor(issued.auth.accessor)).toBe(true);
    expect(await fx.service.find(issued.token)).toBeUndefined();
    expect(await fx.service.revokeAccessor(issued.auth.accessor)).toBe(false);
  });

  it('revokeMountTokens removes only that mount\'s tokens, idempotently and concurrently', async () => {
    const fx = newService(core);
    const mine = await Promise.all(Array.from({ length: 130 }, () => fx.service.issueToken(login)));
    fx.mounts.set('other', 'auth_azure_other');
    const other = await fx.service.issueToken({ ...login, mount: 'other', mountAccessor: 'auth_azure_other' });
    const counts = await Promise.all([fx.service.revokeMountTokens('azure'), fx.service.revokeMountTokens('azure')]);
    expect(counts[0]! + counts[1]!).toBeGreaterThanOrEqual(130);
    for (const t of mine.slice(0, 10)) expect(await fx.service.find(t.token)).toBeUndefined();
    expect(await fx.service.find(other.token)).toBeDefined();
    expect(await fx.service.revokeMountTokens('azure')).toBe(0);
  });

  it('tidy deletes expired tokens in pages, spares live ones, and two runs at once are harmless', async () => {
    const fx = newService(core);
    const expiring = await Promise.all(Array.from({ length: 25 }, () => fx.service.issueToken({ ...login, ttl: 60 })));
    const live = await fx.service.issueToken({ ...login, ttl: 3600 });
    const root = await fx.service.createRootToken(TEST_TOKEN_ACCESSOR);
    const later = fx.clock.now + 120_000;
    const [a, b] = await Promise.all([
      tidyTokens(fx.store, { pageSize: 7, now: () => later }),
      tidyTokens(fx.store, { pageSize: 7, now: () => later }),
    ]);
    expect(a.complete && b.complete).toBe(true);
    expect(a.deleted + b.deleted).toBe(25);
    expect(a.pages).toBeGreaterThan(1);
    expect(await fx.store.getByAccessor(expiring[0]!.auth.accessor)).toBeUndefined();
    expect(await fx.store.getByToken(live.token)).toBeDefined();
    expect(await fx.store.getByToken(root)).toBeDefined();
    const again = await tidyTokens(fx.store, { now: () => later });
    expect(again).toMatchObject({ expiredFound: 0, deleted: 0, complete: true });
  });

  it('lists accessors', async () => {
    const fx = newService(core);
    const issued = await Promise.all(Array.from({ length: 3 }, () => fx.service.issueToken(login)));
    expect(await fx.service.listAccessors()).toEqual(issued.map((i) => i.auth.accessor).sort());
  });
});

describe('createRootToken (dev mode)', () => {
  it('writes a non-expiring root token through the app settings', async () => {
    const token = await createRootToken({ AzureWebJobsStorage: core.azurite.connectionString, AZAUTH_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY });
    expect(token).toMatch(/^hvs\./);
    const stored = await createTokenStore(
      () => core.table(TABLES.tokens),
      () => core.table(TABLES.tokenChildren),
    ).getByToken(token);
    expect(stored?.record).toMatchObject({ policies: ['root'], expireTimeMs: null, renewable: false, displayName: 'root', path: 'auth/token/root' });
  });
});

describe('token tree', () => {
  const child = (parent: { auth: { accessor: string } }, ancestors: readonly string[], extra: Record<string, unknown> = {}) => ({
    ...login,
    mount: 'token',
    mountAccessor: TEST_TOKEN_ACCESSOR,
    path: 'auth/token/create',
    parent: { accessor: parent.auth.accessor, ancestors },
    ...extra,
  });

  it('revoke-orphan keeps every descendant usable, with chains cut below the revoked token', async () => {
    const fx = newService(core);
    const root = await fx.service.issueToken(login);
    const middle = await fx.service.issueToken(child(root, []));
    const below = await fx.service.issueToken(child(middle, [root.auth.accessor]));
    const deepest = await fx.service.issueToken(child(below, [root.auth.accessor, middle.auth.accessor]));
    const target = await fx.service.find(middle.token);
    await fx.service.revokeOrphan(target!);
    expect((await fx.store.getByAccessor(below.auth.accessor))?.record.ancestors).toEqual([]);
    expect((await fx.store.getByAccessor(deepest.auth.accessor))?.record.ancestors).toEqual([below.auth.accessor]);
    await expect(useToken(fx.service, deepest.token, undefined)).resolves.toBeDefined();
    await expect(useToken(fx.service, middle.token, undefined)).rejects.toThrow('invalid token');
  });
});

describe('revoking a tree of 10,000 tokens', () => {
  /**
   * Stored token rows for a tree, written in entity-group transactions so that seeding 10,000 tokens
   * takes a few hundred storage calls instead of 20,000: accessors are drawn until they fall into a
   * few partitions. They are never used as tokens (their values are unknown); the tokens the test
   * uses are real ones issued into the same tree.
   */
  async function seedChildren(fx: ReturnType<typeof newService>, parent: TokenRecord, count: number, hasChildren: boolean): Promise<TokenRecord[]> {
    const partitions = new Map<string, TokenRecord[]>();
    const made: TokenRecord[] = [];
    while (made.length < count) {
      const accessor = randomBase62(24);
      const partition = partitionOf(accessor);
      // Only partitions 000–03f: about 64 rows share each, so they go 100 at a time.
      if (partition > '03f') continue;
      const record: TokenRecord = { ...parent, accessor, hash: tokenHash(accessor), ancestors: [...parent.ancestors, parent.accessor], numUses: 0 };
      made.push(record);
      partitions.set(partition, [...(partitions.get(partition) ?? []), record]);
    }
    const tokens = await core.table(fx.tokensTable);
    for (const [partition, records] of partitions) {
      for (let i = 0; i < records.length; i += 100) {
        await tokens.submitTransaction(records.slice(i, i + 100).map((r) => ['create', { ...toEntity(r, partition) }]));
      }
    }
    const index = await core.table(`${fx.tokensTable}kids`);
    // As issuing a grandchild does: the parent's own index row says it has children.
    const grandparent = parent.ancestors.at(-1);
    if (grandparent) await index.upsertEntity({ partitionKey: grandparent, rowKey: parent.accessor, has_children: true }, 'Merge');
    for (let i = 0; i < made.length; i += 100) {
      await index.submitTransaction(made.slice(i, i + 100).map((r) => ['create', { partitionKey: parent.accessor, rowKey: r.accessor, ...(hasChildren ? { has_children: true } : {}) }]));
    }
    return made;
  }

  it('finishes: cut short it resumes, two walks at once are safe, and no descendant is usable after the first revoke returns', async () => {
    const fx = newService(core);
    const root = await fx.service.issueToken(login);
    const rootRecord = (await fx.store.getByToken(root.token))!.record;
    const child = (parent: { auth: { accessor: string } }, ancestors: readonly string[]) => ({
      ...login,
      mount: 'token',
      mountAccessor: TEST_TOKEN_ACCESSOR,
      path: 'auth/token/create',
      parent: { accessor: parent.auth.accessor, ancestors },
    });
    // Real tokens in the tree, to use: 2 children of the root and 3 grandchildren under the first.
    const realChildren = [await fx.service.issueToken(child(root, [])), await fx.service.issueToken(child(root, []))];
    const realGrandchildren = await Promise.all(Array.from({ length: 3 }, () => fx.service.issueToken(child(realChildren[0]!, [root.auth.accessor]))));
    // The rest seeded: 98 more children of the root, each with 99 children → 10,000 descendants.
    const seededChildren = await seedChildren(fx, rootRecord, 98, true);
    for (const seeded of seededChildren) await seedChildren(fx, seeded, 99, false);
    const firstChild = (await fx.store.getByToken(realChildren[0]!.token))!.record;
    await seedChildren(fx, firstChild, 99 - realGrandchildren.length, false);
    const secondChild = (await fx.store.getByToken(realChildren[1]!.token))!.record;
    await seedChildren(fx, secondChild, 99, false);
    const count = async (table: string): Promise<number> => {
      let n = 0;
      for await (const _ of (await core.table(table)).listEntities({ queryOptions: { select: ['RowKey'] } })) n++;
      return n;
    };
    expect(await count(fx.tokensTable)).toBe(10_001);

    const target = await fx.service.find(root.token);
    // A first walk without budget: the root is gone, the walk stops before any descendant.
    const cut = await fx.service.revoke(target!, 0);
    expect(cut.complete).toBe(false);
    // Already now, no descendant can be used, whatever the walk has reached.
    for (const issued of [...realChildren, ...realGrandchildren]) await expect(useToken(fx.service, issued.token, undefined)).rejects.toThrow('invalid token');

    // Repeating the revoke (twice at once, as two instances would) finishes the walk.
    const started = performance.now();
    const [again, walk] = await Promise.all([fx.service.revokeByToken(root.token), fx.service.revokeTree(root.auth.accessor, '')]);
    console.log(`revoking 10,000 descendants, two walks at once, took ${Math.round(performance.now() - started)} ms`);
    expect(again).toBeUndefined();
    expect(walk.complete).toBe(true);
    expect(await count(fx.tokensTable)).toBe(0);
    expect(await count(`${fx.tokensTable}kids`)).toBe(0);
  }, 180_000);

  it('tidy finishes the subtree of an expired parent', async () => {
    const fx = newService(core);
    const parent = await fx.service.issueToken({ ...login, ttl: 60 });
    const kids = await Promise.all(
      Array.from({ length: 5 }, () =>
        fx.service.issueToken({ ...login, mount: 'token', mountAccessor: TEST_TOKEN_ACCESSOR, parent: { accessor: parent.auth.accessor, ancestors: [] }, ttl: 3600 }),
      ),
    );
    fx.clock.now += 120_000;
    await expect(useToken(fx.service, kids[0]!.token, undefined)).rejects.toThrow('invalid token');
    const report = await fx.service.tidy({ budgetMs: 20_000 });
    expect(report).toMatchObject({ deleted: 1, treeTokensRevoked: 5, complete: true });
    for (const kid of kids) expect(await fx.store.getByAccessor(kid.auth.accessor)).toBeUndefined();
  });
});
