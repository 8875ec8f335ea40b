/**
 * Profiles one benchmark case: starts the stack with `--cpu-prof` on the host (and, with
 * PROFILE_AZURITE=1, on Azurite; PROFILE_HOST=0 profiles no host), drives the case, stops, and
 * prints the rate, the CPU each process spent per request, and where the CPU went.
 *
 *   npm run build && node dist/bench/profile.js CASE [seconds=5] [concurrency=16]
 *   CASE: service | batch | arm | lookup | renew | health | kv-read | kv-write | raw-insert | raw-read | raw-update
 *
 * RATE=n drives an open loop of n requests/s instead of the closed loop, so that two builds can be
 * compared by the CPU a request costs at the same pace (the machine may be shared and noisy).
 * The profiles stay in the printed folder for a closer look (Chrome DevTools, or cpuprofile.ts).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { formatSummary, summariseProfile } from './cpuprofile';
import { cpuPerOperation, drive, driveAtRate, send, stackProcesses, startAppStack, vaultWrite, type AppStack } from './stack';

const ARM_AUDIENCE = 'https://management.azure.com/';
const CASES = ['service', 'batch', 'arm', 'lookup', 'renew', 'health', 'kv-read', 'kv-write', 'raw-insert', 'raw-read', 'raw-update'] as const;
type CaseName = (typeof CASES)[number];

interface Prepared {
  readonly url: URL;
  /** A URL per worker, when workers use different paths. */
  readonly urlOf?: (worker: number) => URL;
  readonly method: string;
  readonly headers: (worker: number) => Record<string, string>;
  readonly body: string | undefined;
}

/** The raw ceilings, from a bare data-tables client in this process (as bench/run.ts measures them). */
async function prepareRaw(stack: AppStack, name: 'raw-insert' | 'raw-read' | 'raw-update', concurrency: number): Promise<(worker: number) => Promise<boolean>> {
  const client = TableClient.fromConnectionString(stack.azurite.connectionString, 'benchprofileraw', { allowInsecureConnection: true });
  await client.createTable();
  const payload = randomBytes(200).toString('base64');
  let n = 0;
  if (name === 'raw-insert') {
    return async () => {
      n++;
      await client.createEntity({ partitionKey: `p${n % 64}`, rowKey: `${n}-${randomUUID()}`, payload });
      return true;
    };
  }
  const keys = Array.from({ length: concurrency }, (_, i) => ({ partitionKey: `p${i}`, rowKey: `row${i}` }));
  const etags: string[] = [];
  for (const key of keys) etags.push((await client.createEntity({ ...key, payload, n: 0 })).etag ?? '');
  if (name === 'raw-read') {
    return async (i) => {
      await client.getEntity(keys[i]!.partitionKey, keys[i]!.rowKey);
      return true;
    };
  }
  return async (i) => {
    const result = await client.updateEntity({ ...keys[i]!, n: ++n }, 'Merge', { etag: etags[i]! });
    etags[i] = result.etag ?? '';
    return true;
  };
}

async function prepare(stack: AppStack, name: Exclude<CaseName, `raw-${string}`>, concurrency: number): Promise<Prepared> {
  const { emulator, admin, host } = stack;
  const tenant = emulator.defaultTenantId;
  await vaultWrite(stack, admin, 'auth/azure/config', { tenant_id: tenant, resource: ARM_AUDIENCE });
  if (name === 'health') return { url: new URL(`${host.url}/v1/sys/health`), method: 'GET', headers: () => ({}), body: undefined };
  const subscriptionId = randomUUID();
  emulator.arm.addSubscription({ subscriptionId, tenantId: tenant });
  const vm = emulator.arm.addVm({ subscriptionId, resourceGroup: 'bench', name: 'web', location: 'westeurope', systemAssigned: true });
  const role = name === 'arm' ? 'arm' : name === 'batch' ? 'batch' : 'service';
  const kv = name === 'kv-read' || name === 'kv-write';
  if (kv) {
    await vaultWrite(stack, admin, 'sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    await vaultWrite(stack, admin, 'sys/policies/acl/app', { policy: 'path "kv/data/bench/*" { capabilities = ["create", "read", "update"] }' });
  }
  await vaultWrite(stack, admin, `auth/azure/role/${role}`, {
    bound_service_principal_ids: name === 'arm' ? '*' : (vm.principalId ?? ''),
    ...(name === 'arm' ? { bound_resource_groups: 'bench' } : {}),
    token_policies: 'app',
    ...(name === 'batch' ? { token_type: 'batch' } : {}),
  });
  const jwt = await emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vm.id });
  const loginBody = JSON.stringify({ role, jwt, subscription_id: subscriptionId, resource_group_name: 'bench', vm_name: 'web', vmss_name: '' });
  if (name === 'service' || name === 'batch' || name === 'arm') {
    return { url: new URL(`${host.url}/v1/auth/azure/login`), method: 'PUT', headers: () => ({}), body: loginBody };
  }
  const tokens: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    const answer = (await vaultWrite(stack, undefined, 'auth/azure/login', JSON.parse(loginBody) as Record<string, unknown>)) as { auth: { client_token: string } };
    tokens.push(answer.auth.client_token);
  }
  const headers = (worker: number) => ({ 'x-vault-token': tokens[worker]! });
  if (kv) {
    const secret = JSON.stringify({ data: { username: 'app', password: randomBytes(24).toString('base64url'), port: 5432 }, options: {} });
    for (let i = 0; i < concurrency; i++) await vaultWrite(stack, tokens[0], `kv/data/bench/k${i}`, JSON.parse(secret) as Record<string, unknown>);
    // Each worker reads or writes its own key (a write adds a version each time, pruning past 10).
    const url = (w: number) => new URL(`${host.url}/v1/kv/data/bench/k${w}`);
    return name === 'kv-read'
      ? { url: url(0), urlOf: url, method: 'GET', headers, body: undefined }
      : { url: url(0), urlOf: url, method: 'PUT', headers, body: secret };
  }
  if (name === 'lookup') return { url: new URL(`${host.url}/v1/auth/token/lookup-self`), method: 'GET', headers, body: undefined };
  return { url: new URL(`${host.url}/v1/auth/token/renew-self`), method: 'PUT', headers, body: '{"increment":0}' };
}

