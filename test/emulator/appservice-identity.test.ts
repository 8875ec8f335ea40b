// The App Service identity endpoint with @azure/identity (IDENTITY_ENDPOINT / IDENTITY_HEADER),
// and the resulting token used against the emulator's ARM. One endpoint per process: msal-node
// keeps the first managed-identity source in static state.
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServiceIdentityEndpoint, type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';
import { ARM, SUB, decodePayload } from './helpers';

let cloud: CloudEmulator;
let identity: AppServiceIdentityEndpoint;
let uami: { id: string; principalId: string; clientId: string };

beforeAll(async () => {
  cloud = await startCloudEmulator();
  uami = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'host', name: 'func-id' });
  identity = await cloud.appServiceIdentity({ principal: 'system', userAssigned: [uami.id] });
  process.env['IDENTITY_ENDPOINT'] = identity.endpoint;
  process.env['IDENTITY_HEADER'] = identity.header;
});
afterAll(async () => {
  delete process.env['IDENTITY_ENDPOINT'];
  delete process.env['IDENTITY_HEADER'];
  await cloud.stop();
});

describe('App Service identity endpoint', () => {
  it('serves ManagedIdentityCredential, system-assigned and user-assigned', async () => {
    expect(identity.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    expect(identity.env).toEqual({ IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.header });
    const site = cloud.arm.get(identity.siteId);
    expect(site?.type).toBe('Microsoft.Web/sites');

    const system = await new ManagedIdentityCredential({ retryOptions: { maxRetries: 0 } }).getToken(`${ARM}.default`);
    expect(decodePayload(system.token)).toMatchObject({
      aud: 'https://management.azure.com', // msal-node drops '/.default' with its slash
      oid: identity.principalId,
      appid: identity.clientId,
      tid: identity.tenantId,
      xms_mirid: identity.siteId.replace('/resourceGroups/', '/resourcegroups/'),
    });

    const user = await new ManagedIdentityCredential({ clientId: uami.clientId, retryOptions: { maxRetries: 0 } }).getToken('https://graph.microsoft.com/.default');
    expect(decodePayload(user.token)).toMatchObject({ aud: 'https://graph.microsoft.com', oid: uami.principalId, xms_az_rid: identity.siteId.replace('/resourceGroups/', '/resourcegroups/') });

    const requests = cloud.requests({ service: 'identity' });
    expect(requests.map((r) => r.status)).toEqual([200, 200]);
    expect(requests[0]?.query).toContain('api-version=2019-08-01');

    // The token is good for the emulator's ARM.
    const res = await cloud.fetch(`${cloud.url}${identity.siteId}?api-version=2024-04-01`, { headers: { authorization: `Bearer ${system.token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ identity: { principalId: identity.principalId } });
  });

  it('answers with a string expires_on, and refuses a wrong header or api-version', async () => {
    const url = `${identity.endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(ARM)}`;
    const ok = await fetch(url, { headers: { 'X-IDENTITY-HEADER': identity.header } });
    const body = (await ok.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ resource: ARM, token_type: 'Bearer', client_id: identity.clientId });
    expect(body['expires_on']).toMatch(/^\d{10}$/);
    expect((await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'nope' } })).status).toBe(401);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url.replace('2019-08-01', '2017-09-01'), { headers: { 'X-IDENTITY-HEADER': identity.header } })).status).toBe(400);
    const byResourceId = await fetch(`${url}&mi_res_id=${encodeURIComponent(uami.id)}`, { headers: { 'X-IDENTITY-HEADER': identity.header } });
    expect(decodePayload(String(((await byResourceId.json()) as Record<string, unknown>)['access_token']))['oid']).toBe(uami.principalId);
  });

  it('can run as a user-assigned identity only', async () => {
    const only = await cloud.appServiceIdentity({ principal: uami.id });
    expect(only.principalId).toBe(uami.principalId);
    expect(only.clientId).toBe(uami.clientId);
    const res = await fetch(`${only.endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(ARM)}`, { headers: { 'X-IDENTITY-HEADER': only.header } });
    expect(decodePayload(String(((await res.json()) as Record<string, unknown>)['access_token']))).toMatchObject({ oid: uami.principalId, xms_mirid: uami.id.replace('/resourceGroups/', '/resourcegroups/') });
  });
});
