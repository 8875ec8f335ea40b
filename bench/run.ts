/**
 * `npm run bench`: login throughput and latency over HTTP against the local stack, next to the raw
 * ceilings of the same machine, and the ARM economy under load. Writes bench/results.md.
 *
 * Topology: Azurite's Table service in its own process (as Table Storage is its own service in
 * Azure), the cloud emulator in this process, the local Functions host in a child process running
 * the built app. Load comes from this process over keep-alive HTTP, closed loop (each of N workers
 * sends its next login when the previous answer arrives). Everything shares the machine's cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { TableClient } from '@azure/data-tables';
import { SignJWT, importSPKI, jwtVerify } from 'jose';
import { startCloudEmulator, type CloudEmulator } from '../dev/emulator';
import { spawnHost, type SpawnedHost } from '../dev/host/spawn';
import { benchHost, type BenchRow } from './host';

const CONCURRENCIES = [1, 16, 64] as const;
const WARMUP_MS = 700;
const GLOBAL_WARMUP_MS = 1500;
const CASE_MS = 3000;
const RAW_MS = 2000;
/** Short, so the run sees several cache periods; the product default is 60 s. */
const ARM_CACHE_TTL_SECONDS = 5;
const ARM_AUDIENCE = 'https://management.azure.com/';
const ADMIN_AUDIENCE = 'api://azauth-admin';

interface LoadResult {
  readonly count: number;
  readonly failures: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
}

