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

const TENANT = '0a0b0c0d-1111-2222-3333-444455556666';
const RESOURCE = 'https://management.azure.com/';
const VAULT_KEYS = [
  'client_id', 'disable_automated_rotation', 'environment', 'identity_token_audience', 'identity_token_ttl', 'max_retries',
  'max_retry_delay', 'resource', 'retry_delay', 'root_password_ttl', 'rotation_period', 'rotation_policy', 'rotation_schedule',
  'rotation_window', 'tenant_id',
];

async function newMount(): Promise<string> {
  const path = uniqueMount('cfg');
  const res = await admin('POST', `sys/auth/${path}`, { body: { type: 'azure' } });
  expect(res.status, res.text).toBe(204);
  return path;
}
const writeConfig = (mount: string, body: unknown) => admin('POST', `auth/${mount}/config`, { body });
const readConfig = async (mount: string) => expectData(await admin('GET', `auth/${mount}/config`));

async function storedEntity(mount: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await stack.table('azauthconfigs').getEntity<Record<string, unknown>>(mount, 'config');
  } catch {
    return undefined;
  }
}

describe('read', () => {
  it('is 404 with an empty error list before any write', async () => {
    const mount = await newMount();
    expect(expectErrors(await admin('GET', `auth/${mount}/config`), 404)).toEqual([]);
  });
});

