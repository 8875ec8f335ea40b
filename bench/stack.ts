/**
 * What every benchmark here shares: the repository root, Azurite's Table service in its own process,
 * the closed-loop load generator and a keep-alive HTTP request. One implementation, so that the app
 * cases and the raw ceilings they are compared with are driven exactly the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startCloudEmulator, type CloudEmulator } from '../dev/emulator';
import { spawnHost, type SpawnedHost } from '../dev/host/spawn';
import { percentile } from './percentile';

/** The public Azurite development key (documented by Microsoft; not a secret). */
export const AZURITE_DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'azauth') return dir;
  }
  throw new Error('package.json of azauth not found above the benchmark');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Azurite {
  readonly connectionString: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Azurite's Table service alone, in memory, in its own process (as Table Storage is its own service). */
export async function startAzurite(root: string, nodeArgs: readonly string[] = []): Promise<Azurite> {
  const port = await freePort();
  const main = path.join(root, 'node_modules', 'azurite', 'dist', 'src', 'table', 'main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, main, '--inMemoryPersistence', '--disableTelemetry', '--silent', '--skipApiVersionCheck', '--loose', '--tableHost', '127.0.0.1', '--tablePort', String(port)],
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
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    pid: child.pid ?? 0,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_DEV_KEY};TableEndpoint=${endpoint};`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface LoadResult {
  readonly count: number;
  readonly failures: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Every request's latency, sorted. */
  readonly latenciesMs: readonly number[];
  /** CPU seconds each watched process used during the run (see `withCpu`). */
  readonly cpuSeconds?: Readonly<Record<string, number>>;
}

function resultOf(latenciesMs: number[], failures: number, seconds: number): LoadResult {
  latenciesMs.sort((a, b) => a - b);
  return {
    count: latenciesMs.length,
    failures,
    seconds,
    perSecond: latenciesMs.length / seconds,
    p50: percentile(latenciesMs, 50),
    p99: percentile(latenciesMs, 99),
    latenciesMs,
  };
}

/** Several runs of one measurement as one: requests over the summed time, percentiles of all latencies. */
export function pooled(runs: readonly LoadResult[]): LoadResult {
  const result = resultOf(
    runs.flatMap((r) => r.latenciesMs),
    runs.reduce((sum, r) => sum + r.failures, 0),
    runs.reduce((sum, r) => sum + r.seconds, 0),
  );
  if (!runs.every((r) => r.cpuSeconds)) return result;
  const cpuSeconds: Record<string, number> = {};
  for (const run of runs) for (const [name, seconds] of Object.entries(run.cpuSeconds!)) cpuSeconds[name] = (cpuSeconds[name] ?? 0) + seconds;
  return { ...result, cpuSeconds };
}

/** CPU microseconds per request of each watched process, from a result measured `withCpu`. */
export function cpuMicrosPerRequest(result: LoadResult): Record<string, number> {
  const micros: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(result.cpuSeconds ?? {})) micros[name] = (seconds * 1e6) / Math.max(1, result.count);
  return micros;
}

/** Closed-loop load: `concurrency` workers, worker i repeating `once(i)` until time is up. */
export async function drive(concurrency: number, ms: number, once: (worker: number) => Promise<boolean>): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await once(worker);
        latenciesMs.push(performance.now() - t0);
        if (!ok) failures++;
      }
    }),
  );
  return resultOf(latenciesMs, failures, (performance.now() - started) / 1000);
}

/** One keep-alive HTTP request; resolves with the status once the body has been read. */
export function send(agent: http.Agent, url: URL, method: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const all: Record<string, string | number> = { ...headers };
    if (body !== undefined) {
      all['content-type'] = 'application/json';
      all['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request(url, { method, agent, headers: all }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** The median of a few repeated measurements (each a rate), and their spread for the report. */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const ADMIN_AUDIENCE = 'api://azauth-bench-admin';

export interface AppStack {
  readonly root: string;
  readonly azurite: Azurite;
  readonly emulator: CloudEmulator;
  readonly host: SpawnedHost;
  /** An Entra access token of the configured admin. */
  readonly admin: string;
  stop(): Promise<void>;
}

export interface AppStackOptions {
  /** More app settings for the host (an `undefined` value removes one). */
  readonly env?: Record<string, string | undefined>;
  /** Node flags for the host process, e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it. */
  readonly hostNodeArgs?: readonly string[];
  /** NODE_OPTIONS for the host process (e.g. `--require` a preload). */
  readonly hostNodeOptions?: string;
  /** Node flags for the Azurite process, e.g. to profile it. */
  readonly azuriteNodeArgs?: readonly string[];
}

/**
 * The host writes a request line and an audit record per request; a load test keeps only the tail
 * of that output, so that its own process does not grow by a megabyte or more per second of load.
 */
const HOST_LOG_TAIL_CHARS = 1 << 20;

/**
 * Azurite in its own process, the cloud emulator in this process and the local Functions host in a
 * child process running the built app, wired as in Azure; an admin token for setting the app up.
 */
export async function startAppStack(options: AppStackOptions = {}): Promise<AppStack> {
  const root = repoRoot();
  const azurite = await startAzurite(root, options.azuriteNodeArgs);
  let emulator: CloudEmulator | undefined;
  try {
    emulator = await startCloudEmulator();
    const tenant = emulator.defaultTenantId;
    const adminOid = randomUUID();
    const identity = await emulator.appServiceIdentity();
    const host = await spawnHost({
      appRoot: root,
      nodeArgs: [...(options.hostNodeArgs ?? [])],
      maxLogChars: HOST_LOG_TAIL_CHARS,
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
        NODE_OPTIONS: options.hostNodeOptions,
        ...identity.env,
        ...options.env,
      },
    });
    const admin = await emulator.entra.mintToken({ tenant, audience: ADMIN_AUDIENCE, oid: adminOid });
    const started = emulator;
    return {
      root,
      azurite,
      emulator: started,
      host,
      admin,
      stop: async () => {
        await host.stop();
        await started.stop();
        await azurite.stop();
      },
    };
  } catch (err) {
    await emulator?.stop();
    await azurite.stop();
    throw err;
  }
}

/** A Vault write with the admin token; throws on anything but 2xx. Returns the parsed answer. */
export async function vaultWrite(stack: AppStack, token: string | undefined, logicalPath: string, body: Record<string, unknown>): Promise<unknown> {
  const res = await fetch(`${stack.host.url}/v1/${logicalPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { 'X-Vault-Token': token } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${logicalPath}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** The audience the benchmarks' workloads ask Entra for, as an Azure workload logging in to Vault does. */
const LOGIN_AUDIENCE = 'https://management.azure.com/';

export interface LoginTokens {
  /** One service token per login, so that each worker can use its own. */
  readonly tokens: string[];
  /** The login request the tokens came from, for a benchmark that measures logins too. */
  readonly login: { readonly role: string; readonly jwt: string };
}

/**
 * The azure auth method configured for the emulator's tenant, a role that binds one new workload to
 * `policies` with 1 h tokens, and `count` logins of that workload. The policies themselves are the
 * caller's to write (a role may name policies that do not exist yet).
 */
export async function loginTokens(stack: AppStack, options: { readonly policies: readonly string[]; readonly count: number }): Promise<LoginTokens> {
  const { emulator, admin } = stack;
  const tenant = emulator.defaultTenantId;
  const workload = randomUUID();
  const role = 'bench';
  await vaultWrite(stack, admin, 'auth/azure/config', { tenant_id: tenant, resource: LOGIN_AUDIENCE });
  await vaultWrite(stack, admin, `auth/azure/role/${role}`, { bound_service_principal_ids: [workload], token_policies: options.policies, token_ttl: '1h' });
  const jwt = await emulator.entra.mintToken({ tenant, audience: LOGIN_AUDIENCE, oid: workload });
  const tokens: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const answer = (await vaultWrite(stack, undefined, 'auth/azure/login', { role, jwt })) as { auth: { client_token: string } };
    tokens.push(answer.auth.client_token);
  }
  return { tokens, login: { role, jwt } };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
export function cpuSecondsOf(pid: number): number {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  try {
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks, USER_HZ = 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/** Runs a measurement and records the CPU seconds each of `pids` used meanwhile. */
export async function withCpu(pids: Readonly<Record<string, number>>, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSecondsOf(pid)]));
  const result = await run();
  const cpuSeconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) cpuSeconds[name] = cpuSecondsOf(pid) - before[name]!;
  return { ...result, cpuSeconds };
}

/** CPU used per operation by each process while `run` ran, in microseconds. */
export async function cpuPerOperation(pids: Readonly<Record<string, number>>, run: () => Promise<LoadResult>): Promise<{ result: LoadResult; microsPerOp: Record<string, number> }> {
  const result = await withCpu(pids, run);
  return { result, microsPerOp: cpuMicrosPerRequest(result) };
}

/**
 * Warm-up and measuring time of every case and raw ceiling that `measureOnce` runs: one pair for all
 * modules, so that their figures (and the method results.md states) are the same.
 */
export const WARMUP_MS = 700;
export const CASE_MS = 3000;

/** A stack's processes by the names the reports use: this one (the load, or a raw client), the host, Azurite. */
export function stackProcesses(stack: AppStack): Record<string, number> {
  return { bench: process.pid, host: stack.host.pid, azurite: stack.azurite.pid };
}

/**
 * Warm-up, then one measured run recording the CPU seconds each of `watched` spent, on a fresh client
 * built by `client()` (so that no case inherits another's connections or caches); `done` releases it.
 */
export async function measureOnce<C>(
  watched: Readonly<Record<string, number>>,
  concurrency: number,
  client: () => Promise<C>,
  once: (c: C, worker: number) => Promise<boolean>,
  done?: (c: C) => void,
): Promise<LoadResult> {
  const c = await client();
  try {
    await drive(concurrency, WARMUP_MS, (worker) => once(c, worker));
    return await withCpu(watched, () => drive(concurrency, CASE_MS, (worker) => once(c, worker)));
  } finally {
    done?.(c);
  }
}

/** `measureOnce` over HTTP: the fresh client is a keep-alive agent with a socket per worker. */
export function measureOverHttp(
  watched: Readonly<Record<string, number>>,
  concurrency: number,
  once: (agent: http.Agent, worker: number) => Promise<boolean>,
): Promise<LoadResult> {
  return measureOnce(
    watched,
    concurrency,
    async () => new http.Agent({ keepAlive: true, maxSockets: concurrency }),
    once,
    (agent) => agent.destroy(),
  );
}

/**
 * Open-loop load at a fixed rate (requests started per second, whatever the answers' pace), for
 * comparing the CPU a request costs between two builds: at the same rate both see the same batching,
 * so CPU per request does not depend on how fast the machine happened to be. `once(i)` gets the
 * request's number modulo `workers`.
 */
export async function driveAtRate(rate: number, ms: number, workers: number, once: (worker: number) => Promise<boolean>): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let started = 0;
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; started < due; started++) {
      const worker = started % workers;
      const begin = performance.now();
      const request: Promise<void> = once(worker).then(
        (ok) => {
          latenciesMs.push(performance.now() - begin);
          if (!ok) failures++;
          pending.delete(request);
        },
        () => {
          failures++;
          pending.delete(request);
        },
      );
      pending.add(request);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(pending);
  return resultOf(latenciesMs, failures, (performance.now() - t0) / 1000);
}
