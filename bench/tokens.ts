/**
 * Token-service benchmark (issue 5 "Performance"): lookup-self and renew-self over HTTP at
 * concurrency 16, next to the raw ceilings measured in the same run against the same Azurite:
 * point reads (lookup-self makes one) and ETag-conditional updates (renew-self makes one, after its
 * point read and the role re-read).
 *
 * `bench/run.ts` calls `benchTokens()` and prints its rows; `node dist/bench/tokens.js` runs it alone.
 * Topology as in run.ts: Azurite's Table service in its own process, the cloud emulator in this
 * process, the local Functions host in a child process; closed-loop load over keep-alive HTTP.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TableClient } from '@azure/data-tables';
import { startCloudEmulator } from '../dev/emulator';
import { spawnHost, type SpawnedHost } from '../dev/host/spawn';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

const CONCURRENCY = 16;
const WARMUP_MS = 700;
const CASE_MS = 3000;
const ADMIN_AUDIENCE = 'api://azauth-bench-admin';
const RESOURCE = 'https://management.azure.com/';
/** The public Azurite development key (documented by Microsoft; not a secret). */
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

interface Load {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
}

function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'azauth') return dir;
  }
  throw new Error('package.json of azauth not found above the benchmark');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startAzurite(root: string): Promise<{ connectionString: string; stop(): Promise<void> }> {
  const port = await freePort();
  const main = path.join(root, 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  const child = spawn(
    process.execPath,
    [main, '--inMemoryPersistence', '--disableTelemetry', '--silent', '--skipApiVersionCheck', '--loose', '--tableHost', '127.0.0.1', '--tablePort', String(port)],
    { cwd: os.tmpdir(), stdio: 'ignore' },
  );
  const endpoint = `http://127.0.0.1:${port}/devstoreaccount1`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('Azurite did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};TableEndpoint=${endpoint};`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Closed loop: worker i repeats `once(i)` until time is up. */
async function drive(ms: number, once: (worker: number) => Promise<boolean>): Promise<Load> {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if (!(await once(worker))) failures++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  return { perSecond: latencies.length / seconds, p50: pct(50), p99: pct(99), failures };
}

async function measure(once: (worker: number) => Promise<boolean>): Promise<Load> {
  await drive(WARMUP_MS, once);
  return drive(CASE_MS, once);
}

function send(agent: http.Agent, url: URL, method: string, token: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = token ? { 'x-vault-token': token } : {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request(url, { method, agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function post(host: SpawnedHost, token: string | undefined, logicalPath: string, body: Record<string, unknown>): Promise<unknown> {
  const res = await fetch(`${host.url}/v1/${logicalPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { 'X-Vault-Token': token } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${logicalPath}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Raw ceilings from a bare data-tables client: point reads and ETag-conditional updates. */
async function rawCeilings(connectionString: string): Promise<{ reads: Load; updates: Load; readThenUpdate: Load }> {
  const client = TableClient.fromConnectionString(connectionString, 'benchtokensraw', { allowInsecureConnection: true });
  await client.createTable();
  const payload = randomBytes(300).toString('base64');
  const keys = Array.from({ length: CONCURRENCY }, (_, i) => ({ partitionKey: randomBytes(2).toString('hex').slice(0, 3), rowKey: `row${i}` }));
  const etags: string[] = [];
  for (const key of keys) etags.push((await client.createEntity({ ...key, payload, n: 0 })).etag ?? '');
  const reads = await measure(async (i) => {
    const key = keys[i]!;
    await client.getEntity(key.partitionKey, key.rowKey);
    return true;
  });
  let n = 0;
  const updates = await measure(async (i) => {
    const key = keys[i]!;
    const result = await client.updateEntity({ ...key, n: ++n }, 'Merge', { etag: etags[i]! });
    etags[i] = result.etag ?? '';
    return true;
  });
  // What an optimistic update of a record costs when the ETag is not already known: read, then update.
  const readThenUpdate = await measure(async (i) => {
    const key = keys[i]!;
    const current = await client.getEntity(key.partitionKey, key.rowKey);
    await client.updateEntity({ ...key, n: ++n }, 'Merge', { etag: current.etag });
    return true;
  });
  return { reads, updates, readThenUpdate };
}

export async function benchTokens(): Promise<{ rows: BenchRow[] }> {
  const root = repoRoot();
  const azurite = await startAzurite(root);
  const emulator = await startCloudEmulator();
  let host: SpawnedHost | undefined;
  try {
    const tenant = emulator.defaultTenantId;
    const adminOid = randomUUID();
    host = await spawnHost({
      appRoot: root,
      env: {
        AzureWebJobsStorage: azurite.connectionString,
        NODE_EXTRA_CA_CERTS: emulator.caCertPath,
        AZURE_AUTHORITY_HOST: emulator.url,
        AZAUTH_ARM_ENDPOINT: emulator.url,
        AZAUTH_GRAPH_ENDPOINT: emulator.url,
        AZAUTH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        AZAUTH_ADMIN_TENANT_ID: tenant,
        AZAUTH_ADMIN_AUDIENCE: ADMIN_AUDIENCE,
        AZAUTH_ADMIN_PRINCIPAL_IDS: adminOid,
        AZURE_TENANT_ID: undefined,
        AZURE_AD_RESOURCE: undefined,
        AZURE_ENVIRONMENT: undefined,
      },
    });
    const admin = await emulator.entra.mintToken({ tenant, audience: ADMIN_AUDIENCE, oid: adminOid });
    const workload = randomUUID();
    await post(host, admin, 'auth/azure/config', { tenant_id: tenant, resource: RESOURCE });
    // A login role as Vault Agent would renew it: renew-self re-reads this role every time.
    await post(host, admin, 'auth/azure/role/bench', { bound_service_principal_ids: [workload], token_policies: 'app', token_ttl: '1h' });
    const jwt = await emulator.entra.mintToken({ tenant, audience: RESOURCE, oid: workload });
    const tokens: string[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const answer = (await post(host, undefined, 'auth/azure/login', { role: 'bench', jwt })) as { auth: { client_token: string } };
      tokens.push(answer.auth.client_token);
    }

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const lookupUrl = new URL(`${host.url}/v1/auth/token/lookup-self`);
    const renewUrl = new URL(`${host.url}/v1/auth/token/renew-self`);
    const healthUrl = new URL(`${host.url}/v1/sys/health`);
    // The host's own ceiling for a Vault endpoint that touches no storage, for context.
    const health = await measure(async () => (await send(agent, healthUrl, 'GET', '')) === 200);
    const lookup = await measure(async (i) => (await send(agent, lookupUrl, 'GET', tokens[i]!)) === 200);
    const renew = await measure(async (i) => (await send(agent, renewUrl, 'PUT', tokens[i]!, '{"increment":0}')) === 200);
    agent.destroy();
    const raw = await rawCeilings(azurite.connectionString);

    const r = (value: number, digits = 0) => Number(value.toFixed(digits));
    return {
      rows: [
        { name: `sys/health c${CONCURRENCY} (host ceiling, no storage)`, value: r(health.perSecond), unit: 'req/s' },
        { name: `lookup-self c${CONCURRENCY}`, value: r(lookup.perSecond), unit: 'req/s' },
        { name: `lookup-self c${CONCURRENCY} p50 / p99`, value: r(lookup.p50, 1), unit: `ms / ${r(lookup.p99, 1)} ms` },
        { name: `lookup-self c${CONCURRENCY} failures`, value: lookup.failures, unit: 'requests' },
        { name: `renew-self c${CONCURRENCY} (login token, role re-read)`, value: r(renew.perSecond), unit: 'req/s' },
        { name: `renew-self c${CONCURRENCY} p50 / p99`, value: r(renew.p50, 1), unit: `ms / ${r(renew.p99, 1)} ms` },
        { name: `renew-self c${CONCURRENCY} failures`, value: renew.failures, unit: 'requests' },
        { name: `raw Azurite point reads c${CONCURRENCY}`, value: r(raw.reads.perSecond), unit: 'reads/s' },
        { name: `raw Azurite ETag-conditional updates c${CONCURRENCY}`, value: r(raw.updates.perSecond), unit: 'updates/s' },
        { name: `raw Azurite point read then conditional update c${CONCURRENCY}`, value: r(raw.readThenUpdate.perSecond), unit: 'cycles/s' },
        { name: 'lookup-self / raw point reads (target ≥ 80%)', value: r((lookup.perSecond / raw.reads.perSecond) * 100), unit: '%' },
        { name: 'renew-self / raw conditional updates (target ≥ 60%)', value: r((renew.perSecond / raw.updates.perSecond) * 100), unit: '%' },
        { name: 'renew-self / raw read-then-update cycles', value: r((renew.perSecond / raw.readThenUpdate.perSecond) * 100), unit: '%' },
        { name: `sys/health c${CONCURRENCY} / raw point reads (the host's own share)`, value: r((health.perSecond / raw.reads.perSecond) * 100), unit: '%' },
      ],
    };
  } finally {
    await host?.stop();
    await emulator.stop();
    await azurite.stop();
  }
}

if (require.main === module) {
  benchTokens().then(
    ({ rows }) => {
      for (const row of rows) process.stdout.write(`${row.name}: ${row.value} ${row.unit}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
