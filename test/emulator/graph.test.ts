// Microsoft Graph through plain fetch, as the product's rotation code calls it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';

let cloud: CloudEmulator;
let token: string;

beforeAll(async () => {
  cloud = await startCloudEmulator();
  token = await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: 'https://graph.microsoft.com' });
});
afterAll(async () => {
  await cloud.stop();
});

async function graph(method: 'GET' | 'POST', path: string, body?: unknown, bearer: string | null = token): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const headers: Record<string, string> = bearer === null ? {} : { authorization: `Bearer ${bearer}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await cloud.fetch(`${cloud.url}/v1.0${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

const byAppId = (appId: string) => `/applications?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`;

describe('Graph applications', () => {
  it('lists an application by appId with its password metadata but never a secret', async () => {
    const app = cloud.graph.addApplication({ displayName: 'azauth-mount' });
    const { status, body } = await graph('GET', byAppId(app.appId));
    expect(status).toBe(200);
    const value = body?.['value'] as Record<string, unknown>[];
    expect(value).toHaveLength(1);
    expect(value[0]).toMatchObject({ id: app.id, appId: app.appId, displayName: 'azauth-mount' });
    const [password] = value[0]?.['passwordCredentials'] as Record<string, unknown>[];
    expect(password).toMatchObject({ keyId: app.password?.keyId, displayName: 'initial', hint: app.password?.secretText.slice(0, 3), secretText: null });
    expect(typeof password?.['startDateTime']).toBe('string');
    expect(typeof password?.['endDateTime']).toBe('string');
    expect(JSON.stringify(body)).not.toContain(app.password?.secretText ?? '');
    // The raw, unencoded form product code may send works too.
    expect((await graph('GET', `/applications?$filter=appId eq '${app.appId}'`)).status).toBe(200);
  });

  it('adds and removes passwords', async () => {
    const app = cloud.graph.addApplication({ withPassword: false });
    const end = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const added = await graph('POST', `/applications/${app.id}/addPassword`, { passwordCredential: { displayName: 'azauth-1234', endDateTime: end } });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ displayName: 'azauth-1234', endDateTime: end });
    const secretText = String(added.body?.['secretText']);
    expect(secretText).toMatch(/^.{3}8Q~.{34}$/);
    expect(added.body?.['hint']).toBe(secretText.slice(0, 3));
    const keyId = String(added.body?.['keyId']);
    expect(cloud.graph.passwords(app.id).map((p) => [p.keyId, p.secretText])).toEqual([[keyId, secretText]]);

    expect((await graph('POST', `/applications/${app.id}/removePassword`, { keyId })).status).toBe(204);
    expect(cloud.graph.passwords(app.id)).toEqual([]);
    const again = await graph('POST', `/applications/${app.id}/removePassword`, { keyId });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: { code: 'Request_BadRequest' } });
    expect((await graph('POST', `/applications/${app.id}/removePassword`, { keyId: 'not-a-guid' })).status).toBe(400);
    expect((await graph('POST', `/applications/${app.id}/addPassword`, { passwordCredential: { endDateTime: 'soon' } })).status).toBe(400);
    expect((await graph('POST', '/applications/3f2b1c0d-0000-4000-8000-000000000000/addPassword', {})).body).toMatchObject({ error: { code: 'Request_ResourceNotFound' } });
  });

  it('finds duplicate appIds, and shows each tenant only its own applications', async () => {
    const first = cloud.graph.addApplication();
    cloud.graph.addApplication({ appId: first.appId });
    expect((await graph('GET', byAppId(first.appId))).body?.['value']).toHaveLength(2);
    expect((await graph('GET', byAppId('1a2b3c4d-0000-4000-8000-000000000000'))).body?.['value']).toEqual([]);

    const other = cloud.entra.addTenant();
    const otherToken = await cloud.entra.mintToken({ tenant: other, audience: 'https://graph.microsoft.com/' });
    expect((await graph('GET', byAppId(first.appId), undefined, otherToken)).body?.['value']).toEqual([]);
    const own = cloud.graph.addApplication({ tenantId: other });
    expect((await graph('GET', byAppId(own.appId), undefined, otherToken)).body?.['value']).toHaveLength(1);
    expect((await graph('GET', `/applications/${own.id}`, undefined, otherToken)).body).toMatchObject({ appId: own.appId });
    expect((await graph('GET', `/applications/${own.id}`)).status).toBe(404);
  });

  it('requires an emulator-signed Graph token, and refuses filters it does not implement', async () => {
    const none = await graph('GET', '/applications', undefined, null);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });
    const armToken = await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: 'https://management.azure.com/' });
    expect((await graph('GET', '/applications', undefined, armToken)).status).toBe(401);
    const forged = await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: 'https://graph.microsoft.com', attack: 'hs256-public-key' });
    expect((await graph('GET', '/applications', undefined, forged)).status).toBe(401);
    expect((await graph('GET', `/applications?$filter=${encodeURIComponent("startswith(displayName,'a')")}`)).body).toMatchObject({ error: { code: 'Request_UnsupportedQuery' } });
  });
});
