/**
 * Disabling a mount over HTTP, end to end: a workload logs in through the mount, its token works,
 * the mount is disabled, and the token stops working (the token store's revokeMountTokens hook),
 * while a token issued through another mount keeps working.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asAdmin, expectData, expectErrors, uniqueMount, type AdminCall } from './helpers';

const ARM_AUDIENCE = 'https://management.azure.com/';
let stack: Stack;
let admin: AdminCall;
let vmId = '';
let vmPrincipal = '';

const MASTER_KEY = randomBytes(32).toString('base64url');

beforeAll(async () => {
  stack = await startStack({
    env: { AzureWebJobsSecretMasterKey: MASTER_KEY },
    envFromEmulator: async (emulator) => (await emulator.appServiceIdentity()).env,
  });
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

async function mountWithRole(mount = uniqueMount('life')): Promise<string> {
  expect((await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } })).status).toBe(204);
  expect((await admin('POST', `auth/${mount}/config`, { body: { tenant_id: stack.emulator.defaultTenantId, resource: ARM_AUDIENCE } })).status).toBe(204);
  expect((await admin('POST', `auth/${mount}/role/svc`, { body: { bound_service_principal_ids: vmPrincipal } })).status).toBe(204);
  expect((await admin('POST', `auth/${mount}/role/batch`, { body: { bound_service_principal_ids: vmPrincipal, token_type: 'batch' } })).status).toBe(204);
  return mount;
}

async function login(mount: string, role = 'svc'): Promise<string> {
  const jwt = await stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vmId });
  const res = await stack.request('PUT', `auth/${mount}/login`, { body: { role, jwt } });
  expect(res.status, res.text).toBe(200);
  return (res.json as { auth: { client_token: string } }).auth.client_token;
}

const lookupSelf = (token: string) => stack.request('GET', 'auth/token/lookup-self', { token });

async function runTimer(name: string): Promise<void> {
  const res = await fetch(`${stack.url}/admin/functions/${name}`, {
    method: 'POST',
    headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ input: '' }),
  });
  expect(res.status).toBe(202);
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

describe('DELETE sys/auth/<path> while logins run (issue 10, item 1)', () => {
  it('leaves no usable token, no login after the 204, and never a 500', async () => {
    const mount = await mountWithRole();
    const jwt = await stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vmId });
    const issued: string[] = [];
    const afterDisable: Array<{ status: number; text: string }> = [];
    const statuses = new Map<number, number>();
    let disabledAt = Number.POSITIVE_INFINITY;
    let stop = false;
    // 12 clients logging in back to back, as in the review.
    const client = async (): Promise<void> => {
      while (!stop) {
        const started = performance.now();
        const res = await stack.request('PUT', `auth/${mount}/login`, { body: { role: 'svc', jwt } });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) issued.push((res.json as { auth: { client_token: string } }).auth.client_token);
        if (started > disabledAt) afterDisable.push({ status: res.status, text: res.text });
      }
    };
    const clients = Array.from({ length: 12 }, client);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const disable = await admin('DELETE', `sys/auth/${mount}`);
    disabledAt = performance.now();
    expect(disable.status, disable.text).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop = true;
    await Promise.all(clients);

    expect(issued.length, 'logins succeeded before the disable').toBeGreaterThan(10);
    expect(statuses.get(500) ?? 0, JSON.stringify([...statuses])).toBe(0);
    expect(afterDisable.length).toBeGreaterThan(10);
    for (const res of afterDisable) expect(res.status, res.text).toBe(404);
    const stillValid: string[] = [];
    for (const token of issued) if ((await lookupSelf(token)).status === 200) stillValid.push(token);
    expect(stillValid.length, 'tokens of the disabled mount still usable').toBe(0);
    // A second DELETE is a no-op.
    expect((await admin('DELETE', `sys/auth/${mount}`)).status).toBe(204);
  }, 60_000);

  it('ends batch tokens of the mount, also across a re-enable of the same path', async () => {
    const mount = await mountWithRole();
    const batch = await login(mount, 'batch');
    expect(batch).toMatch(/^hvb\./);
    expect((await lookupSelf(batch)).status).toBe(200);
    expect((await admin('DELETE', `sys/auth/${mount}`)).status).toBe(204);
    expect(expectErrors(await lookupSelf(batch), 403).join()).toContain('invalid token');
    await mountWithRole(mount);
    expect(expectErrors(await lookupSelf(batch), 403).join()).toContain('invalid token');
    // The re-enabled mount issues working batch tokens of its own.
    expect((await lookupSelf(await login(mount, 'batch'))).status).toBe(200);
  }, 30_000);

  it('a disable cut short serves nothing and is finished by the mountCleanup timer', async () => {
    const mount = await mountWithRole();
    const token = await login(mount);
    // What a crash right after the first step leaves: the entry marked, nothing deleted yet.
    const mounts = stack.table('azauthmounts');
    await mounts.updateEntity({ partitionKey: 'mounts', rowKey: mount, state: 'disabling', disablingSince: new Date().toISOString() }, 'Merge');
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(expectErrors(await lookupSelf(token), 403).join()).toContain('invalid token');
    const jwt = await stack.emulator.entra.mintManagedIdentityToken({ audience: ARM_AUDIENCE, resourceId: vmId });
    expectErrors(await stack.request('PUT', `auth/${mount}/login`, { body: { role: 'svc', jwt } }), 404);
    expect(Object.keys(expectData(await admin('GET', 'sys/auth')))).not.toContain(`${mount}/`);
    // The path stays taken until the disable is finished.
    expect(expectErrors(await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } }), 400)).toEqual([`path is already in use at ${mount}/`]);

    // The timer leaves a disable to its own request for a minute; one that began longer ago is its.
    await runTimer('mountCleanup');
    expect(expectErrors(await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } }), 400)).toEqual([`path is already in use at ${mount}/`]);
    await mounts.updateEntity({ partitionKey: 'mounts', rowKey: mount, disablingSince: new Date(Date.now() - 120_000).toISOString() }, 'Merge');
    await runTimer('mountCleanup');
    await expect.poll(async () => (await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } })).status, { timeout: 10_000 }).toBe(204);
    // Nothing of the old mount came back with the new one.
    expect((await admin('GET', `auth/${mount}/role/svc`)).status).toBe(404);
    expect(expectErrors(await lookupSelf(token), 403).join()).toContain('invalid token');
  }, 30_000);
});
