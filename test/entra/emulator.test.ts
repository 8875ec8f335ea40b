/**
 * The verifier against the local cloud emulator (HTTPS with its own CA): the same discovery
 * documents, key sets and tokens the integration tests and dev mode use. Complements the fake-Entra
 * unit tests, which control time and every byte.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudEmulator, type CloudEmulator } from '../../dev/emulator/index';
import { cloudCatalog } from '../../shared/entra/clouds';
import { EntraTokenError, EntraTokenVerifier, type EntraTokenExpectation } from '../../shared/entra/verify';
import { DISCOVERY_FAILURE_TTL_MS } from '../../shared/entra/discovery';
import { VaultError } from '../../shared/vault/errors';

let cloud: CloudEmulator;
let tenant: string;
const AUDIENCE = 'https://management.azure.com/';

beforeAll(async () => {
  cloud = await startCloudEmulator();
  tenant = cloud.entra.addTenant();
});
afterAll(async () => {
  await cloud?.stop();
});

function newVerifier(): EntraTokenVerifier {
  return new EntraTokenVerifier({ clockSkewSeconds: 60, fetch: cloud.fetch });
}

function expectation(overrides: Partial<EntraTokenExpectation> = {}): EntraTokenExpectation {
  // Through the same override path production uses: AZURE_AUTHORITY_HOST.
  const endpoints = cloudCatalog({ AZURE_AUTHORITY_HOST: cloud.url }).cloud('AzurePublicCloud');
  return { tenantId: tenant, audience: AUDIENCE, cloud: endpoints, ...overrides };
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (err instanceof EntraTokenError) return err.reason;
    if (err instanceof VaultError) return err.code;
    throw err;
  }
}

describe('Entra token verification against the cloud emulator', () => {
  it('accepts the v1 and v2 tokens it mints, with their claims', async () => {
    const verifier = newVerifier();
    const oid = randomUUID();
    const v1 = await verifier.verifyEntraToken(await cloud.entra.mintToken({ tenant, audience: AUDIENCE, oid, groups: ['g'] }), expectation());
    expect(v1).toMatchObject({ issuerKind: 'v1', claims: { oid, tid: tenant, ver: '1.0', groups: ['g'], iss: `https://sts.windows.net/${tenant}/` } });
    const v2 = await verifier.verifyEntraToken(await cloud.entra.mintToken({ tenant, audience: AUDIENCE, version: '2.0' }), expectation());
    expect(v2).toMatchObject({ issuerKind: 'v2', claims: { ver: '2.0', iss: `${cloud.url}/${tenant}/v2.0` } });
  });

  it('accepts a managed identity token for a VM, carrying xms_mirid', async () => {
    const vm = cloud.arm.addVm({ subscriptionId: randomUUID(), resourceGroup: 'rg', name: 'vm1', location: 'eastus', systemAssigned: true });
    const jwt = await cloud.entra.mintManagedIdentityToken({ audience: AUDIENCE, resourceId: vm.id });
    const { claims } = await newVerifier().verifyEntraToken(jwt, expectation({ tenantId: cloud.defaultTenantId }));
    expect(claims.xms_mirid?.toLowerCase()).toBe(vm.id.toLowerCase());
  });

  it.each([
    ['unknown-key', 'unknown_key'],
    ['alg-none', 'algorithm'],
    ['hs256-public-key', 'algorithm'],
    ['es256', 'algorithm'],
  ] as const)('refuses the %s attack (%s)', async (attack, reason) => {
    const jwt = await cloud.entra.mintToken({ tenant, audience: AUDIENCE, attack });
    expect(await reasonOf(newVerifier().verifyEntraToken(jwt, expectation()))).toBe(reason);
  });

  it('refuses wrong issuer, tenant, audience, expiry, nbf and missing exp', async () => {
    const verifier = newVerifier();
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[Parameters<CloudEmulator['entra']['mintToken']>[0], string]> = [
      [{ tenant, audience: AUDIENCE, issuer: 'https://sts.windows.net/someone-else/' }, 'issuer'],
      [{ tenant, audience: AUDIENCE, tid: randomUUID() }, 'tenant'],
      [{ tenant, audience: 'https://management.azure.com' }, 'audience'],
      [{ tenant, audience: AUDIENCE, exp: now - 3600 }, 'expired'],
      [{ tenant, audience: AUDIENCE, nbf: now + 3600 }, 'not_yet_valid'],
      [{ tenant, audience: AUDIENCE, exp: null }, 'missing_exp'],
    ];
    for (const [spec, reason] of cases) {
      expect(await reasonOf(verifier.verifyEntraToken(await cloud.entra.mintToken(spec), expectation()))).toBe(reason);
    }
    const otherTenant = cloud.entra.addTenant();
    const foreign = await cloud.entra.mintToken({ tenant: otherTenant, audience: AUDIENCE });
    expect(await reasonOf(verifier.verifyEntraToken(foreign, expectation()))).toBe('issuer');
  });

  it('follows a key rotation: a new kid costs one key-set download, outside the rate-limit window', async () => {
    let clock = Date.now();
    const verifier = new EntraTokenVerifier({ clockSkewSeconds: 60, fetch: cloud.fetch, now: () => clock });
    await verifier.verifyEntraToken(await cloud.entra.mintToken({ tenant, audience: AUDIENCE }), expectation());
    const keyDownloads = (): number => cloud.count({ service: 'entra', pathIncludes: '/keys' });
    const downloads = keyDownloads();
    await cloud.entra.rotateKeys();
    const rotated = await cloud.entra.mintToken({ tenant, audience: AUDIENCE });
    // Within 30 s of the last download an unknown kid is refused without asking Entra again...
    expect(await reasonOf(verifier.verifyEntraToken(rotated, expectation()))).toBe('unknown_key');
    expect(keyDownloads()).toBe(downloads);
    // ...after that, the first token with the new kid fetches the set once and passes.
    clock += 31_000;
    expect(await reasonOf(verifier.verifyEntraToken(rotated, expectation()))).toBe('ok');
    expect(await reasonOf(verifier.verifyEntraToken(rotated, expectation()))).toBe('ok');
    expect(keyDownloads()).toBe(downloads + 1);
  });

  it('answers 502 naming Entra while discovery fails, and recovers once the failure is a few seconds old', async () => {
    let shift = 0;
    const verifier = new EntraTokenVerifier({ clockSkewSeconds: 60, fetch: cloud.fetch, now: () => Date.now() + shift });
    const jwt = await cloud.entra.mintToken({ tenant, audience: AUDIENCE });
    const fault = cloud.faults.add({ service: 'entra', pathIncludes: 'openid-configuration', status: 503 });
    try {
      expect(await reasonOf(verifier.verifyEntraToken(jwt, expectation()))).toBe('entra_unavailable');
    } finally {
      fault.remove();
    }
    // The failure is remembered briefly (a mistyped tenant must not cost two Entra requests per login).
    expect(await reasonOf(verifier.verifyEntraToken(jwt, expectation()))).toBe('entra_unavailable');
    shift += DISCOVERY_FAILURE_TTL_MS;
    expect(await reasonOf(verifier.verifyEntraToken(jwt, expectation()))).toBe('ok');
  });

  it("passes Entra's explanation on for a tenant it does not know", async () => {
    const jwt = await cloud.entra.mintToken({ tenant, audience: AUDIENCE });
    let caught: unknown;
    try {
      await newVerifier().verifyEntraToken(jwt, expectation({ tenantId: randomUUID() }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VaultError);
    expect((caught as VaultError).code).toBe('entra_unavailable');
    expect((caught as VaultError).message).toMatch(/400 Bad Request: AADSTS90002/);
  });
});
