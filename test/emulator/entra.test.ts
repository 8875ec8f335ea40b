// Entra: discovery documents, key sets, verification with jose's remote JWKS, key rotation,
// request counting, token claim shapes per resource kind, and the attack variants.
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';
import { ARM, SUB, decodeHeader, decodePayload, verifyWithDiscovery } from './helpers';

let cloud: CloudEmulator;
let tenant: string;

beforeAll(async () => {
  cloud = await startCloudEmulator();
  tenant = cloud.defaultTenantId;
});
afterAll(async () => {
  await cloud.stop();
});

async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await cloud.fetch(`${cloud.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('discovery', () => {
  it('serves the v1 document with the sts.windows.net issuer and the common key set', async () => {
    const { status, body } = await getJson(`/${tenant}/.well-known/openid-configuration`);
    expect(status).toBe(200);
    expect(body['issuer']).toBe(`https://sts.windows.net/${tenant}/`);
    expect(body['jwks_uri']).toBe(`${cloud.url}/common/discovery/keys`);
    expect(body['token_endpoint']).toBe(`${cloud.url}/${tenant}/oauth2/token`);
    expect(body['authorization_endpoint']).toBe(`${cloud.url}/${tenant}/oauth2/authorize`);
  });

  it('serves the v2 document msal-node needs', async () => {
    const { status, body } = await getJson(`/${tenant}/v2.0/.well-known/openid-configuration`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      issuer: `${cloud.url}/${tenant}/v2.0`,
      jwks_uri: `${cloud.url}/${tenant}/discovery/v2.0/keys`,
      token_endpoint: `${cloud.url}/${tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${cloud.url}/${tenant}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${cloud.url}/${tenant}/oauth2/v2.0/logout`,
    });
  });

  it('answers an unknown tenant with 400 AADSTS90002, and serves tenants added later', async () => {
    const other = '0d2b0f1e-9a55-4c1e-8d7a-5b6c7d8e9f00';
    const unknown = await getJson(`/${other}/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(unknown.body['error']).toBe('invalid_tenant');
    expect(unknown.body['error_codes']).toEqual([90002]);
    expect(String(unknown.body['error_description'])).toMatch(/^AADSTS90002: Tenant '0d2b0f1e/);
    cloud.entra.addTenant(other);
    expect((await getJson(`/${other}/v2.0/.well-known/openid-configuration`)).status).toBe(200);
  });

  it('publishes RS256 keys with kid = x5t and an x5c chain; v2 keys carry the tenant issuer', async () => {
    const v1 = await getJson('/common/discovery/keys');
    const v2 = await getJson(`/${tenant}/discovery/v2.0/keys`);
    const [key] = v1.body['keys'] as Record<string, unknown>[];
    expect(key).toMatchObject({ kty: 'RSA', use: 'sig', e: 'AQAB' });
    expect(key?.['kid']).toBe(key?.['x5t']);
    expect((key?.['x5c'] as string[]).length).toBe(1);
    expect((v2.body['keys'] as Record<string, unknown>[])[0]?.['issuer']).toBe(`${cloud.url}/${tenant}/v2.0`);
  });
});

describe('minting and verification', () => {
  it('mints a v1 token that verifies against the v1 discovery document', async () => {
    const token = await cloud.entra.mintToken({ tenant, audience: ARM, oid: 'f1b8d6a4-0000-4000-8000-000000000001', appid: 'a1b8d6a4-0000-4000-8000-000000000002' });
    const payload = await verifyWithDiscovery(cloud, token, { tenant, version: '1.0', audience: ARM });
    expect(payload).toMatchObject({
      iss: `https://sts.windows.net/${tenant}/`,
      tid: tenant,
      ver: '1.0',
      oid: 'f1b8d6a4-0000-4000-8000-000000000001',
      sub: 'f1b8d6a4-0000-4000-8000-000000000001',
      appid: 'a1b8d6a4-0000-4000-8000-000000000002',
      appidacr: '2',
      idtyp: 'app',
      idp: `https://sts.windows.net/${tenant}/`,
    });
    expect(typeof payload['aio']).toBe('string');
    expect(typeof payload['uti']).toBe('string');
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(payload.iat).toBeLessThan(Date.now() / 1000 - 200);
    expect(decodeHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: cloud.entra.currentKeyId(), x5t: cloud.entra.currentKeyId() });
  });

  it('mints a v2 token (azp/azpacr, kid-only header) that verifies against the v2 document', async () => {
    const token = await cloud.entra.mintToken({ tenant, audience: 'api://azauth', version: '2.0', appid: 'b2b8d6a4-0000-4000-8000-000000000003' });
    const payload = await verifyWithDiscovery(cloud, token, { tenant, version: '2.0', audience: 'api://azauth' });
    expect(payload).toMatchObject({ iss: `${cloud.url}/${tenant}/v2.0`, ver: '2.0', azp: 'b2b8d6a4-0000-4000-8000-000000000003', azpacr: '2' });
    expect(payload['appid']).toBeUndefined();
    expect(decodeHeader(token)['x5t']).toBeUndefined();
  });

  it('honours overrides: omitted exp, groups, group overage, extra claims, omitted claims', () => {
    const noExp = cloud.entra.tokenClaims({ tenant, audience: ARM, exp: null });
    expect(noExp['exp']).toBeUndefined();
    const grouped = cloud.entra.tokenClaims({ tenant, audience: ARM, groups: ['g1', 'g2'], claims: { custom: 7 }, omitClaims: ['aio'] });
    expect(grouped).toMatchObject({ groups: ['g1', 'g2'], custom: 7 });
    expect(grouped['aio']).toBeUndefined();
    const overage = cloud.entra.tokenClaims({ tenant, audience: ARM, groups: ['g1'], groupOverage: true });
    expect(overage['groups']).toBeUndefined();
    expect(overage['_claim_names']).toEqual({ groups: 'src1' });
    expect(overage['_claim_sources']).toHaveProperty('src1.endpoint');
  });

  it('produces attack tokens a strict verifier refuses', async () => {
    const discovery = (await getJson(`/${tenant}/.well-known/openid-configuration`)).body;
    const jwks = createRemoteJWKSet(new URL(String(discovery['jwks_uri'])), { [customFetch]: cloud.fetch });
    const verify = (t: string) => jwtVerify(t, jwks, { issuer: String(discovery['issuer']), audience: ARM, algorithms: ['RS256'] });

    const unknownKey = await cloud.entra.mintToken({ tenant, audience: ARM, attack: 'unknown-key' });
    await expect(verify(unknownKey)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(cloud.entra.publishedKeyIds()).not.toContain(decodeHeader(unknownKey)['kid']);

    const none = await cloud.entra.mintToken({ tenant, audience: ARM, attack: 'alg-none' });
    expect(decodeHeader(none)['alg']).toBe('none');
    expect(none.endsWith('.')).toBe(true);
    await expect(verify(none)).rejects.toThrow();

    const hs = await cloud.entra.mintToken({ tenant, audience: ARM, attack: 'hs256-public-key' });
    expect(decodeHeader(hs)).toMatchObject({ alg: 'HS256', kid: cloud.entra.currentKeyId() });
    await expect(verify(hs)).rejects.toThrow();

    const es = await cloud.entra.mintToken({ tenant, audience: ARM, attack: 'es256' });
    expect(decodeHeader(es)['alg']).toBe('ES256');
    await expect(verify(es)).rejects.toThrow();
  });
});

