// The client-credentials token endpoint: secrets that follow Graph's passwords at once, client
// assertions checked against federated identity credentials, Entra's error shapes, and
// @azure/identity's ClientSecretCredential / ClientAssertionCredential against it.
import { ClientAssertionCredential, ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEmulator, FEDERATION_AUDIENCE, startCloudEmulator } from '../../dev/emulator/index';
import { SUB, decodePayload, trustEmulator, verifyWithDiscovery } from './helpers';

let cloud: CloudEmulator;
let tenant: string;
let graphToken: string;

beforeAll(async () => {
  cloud = await startCloudEmulator();
  tenant = cloud.defaultTenantId;
  graphToken = await cloud.entra.mintToken({ tenant, audience: 'https://graph.microsoft.com' });
});
afterAll(async () => {
  await cloud.stop();
});

async function tokenRequest(fields: Record<string, string>, path = `/${tenant}/oauth2/v2.0/token`): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await cloud.fetch(`${cloud.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function secretGrant(clientId: string, secret: string): Record<string, string> {
  return { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'https://management.azure.com/.default' };
}

async function graphPost(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await cloud.fetch(`${cloud.url}/v1.0${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${graphToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

describe('client secrets', () => {
  it('issues a v1 token for the scope minus /.default, as the application\'s service principal', async () => {
    const app = cloud.graph.addApplication({ displayName: 'azauth' });
    const { status, body } = await tokenRequest(secretGrant(app.appId, app.password?.secretText ?? ''));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
    const payload = await verifyWithDiscovery(cloud, String(body['access_token']), { tenant, version: '1.0', audience: 'https://management.azure.com' });
    expect(payload).toMatchObject({ oid: app.servicePrincipalId, sub: app.servicePrincipalId, appid: app.appId, appidacr: '1', tid: tenant, ver: '1.0', idtyp: 'app' });
  });

  it('stops accepting a removed password at once and accepts a new one at once (through Graph)', async () => {
    const app = cloud.graph.addApplication();
    const oldSecret = app.password?.secretText ?? '';
    const added = await graphPost(`/applications/${app.id}/addPassword`, { passwordCredential: { displayName: 'azauth-next' } });
    expect(added.status).toBe(200);
    const newSecret = String((JSON.parse(added.text) as Record<string, unknown>)['secretText']);
    expect((await tokenRequest(secretGrant(app.appId, oldSecret))).status).toBe(200);
    expect((await tokenRequest(secretGrant(app.appId, newSecret))).status).toBe(200);

    expect((await graphPost(`/applications/${app.id}/removePassword`, { keyId: app.password?.keyId })).status).toBe(204);
    const refused = await tokenRequest(secretGrant(app.appId, oldSecret));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(String(refused.body['error_description'])).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    expect(refused.body).toHaveProperty('trace_id');
    expect(refused.body).toHaveProperty('correlation_id');
    expect((await tokenRequest(secretGrant(app.appId, newSecret))).status).toBe(200);
  });

  it('works with ClientSecretCredential and refuses the secret once removed', async () => {
    const app = cloud.graph.addApplication();
    const options = { authorityHost: cloud.url, disableInstanceDiscovery: true, additionalPolicies: trustEmulator(cloud.httpsAgent()) };
    const credential = new ClientSecretCredential(tenant, app.appId, app.password?.secretText ?? '', options);
    const token = await credential.getToken('https://graph.microsoft.com/.default');
    expect(decodePayload(token.token)).toMatchObject({ aud: 'https://graph.microsoft.com', appid: app.appId });
    cloud.graph.removePassword(app.id, app.password?.keyId ?? '');
    // A fresh credential (msal caches the first token per instance).
    const stale = new ClientSecretCredential(tenant, app.appId, app.password?.secretText ?? '', options);
    await expect(stale.getToken('https://graph.microsoft.com/.default')).rejects.toThrow(/AADSTS7000215/);
  });

  it('answers Entra\'s errors for bad requests', async () => {
    const app = cloud.graph.addApplication();
    const secret = app.password?.secretText ?? '';
    const expired = cloud.graph.addPassword(app.id, { startDateTime: new Date(Date.now() - 7_200_000).toISOString(), endDateTime: new Date(Date.now() - 3_600_000).toISOString() });
    expect((await tokenRequest(secretGrant(app.appId, expired.secretText))).body['error_codes']).toEqual([7000222]);
    expect((await tokenRequest(secretGrant('7d8e9f00-1111-4222-8333-944455566677', secret))).body).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
    expect((await tokenRequest({ ...secretGrant(app.appId, secret), scope: 'https://management.azure.com/user_impersonation' })).body['error_codes']).toEqual([1002012]);
    expect((await tokenRequest({ ...secretGrant(app.appId, secret), grant_type: 'password' })).body['error']).toBe('unsupported_grant_type');
    const { client_secret: _omit, ...noSecret } = secretGrant(app.appId, secret);
    const noCredential = await tokenRequest(noSecret);
    expect(noCredential.status).toBe(401);
    expect(noCredential.body['error_codes']).toEqual([7000218]);
    const otherTenant = await tokenRequest(secretGrant(app.appId, secret), '/0e0e0e0e-1f1f-4a4a-8b8b-9c9c9c9c9c9c/oauth2/v2.0/token');
    expect(otherTenant.status).toBe(400);
    expect(otherTenant.body['error_codes']).toEqual([90002]);
  });

  it('answers the v1 endpoint with string lifetimes and the resource', async () => {
    const app = cloud.graph.addApplication();
    const { status, body } = await tokenRequest(
      { grant_type: 'client_credentials', client_id: app.appId, client_secret: app.password?.secretText ?? '', resource: 'https://management.azure.com/' },
      `/${tenant}/oauth2/token`,
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: '3599', resource: 'https://management.azure.com/' });
    expect(typeof body['expires_on']).toBe('string');
    expect(decodePayload(String(body['access_token']))['aud']).toBe('https://management.azure.com/');
  });
});

describe('client assertions (workload identity federation)', () => {
  it('accepts the function app\'s managed-identity token when a federated credential matches', async () => {
    const site = cloud.arm.addResource({ id: `/subscriptions/${SUB}/resourceGroups/host/providers/Microsoft.Web/sites/azauth`, systemAssigned: true });
    const app = cloud.graph.addApplication({ withPassword: false });
    cloud.graph.addFederatedCredential(app.id, { issuer: cloud.entra.issuer(tenant, '2.0'), subject: site.principalId ?? '', audiences: [FEDERATION_AUDIENCE] });
    const assertion = () => cloud.entra.mintManagedIdentityToken({ audience: FEDERATION_AUDIENCE, resourceId: site.id });
    cloud.resetCounts();

    const credential = new ClientAssertionCredential(tenant, app.appId, assertion, {
      authorityHost: cloud.url,
      disableInstanceDiscovery: true,
      additionalPolicies: trustEmulator(cloud.httpsAgent()),
    });
    const token = await credential.getToken('https://management.azure.com/.default');
    expect(decodePayload(token.token)).toMatchObject({ appid: app.appId, oid: app.servicePrincipalId, appidacr: '2', aud: 'https://management.azure.com' });
    const posted = cloud.requests({ service: 'entra', method: 'POST' });
    expect(posted.length).toBe(1);

    const grant = (jwt: string) => ({
      grant_type: 'client_credentials',
      client_id: app.appId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
      scope: 'https://management.azure.com/.default',
    });
    // Another identity's token: no federated credential names its subject.
    const other = await cloud.entra.mintToken({ tenant, audience: FEDERATION_AUDIENCE, version: '2.0' });
    const noMatch = await tokenRequest(grant(other));
    expect(noMatch.status).toBe(401);
    expect(String(noMatch.body['error_description'])).toMatch(/^AADSTS70021: No matching federated identity record found/);
    // Wrong audience.
    const wrongAud = await cloud.entra.mintManagedIdentityToken({ audience: 'api://something-else', resourceId: site.id, version: '2.0' });
    expect((await tokenRequest(grant(wrongAud))).body['error_codes']).toEqual([70021]);
    // Expired, or not signed by the emulator.
    const expired = await cloud.entra.mintManagedIdentityToken({ audience: FEDERATION_AUDIENCE, resourceId: site.id, overrides: { exp: Math.floor(Date.now() / 1000) - 600 } });
    expect((await tokenRequest(grant(expired))).body['error_codes']).toEqual([700024]);
    const forged = await cloud.entra.mintManagedIdentityToken({ audience: FEDERATION_AUDIENCE, resourceId: site.id, overrides: { attack: 'unknown-key' } });
    expect((await tokenRequest(grant(forged))).body['error_codes']).toEqual([700027]);
    expect((await tokenRequest(grant(await assertion()))).status).toBe(200);
  });
});
