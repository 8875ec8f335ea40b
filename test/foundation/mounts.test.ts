import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asAdmin, expectData, expectErrors, expectWarnings, uniqueMount, type AdminCall } from './helpers';

let stack: Stack;
let admin: AdminCall;
beforeAll(async () => {
  stack = await startStack();
  admin = asAdmin(stack);
});
afterAll(async () => {
  await stack?.stop();
});

const TENANT = '11111111-2222-3333-4444-555555555555';
const configure = (mount: string, tenant = TENANT) =>
  admin('POST', `auth/${mount}/config`, { body: { tenant_id: tenant, resource: 'https://management.azure.com/' } });
const createRole = (mount: string, name: string) =>
  admin('POST', `auth/${mount}/role/${name}`, { body: { bound_service_principal_ids: 'sp-1' } });

describe('GET sys/auth', () => {
  it('lists azure and token from the first start, in Vault\'s shape, keys copied to the top', async () => {
    const res = await admin('GET', 'sys/auth');
    const data = expectData(res);
    const body = res.json as Record<string, unknown>;
    expect(body.mount_type).toBe('system');
    for (const key of ['azure/', 'token/']) {
      expect(data[key]).toBeDefined();
      expect(body[key]).toEqual(data[key]);
    }
    const azure = data['azure/'] as Record<string, unknown>;
    expect(azure).toMatchObject({
      type: 'azure',
      description: '',
      local: false,
      seal_wrap: false,
      external_entropy_access: false,
      options: null,
      config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false, token_type: 'default-service' },
    });
    expect(azure.accessor).toMatch(/^auth_azure_[0-9a-f]{8}$/);
    expect(azure.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(data['token/']).toMatchObject({ type: 'token', description: 'token based credentials' });
    // Stable: a second listing shows the same accessors.
    const again = expectData(await admin('GET', 'sys/auth'));
    expect((again['azure/'] as Record<string, unknown>).accessor).toBe(azure.accessor);
  });

  it('needs an admin', async () => {
    const errors = expectErrors(await stack.request('GET', 'sys/auth'), 403);
    expect(errors.join()).toContain('permission denied');
  });
});

describe('POST sys/auth/<path>', () => {
  it('enables an azure mount (204) that then lists and reads', async () => {
    const path = uniqueMount();
    const res = await admin('POST', `sys/auth/${path}`, { body: { type: 'azure', description: 'team A', local: true, seal_wrap: 'true' } });
    expect(res.status, res.text).toBe(204);
    const listed = expectData(await admin('GET', 'sys/auth'))[`${path}/`];
    expect(listed).toMatchObject({ type: 'azure', description: 'team A', local: true, seal_wrap: true });
    const read = expectData(await admin('GET', `sys/auth/${path}`));
    expect(read).toEqual(listed);
  });

  it('accepts PUT and form bodies like POST', async () => {
    const path = uniqueMount();
    expect((await admin('PUT', `sys/auth/${path}`, { form: { type: 'azure' } })).status).toBe(204);
    expect(expectData(await admin('GET', `sys/auth/${path}`)).type).toBe('azure');
  });

  it('warns about node-vault\'s mount_point and other unknown fields, and about config it does not apply', async () => {
    const path = uniqueMount();
    const warnings = expectWarnings(
      await admin('POST', `sys/auth/${path}`, { body: { type: 'azure', mount_point: path, config: { default_lease_ttl: '1h' } } }),
    );
    expect(warnings).toContain('Endpoint ignored these unrecognized parameters: [mount_point]');
    expect(warnings.some((w) => w.includes('config and options are accepted but not applied'))).toBe(true);
    expect(expectData(await admin('GET', `sys/auth/${path}`)).type).toBe('azure');
  });

  it('refuses a taken path with Vault\'s message, including the built-in ones', async () => {
    const path = uniqueMount();
    expect((await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } })).status).toBe(204);
    expect(expectErrors(await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } }), 400)).toEqual([`path is already in use at ${path}/`]);
    expect(expectErrors(await admin('POST', 'sys/auth/azure', { body: { type: 'azure' } }), 400)).toEqual(['path is already in use at azure/']);
    expect(expectErrors(await admin('POST', 'sys/auth/token', { body: { type: 'azure' } }), 400)).toEqual(['path is already in use at token/']);
  });

  it.each([
    [{ type: 'approle' }, /unsupported auth method type "approle"/],
    [{ type: 'token' }, /token credential backend cannot be instantiated/],
    [{}, /backend type must be specified/],
    [{ type: ['azure'] }, /Field validation failed.*"type"/],
  ])('refuses %j with 400 and stores nothing', async (body, message) => {
    const path = uniqueMount();
    const errors = expectErrors(await admin('POST', `sys/auth/${path}`, { body }), 400);
    expect(errors[0]).toMatch(message);
    expect(expectErrors(await admin('GET', `sys/auth/${path}`), 400)).toEqual([`No auth engine at ${path}/`]);
  });

  it.each(['-bad', 'bad-', 'a.b.', 'sp%20ace', 'x'.repeat(129)])('refuses the mount path %j', async (path) => {
    const errors = expectErrors(await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } }), 400);
    expect(errors[0]).toMatch(/mount path/);
  });

  it('has no route for nested paths (Functions route values are one segment)', async () => {
    const errors = expectErrors(await admin('POST', 'sys/auth/team/azure', { body: { type: 'azure' } }), 404);
    expect(errors).toEqual(['no handler for route "sys/auth/team/azure". route entry not found.']);
  });

  it('needs an admin and stores nothing for others', async () => {
    const path = uniqueMount();
    expectErrors(await stack.request('POST', `sys/auth/${path}`, { body: { type: 'azure' } }), 403);
    expectErrors(await admin('GET', `sys/auth/${path}`), 400);
  });
});