describe('key rotation and fetch counting', () => {
  it('keeps the old key published until retired, and jose fetches the key set once until a new kid appears', async () => {
    const jwksUri = `${cloud.url}/common/discovery/keys`;
    // cooldownDuration 0: jose otherwise waits 30 s before refetching for an unknown kid.
    const jwks = createRemoteJWKSet(new URL(jwksUri), { [customFetch]: cloud.fetch, cooldownDuration: 0 });
    const verify = (t: string) => jwtVerify(t, jwks, { audience: ARM, algorithms: ['RS256'] });
    cloud.resetCounts();

    const oldToken = await cloud.entra.mintToken({ tenant, audience: ARM });
    await verify(oldToken);
    await verify(await cloud.entra.mintToken({ tenant, audience: ARM }));
    expect(cloud.count({ service: 'entra', pathIncludes: '/discovery/keys' })).toBe(1);

    const oldKid = cloud.entra.currentKeyId();
    const newKid = await cloud.entra.rotateKeys();
    expect(newKid).not.toBe(oldKid);
    expect(cloud.entra.publishedKeyIds()).toEqual([oldKid, newKid]);
    const newToken = await cloud.entra.mintToken({ tenant, audience: ARM });
    expect(decodeHeader(newToken)['kid']).toBe(newKid);
    // An explicit kid signs with an older, still published key.
    expect(decodeHeader(await cloud.entra.mintToken({ tenant, audience: ARM, kid: oldKid }))['kid']).toBe(oldKid);

    await verify(oldToken);
    await verify(newToken); // unknown kid to jose's cache: one refetch
    expect(cloud.count({ service: 'entra', pathIncludes: '/discovery/keys' })).toBe(2);
    expect(cloud.requests({ service: 'entra' }).every((r) => r.status === 200 && r.method === 'GET')).toBe(true);

    cloud.entra.retireOldKeys();
    expect(cloud.entra.publishedKeyIds()).toEqual([newKid]);
    const fresh = createRemoteJWKSet(new URL(jwksUri), { [customFetch]: cloud.fetch });
    await expect(jwtVerify(oldToken, fresh, { audience: ARM })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(jwtVerify(newToken, fresh, { audience: ARM })).resolves.toBeDefined();
  });
});

describe('managed-identity claims per resource kind', () => {
  it('fills oid/appid/xms_mirid/xms_az_rid as Azure does', async () => {
    const uami = cloud.arm.addUserAssignedIdentity({ subscriptionId: SUB, resourceGroup: 'ids', name: 'shared-id' });
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg-claims', name: 'web', location: 'westeurope', systemAssigned: true, userAssigned: [uami.id] });
    const uniform = cloud.arm.addScaleSet({ subscriptionId: SUB, resourceGroup: 'rg-claims', name: 'pool', location: 'westeurope', orchestration: 'Uniform', systemAssigned: true, instances: 2 });
    const flex = cloud.arm.addScaleSet({ subscriptionId: SUB, resourceGroup: 'rg-claims', name: 'flex', location: 'westeurope', orchestration: 'Flexible', systemAssigned: true, userAssigned: [uami.id], instances: 1 });
    const site = cloud.arm.addResource({ id: `/subscriptions/${SUB}/resourceGroups/rg-claims/providers/Microsoft.Web/sites/func1`, systemAssigned: true });
    const lower = (id: string) => id.replace('/resourceGroups/', '/resourcegroups/');
    const claims = async (resourceId: string, identity: 'system' | string = 'system', audience = ARM) =>
      decodePayload(await cloud.entra.mintManagedIdentityToken({ audience, resourceId, identity }));

    const vmSystem = await claims(vm.id);
    expect(vmSystem).toMatchObject({ oid: vm.principalId, appid: vm.clientId, xms_mirid: lower(vm.id), tid: tenant, ver: '1.0' });
    expect(vmSystem['xms_az_rid']).toBeUndefined();

    expect(await claims(vm.id, uami.id)).toMatchObject({ oid: uami.principalId, appid: uami.clientId, xms_mirid: lower(uami.id), xms_az_rid: lower(vm.id) });

    const instance = uniform.instances[1];
    expect(instance?.name).toBe('pool_1');
    expect(await claims(instance?.id ?? '')).toMatchObject({ oid: uniform.principalId, xms_mirid: lower(uniform.id) });

    const member = flex.instances[0];
    expect(member?.name).toMatch(/^flex_[0-9a-f]{8}$/);
    expect(member?.id).toMatch(/\/providers\/Microsoft\.Compute\/virtualMachines\/flex_[0-9a-f]{8}$/);
    expect(await claims(member?.id ?? '')).toMatchObject({ oid: flex.principalId, xms_mirid: lower(member?.id ?? '') });
    expect(await claims(member?.id ?? '', uami.id)).toMatchObject({ xms_mirid: lower(uami.id), xms_az_rid: lower(member?.id ?? '') });

    expect(await claims(site.id)).toMatchObject({ oid: site.principalId, xms_mirid: lower(site.id) });

    // Custom audiences get no resource-id claims; the federation audience gets a v2 token.
    const custom = await claims(vm.id, 'system', 'api://azauth-login');
    expect(custom['xms_mirid']).toBeUndefined();
    const federation = await claims(vm.id, 'system', 'api://AzureADTokenExchange');
    expect(federation).toMatchObject({ ver: '2.0', iss: `${cloud.url}/${tenant}/v2.0`, sub: vm.principalId });

    await expect(cloud.entra.mintManagedIdentityToken({ audience: ARM, resourceId: vm.id, identity: `/subscriptions/${SUB}/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope` })).rejects.toThrow(/not attached/);
    cloud.arm.detachIdentity(vm.id, 'system');
    await expect(claims(vm.id)).rejects.toThrow(/no system-assigned identity/);
  });
});