describe('write', () => {
  it('stores tenant and resource, applies Vault\'s defaults, answers 204', async () => {
    const mount = await newMount();
    const res = await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE });
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    const data = await readConfig(mount);
    expect(Object.keys(data).sort()).toEqual(VAULT_KEYS);
    expect(data).toEqual({
      tenant_id: TENANT,
      resource: RESOURCE,
      environment: '',
      client_id: '',
      root_password_ttl: 15768000,
      retry_delay: 4,
      max_retry_delay: 60,
      max_retries: 3,
      identity_token_audience: '',
      identity_token_ttl: 0,
      rotation_schedule: '',
      rotation_window: 0,
      rotation_period: 0,
      disable_automated_rotation: false,
      rotation_policy: '',
    });
  });

  it('round-trips every field, durations in whole seconds, the secret never shown', async () => {
    const mount = await newMount();
    const res = await admin('PUT', `auth/${mount}/config`, {
      body: {
        tenant_id: TENANT,
        resource: 'api://my-app',
        environment: 'azurechinacloud',
        client_id: 'client-1',
        client_secret: 'super-secret-value',
        root_password_ttl: '2d',
        max_retries: '5',
        retry_delay: '10s',
        max_retry_delay: '2m',
        identity_token_ttl: 3600,
        rotation_schedule: '0 3 * * *',
        rotation_window: '2h',
        disable_automated_rotation: 'false',
        rotation_policy: 'my-policy',
      },
    });
    expect(res.status, res.text).toBe(204);
    const data = await readConfig(mount);
    expect(data).toMatchObject({
      tenant_id: TENANT,
      resource: 'api://my-app',
      environment: 'azurechinacloud',
      client_id: 'client-1',
      root_password_ttl: 172800,
      max_retries: 5,
      retry_delay: 10,
      max_retry_delay: 120,
      identity_token_audience: '',
      identity_token_ttl: 3600,
      rotation_schedule: '0 3 * * *',
      rotation_window: 7200,
      rotation_period: 0,
      disable_automated_rotation: false,
      rotation_policy: 'my-policy',
    });
    expect(data).not.toHaveProperty('client_secret');
    expect(JSON.stringify(data)).not.toContain('super-secret-value');
    // next_rotation: the next 03:00 UTC.
    const next = new Date(String(data.next_rotation));
    expect(next.getUTCHours()).toBe(3);
    expect(next.getUTCMinutes()).toBe(0);
    expect(next.getTime() - Date.now()).toBeGreaterThan(0);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
    expect(String(data.next_rotation)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('accepts form-encoded bodies (the Vault CLI style)', async () => {
    const mount = await newMount();
    expect((await admin('POST', `auth/${mount}/config`, { form: { tenant_id: TENANT, resource: RESOURCE, max_retries: '7' } })).status).toBe(204);
    expect((await readConfig(mount)).max_retries).toBe(7);
  });

  it('keeps stored values a later write omits (Vault resets four of them)', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, client_id: 'c', max_retries: 9, retry_delay: 7, max_retry_delay: 70, root_password_ttl: 100 });
    expect((await writeConfig(mount, { resource: 'api://changed' })).status).toBe(204);
    expect(await readConfig(mount)).toMatchObject({
      tenant_id: TENANT,
      resource: 'api://changed',
      client_id: 'c',
      max_retries: 9,
      retry_delay: 7,
      max_retry_delay: 70,
      root_password_ttl: 100,
    });
  });

  it('accepts every duration form', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE });
    for (const [input, seconds] of [[3600, 3600], ['3600', 3600], ['90s', 90], ['1h30m', 5400], ['2d', 172800], ['0', 0]] as const) {
      expect((await writeConfig(mount, { root_password_ttl: input })).status).toBe(204);
      expect((await readConfig(mount)).root_password_ttl, String(input)).toBe(seconds);
    }
  });

  it('accepts the three clouds in any letter case', async () => {
    const mount = await newMount();
    for (const environment of ['AzurePublicCloud', 'AZURECHINACLOUD', 'azureUSGovernmentCloud', '']) {
      expect((await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, environment })).status).toBe(204);
      expect((await readConfig(mount)).environment).toBe(environment);
    }
  });

  it('stores client_secret encrypted, and "" clears it', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, client_secret: 'plain-text-secret-123' });
    const entity = await storedEntity(mount);
    expect(entity).toBeDefined();
    expect(JSON.stringify(entity)).not.toContain('plain-text-secret-123');
    expect(String(entity?.clientSecretSealed)).toMatch(/^v1\./);
    expect((await writeConfig(mount, { client_id: 'x' })).status).toBe(204);
    expect((await storedEntity(mount))?.clientSecretSealed).toBe(entity?.clientSecretSealed);
    expect((await writeConfig(mount, { client_secret: '' })).status).toBe(204);
    expect((await storedEntity(mount))?.clientSecretSealed).toBe('');
  });

  it('warns about unknown parameters and still writes (200 instead of 204)', async () => {
    const mount = await newMount();
    const warnings = expectWarnings(await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, bogus: 1, also_bogus: 'x' }));
    expect(warnings).toEqual(['Endpoint ignored these unrecognized parameters: [also_bogus bogus]']);
    expect((await readConfig(mount)).tenant_id).toBe(TENANT);
  });

  it('shows root_password_expiration_date once rotation has set it', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE });
    expect(await readConfig(mount)).not.toHaveProperty('root_password_expiration_date');
    await stack.table('azauthconfigs').updateEntity({ partitionKey: mount, rowKey: 'config', rootPasswordExpirationDate: '2027-05-01T00:00:00Z' }, 'Merge');
    expect((await readConfig(mount)).root_password_expiration_date).toBe('2027-05-01T00:00:00Z');
  });

  it('shows next_rotation for a period, and none when automated rotation is disabled', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, rotation_period: '24h' });
    const data = await readConfig(mount);
    expect(data.rotation_period).toBe(86400);
    const due = Date.parse(String(data.next_rotation));
    expect(Math.abs(due - (Date.now() + 86400_000))).toBeLessThan(60_000);
    expect((await writeConfig(mount, { disable_automated_rotation: true })).status).toBe(204);
    const disabled = await readConfig(mount);
    expect(disabled.disable_automated_rotation).toBe(true);
    expect(disabled).not.toHaveProperty('next_rotation');
  });

  it('lets ETag-guarded writes from concurrent requests all land', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE });
    const changes = [{ client_id: 'cid' }, { max_retries: 8 }, { retry_delay: 9 }, { max_retry_delay: 99 }, { rotation_policy: 'pol' }, { root_password_ttl: 1234 }];
    const results = await Promise.all(changes.map((body) => writeConfig(mount, body)));
    expect(results.map((r) => r.status)).toEqual(changes.map(() => 204));
    expect(await readConfig(mount)).toMatchObject({ client_id: 'cid', max_retries: 8, retry_delay: 9, max_retry_delay: 99, rotation_policy: 'pol', root_password_ttl: 1234 });
  });
});

