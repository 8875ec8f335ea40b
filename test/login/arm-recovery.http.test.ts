/**
 * ARM failing and recovering, over real HTTP (issue 10 item 6): logins share one ARM read per
 * resource, so how that shared read waits between attempts decides how soon a recovered ARM serves
 * logins again, and what the login is told when it gives up. Its own stack: the timings here must
 * not share the host with other files' load.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';

const ARM_AUDIENCE = 'https://management.azure.com/';
const SUB = randomUUID();
const RG = 'rg-recovery';

let stack: Stack;
let admin = '';

beforeAll(async () => {
  stack = await startStack({ envFromEmulator: async (emulator) => (await emulator.appServiceIdentity()).env });
  admin = await stack.adminToken();
  stack.emulator.arm.addSubscription({ subscriptionId: SUB, tenantId: stack.emulator.defaultTenantId });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function write(path: string, body: Record<string, unknown>): Promise<void> {
  const res = await stack.request('POST', path, { token: admin, body });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${res.text}`);
}

/** A mount with the given ARM retry settings and a role that makes every login read its VM from ARM. */
async function mountWith(mount: string, config: Record<string, unknown>): Promise<void> {
  await write(`sys/auth/${mount}`, { type: 'azure' });
  await write(`auth/${mount}/config`, { tenant_id: stack.emulator.defaultTenantId, resource: ARM_AUDIENCE, ...config });
  await write(`auth/${mount}/role/vm`, { bound_service_principal_ids: '*', bound_resource_groups: RG });
}

async function vmLogin(mount: string, name: string): Promise<() => Promise<StackResponse>> {
  const vm = stack.emulator.arm.addVm({ subscriptionId: SUB, resourceGroup: RG, name, location: 'westeurope', systemAssigned: true });
  const jwt = await stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vm.id });
  const body = { role: 'vm', jwt, subscription_id: SUB, resource_group_name: RG, vm_name: name };
  return () => stack.request('PUT', `auth/${mount}/login`, { body });
}

function errorsOf(res: StackResponse): string {
  const errors = (res.json as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.join('\n') : '';
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('ARM recovering while logins wait on a shared read', () => {
  it('a login arriving after ARM recovered is served within about a second, not after the back-off', async () => {
    // Vault's defaults: 3 retries, 4 s first delay doubling up to 60 s.
    await mountWith('recover', {});
    const login = await vmLogin('recover', 'recover-vm');
    const fault = stack.emulator.faults.add({ service: 'arm', pathIncludes: '/virtualMachines/recover-vm', status: 500 });
    const first = login();
    // The shared read has failed twice and starts its longest wait so far (4–8 s with the SDK's back-off).
    await until(() => fault.fired >= 2, 15_000);
    fault.remove();
    const started = Date.now();
    const next = await login();
    const waited = Date.now() - started;
    expect(next.status, next.text).toBe(200);
    expect((await first).status).toBe(200);
    // Both logins were served by the one shared read: two failed attempts and one that succeeded,
    // about a second after the second failure (the SDK's back-off waited 4 to 8 s here).
    const attempts = stack.emulator.requests({ service: 'arm', pathIncludes: '/virtualMachines/recover-vm' });
    expect(attempts.map((r) => r.status)).toEqual([500, 500, 200]);
    const [, secondFailure, success] = attempts;
    expect((success?.at ?? Infinity) - (secondFailure?.at ?? 0)).toBeLessThan(2000);
    // Wall time of the second login, with room for a busy machine.
    expect(waited).toBeLessThan(3500);
  });

  it("a login that gives up says what ARM answered, not that there was no answer", async () => {
    // More retries than fit in one read's 30 s limit at Vault's default delays.
    await mountWith('giveup', { max_retries: 10 });
    const login = await vmLogin('giveup', 'giveup-vm');
    const fault = stack.emulator.faults.add({ service: 'arm', pathIncludes: '/virtualMachines/giveup-vm', status: 500 });
    const started = Date.now();
    const res = await login();
    const took = Date.now() - started;
    fault.remove();
    expect(res.status).toBe(502);
    const message = errorsOf(res);
    expect(message).toMatch(/^ARM unavailable: unable to retrieve virtual machine metadata: 500 /);
    expect(message).not.toContain('no answer');
    // Every attempt's answer is listed: as many 500s as ARM sent.
    expect(message).toContain(`ARM answered 500 ×${fault.fired}`);
    // It gives up by the 30 s limit (plus the login around it), not later.
    expect(took).toBeLessThan(40_000);
    // Not cached: ARM back, the next login is served.
    expect((await login()).status).toBe(200);
  }, 60_000);
});