describe('GET sys/auth/<path>', () => {
  it('answers Vault\'s 400 for an unknown mount', async () => {
    expect(expectErrors(await admin('GET', 'sys/auth/nosuchmount'), 400)).toEqual(['No auth engine at nosuchmount/']);
  });
});

describe('DELETE sys/auth/<path>', () => {
  it('disables a mount and removes its config and roles; re-enabling starts clean', async () => {
    const path = uniqueMount();
    expect((await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } })).status).toBe(204);
    expect((await configure(path)).status).toBe(204);
    expect((await createRole(path, 'r1')).status).toBe(204);
    expect((await createRole(path, 'r2')).status).toBe(204);

    expect((await admin('DELETE', `sys/auth/${path}`)).status).toBe(204);
    expect(expectData(await admin('GET', 'sys/auth'))[`${path}/`]).toBeUndefined();
    // The mount's routes are gone, as in Vault.
    expectErrors(await admin('GET', `auth/${path}/config`), 404);
    // Nothing is left in storage.
    const leftovers: unknown[] = [];
    for (const table of ['azauthconfigs', 'azauthroles']) {
      for await (const entity of stack.table(table).listEntities({ queryOptions: { filter: `PartitionKey eq '${path}'` } })) leftovers.push(entity);
    }
    expect(leftovers).toEqual([]);

    expect((await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } })).status).toBe(204);
    expect((await admin('GET', `auth/${path}/config`)).status).toBe(404);
    expect(expectErrors(await admin('GET', `auth/${path}/role?list=true`), 404)).toEqual([]);
  });

  it('is 204 for a path with no mount, and refuses the token mount', async () => {
    expect((await admin('DELETE', `sys/auth/${uniqueMount()}`)).status).toBe(204);
    expect(expectErrors(await admin('DELETE', 'sys/auth/token'), 400)).toEqual(['token credential backend cannot be disabled']);
  });

  it('needs an admin', async () => {
    const path = uniqueMount();
    expect((await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } })).status).toBe(204);
    expectErrors(await stack.request('DELETE', `sys/auth/${path}`), 403);
    expect(expectData(await admin('GET', `sys/auth/${path}`)).type).toBe('azure');
  });
});

describe('many mounts, many tenants', () => {
  it('keeps each mount\'s config and roles apart', async () => {
    const [a, b] = [uniqueMount('ta'), uniqueMount('tb')];
    for (const path of [a, b]) expect((await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } })).status).toBe(204);
    expect((await configure(a, 'aaaaaaaa-0000-0000-0000-000000000000')).status).toBe(204);
    expect((await configure(b, 'bbbbbbbb-0000-0000-0000-000000000000')).status).toBe(204);
    expect((await createRole(a, 'only-in-a')).status).toBe(204);
    expect(expectData(await admin('GET', `auth/${a}/config`)).tenant_id).toBe('aaaaaaaa-0000-0000-0000-000000000000');
    expect(expectData(await admin('GET', `auth/${b}/config`)).tenant_id).toBe('bbbbbbbb-0000-0000-0000-000000000000');
    expect(expectData(await admin('GET', `auth/${a}/role?list=true`)).keys).toEqual(['only-in-a']);
    expect((await admin('GET', `auth/${b}/role/only-in-a`)).status).toBe(404);
  });
});

describe('the default azure mount', () => {
  it('can be disabled and does not come back by itself', async () => {
    // Runs last in this file: other tests do not use the azure mount.
    expect((await admin('DELETE', 'sys/auth/azure')).status).toBe(204);
    expect(expectData(await admin('GET', 'sys/auth'))['azure/']).toBeUndefined();
    expectErrors(await admin('GET', 'auth/azure/config'), 404);
    expect((await admin('POST', 'sys/auth/azure', { body: { type: 'azure' } })).status).toBe(204);
    expect(expectData(await admin('GET', 'sys/auth'))['azure/']).toBeDefined();
  });
});