interface CaseRow {
  readonly name: string;
  readonly concurrency: number;
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

interface Azurite {
  readonly connectionString: string;
  stop(): Promise<void>;
}

/** Azurite's Table service alone, in memory, in its own process. */
async function startAzurite(root: string): Promise<Azurite> {
  const port = await freePort();
  const main = path.join(root, 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [main, '--inMemoryPersistence', '--disableTelemetry', '--silent', '--skipApiVersionCheck', '--loose', '--tableHost', '127.0.0.1', '--tablePort', String(port)],
    { cwd: os.tmpdir(), stdio: 'ignore' },
  );
  const endpoint = `http://127.0.0.1:${port}/devstoreaccount1`;
  const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='; // public dev key
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};TableEndpoint=${endpoint};`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('Azurite did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    connectionString,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Closed-loop load: `concurrency` workers, each repeating `once` until time is up. */
async function drive(concurrency: number, ms: number, once: () => Promise<boolean>): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await once();
        latenciesMs.push(performance.now() - t0);
        if (!ok) failures++;
      }
    }),
  );
  return { count: latenciesMs.length, failures, seconds: (performance.now() - started) / 1000, latenciesMs };
}

function rowOf(name: string, concurrency: number, result: LoadResult): CaseRow {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return {
    name,
    concurrency,
    perSecond: result.count / result.seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    failures: result.failures,
  };
}

function putJson(agent: http.Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'PUT', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function adminWrite(host: SpawnedHost, token: string, logicalPath: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${host.url}/v1/${logicalPath}`, {
    method: 'POST',
    headers: { 'X-Vault-Token': token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${logicalPath}: ${res.status} ${await res.text()}`);
}

/** Single-entity inserts into the same Azurite from a bare data-tables client. */
async function rawInserts(connectionString: string, concurrency: number): Promise<LoadResult> {
  const client = TableClient.fromConnectionString(connectionString, `benchraw${concurrency}`, { allowInsecureConnection: true });
  await client.createTable();
  const payload = randomBytes(200).toString('base64');
  let n = 0;
  const once = async (): Promise<boolean> => {
    n++;
    await client.createEntity({ partitionKey: `p${n % 64}`, rowKey: `${n}-${randomUUID()}`, payload });
    return true;
  };
  await drive(concurrency, WARMUP_MS, once);
  return drive(concurrency, RAW_MS, once);
}

/** jose RS256 verifications per second (one process, this machine). */
async function joseVerifications(concurrency: number): Promise<LoadResult> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwt = await new SignJWT({ sub: 'bench', aud: ARM_AUDIENCE }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  const key = await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
  const once = async (): Promise<boolean> => {
    await jwtVerify(jwt, key, { algorithms: ['RS256'], audience: ARM_AUDIENCE });
    return true;
  };
  await drive(concurrency, WARMUP_MS, once);
  return drive(concurrency, RAW_MS, once);
}

/** `bench/tokens.ts` from the tokens engineer, when it exists: `benchTokens(): Promise<{ rows: BenchRow[] }>`. */
async function tokensBench(): Promise<BenchRow[] | undefined> {
  const file = path.join(__dirname, 'tokens.js');
  if (!existsSync(file)) return undefined;
  const loaded: unknown = await import(pathToFileURL(file).href);
  const candidate = (loaded as { benchTokens?: unknown; default?: { benchTokens?: unknown } }).benchTokens ?? (loaded as { default?: { benchTokens?: unknown } }).default?.benchTokens;
  if (typeof candidate !== 'function') return undefined;
  const result: unknown = await (candidate as () => Promise<unknown>)();
  const rows = (result as { rows?: unknown }).rows;
  if (!Array.isArray(rows)) return undefined;
  return rows.filter(
    (row): row is BenchRow =>
      typeof row === 'object' && row !== null && typeof (row as BenchRow).name === 'string' && typeof (row as BenchRow).value === 'number' && typeof (row as BenchRow).unit === 'string',
  );
}

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  const root = repoRoot();
  const startedAt = performance.now();
  // The machine may be shared: the 1-minute load average before the run tells how busy it was.
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  const lines: string[] = [];
  const log = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };

  const azurite = await startAzurite(root);
  const emulator: CloudEmulator = await startCloudEmulator();
  let host: SpawnedHost | undefined;
  const rows: CaseRow[] = [];
  const raw: Array<{ concurrency: number; inserts: number }> = [];
  const jose: Array<{ concurrency: number; perSecond: number }> = [];
  let armReads = 0;
  let armSeconds = 0;
  try {
    const tenant = emulator.defaultTenantId;
    const adminOid = randomUUID();
    const identity = await emulator.appServiceIdentity();
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
        AZAUTH_ARM_CACHE_TTL: String(ARM_CACHE_TTL_SECONDS),
        AZURE_TENANT_ID: undefined,
        AZURE_AD_RESOURCE: undefined,
        AZURE_ENVIRONMENT: undefined,
        ...identity.env,
        // For profiling the host, e.g. BENCH_HOST_NODE_OPTIONS="--require ./profile-preload.cjs".
        ...(process.env.BENCH_HOST_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_HOST_NODE_OPTIONS } : {}),
      },
    });
    const admin = await emulator.entra.mintToken({ tenant, audience: ADMIN_AUDIENCE, oid: adminOid });
    const subscriptionId = randomUUID();
    emulator.arm.addSubscription({ subscriptionId, tenantId: tenant });
    const vm = emulator.arm.addVm({ subscriptionId, resourceGroup: 'bench', name: 'web', location: 'westeurope', systemAssigned: true });
    await adminWrite(host, admin, 'auth/azure/config', { tenant_id: tenant, resource: ARM_AUDIENCE });
    await adminWrite(host, admin, 'auth/azure/role/service', { bound_service_principal_ids: vm.principalId ?? '', token_policies: 'app' });
    await adminWrite(host, admin, 'auth/azure/role/batch', { bound_service_principal_ids: vm.principalId ?? '', token_policies: 'app', token_type: 'batch' });
    await adminWrite(host, admin, 'auth/azure/role/arm', { bound_service_principal_ids: '*', bound_resource_groups: 'bench', token_policies: 'app' });
    const jwt = await emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vm.id });

    const url = new URL(`${host.url}/v1/auth/azure/login`);
    const bodyFor = (role: string): string =>
      JSON.stringify({ role, jwt, subscription_id: subscriptionId, resource_group_name: 'bench', vm_name: 'web', vmss_name: '' });
    const cases: Array<[string, string]> = [
      ['service token (role bound by principal)', 'service'],
      ['batch token (role bound by principal)', 'batch'],
      ['service token, ARM-bound VM role (warm cache)', 'arm'],
    ];
    // One warm-up of every path first (JIT, connection pools, table creation, the ARM session), so the
    // first case measured does not carry the process's start-up; each case still warms up itself.
    for (const [, role] of cases) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const body = bodyFor(role);
      await drive(16, GLOBAL_WARMUP_MS, async () => (await putJson(agent, url, body)) === 200);
      agent.destroy();
    }
    for (const [name, role] of cases) {
      for (const concurrency of CONCURRENCIES) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
        const body = bodyFor(role);
        const once = async (): Promise<boolean> => (await putJson(agent, url, body)) === 200;
        await drive(concurrency, WARMUP_MS, once);
        const armBefore = emulator.count({ service: 'arm', pathIncludes: '/virtualMachines/web' });
        const result = await drive(concurrency, CASE_MS, once);
        if (role === 'arm') {
          armReads += emulator.count({ service: 'arm', pathIncludes: '/virtualMachines/web' }) - armBefore;
          armSeconds += result.seconds;
        }
        agent.destroy();
        const row = rowOf(name, concurrency, result);
        rows.push(row);
        log(`${name} c${concurrency}: ${fmt(row.perSecond)} logins/s, p50 ${fmt(row.p50, 1)} ms, p99 ${fmt(row.p99, 1)} ms, failures ${row.failures}`);
      }
    }
    for (const concurrency of CONCURRENCIES) {
      const result = await rawInserts(azurite.connectionString, concurrency);
      raw.push({ concurrency, inserts: result.count / result.seconds });
      log(`raw Azurite inserts c${concurrency}: ${fmt(result.count / result.seconds)}/s`);
    }
    for (const concurrency of [1, 16]) {
      const result = await joseVerifications(concurrency);
      jose.push({ concurrency, perSecond: result.count / result.seconds });
      log(`jose RS256 verify c${concurrency}: ${fmt(result.count / result.seconds)}/s`);
    }
  } finally {
    await host?.stop();
    await emulator.stop();
    await azurite.stop();
  }

  log('host benchmark…');
  const hostRows = (await benchHost()).rows;
  const tokenRows = await tokensBench();

  const serviceAt = (c: number): CaseRow | undefined => rows.find((r) => r.name.startsWith('service token (') && r.concurrency === c);
  const batch16 = rows.find((r) => r.name.startsWith('batch') && r.concurrency === 16);
  const armPerTtl = armSeconds > 0 ? armReads / (armSeconds / ARM_CACHE_TTL_SECONDS) : Number.NaN;

  lines.push('# Benchmark results', '');
  lines.push(
    `Run ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ` +
      `1-minute load average ${fmt(loadBefore, 2)} before the run (other work on the machine skews every figure).`,
  );
  lines.push(
    `Closed-loop load over keep-alive HTTP from the bench process; host = local Functions host (child process, built app);`,
    `Azurite Table service in its own process (in memory); cloud emulator in the bench process. ${CASE_MS / 1000} s per case after ${WARMUP_MS} ms warm-up, and ${GLOBAL_WARMUP_MS} ms per role at c16 before the first case.`,
    '',
  );
  lines.push('## Logins', '', '| case | concurrency | logins/s | p50 ms | p99 ms | failures |', '|---|---:|---:|---:|---:|---:|');
  for (const r of rows) lines.push(`| ${r.name} | ${r.concurrency} | ${fmt(r.perSecond)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.failures} |`);
  lines.push('', '## Raw ceilings (same run, same machine)', '', '| measurement | concurrency | per second |', '|---|---:|---:|');
  for (const r of raw) lines.push(`| single-entity inserts into the same Azurite, bare @azure/data-tables | ${r.concurrency} | ${fmt(r.inserts)} |`);
  for (const j of jose) lines.push(`| jose RS256 verifications | ${j.concurrency} | ${fmt(j.perSecond)} |`);
  lines.push('', '## ARM economy', '');
  lines.push(
    `ARM-bound VM role, AZAUTH_ARM_CACHE_TTL=${ARM_CACHE_TTL_SECONDS} s for this run: ${armReads} ARM reads of the VM in ${fmt(armSeconds, 1)} s of load ` +
      `= **${fmt(armPerTtl, 2)} ARM requests per cache TTL**.`,
  );
  lines.push('', '## Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const c of CONCURRENCIES) {
    const service = serviceAt(c);
    const rawRate = raw.find((r) => r.concurrency === c)?.inserts ?? Number.NaN;
    const ratio = service ? service.perSecond / rawRate : Number.NaN;
    lines.push(`| service-token logins/s ≥ 60% of raw inserts/s, c${c} | ${fmt(service?.perSecond ?? Number.NaN)} / ${fmt(rawRate)} = ${fmt(ratio * 100)}% | ${ratio >= 0.6 ? 'yes' : 'no'} |`);
  }
  lines.push(`| batch-token logins ≥ 2,500/s at c16 | ${fmt(batch16?.perSecond ?? Number.NaN)}/s | ${(batch16?.perSecond ?? 0) >= 2500 ? 'yes' : 'no'} |`);
  for (const r of rows.filter((row) => row.concurrency === 16)) {
    lines.push(`| p99 ≤ 25 ms at c16: ${r.name} | ${fmt(r.p99, 1)} ms | ${r.p99 <= 25 ? 'yes' : 'no'} |`);
  }
  lines.push(`| ≤ 2 ARM requests per TTL for one VM under load | ${fmt(armPerTtl, 2)} | ${armPerTtl <= 2 ? 'yes' : 'no'} |`);
  lines.push('', '## Local Functions host (bench/host.ts)', '', '| benchmark | value | unit |', '|---|---:|---|');
  for (const r of hostRows) lines.push(`| ${r.name} | ${r.value} | ${r.unit} |`);
  if (tokenRows) {
    lines.push('', '## Token service (bench/tokens.ts)', '', '| benchmark | value | unit |', '|---|---:|---|');
    for (const r of tokenRows) lines.push(`| ${r.name} | ${r.value} | ${r.unit} |`);
  }
  lines.push('', `Whole run: ${fmt((performance.now() - startedAt) / 1000, 0)} s.`, '');
  const text = lines.join('\n');
  writeFileSync(path.join(root, 'bench', 'results.md'), text);
  log('');
  log(text);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
