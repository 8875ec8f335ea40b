/**
 * KV secrets engine benchmark (issue 12 "Performance"): KV v2 reads and writes over HTTP at c1, c16
 * and c64 with a login token whose policy grants the path, beside `lookup-self` of the same tokens in
 * the same run (a read is a token check plus one secret read plus an unseal; a write is a token check,
 * a read of the key's state and one entity-group transaction), and listing a folder of 10,000 keys.
 *
 * Topology and method as in run.ts. `bench/run.ts` calls `benchSecrets()`; `node dist/bench/secrets.js`
 * runs it alone.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createTableProvider } from '../shared/storage/tables';
import { createKvEngine } from '../shared/kv/store';
import type { Sealer } from '../shared/crypto/keyring';
import { cpuMicrosPerRequest, loginTokens, measureOverHttp, medianOf, pooled, send, stackProcesses, startAppStack, vaultWrite, type AppStack, type LoadResult } from './stack';
import { runStandalone, type BenchRow } from './rows';

export const KV_CONCURRENCIES = [1, 16, 64] as const;
const RUNS = 2;
const FOLDER_KEYS = 10_000;
/** A secret of a realistic size: a handful of fields, ~300 bytes of JSON. */
const SECRET = { username: 'app', password: randomBytes(24).toString('base64url'), host: 'db.internal', port: 5432, options: { ssl: true, pool: 20 } };

interface Prepared {
  readonly stack: AppStack;
  /** Login tokens whose policy reads and writes `kv/data/bench/*` and lists `kv/metadata/*`. */
  readonly tokens: string[];
}

async function prepare(stack: AppStack): Promise<Prepared> {
  const { admin } = stack;
  await vaultWrite(stack, admin, 'sys/mounts/kv', { type: 'kv', options: { version: '2' } });
  await vaultWrite(stack, admin, 'sys/policies/acl/bench-kv', {
    policy: 'path "kv/data/bench/*" { capabilities = ["create", "read", "update"] }\npath "kv/metadata/*" { capabilities = ["list"] }',
  });
  const { tokens } = await loginTokens(stack, { policies: ['bench-kv'], count: 64 });
  // One secret per possible worker, so reads at every concurrency hit distinct keys.
  for (let i = 0; i < 64; i++) await vaultWrite(stack, tokens[0], `kv/data/bench/read-${i}`, { data: SECRET });
  return { stack, tokens };
}

export interface SecretsBench {
  readonly rows: BenchRow[];
  readonly at: (name: 'read' | 'write' | 'lookup', concurrency: number) => LoadResult | undefined;
  readonly listing: { readonly httpMs: number; readonly firstPageMs: number; readonly wholeMs: number; readonly keys: number };
}