describe('write refusals (400, nothing stored)', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp | string]> = [
    ['missing tenant', { resource: RESOURCE }, 'tenant_id is required'],
    ['missing resource', { tenant_id: TENANT }, 'resource is required'],
    ['unknown environment', { tenant_id: TENANT, resource: RESOURCE, environment: 'AzureNotRealCloud' }, 'err: no cloud configuration matching the name "AZURENOTREALCLOUD"'],
    ['Azure Germany', { tenant_id: TENANT, resource: RESOURCE, environment: 'AzureGermanCloud' }, 'err: no cloud configuration matching the name "AZUREGERMANCLOUD"'],
    ['negative duration', { tenant_id: TENANT, resource: RESOURCE, root_password_ttl: '-1h' }, /^Field validation failed: error converting input -1h for field "root_password_ttl": cannot provide negative value/],
    ['unparsable duration', { tenant_id: TENANT, resource: RESOURCE, retry_delay: 'soon' }, /field "retry_delay": time: invalid duration "soon"/],
    ['negative retry delay', { tenant_id: TENANT, resource: RESOURCE, max_retry_delay: -5 }, /field "max_retry_delay"/],
    ['non-integer max_retries', { tenant_id: TENANT, resource: RESOURCE, max_retries: 'abc' }, /field "max_retries"/],
    ['negative max_retries', { tenant_id: TENANT, resource: RESOURCE, max_retries: -1 }, 'max_retries cannot be negative'],
    ['non-boolean flag', { tenant_id: TENANT, resource: RESOURCE, disable_automated_rotation: 'maybe' }, /field "disable_automated_rotation": strconv.ParseBool/],
    ['object as tenant', { tenant_id: { a: 1 }, resource: RESOURCE }, /field "tenant_id"/],
    ['secret with identity audience', { tenant_id: TENANT, resource: RESOURCE, client_secret: 's', identity_token_audience: 'aud' }, "only one of 'client_secret' or 'identity_token_audience' can be set"],
    ['identity audience without client_id', { tenant_id: TENANT, resource: RESOURCE, identity_token_audience: 'aud' }, "identity_token_audience requires client_id: the application whose federated credential trusts this app's managed identity"],
    ['schedule with period', { tenant_id: TENANT, resource: RESOURCE, rotation_schedule: '0 * * * *', rotation_period: '1h' }, 'mutually exclusive fields rotation_schedule and rotation_period were both specified; only one of them can be provided'],
    ['bad cron', { tenant_id: TENANT, resource: RESOURCE, rotation_schedule: '61 * * * *' }, /^failed to parse provided rotation_schedule: /],
    ['non-standard cron', { tenant_id: TENANT, resource: RESOURCE, rotation_schedule: '@daily' }, /^failed to parse provided rotation_schedule: /],
    ['six-field cron', { tenant_id: TENANT, resource: RESOURCE, rotation_schedule: '0 0 3 * * *' }, /^failed to parse provided rotation_schedule: /],
    ['window with period', { tenant_id: TENANT, resource: RESOURCE, rotation_period: '1d', rotation_window: '2h' }, 'rotation_window does not apply to period'],
    ['window without schedule', { tenant_id: TENANT, resource: RESOURCE, rotation_window: '2h' }, 'cannot use rotation_window without rotation_schedule'],
    ['window under an hour', { tenant_id: TENANT, resource: RESOURCE, rotation_schedule: '0 3 * * *', rotation_window: '30m' }, /rotation_window must be 0 or at least 3600 seconds/],
    // issue 10 item 10: a tenant is a GUID or a domain name, as login requires
    ['tenant ".."', { tenant_id: '..', resource: RESOURCE }, 'tenant_id ".." is not a tenant id (a GUID) or a domain name'],
    ['tenant with "/"', { tenant_id: `${TENANT}/v2.0`, resource: RESOURCE }, `tenant_id "${TENANT}/v2.0" is not a tenant id (a GUID) or a domain name`],
    ['tenant with an empty label', { tenant_id: 'contoso..onmicrosoft.com', resource: RESOURCE }, /^tenant_id "contoso\.\.onmicrosoft\.com" is not a tenant id/],
    ['tenant label ending in "-"', { tenant_id: 'contoso-.com', resource: RESOURCE }, /is not a tenant id \(a GUID\) or a domain name$/],
  ];

  it.each(cases)('%s', async (_label, body, message) => {
    const mount = await newMount();
    const errors = expectErrors(await writeConfig(mount, body), 400);
    if (typeof message === 'string') expect(errors).toEqual([message]);
    else expect(errors[0]).toMatch(message);
    expect((await admin('GET', `auth/${mount}/config`)).status).toBe(404);
    expect(await storedEntity(mount)).toBeUndefined();
  });

  it('refuses a 5,000-character tenant_id without echoing it', async () => {
    const mount = await newMount();
    const [message] = expectErrors(await writeConfig(mount, { tenant_id: 'x'.repeat(5000), resource: RESOURCE }), 400);
    expect(message).toMatch(/^tenant_id "x+…" \(5000 characters\) is not a tenant id \(a GUID\) or a domain name$/);
    expect(message?.length).toBeLessThan(200);
    expect(await storedEntity(mount)).toBeUndefined();
    // The same bound for the other fields a refusal quotes.
    const [cloud] = expectErrors(await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, environment: 'y'.repeat(5000) }), 400);
    expect(cloud).toMatch(/^err: no cloud configuration matching the name "Y+…" \(5000 characters\)$/);
    const [cron] = expectErrors(await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, rotation_schedule: `${'z'.repeat(5000)} * * * *` }), 400);
    expect(cron?.length).toBeLessThan(200);
  });

  it('accepts a tenant GUID in any case and a verified domain name', async () => {
    for (const tenant of [TENANT.toUpperCase(), 'contoso.onmicrosoft.com', 'login-test.contoso.com']) {
      const mount = await newMount();
      expect((await writeConfig(mount, { tenant_id: tenant, resource: RESOURCE })).status).toBe(204);
      expect((await readConfig(mount)).tenant_id).toBe(tenant);
    }
  });

  it('leaves a stored config untouched when a change is refused', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, max_retries: 4 });
    const before = await readConfig(mount);
    expectErrors(await writeConfig(mount, { max_retries: 6, environment: 'Nowhere' }), 400);
    expectErrors(await writeConfig(mount, { max_retries: 6, root_password_ttl: '-1s' }), 400);
    expect(await readConfig(mount)).toEqual(before);
  });

  it('refuses malformed JSON', async () => {
    const mount = await newMount();
    expect(expectErrors(await writeConfig(mount, '{"tenant_id": '), 400)).toEqual(['error parsing JSON']);
  });

  it('refuses a window for a schedule stored earlier, and a period while a schedule is stored', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, rotation_schedule: '0 3 * * *' });
    expect(expectErrors(await writeConfig(mount, { rotation_window: '2h' }), 400)).toEqual(['cannot use rotation_window without rotation_schedule']);
    expect(expectErrors(await writeConfig(mount, { rotation_period: '1d' }), 400)[0]).toMatch(/mutually exclusive/);
    expect((await writeConfig(mount, { rotation_schedule: '', rotation_period: '1d' })).status).toBe(204);
    expect(await readConfig(mount)).toMatchObject({ rotation_schedule: '', rotation_period: 86400 });
  });
});

