// rotate-root and the rotation timer through real HTTP: the local Functions host (with its Azurite)
// and the cloud emulator's Entra token endpoint and Graph, with AZAUTH_ROTATION_SWAP_DELAY=1s.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddedApplication, FaultSpec } from '../../dev/emulator/index';
import { ConfigStore } from '../../shared/config/store';
import { TABLES, type TableName } from '../../shared/storage/tables';
import { encodeKey } from '../../shared/storage/keys';
import { asAdmin, expectData, expectErrors, expectWarnings, uniqueMount, type AdminCall } from '../foundation/helpers';
import { startStack, type Stack } from '../support/stack';

const MASTER_KEY = randomBytes(32).toString('base64url');
const SWAP_DELAY_MS = 1000;

let stack: Stack;
let admin: AdminCall;
let configs: ConfigStore;
beforeAll(async () => {
  stack = await startStack({ env: { AZAUTH_ROTATION_SWAP_DELAY: '1s', AzureWebJobsSecretMasterKey: MASTER_KEY } });
  admin = asAdmin(stack);
  // Reads the configs the host wrote, to check which secret a mount holds (it is never returned by the API).
  configs = new ConfigStore({ table: async (name: TableName) => stack.table(name) }, stack.env.AZAUTH_ENCRYPTION_KEY);
});
afterAll(async () => {
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the `rotation` timer once through the host's admin API (it answers when the run is over). */
async function runTimer(): Promise<void> {
  const res = await fetch(`${stack.url}/admin/functions/rotation`, {
    method: 'POST',
    headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status, await res.text()).toBe(202);
}

interface Mounted {
  readonly mount: string;
  readonly app: AddedApplication;
}

/** A new azure mount configured with a new application's initial secret. */
async function mountWithSecret(extra: Record<string, unknown> = {}): Promise<Mounted> {
  const mount = uniqueMount('rot');
  expect((await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } })).status).toBe(204);
  const app = stack.emulator.graph.addApplication();
  const res = await admin('POST', `auth/${mount}/config`, {
    body: { tenant_id: stack.emulator.defaultTenantId, resource: 'https://management.azure.com/', client_id: app.appId, client_secret: app.password?.secretText, ...extra },
  });
  expect(res.status, res.text).toBe(204);
  return { mount, app };
}

const rotateRoot = (mount: string) => admin('POST', `auth/${mount}/rotate-root`);