async function main(): Promise<void> {
  const [caseArg, secondsArg, concurrencyArg] = process.argv.slice(2);
  const name = CASES.find((c) => c === caseArg);
  if (!name) throw new Error(`usage: node dist/bench/profile.js ${CASES.join('|')} [seconds] [concurrency]`);
  const seconds = Number(secondsArg ?? 5);
  const concurrency = Number(concurrencyArg ?? 16);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'azauth-profile-'));
  const hostDir = path.join(dir, 'host');
  const azuriteDir = path.join(dir, 'azurite');
  const profileHost = process.env.PROFILE_HOST !== '0';
  // HOST_NODE_ARGS: more Node flags for the host (e.g. V8 heap settings to try).
  const extraHostArgs = (process.env.HOST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const stack = await startAppStack({
    hostNodeArgs: [...(profileHost ? ['--cpu-prof', `--cpu-prof-dir=${hostDir}`] : []), ...extraHostArgs],
    ...(process.env.PROFILE_AZURITE === '1' ? { azuriteNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${azuriteDir}`] } : {}),
  });
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    let once: (worker: number) => Promise<boolean>;
    if (name === 'raw-insert' || name === 'raw-read' || name === 'raw-update') once = await prepareRaw(stack, name, concurrency);
    else {
      const prepared = await prepare(stack, name, concurrency);
      once = async (worker: number) => (await send(agent, prepared.urlOf?.(worker) ?? prepared.url, prepared.method, prepared.headers(worker), prepared.body)) === 200;
    }
    // RATE=n: open loop at n requests/s (spread over `concurrency` tokens), to compare CPU per request.
    const rate = Number(process.env.RATE ?? 0);
    const load = () => (rate > 0 ? driveAtRate(rate, seconds * 1000, concurrency, once) : drive(concurrency, seconds * 1000, once));
    await drive(concurrency, 1000, once);
    const { result, microsPerOp } = await cpuPerOperation(stackProcesses(stack), load);
    agent.destroy();
    const cpu = Object.entries(microsPerOp).map(([who, us]) => `${who} ${us.toFixed(0)}`).join(', ');
    process.stdout.write(
      `${name} c${concurrency}: ${result.perSecond.toFixed(0)}/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, failures ${result.failures}; CPU µs per request: ${cpu}\n`,
    );
    // HOST_NODE_ARGS=--trace-gc: a summary of the host's garbage collections during the run.
    if (extraHostArgs.includes('--trace-gc')) {
      const pauses = new Map<string, number[]>();
      for (const match of stack.host.logs().matchAll(/(Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Sweep)[^,]*?, ([\d.]+) \/ [\d.]+ ms/g)) {
        const list = pauses.get(match[1]!) ?? [];
        list.push(Number(match[2]));
        pauses.set(match[1]!, list);
      }
      for (const [kind, list] of pauses) {
        const total = list.reduce((a, b) => a + b, 0);
        process.stdout.write(`GC ${kind}: ${list.length} pauses, ${total.toFixed(0)} ms in all, longest ${Math.max(...list).toFixed(1)} ms\n`);
      }
    }
  } finally {
    await stack.stop();
  }
  for (const [label, folder] of [
    ['host', hostDir],
    ['azurite', azuriteDir],
  ] as const) {
    let files: string[];
    try {
      files = readdirSync(folder).filter((f) => f.endsWith('.cpuprofile'));
    } catch {
      continue;
    }
    for (const file of files) {
      process.stdout.write(`\n=== ${label}: ${path.join(folder, file)}\n${formatSummary(summariseProfile(path.join(folder, file)), Number(process.env.PROFILE_TOP ?? 45))}\n`);
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
