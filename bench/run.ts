/**
 * `npm run bench`: login throughput and latency over HTTP against the local stack, next to the raw
 * ceilings of the same machine, and the ARM economy under load. Writes bench/results.md.
 *
 * Topology: Azurite's Table service in its own process (as Table Storage is its own service in
 * Azure), the cloud emulator in this process, the local Functions host in a child process running
 * the built app. Load comes from this process, closed loop (each of N workers sends its next request
 * when the previous answer arrives). Everything shares the machine's cores.
 *
 * Measured the same way: every case and every raw ceiling gets its own fresh client (HTTP agent or
 * TableClient), the same warm-up and the same measuring time, at the same concurrency, from this
 * process, and is measured twice. For each concurrency the raw inserts are measured once before
 * and once after the login cases, and the login cases run in two rounds, so both see Azurite (and
 * the machine) in the same state; each figure pools its two runs, and the runs are shown to tell
 * how noisy the machine was.
 */
import { randomBytes, randomUUID, generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { TableClient } from '@azure/data-tables';
import { SignJWT, importSPKI, jwtVerify } from 'jose';
import { benchAccess } from './access';
import { benchAcl } from './acl';
import { benchHost } from './host';
import { rowsTable, type BenchRow } from './rows';
import { KV_CONCURRENCIES, benchSecrets } from './secrets';
import { CASE_MS, WARMUP_MS, cpuMicrosPerRequest, drive, measureOnce, measureOverHttp, pooled, send, stackProcesses, startAppStack, vaultWrite, type AppStack, type LoadResult } from './stack';

const CONCURRENCIES = [1, 16, 64] as const;
const GLOBAL_WARMUP_MS = 1500;
/** Each case and each raw ceiling is measured this many times; the figures pool the runs. */
const RUNS = 2;
/** Short, so the run sees several cache periods; the product default is 60 s. */
const ARM_CACHE_TTL_SECONDS = 5;
const ARM_AUDIENCE = 'https://management.azure.com/';

interface CaseRow {
  readonly name: string;
  readonly concurrency: number;
  readonly result: LoadResult;
  readonly runs: readonly LoadResult[];
}

/** The processes whose CPU time each measured run records: this one (load, raw clients), the host, Azurite. */
let watched: Record<string, number> = { bench: process.pid };

/** One run of single-entity inserts into the same Azurite from a bare data-tables client. */
async function rawInsertsOnce(connectionString: string, concurrency: number, label: string): Promise<LoadResult> {
  const payload = randomBytes(200).toString('base64');
  let n = 0;
  return measureOnce(
    watched,
    concurrency,
    async () => {
      const client = TableClient.fromConnectionString(connectionString, `benchraw${concurrency}${label}`, { allowInsecureConnection: true });
      await client.createTable();
      return client;
    },
    async (client) => {
      n++;
      await client.createEntity({ partitionKey: `p${n % 64}`, rowKey: `${n}-${randomUUID()}`, payload });
      return true;
    },
  );
}

/** jose RS256 verifications per second (one process, this machine). */
async function joseVerifications(concurrency: number): Promise<LoadResult> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwt = await new SignJWT({ sub: 'bench', aud: ARM_AUDIENCE }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuedAt().setExpirationTime('1h').sign(privateKey);
  const key = await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
  return measureOnce(
    watched,
    concurrency,
    async () => key,
    async (k) => {
      await jwtVerify(jwt, k, { algorithms: ['RS256'], audience: ARM_AUDIENCE });
      return true;
    },
  );
}

/** `bench/tokens.ts`: `benchTokens(): Promise<{ rows: BenchRow[] }>`. */
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
const runsOf = (runs: readonly LoadResult[]): string => runs.map((r) => fmt(r.perSecond)).join(' / ');

async function setUpRoles(stack: AppStack): Promise<{ subscriptionId: string; jwt: string }> {
  const { emulator, admin } = stack;
  const tenant = emulator.defaultTenantId;
  const subscriptionId = randomUUID();
  emulator.arm.addSubscription({ subscriptionId, tenantId: tenant });
  const vm = emulator.arm.addVm({ subscriptionId, resourceGroup: 'bench', name: 'web', location: 'westeurope', systemAssigned: true });
  await vaultWrite(stack, admin, 'auth/azure/config', { tenant_id: tenant, resource: ARM_AUDIENCE });
  await vaultWrite(stack, admin, 'auth/azure/role/service', { bound_service_principal_ids: vm.principalId ?? '', token_policies: 'app' });
  await vaultWrite(stack, admin, 'auth/azure/role/batch', { bound_service_principal_ids: vm.principalId ?? '', token_policies: 'app', token_type: 'batch' });
  await vaultWrite(stack, admin, 'auth/azure/role/arm', { bound_service_principal_ids: '*', bound_resource_groups: 'bench', token_policies: 'app' });
  const jwt = await emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vm.id });
  return { subscriptionId, jwt };
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  // The machine may be shared: the 1-minute load average before the run tells how busy it was.
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  const log = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };

  const stack = await startAppStack({ env: { AZAUTH_ARM_CACHE_TTL: String(ARM_CACHE_TTL_SECONDS) } });
  const root = stack.root;
  watched = stackProcesses(stack);
  const rows: CaseRow[] = [];
  const raw: Array<{ concurrency: number; result: LoadResult; runs: LoadResult[] }> = [];
  const jose: Array<{ concurrency: number; perSecond: number }> = [];
  let armReads = 0;
  let armSeconds = 0;
  try {
    const { subscriptionId, jwt } = await setUpRoles(stack);
    const url = new URL(`${stack.host.url}/v1/auth/azure/login`);
    const bodyFor = (role: string): string =>
      JSON.stringify({ role, jwt, subscription_id: subscriptionId, resource_group_name: 'bench', vm_name: 'web', vmss_name: '' });
    const cases: Array<[string, string]> = [
      ['service token (role bound by principal)', 'service'],
      ['batch token (role bound by principal)', 'batch'],
      ['service token, ARM-bound VM role (warm cache)', 'arm'],
    ];
    const armCount = () => stack.emulator.count({ service: 'arm', pathIncludes: '/virtualMachines/web' });
    const login = async (role: string, concurrency: number): Promise<LoadResult> => {
      const body = bodyFor(role);
      const armBefore = armCount();
      const result = await measureOverHttp(watched, concurrency, async (agent) => (await send(agent, url, 'PUT', {}, body)) === 200);
      if (role === 'arm') {
        armReads += armCount() - armBefore;
        armSeconds += result.seconds + WARMUP_MS / 1000;
      }
      return result;
    };
    // One warm-up of every path first (JIT, connection pools, table creation, the ARM session), so the
    // first case measured does not carry the process's start-up; each case still warms up itself.
    for (const [, role] of cases) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const body = bodyFor(role);
      await drive(16, GLOBAL_WARMUP_MS, async () => (await send(agent, url, 'PUT', {}, body)) === 200);
      agent.destroy();
    }
    await rawInsertsOnce(stack.azurite.connectionString, 16, 'warm');

    for (const concurrency of CONCURRENCIES) {
      const rawRuns: LoadResult[] = [await rawInsertsOnce(stack.azurite.connectionString, concurrency, 'a')];
      const caseRuns = new Map<string, LoadResult[]>(cases.map(([name]) => [name, []]));
      for (let round = 0; round < RUNS; round++) {
        for (const [name, role] of cases) caseRuns.get(name)!.push(await login(role, concurrency));
      }
      rawRuns.push(await rawInsertsOnce(stack.azurite.connectionString, concurrency, 'b'));
      raw.push({ concurrency, result: pooled(rawRuns), runs: rawRuns });
      log(`raw Azurite inserts c${concurrency}: ${runsOf(rawRuns)}/s`);
      for (const [name] of cases) {
        const runs = caseRuns.get(name)!;
        const row: CaseRow = { name, concurrency, result: pooled(runs), runs };
        rows.push(row);
        log(`${name} c${concurrency}: ${runsOf(runs)} logins/s, p50 ${fmt(row.result.p50, 1)} ms, p99 ${fmt(row.result.p99, 1)} ms, failures ${row.result.failures}`);
      }
    }
    for (const concurrency of [1, 16]) {
      const result = await joseVerifications(concurrency);
      jose.push({ concurrency, perSecond: result.perSecond });
      log(`jose RS256 verify c${concurrency}: ${fmt(result.perSecond)}/s`);
    }
  } finally {
    await stack.stop();
  }

  log('host benchmark…');
  const hostRows = (await benchHost()).rows;
  log('token benchmark…');
  const tokenRows = await tokensBench();
  log('ACL decision micro-benchmark…');
  const acl = await benchAcl();
  log('enforcement benchmark…');
  const access = await benchAccess();
  log('KV secrets benchmark…');
  const secrets = await benchSecrets();

  const serviceAt = (c: number): CaseRow | undefined => rows.find((r) => r.name.startsWith('service token (') && r.concurrency === c);
  const batch16 = rows.find((r) => r.name.startsWith('batch') && r.concurrency === 16);
  const armPerTtl = armSeconds > 0 ? armReads / (armSeconds / ARM_CACHE_TTL_SECONDS) : Number.NaN;

  const lines: string[] = [];
  lines.push('# Benchmark results', '');
  lines.push(
    `Run ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ` +
      `1-minute load average ${fmt(loadBefore, 2)} before the run (other work on the machine skews every figure).`,
  );
  lines.push(
    'Closed-loop load over keep-alive HTTP from the bench process; host = local Functions host (child process, built app);',
    'Azurite Table service in its own process (in memory); cloud emulator in the bench process.',
    `Every case and raw ceiling: a fresh client, ${WARMUP_MS} ms warm-up, then ${CASE_MS / 1000} s measured, ${RUNS} times; figures pool the runs ` +
      `("runs" shows each run's rate). Per concurrency: raw inserts, the login cases in ${RUNS} rounds, raw inserts again. ` +
      `Before the first case, ${GLOBAL_WARMUP_MS} ms per role at c16.`,
    '',
  );
  lines.push('## Logins', '', '| case | concurrency | logins/s | runs | p50 ms | p99 ms | failures |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.concurrency} | ${fmt(r.result.perSecond)} | ${runsOf(r.runs)} | ${fmt(r.result.p50, 1)} | ${fmt(r.result.p99, 1)} | ${r.result.failures} |`);
  }
  lines.push('', '## Raw ceilings (same run, same machine)', '', '| measurement | concurrency | per second | runs |', '|---|---:|---:|---:|');
  for (const r of raw) lines.push(`| single-entity inserts into the same Azurite, bare @azure/data-tables | ${r.concurrency} | ${fmt(r.result.perSecond)} | ${runsOf(r.runs)} |`);
  for (const j of jose) lines.push(`| jose RS256 verifications | ${j.concurrency} | ${fmt(j.perSecond)} | |`);
  lines.push(
    '',
    '## CPU per request (same runs, c16)',
    '',
    'CPU time (user + system, from /proc) each process spent during the measured runs, per request; "host busy" is the host',
    "process's CPU time over the wall time (one Node thread: 100% is one core). The machine has 2 cores for all three processes.",
    '',
    '| measurement | per second | host µs | Azurite µs | bench process µs | host busy |',
    '|---|---:|---:|---:|---:|---:|',
  );
  const cpuRow = (name: string, result: LoadResult): string => {
    const micros = cpuMicrosPerRequest(result);
    const busy = ((result.cpuSeconds?.host ?? Number.NaN) / result.seconds) * 100;
    return `| ${name} | ${fmt(result.perSecond)} | ${fmt(micros.host ?? Number.NaN)} | ${fmt(micros.azurite ?? Number.NaN)} | ${fmt(micros.bench ?? Number.NaN)} | ${fmt(busy)}% |`;
  };
  for (const r of rows.filter((row) => row.concurrency === 16)) lines.push(cpuRow(r.name, r.result));
  const raw16 = raw.find((r) => r.concurrency === 16);
  if (raw16) lines.push(cpuRow('raw inserts (the bench process is the client)', raw16.result));
  lines.push('', '## ARM economy', '');
  lines.push(
    `ARM-bound VM role, AZAUTH_ARM_CACHE_TTL=${ARM_CACHE_TTL_SECONDS} s for this run: ${armReads} ARM reads of the VM in ${fmt(armSeconds, 1)} s of load (warm-ups included) ` +
      `= **${fmt(armPerTtl, 2)} ARM requests per cache TTL**.`,
  );
  lines.push('', '## Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const c of CONCURRENCIES) {
    const service = serviceAt(c);
    const rawRate = raw.find((r) => r.concurrency === c)?.result.perSecond ?? Number.NaN;
    const ratio = service ? service.result.perSecond / rawRate : Number.NaN;
    lines.push(`| service-token logins/s ≥ 60% of raw inserts/s, c${c} | ${fmt(service?.result.perSecond ?? Number.NaN)} / ${fmt(rawRate)} = ${fmt(ratio * 100)}% | ${ratio >= 0.6 ? 'yes' : 'no'} |`);
  }
  const batchRate = batch16?.result.perSecond ?? Number.NaN;
  lines.push(`| batch-token logins ≥ 2,500/s at c16 | ${fmt(batchRate)}/s | ${batchRate >= 2500 ? 'yes' : 'no'} |`);
  for (const r of rows.filter((row) => row.concurrency === 16)) {
    lines.push(`| p99 ≤ 25 ms at c16: ${r.name} | ${fmt(r.result.p99, 1)} ms | ${r.result.p99 <= 25 ? 'yes' : 'no'} |`);
  }
  lines.push(`| ≤ 2 ARM requests per TTL for one VM under load | ${fmt(armPerTtl, 2)} | ${armPerTtl <= 2 ? 'yes' : 'no'} |`);
  // Issue 11: enforcement may cost at most 10% of either rate.
  lines.push(`| enforcement costs ≤ 10% of lookup-self at c16 (enforced / ACL skipped ≥ 90%) | ${fmt(access.ratios.lookup * 100)}% | ${access.ratios.lookup >= 0.9 ? 'yes' : 'no'} |`);
  lines.push(`| enforcement costs ≤ 10% of service-token logins at c16 | ${fmt(access.ratios.login * 100)}% | ${access.ratios.login >= 0.9 ? 'yes' : 'no'} |`);
  lines.push(`| ACL decision for 20 policies × 20 rules: median and p99 reported (no bound set) | ${fmt(acl.decisionMicros.median, 2)} µs / ${fmt(acl.decisionMicros.p99, 2)} µs | reported |`);
  // Issue 12: KV reads and writes beside lookup-self in the same run.
  const kvRead16 = secrets.at('read', 16);
  const kvWrite16 = secrets.at('write', 16);
  const kvLookup16 = secrets.at('lookup', 16);
  const readRatio = (kvRead16?.perSecond ?? Number.NaN) / (kvLookup16?.perSecond ?? Number.NaN);
  const writeRatio = (kvWrite16?.perSecond ?? Number.NaN) / (kvLookup16?.perSecond ?? Number.NaN);
  lines.push(`| KV v2 reads at c16 ≥ 70% of lookup-self | ${fmt(kvRead16?.perSecond ?? Number.NaN)} / ${fmt(kvLookup16?.perSecond ?? Number.NaN)} = ${fmt(readRatio * 100)}% | ${readRatio >= 0.7 ? 'yes' : 'no'} |`);
  lines.push(`| KV v2 writes at c16 ≥ 50% of lookup-self | ${fmt(kvWrite16?.perSecond ?? Number.NaN)} / ${fmt(kvLookup16?.perSecond ?? Number.NaN)} = ${fmt(writeRatio * 100)}% | ${writeRatio >= 0.5 ? 'yes' : 'no'} |`);
  lines.push(`| KV v2 read p99 ≤ 30 ms at c16 | ${fmt(kvRead16?.p99 ?? Number.NaN, 1)} ms | ${(kvRead16?.p99 ?? Number.POSITIVE_INFINITY) <= 30 ? 'yes' : 'no'} |`);
  lines.push(
    `| listing a folder of 10,000 keys: time to the first page and to the whole list reported | first page ${fmt(secrets.listing.firstPageMs, 1)} ms, whole ${fmt(secrets.listing.wholeMs, 1)} ms (HTTP LIST ${fmt(secrets.listing.httpMs, 1)} ms) | reported |`,
  );
  lines.push('', '## Local Functions host (bench/host.ts)', '', ...rowsTable(hostRows));
  if (tokenRows) lines.push('', '## Token service (bench/tokens.ts)', '', ...rowsTable(tokenRows));
  lines.push('', '## ACL decision (bench/acl.ts)', '', ...rowsTable(acl.rows));
  lines.push(
    '',
    '## What enforcement costs (bench/access.ts)',
    '',
    'Two hosts on one Azurite, measured in alternating rounds: the app as built, and the same app with',
    'the bench-only preload bench/no-acl.ts (every policy set resolves to the root ACL: no policy cache, no decision).',
    '',
    ...rowsTable(access.rows),
  );
  lines.push('', `## KV secrets (bench/secrets.ts), concurrencies ${KV_CONCURRENCIES.join(', ')}`, '', ...rowsTable(secrets.rows));
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