describe('delete', () => {
  it('removes the config (204), and is 204 again when nothing is stored', async () => {
    const mount = await newMount();
    await writeConfig(mount, { tenant_id: TENANT, resource: RESOURCE, client_secret: 'x' });
    expect((await admin('DELETE', `auth/${mount}/config`)).status).toBe(204);
    expect((await admin('GET', `auth/${mount}/config`)).status).toBe(404);
    expect(await storedEntity(mount)).toBeUndefined();
    expect((await admin('DELETE', `auth/${mount}/config`)).status).toBe(204);
  });
});

describe('routing and access', () => {
  it('answers Vault\'s no-handler 404 for a mount that does not exist, or the token mount', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const errors = expectErrors(await admin(method, 'auth/nosuchmount/config', { body: method === 'POST' ? { tenant_id: TENANT, resource: RESOURCE } : undefined }), 404);
      expect(errors).toEqual(['no handler for route "auth/nosuchmount/config". route entry not found.']);
    }
    expectErrors(await admin('POST', 'auth/token/config', { body: { tenant_id: TENANT, resource: RESOURCE } }), 404);
    expect(await storedEntity('nosuchmount')).toBeUndefined();
  });

  it('answers 405 for a merge-patch PATCH and 415 for a PATCH of another content type (Vault checks that first)', async () => {
    const mount = await newMount();
    expect((await admin('PATCH', `auth/${mount}/config`, { body: {}, headers: { 'Content-Type': 'application/merge-patch+json' } })).status).toBe(405);
    const plain = await admin('PATCH', `auth/${mount}/config`, { body: {} });
    expect(expectErrors(plain, 415)).toEqual(['PATCH requires Content-Type of application/merge-patch+json, provided application/json']);
  });

  it('needs an admin for every operation, and stores nothing for others', async () => {
    const mount = await newMount();
    const body = { tenant_id: TENANT, resource: RESOURCE };
    expect(expectErrors(await stack.request('POST', `auth/${mount}/config`, { body }), 403).join()).toContain('permission denied');
    expect(await storedEntity(mount)).toBeUndefined();
    await writeConfig(mount, body);
    expectErrors(await stack.request('GET', `auth/${mount}/config`), 403);
    expectErrors(await stack.request('DELETE', `auth/${mount}/config`, { token: 'garbage' }), 403);
    expect(await storedEntity(mount)).toBeDefined();
  });
});

