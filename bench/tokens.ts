/**
 * Token-service benchmark (issue 5 "Performance"): lookup-self and renew-self over HTTP at
 * concurrency 16, next to the raw ceilings measured in the same run against the same Azurite:
 * point reads (lookup-self makes one) and ETag-conditional updates (renew-self makes one, after its
 * point read; the role re-read is shared by the renewals of one second).
 *
 * `bench/run.ts` calls `benchTokens()` and prints its rows; `node dist/bench/tokens.js` runs it alone.
 * Topology and method as in run.ts: Azurite's Table service in its own process, the cloud emulator
 * in this process, the local Functions host in a child process; closed-loop load from this process.
 * Every case and raw ceiling gets a fresh client, the same warm-up and measuring time, and is
 * measured twice: the raw ceilings once before and once after the HTTP cases, the HTTP cases in two
 * rounds; figures pool the two runs, and the runs are shown.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { TableClient } from '@azure/data-tables';
import { cpuMicrosPerRequest, loginTokens, measureOnce, measureOverHttp, pooled, send, stackProcesses, startAppStack, type LoadResult } from './stack';
import { runStandalone, type BenchRow } from './rows';

const CONCURRENCY = 16;
const RUNS = 2;

interface RawRuns {
  reads: LoadResult[];
  updates: LoadResult[];
  readThenUpdate: LoadResult[];
}

/** Raw ceilings from a bare data-tables client: point reads and ETag-conditional updates. */
async function rawCeilings(connectionString: string, watched: Readonly<Record<string, number>>): Promise<(into: RawRuns) => Promise<void>> {
  const payload = randomBytes(300).toString('base64');
  const keys = Array.from({ length: CONCURRENCY }, (_, i) => ({ partitionKey: randomBytes(2).toString('hex').slice(0, 3), rowKey: `row${i}` }));
  const setup = TableClient.fromConnectionString(connectionString, 'benchtokensraw', { allowInsecureConnection: true });
  await setup.createTable();
  const etags: string[] = [];
  for (const key of keys) etags.push((await setup.createEntity({ ...key, payload, n: 0 })).etag ?? '');
  let n = 0;
  // A fresh client for each measurement, as each HTTP case gets a fresh agent.
  const fresh = async () => TableClient.fromConnectionString(connectionString, 'benchtokensraw', { allowInsecureConnection: true });
  return async (into) => {
    into.reads.push(
      await measureOnce(watched, CONCURRENCY, fresh, async (reader, i) => {
        const key = keys[i]!;
        await reader.getEntity(key.partitionKey, key.rowKey);
        return true;
      }),
    );
    into.updates.push(
      await measureOnce(watched, CONCURRENCY, fresh, async (updater, i) => {
        const key = keys[i]!;
        const result = await updater.updateEntity({ ...key, n: ++n }, 'Merge', { etag: etags[i]! });
        etags[i] = result.etag ?? '';
        return true;
      }),
    );
    // What an optimistic update of a record costs when the ETag is not already known: read, then update.
    into.readThenUpdate.push(
      await measureOnce(watched, CONCURRENCY, fresh, async (cycler, i) => {
        const key = keys[i]!;
        const current = await cycler.getEntity(key.partitionKey, key.rowKey);
        const result = await cycler.updateEntity({ ...key, n: ++n }, 'Merge', { etag: current.etag });
        etags[i] = result.etag ?? '';
        return true;
      }),
    );
  };
}

