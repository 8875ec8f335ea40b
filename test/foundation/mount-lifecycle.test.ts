/**
 * Disabling a mount over HTTP, end to end: a workload logs in through the mount, its token works,
 * the mount is disabled, and the token stops working (the token store's revokeMountTokens hook),
 * while a token issued through another mount keeps working.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asAdmin, expectErrors, uniqueMount, type AdminCall } from './helpers';

const ARM_AUDIENCE = 'https://management.azure.com/';
let stack: Stack;
let admin: AdminCall;
let vmId = '';
let vmPrincipal = '';

beforeAll(async () => {
  stack = await startStack({ envFromEmulator: async (emulator) => (await emulator.appServiceIdentity()).env });
  admin = asAdmin(stack);
  const subscriptionId = randomUUID();
  stack.emulator.arm.addSubscription({ subscriptionId, tenantId: stack.emulator.defaultTenantId });
  const vm = stack.emulator.arm.addVm({ subscriptionId, resourceGroup: 'rg', name: 'web', location: 'westeurope', systemAssigned: true });
  vmId = vm.id;
  vmPrincipal = vm.principalId ?? '';
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function mountWithRole(): Promise<string> {
  const mount = uniqueMount('life');
  expect((await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } })).status).toBe(204);
  expect((await admin('POST', `auth/${mount}/config`, { body: { tenant_id: stack.emulator.defaultTenantId, resource: ARM_AUDIENCE } })).status).toBe(204);
  expect((await admin('POST', `auth/${mount}/role/svc`, { body: { bound_service_principal_ids: vmPrincipal } })).status).toBe(204);
  return mount;
}

async function login(mount: string): Promise<string> {
  const jwt = await stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vmId });
  const res = await stack.request('PUT', `auth/${mount}/login`, { body: { role: 'svc', jwt } });
  expect(res.status, res.text).toBe(200);
  return (res.json as { auth: { client_token: string } }).auth.client_token;
}

describe('DELETE sys/auth/<path> with live tokens', () => {
  it('revokes the tokens the mount issued and only those', async () => {
    const [doomed, kept] = [await mountWithRole(), await mountWithRole()];
    const doomedToken = await login(doomed);
    const keptToken = await login(kept);
    expect((await stack.request('GET', 'auth/token/lookup-self', { token: doomedToken })).status).toBe(200);

    expect((await admin('DELETE', `sys/auth/${doomed}`)).status).toBe(204);

    const errors = expectErrors(await stack.request('GET', 'auth/token/lookup-self', { token: doomedToken }), 403);
    expect(errors.join()).toContain('invalid token');
    expect((await stack.request('GET', 'auth/token/lookup-self', { token: keptToken })).status).toBe(200);
    // The mount's login route is gone with it.
    const jwt = await stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vmId });
    expectErrors(await stack.request('PUT', `auth/${doomed}/login`, { body: { role: 'svc', jwt } }), 404);
  });
});