export async function benchSecrets(): Promise<SecretsBench> {
  const stack = await startAppStack();
  const watched = stackProcesses(stack);
  const results = new Map<string, LoadResult[]>();
  const add = (name: string, concurrency: number, result: LoadResult) => {
    const key = `${name}@${concurrency}`;
    results.set(key, [...(results.get(key) ?? []), result]);
  };
  try {
    const p = await prepare(stack);
    const base = stack.host.url;
    const lookupUrl = new URL(`${base}/v1/auth/token/lookup-self`);
    const readUrl = (i: number) => new URL(`${base}/v1/kv/data/bench/read-${i}`);
    const writeUrl = (i: number) => new URL(`${base}/v1/kv/data/bench/write-${i}`);
    const body = JSON.stringify({ data: SECRET, options: {} });
    for (const concurrency of KV_CONCURRENCIES) {
      for (let round = 0; round < RUNS; round++) {
        add('lookup', concurrency, await measureOverHttp(watched, concurrency, async (agent, i) => (await send(agent, lookupUrl, 'GET', { 'x-vault-token': p.tokens[i]! })) === 200));
        add('read', concurrency, await measureOverHttp(watched, concurrency, async (agent, i) => (await send(agent, readUrl(i), 'GET', { 'x-vault-token': p.tokens[i]! })) === 200));
        add('write', concurrency, await measureOverHttp(watched, concurrency, async (agent, i) => (await send(agent, writeUrl(i), 'PUT', { 'x-vault-token': p.tokens[i]! }, body)) === 200));
      }
    }

    // A folder of 10,000 keys, written over HTTP (c64), then listed over HTTP and page by page.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    let next = 0;
    const fillStarted = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async (_, worker) => {
        for (let i = next++; i < FOLDER_KEYS; i = next++) {
          const url = new URL(`${base}/v1/kv/data/bench/folder/key-${String(i).padStart(5, '0')}`);
          const status = await send(agent, url, 'PUT', { 'x-vault-token': p.tokens[worker]! }, JSON.stringify({ data: { n: i } }));
          if (status !== 200) throw new Error(`filling the folder: ${status}`);
        }
      }),
    );
    const fillMs = performance.now() - fillStarted;
    agent.destroy();
    const listUrl = `${base}/v1/kv/metadata/bench/folder?list=true`;
    const httpTimes: number[] = [];
    let listed = 0;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await fetch(listUrl, { headers: { 'x-vault-token': p.tokens[0]! } });
      const json = (await res.json()) as { data?: { keys?: unknown[] } };
      httpTimes.push(performance.now() - started);
      listed = json.data?.keys?.length ?? 0;
    }
    // Page by page, straight from the engine against the same storage (what LIST reads underneath).
    const mount = await fetch(`${base}/v1/sys/mounts/kv`, { headers: { 'x-vault-token': stack.admin } });
    const uuid = ((await mount.json()) as { data: { uuid: string } }).data.uuid;
    const noSealing: Sealer = {
      seal: async () => {
        throw new Error('listing seals nothing');
      },
      open: async () => {
        throw new Error('listing opens nothing');
      },
    };
    const engine = createKvEngine(
      createTableProvider({ AzureWebJobsStorage: stack.azurite.connectionString, AzureWebJobsStorage__tableServiceUri: undefined, AzureWebJobsStorage__accountName: undefined, AzureWebJobsStorage__clientId: undefined }),
      noSealing,
    );
    const firstPages: number[] = [];
    const wholes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      let first = Number.NaN;
      let count = 0;
      for await (const page of engine.listPages({ uuid }, 'bench/folder/')) {
        if (Number.isNaN(first)) first = performance.now() - started;
        count += page.length;
      }
      firstPages.push(first);
      wholes.push(performance.now() - started);
      if (count !== FOLDER_KEYS) throw new Error(`listed ${count} keys page by page, expected ${FOLDER_KEYS}`);
    }
    const listing = { httpMs: medianOf(httpTimes), firstPageMs: medianOf(firstPages), wholeMs: medianOf(wholes), keys: listed };

    const r = (value: number, digits = 0) => Number(value.toFixed(digits));
    const pooledAt = (name: string, c: number) => {
      const runs = results.get(`${name}@${c}`);
      return runs ? pooled(runs) : undefined;
    };
    const rows: BenchRow[] = [];
    for (const c of KV_CONCURRENCIES) {
      for (const [name, label] of [
        ['lookup', 'lookup-self'],
        ['read', 'KV v2 read (GET kv/data/bench/read-N)'],
        ['write', 'KV v2 write (PUT kv/data/bench/write-N, a new version each time)'],
      ] as const) {
        const result = pooledAt(name, c);
        const runs = results.get(`${name}@${c}`) ?? [];
        if (!result) continue;
        const micros = cpuMicrosPerRequest(result);
        rows.push({
          name: `${label} c${c}`,
          value: r(result.perSecond),
          unit: `req/s (runs ${runs.map((x) => r(x.perSecond)).join(' / ')}), p50 ${r(result.p50, 1)} ms, p99 ${r(result.p99, 1)} ms, failures ${result.failures}; CPU µs/req host ${r(micros.host ?? Number.NaN)}, Azurite ${r(micros.azurite ?? Number.NaN)}`,
        });
      }
    }
    rows.push({ name: `writing ${FOLDER_KEYS} keys into one folder over HTTP, c64`, value: r(fillMs / 1000, 1), unit: `s (${r(FOLDER_KEYS / (fillMs / 1000))} new keys/s)` });
    rows.push({ name: `LIST kv/metadata/bench/folder over HTTP (${listing.keys} keys), median of 5`, value: r(listing.httpMs, 1), unit: 'ms (the whole list in one answer)' });
    rows.push({ name: 'the same folder from the engine: time to the first page (1,000 names), median of 5', value: r(listing.firstPageMs, 1), unit: 'ms' });
    rows.push({ name: 'the same folder from the engine: time to the whole list, median of 5', value: r(listing.wholeMs, 1), unit: 'ms' });
    return { rows, at: (name, c) => pooledAt(name, c), listing };
  } finally {
    await stack.stop();
  }
}

if (require.main === module) runStandalone(benchSecrets);
