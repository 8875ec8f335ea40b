/**
 * The README's "Workload side" recipes, run as written (only IMDS pointed at the emulator's IMDS of
 * a VM), plus the exact request shape Vault Agent's `azure` method sends.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';

const ROOT = path.resolve(__dirname, '..', '..');
const ARM_AUDIENCE = 'https://management.azure.com/';
let stack: Stack;
let vmImds = '';
let poolImds = '';
let vmJwt = '';
const SUB = randomUUID();

/** The fenced block right after `<!-- marker -->` in the README. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const found = new RegExp(`<!-- ${marker} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!found?.[1]) throw new Error(`README block ${marker} not found`);
  return found[1];
}

beforeAll(async () => {
  stack = await startStack({ envFromEmulator: async (emulator) => (await emulator.appServiceIdentity()).env });
  const admin = await stack.adminToken();
  const arm = stack.emulator.arm;
  arm.addSubscription({ subscriptionId: SUB, tenantId: stack.emulator.defaultTenantId });
  const vm = arm.addVm({ subscriptionId: SUB, resourceGroup: 'apps', name: 'web-1', location: 'westeurope', systemAssigned: true });
  const pool = arm.addScaleSet({ subscriptionId: SUB, resourceGroup: 'apps', name: 'pool', location: 'westeurope', orchestration: 'Uniform', systemAssigned: true });
  vmImds = await stack.emulator.imdsFor(vm.id);
  poolImds = await stack.emulator.imdsFor(pool.instances[1]?.id ?? '');
  vmJwt = await stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vm.id });
  for (const [path_, body] of [
    ['auth/azure/config', { tenant_id: stack.emulator.defaultTenantId, resource: ARM_AUDIENCE }],
    ['auth/azure/role/web', { bound_subscription_ids: SUB, bound_resource_groups: 'apps' }],
  ] as const) {
    const res = await stack.request('POST', path_, { token: admin, body });
    if (res.status !== 204) throw new Error(`${path_}: ${res.status} ${res.text}`);
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Runs a command without blocking this process: the emulator's IMDS answers from here. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('workload recipes from the README', () => {
  it('curl + jq on a VM and on a uniform scale-set instance', async () => {
    const script = readmeBlock('workload-curl');
    for (const imds of [vmImds, poolImds]) {
      const result = await run('bash', ['-c', `set -eo pipefail\n${script}`], { VAULT_ADDR: stack.url, IMDS: imds });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.trim()).toMatch(/^hvs\.\S+$/);
    }
  });

  it('node-vault', async () => {
    const result = await run(process.execPath, ['-e', readmeBlock('workload-node-vault')], { VAULT_ADDR: stack.url, IMDS: vmImds });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('service 2764800');
  });

  it("Vault Agent's login request: PUT, six keys, empty ones as \"\", no Content-Type", async () => {
    const response = await fetch(`${stack.url}/v1/auth/azure/login`, {
      method: 'PUT',
      headers: { 'X-Vault-Request': 'true', 'User-Agent': 'Vault Agent Auto-Auth/1.18.0' },
      body: JSON.stringify({ role: 'web', vm_name: 'web-1', vmss_name: '', resource_group_name: 'apps', subscription_id: SUB, jwt: vmJwt }),
    });
    const body = (await response.json()) as { auth?: { client_token?: string; renewable?: boolean; lease_duration?: number } };
    expect(response.status).toBe(200);
    expect(body.auth).toMatchObject({ client_token: expect.stringMatching(/^hvs\./), renewable: true, lease_duration: 2764800 });
  });
});