async function secretWorks(app: AddedApplication, secret: string): Promise<boolean> {
  const res = await stack.emulator.fetch(`${stack.emulator.url}/${stack.emulator.defaultTenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.appId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' }).toString(),
  });
  await res.text();
  return res.status === 200;
}

async function rotationState(mount: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await stack.table(TABLES.state).getEntity<Record<string, unknown>>(encodeKey(mount), 'rotation');
  } catch {
    return undefined;
  }
}

async function configSecret(mount: string): Promise<string | undefined> {
  return configs.getClientSecret(mount);
}

/** The guarantee after any failure and one clean run: one password, the config uses it, it works. */
async function expectSettled({ mount, app }: Mounted): Promise<void> {
  const passwords = stack.emulator.graph.passwords(app.id);
  expect(passwords).toHaveLength(1);
  expect(await configSecret(mount)).toBe(passwords[0]?.secretText);
  expect(await secretWorks(app, passwords[0]?.secretText ?? '')).toBe(true);
  expect((await rotationState(mount))?.phase ?? 'idle').toBe('idle');
}

/** Runs the timer until no rotation is in progress (a few runs at most). */
async function settle(mount: string): Promise<void> {
  for (let run = 0; run < 5; run++) {
    const phase = (await rotationState(mount))?.phase ?? 'idle';
    if (phase === 'idle') return;
    await sleep(SWAP_DELAY_MS + 100);
    await runTimer();
  }
}

/** A fault that lasts until removed, answering at once (Retry-After: 0) so retries do not slow the test. */
function outage(spec: Omit<FaultSpec, 'status'> & { status?: number }): { remove(): void } {
  return stack.emulator.faults.add({ status: 503, retryAfterSeconds: 0, ...spec });
}

describe('rotate-root', () => {
  it('keeps the old secret working until the swap, then only the new one works', async () => {
    const m = await mountWithSecret();
    const original = m.app.password?.secretText ?? '';
    const res = await rotateRoot(m.mount);
    expect(res.status, res.text).toBe(204);
    const passwords = stack.emulator.graph.passwords(m.app.id);
    expect(passwords).toHaveLength(2);
    const added = passwords.find((p) => p.displayName?.startsWith('azauth-'));
    expect(added?.displayName).toMatch(/^azauth-[0-9a-f-]{36}$/);
    const pendingSince = Date.now();

    // Before the delay: the timer leaves it alone and the old secret is the one in use.
    await runTimer();
    const early = Date.now() - pendingSince;
    expect(early, 'the timer must have run within the swap delay for this check to mean anything').toBeLessThan(SWAP_DELAY_MS);
    expect((await rotationState(m.mount))?.phase).toBe('pending');
    expect(await configSecret(m.mount)).toBe(original);
    expect(await secretWorks(m.app, original)).toBe(true);
    expect(await secretWorks(m.app, added?.secretText ?? '')).toBe(true);

    // After the delay: swapped, the old password removed.
    await sleep(SWAP_DELAY_MS + 100);
    await runTimer();
    expect(await configSecret(m.mount)).toBe(added?.secretText);
    expect(await secretWorks(m.app, original)).toBe(false);
    expect(await secretWorks(m.app, added?.secretText ?? '')).toBe(true);
    await expectSettled(m);

    const data = expectData(await admin('GET', `auth/${m.mount}/config`));
    expect(data.root_password_expiration_date).toBe(added?.endDateTime);
    expect(JSON.stringify(data)).not.toContain(added?.secretText ?? '?');
    // Neither the state table nor the config table holds the secret in the clear.
    const state = await rotationState(m.mount);
    expect(JSON.stringify(state)).not.toContain(added?.secretText ?? '?');
    expect(stack.logs()).not.toContain(added?.secretText ?? '?');
  });

  it('answers 409 to a concurrent rotate-root, and only one password is added', async () => {
    const m = await mountWithSecret();
    const [a, b] = await Promise.all([rotateRoot(m.mount), rotateRoot(m.mount)]);
    expect([a.status, b.status].sort()).toEqual([204, 409]);
    const loser = a.status === 409 ? a : b;
    expect(expectErrors(loser, 409)[0]).toContain('already in progress');
    expect(stack.emulator.graph.passwords(m.app.id)).toHaveLength(2);
    await settle(m.mount);
    await expectSettled(m);
  });

  it('answers 409 while a rotation waits for its swap, naming when it swaps', async () => {
    const m = await mountWithSecret();
    expect((await rotateRoot(m.mount)).status).toBe(204);
    const [message] = expectErrors(await rotateRoot(m.mount), 409);
    expect(message).toMatch(/replaces the current one after \d{4}-\d\d-\d\dT/);
    await settle(m.mount);
    await expectSettled(m);
  });

  it('answers 409 naming the real next attempt while a stopped run holds the lease past the swap time (issue 10 item 10)', async () => {
    const m = await mountWithSecret();
    expect((await rotateRoot(m.mount)).status).toBe(204);
    // A runner took the lease to swap and died: nothing acts on the rotation until the lease expires.
    const leaseUntil = new Date(Date.now() + 300_000);
    const lease = (owner: string, until: string) =>
      stack.table(TABLES.state).updateEntity({ partitionKey: encodeKey(m.mount), rowKey: 'rotation', leaseOwner: owner, leaseUntil: until }, 'Merge');
    await lease('stopped-runner', leaseUntil.toISOString());
    await sleep(SWAP_DELAY_MS + 100);
    const [message] = expectErrors(await rotateRoot(m.mount), 409);
    const named = /(\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(message ?? '')?.[1] ?? '';
    expect(Date.parse(named), message).toBeGreaterThanOrEqual(leaseUntil.getTime() - 1000);
    await lease('', '');
    await settle(m.mount);
    await expectSettled(m);
  });

  it('warns about fields it ignores (rotate-root takes none)', async () => {
    const m = await mountWithSecret();
    const warnings = expectWarnings(await admin('POST', `auth/${m.mount}/rotate-root`, { body: { force: true } }));
    expect(warnings).toEqual(['Endpoint ignored these unrecognized parameters: [force]']);
    await settle(m.mount);
    await expectSettled(m);
  });
});

describe('disabling a mount during a rotation', () => {
  it("removes the pending rotation's new password and its state; a mount enabled again at the path starts clean", async () => {
    const m = await mountWithSecret();
    const original = m.app.password?.secretText ?? '';
    expect((await rotateRoot(m.mount)).status).toBe(204);
    expect(stack.emulator.graph.passwords(m.app.id)).toHaveLength(2);
    expect((await rotationState(m.mount))?.phase).toBe('pending');

    // The new password is younger than the 1 s swap delay here, so no timer run can swap it first.
    expect((await admin('DELETE', `sys/auth/${m.mount}`)).status).toBe(204);

    const left = stack.emulator.graph.passwords(m.app.id);
    expect(left.map((p) => p.displayName)).toEqual(['initial']);
    expect(left[0]?.secretText).toBe(original);
    expect(await secretWorks(m.app, original)).toBe(true);
    expect(await rotationState(m.mount)).toBeUndefined();
    expect(await configSecret(m.mount)).toBeUndefined();

    expect((await admin('POST', `sys/auth/${m.mount}`, { body: { type: 'azure' } })).status).toBe(204);
    expect(await rotationState(m.mount)).toBeUndefined();
  });
});

describe('rotate-root refuses bad input', () => {
  it('without config', async () => {
    const mount = uniqueMount('rot');
    await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } });
    expect(expectErrors(await rotateRoot(mount), 400)[0]).toContain('config is nil');
  });

  it('without client_secret (managed identity): rotation applies to client secrets only', async () => {
    const mount = uniqueMount('rot');
    await admin('POST', `sys/auth/${mount}`, { body: { type: 'azure' } });
    await admin('POST', `auth/${mount}/config`, { body: { tenant_id: stack.emulator.defaultTenantId, resource: 'https://management.azure.com/' } });
    expect(expectErrors(await rotateRoot(mount), 400)[0]).toContain('rotation applies to client secrets only');
  });

  it('without client_id', async () => {
    const m = await mountWithSecret({ client_id: '' });
    expect(expectErrors(await rotateRoot(m.mount), 400)[0]).toContain('client_id is required');
  });

  it('when no application or two applications carry the client_id', async () => {
    const none = await mountWithSecret();
    const fault = stack.emulator.faults.add({ service: 'graph', method: 'GET', pathIncludes: none.app.appId, status: 200, body: { value: [] } });
    try {
      expect(expectErrors(await rotateRoot(none.mount), 400)[0]).toMatch(/^no application found/);
    } finally {
      fault.remove();
    }
    const twice = await mountWithSecret();
    stack.emulator.graph.addApplication({ appId: twice.app.appId, withPassword: false });
    expect(expectErrors(await rotateRoot(twice.mount), 400)).toEqual(['multiple applications found - double check your client_id']);
    expect(stack.emulator.graph.passwords(twice.app.id)).toHaveLength(1);
  });

  it('for a caller who is not an admin, a mount that does not exist, and a GET', async () => {
    const m = await mountWithSecret();
    expect(expectErrors(await stack.request('POST', `auth/${m.mount}/rotate-root`), 403)[0]).toContain('permission denied');
    expect((await admin('POST', 'auth/nosuchmount/rotate-root')).status).toBe(404);
    expect(expectErrors(await admin('GET', `auth/${m.mount}/rotate-root`), 405)).toEqual(['unsupported operation']);
    expect(stack.emulator.graph.passwords(m.app.id)).toHaveLength(1);
  });
});

describe('a failing Graph or Entra call, then a clean run', () => {
  it('lookup failing at rotate-root: 502, nothing changed', async () => {
    const m = await mountWithSecret();
    const fault = outage({ service: 'graph', method: 'GET', pathIncludes: m.app.appId });
    try {
      const [message] = expectErrors(await rotateRoot(m.mount), 502);
      expect(message).toMatch(/^graph unavailable: listing applications: 503/);
    } finally {
      fault.remove();
    }
    await expectSettled(m);
    expect((await rotateRoot(m.mount)).status).toBe(204);
    await settle(m.mount);
    await expectSettled(m);
  });

  it('addPassword failing: 502, and the rotation is undone', async () => {
    const m = await mountWithSecret();
    const fault = outage({ service: 'graph', pathIncludes: `/applications/${m.app.id}/addPassword`, status: 500 });
    try {
      expectErrors(await rotateRoot(m.mount), 502);
    } finally {
      fault.remove();
    }
    expect((await rotationState(m.mount))?.lastOutcome).toBe('undone');
    await expectSettled(m);
  });

  it("Entra's token endpoint failing at rotate-root: 502 entra unavailable", async () => {
    const m = await mountWithSecret();
    const fault = outage({ service: 'entra', pathIncludes: `/${stack.emulator.defaultTenantId}/oauth2/v2.0/token` });
    try {
      expect(expectErrors(await rotateRoot(m.mount), 502)[0]).toMatch(/^entra unavailable/);
    } finally {
      fault.remove();
    }
    await expectSettled(m);
  });

  const swapFaults: Array<[string, (m: Mounted) => Omit<FaultSpec, 'status'>]> = [
    ['the token request proving the new secret', () => ({ service: 'entra', pathIncludes: '/oauth2/v2.0/token' })],
    ['the lookup before removing the old password', (m) => ({ service: 'graph', method: 'GET', pathIncludes: m.app.appId })],
    ['removePassword', (m) => ({ service: 'graph', pathIncludes: `/applications/${m.app.id}/removePassword` })],
  ];
  for (const [name, spec] of swapFaults) {
    it(`${name} failing during the swap: the config keeps a working secret, the next run finishes`, async () => {
      const m = await mountWithSecret();
      expect((await rotateRoot(m.mount)).status).toBe(204);
      await sleep(SWAP_DELAY_MS + 100);
      const fault = outage(spec(m));
      let secret: string;
      try {
        await runTimer();
        secret = (await configSecret(m.mount)) ?? '';
        expect((await rotationState(m.mount))?.phase).not.toBe('idle');
      } finally {
        fault.remove();
      }
      // Checked once the outage is over (the check itself goes through the token endpoint).
      expect(await secretWorks(m.app, secret)).toBe(true);
      await runTimer();
      await expectSettled(m);
      expect(await configSecret(m.mount)).not.toBe(m.app.password?.secretText);
    });
  }
});

describe('scheduled rotation by the timer', () => {
  it('rotates a mount whose rotation_period has passed, and shows next_rotation', async () => {
    const m = await mountWithSecret({ rotation_period: '1s' });
    await sleep(1100);
    await runTimer();
    expect((await rotationState(m.mount))?.trigger).toBe('scheduled');
    await settle(m.mount);
    // Stop it before the next period so the other tests' runs leave this mount alone.
    expect((await admin('POST', `auth/${m.mount}/config`, { body: { disable_automated_rotation: true } })).status).toBe(204);
    await settle(m.mount);
    await expectSettled(m);
    expect(await configSecret(m.mount)).not.toBe(m.app.password?.secretText);
    const data = expectData(await admin('GET', `auth/${m.mount}/config`));
    expect(typeof data.root_password_expiration_date).toBe('string');
    expect(data.next_rotation).toBeUndefined();
  });

  it('leaves a mount alone when disable_automated_rotation is set', async () => {
    const m = await mountWithSecret({ rotation_period: '1s', disable_automated_rotation: true });
    await sleep(1100);
    await runTimer();
    expect(await rotationState(m.mount)).toBeUndefined();
    expect(await configSecret(m.mount)).toBe(m.app.password?.secretText);
    expect(stack.emulator.graph.passwords(m.app.id)).toHaveLength(1);
  });

  it('config read shows the next scheduled rotation', async () => {
    const m = await mountWithSecret({ rotation_schedule: '0 3 * * *', rotation_window: '2h' });
    const data = expectData(await admin('GET', `auth/${m.mount}/config`));
    expect(data.next_rotation).toMatch(/T03:00:00Z$/);
    expect(data.rotation_window).toBe(7200);
  });
});