export async function benchTokens(): Promise<{ rows: BenchRow[] }> {
  const stack = await startAppStack();
  const watched = stackProcesses(stack);
  try {
    const { host } = stack;
    // Login tokens as Vault Agent would renew them: renew-self re-reads their role.
    const { tokens } = await loginTokens(stack, { policies: ['app'], count: CONCURRENCY });

    const lookupUrl = new URL(`${host.url}/v1/auth/token/lookup-self`);
    const renewUrl = new URL(`${host.url}/v1/auth/token/renew-self`);
    const healthUrl = new URL(`${host.url}/v1/sys/health`);
    const viaHttp = (once: (agent: http.Agent, worker: number) => Promise<boolean>): Promise<LoadResult> => measureOverHttp(watched, CONCURRENCY, once);
    const raw: RawRuns = { reads: [], updates: [], readThenUpdate: [] };
    const health: LoadResult[] = [];
    const lookup: LoadResult[] = [];
    const renew: LoadResult[] = [];
    const measureRaw = await rawCeilings(stack.azurite.connectionString, watched);

    await measureRaw(raw);
    for (let round = 0; round < RUNS; round++) {
      // The host's own ceiling for a Vault endpoint that touches no storage, for context.
      health.push(await viaHttp(async (agent) => (await send(agent, healthUrl, 'GET', {})) === 200));
      lookup.push(await viaHttp(async (agent, i) => (await send(agent, lookupUrl, 'GET', { 'x-vault-token': tokens[i]! })) === 200));
      renew.push(await viaHttp(async (agent, i) => (await send(agent, renewUrl, 'PUT', { 'x-vault-token': tokens[i]! }, '{"increment":0}')) === 200));
    }
    await measureRaw(raw);

    const r = (value: number, digits = 0) => Number(value.toFixed(digits));
    // CPU per request of the host, Azurite and this process (the load generator, or the raw client).
    const micros = (result: LoadResult, who: string) => r(cpuMicrosPerRequest(result)[who] ?? Number.NaN);
    const viaHost = (result: LoadResult) => `µs in the host (Azurite ${micros(result, 'azurite')} µs, bench ${micros(result, 'bench')} µs)`;
    const direct = (result: LoadResult) => `µs in the bench process, the client (Azurite ${micros(result, 'azurite')} µs)`;
    const runs = (results: readonly LoadResult[]) => results.map((x) => r(x.perSecond)).join(' / ');
    const h = pooled(health);
    const l = pooled(lookup);
    const n = pooled(renew);
    const reads = pooled(raw.reads);
    const updates = pooled(raw.updates);
    const cycles = pooled(raw.readThenUpdate);
    return {
      rows: [
        { name: `sys/health c${CONCURRENCY} (host ceiling, no storage)`, value: r(h.perSecond), unit: `req/s (runs ${runs(health)})` },
        { name: `lookup-self c${CONCURRENCY}`, value: r(l.perSecond), unit: `req/s (runs ${runs(lookup)})` },
        { name: `lookup-self c${CONCURRENCY} p50 / p99`, value: r(l.p50, 1), unit: `ms / ${r(l.p99, 1)} ms` },
        { name: `lookup-self c${CONCURRENCY} failures`, value: l.failures, unit: 'requests' },
        { name: `renew-self c${CONCURRENCY} (login token, role re-read)`, value: r(n.perSecond), unit: `req/s (runs ${runs(renew)})` },
        { name: `renew-self c${CONCURRENCY} p50 / p99`, value: r(n.p50, 1), unit: `ms / ${r(n.p99, 1)} ms` },
        { name: `renew-self c${CONCURRENCY} failures`, value: n.failures, unit: 'requests' },
        { name: `raw Azurite point reads c${CONCURRENCY}`, value: r(reads.perSecond), unit: `reads/s (runs ${runs(raw.reads)})` },
        { name: `raw Azurite ETag-conditional updates c${CONCURRENCY}`, value: r(updates.perSecond), unit: `updates/s (runs ${runs(raw.updates)})` },
        { name: `raw Azurite point read then conditional update c${CONCURRENCY}`, value: r(cycles.perSecond), unit: `cycles/s (runs ${runs(raw.readThenUpdate)})` },
        { name: `CPU per request, sys/health c${CONCURRENCY}`, value: micros(h, 'host'), unit: viaHost(h) },
        { name: `CPU per request, lookup-self c${CONCURRENCY}`, value: micros(l, 'host'), unit: viaHost(l) },
        { name: `CPU per request, renew-self c${CONCURRENCY}`, value: micros(n, 'host'), unit: viaHost(n) },
        { name: `CPU per request, raw point reads c${CONCURRENCY}`, value: micros(reads, 'bench'), unit: direct(reads) },
        { name: `CPU per request, raw conditional updates c${CONCURRENCY}`, value: micros(updates, 'bench'), unit: direct(updates) },
        { name: 'lookup-self / raw point reads (target ≥ 80%)', value: r((l.perSecond / reads.perSecond) * 100), unit: '%' },
        { name: 'renew-self / raw conditional updates (target ≥ 60%)', value: r((n.perSecond / updates.perSecond) * 100), unit: '%' },
        { name: 'renew-self / raw read-then-update cycles', value: r((n.perSecond / cycles.perSecond) * 100), unit: '%' },
        { name: `sys/health c${CONCURRENCY} / raw point reads (the host's own share)`, value: r((h.perSecond / reads.perSecond) * 100), unit: '%' },
      ],
    };
  } finally {
    await stack.stop();
  }
}

if (require.main === module) runStandalone(benchTokens);