describe('without AZAUTH_ENCRYPTION_KEY, with AZURE_* fallbacks', () => {
  let alt: Stack;
  let altAdmin: AdminCall;
  beforeAll(async () => {
    alt = await startStack({
      env: { AZAUTH_ENCRYPTION_KEY: undefined, AZURE_TENANT_ID: 'fallback-tenant', AZURE_AD_RESOURCE: 'api://fallback', AZURE_ENVIRONMENT: 'AzurePublicCloud' },
    });
    altAdmin = asAdmin(alt);
  });
  afterAll(async () => {
    await alt?.stop();
  });

  it('refuses a client_secret with 400 naming the setting, and stores nothing', async () => {
    const errors = expectErrors(await altAdmin('POST', 'auth/azure/config', { body: { tenant_id: TENANT, resource: RESOURCE, client_secret: 's' } }), 400);
    expect(errors[0]).toContain('AZAUTH_ENCRYPTION_KEY');
    expect((await altAdmin('GET', 'auth/azure/config')).status).toBe(404);
  });

  it('lets env settings stand in for tenant and resource; the read shows stored values only', async () => {
    expect((await altAdmin('POST', 'auth/azure/config', { body: { client_id: 'c1' } })).status).toBe(204);
    expect(expectData(await altAdmin('GET', 'auth/azure/config'))).toMatchObject({ tenant_id: '', resource: '', client_id: 'c1' });
    expect((await altAdmin('POST', 'auth/azure/config', { body: { tenant_id: TENANT } })).status).toBe(204);
    expect(expectData(await altAdmin('GET', 'auth/azure/config')).tenant_id).toBe(TENANT);
  });
});
