/**
 * Admin access through real HTTP: the local Functions host (with embedded Azurite) and the cloud
 * emulator as Entra, on issue 3's bad-input list for admin calls. `GET auth/azure/config` stands for
 * every admin endpoint: they all go through the same `authorize`.
 *
 * Starts its own host and emulator (dev/host/spawn.ts, dev/emulator); move it onto the shared
 * harness (test/support/stack.ts) once that exists. Needs `npx tsc -p tsconfig.json` to have built dist/.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudEmulator, type CloudEmulator, type MintSpec } from '../../dev/emulator/index';
import { spawnHost, type SpawnedHost } from '../../dev/host/spawn';

const APP_ROOT = path.resolve(__dirname, '..', '..');
const AUDIENCE = 'api://azauth-admin-tests';
const ADMIN_OID = randomUUID();

let cloud: CloudEmulator;
let host: SpawnedHost | undefined;
let tenant: string;

beforeAll(async () => {
  cloud = await startCloudEmulator();
  tenant = cloud.entra.addTenant();
  host = await spawnHost({
    appRoot: APP_ROOT,
    env: {
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      NODE_EXTRA_CA_CERTS: cloud.caCertPath,
      AZURE_AUTHORITY_HOST: cloud.url,
      AZAUTH_ARM_ENDPOINT: cloud.url,
      AZAUTH_GRAPH_ENDPOINT: cloud.url,
      AZAUTH_ADMIN_TENANT_ID: tenant,
      AZAUTH_ADMIN_AUDIENCE: AUDIENCE,
      AZAUTH_ADMIN_PRINCIPAL_IDS: `${randomUUID()}, ${ADMIN_OID.toUpperCase()}`,
    },
  });
}, 90_000);

afterAll(async () => {
  await host?.stop();
  await cloud?.stop();
});

interface Answer {
  status: number;
  body: { errors?: string[] } | null;
}

async function getConfig(headers: Record<string, string> = {}): Promise<Answer> {
  if (!host) throw new Error('host not started');
  const response = await fetch(`${host.url}/v1/auth/azure/config`, { headers });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Answer['body']) : null };
}

const withToken = (token: string): Record<string, string> => ({ 'X-Vault-Token': token });
const mint = (spec: Partial<MintSpec> = {}): Promise<string> => cloud.entra.mintToken({ tenant, audience: AUDIENCE, oid: ADMIN_OID, ...spec });

function expectPlainDenial(answer: Answer): void {
  expect(answer.status).toBe(403);
  const text = (answer.body?.errors ?? []).join('\n');
  expect(text).toContain('permission denied');
  expect(text).not.toContain('invalid token');
}

function expectInvalidToken(answer: Answer): void {
  expect(answer.status).toBe(403);
  const text = (answer.body?.errors ?? []).join('\n');
  expect(text).toContain('permission denied');
  expect(text).toContain('invalid token');
}

describe('admin calls over HTTP', () => {
  // First, while nothing is cached: Entra failing is a 502 naming Entra, and it is not remembered.
  it('answers 502 while Entra discovery fails, then recovers', async () => {
    const fault = cloud.faults.add({ service: 'entra', pathIncludes: 'openid-configuration', status: 503 });
    let answer: Answer;
    try {
      answer = await getConfig(withToken(await mint()));
    } finally {
      fault.remove();
    }
    expect(answer.status).toBe(502);
    expect(answer.body?.errors?.join()).toMatch(/^entra unavailable: /);
    expect((await getConfig(withToken(await mint()))).status).not.toBe(502);
  });

  it('lets a listed admin in with a v1 or v2 token, in X-Vault-Token or Authorization: Bearer', async () => {
    // No config stored yet: Vault's 404 with an empty error list, which only an admin gets to see.
    for (const answer of [
      await getConfig(withToken(await mint())),
      await getConfig(withToken(await mint({ version: '2.0' }))),
      await getConfig({ Authorization: `Bearer ${await mint()}` }),
    ]) {
      expect(answer).toEqual({ status: 404, body: { errors: [] } });
    }
  });

  it('no token: 403 permission denied', async () => {
    expectPlainDenial(await getConfig());
  });

  it('a valid token of a principal who is not an admin: 403 permission denied only', async () => {
    expectPlainDenial(await getConfig(withToken(await mint({ oid: randomUUID() }))));
  });

  it.each<[string, () => Promise<string>]>([
    ['garbage', async () => 'garbage'],
    ['a JWT-shaped string that is not one', async () => 'eyJub3Q.anNvbg.c2ln'],
    ['an unknown service token', async () => `hvs.${'A'.repeat(43)}`],
    ['an expired Entra token', () => mint({ exp: Math.floor(Date.now() / 1000) - 3600 })],
    ['an Entra token for another audience', () => mint({ audience: 'https://management.azure.com/' })],
    ['an Entra token of another tenant', () => cloud.entra.mintToken({ tenant: cloud.entra.addTenant(), audience: AUDIENCE, oid: ADMIN_OID })],
    ['an Entra token whose tid is another tenant', () => mint({ tid: randomUUID() })],
    ['an HS256 token signed with the public key', () => mint({ attack: 'hs256-public-key' })],
    ['an alg none token', () => mint({ attack: 'alg-none' })],
    ['an ES256 token', () => mint({ attack: 'es256' })],
    ['a token signed by an unpublished key', () => mint({ attack: 'unknown-key' })],
    ['a token without exp', () => mint({ exp: null })],
  ])('%s: 403 invalid token', async (_name, token) => {
    expectInvalidToken(await getConfig(withToken(await token())));
  });

  it('sys/health needs no token', async () => {
    if (!host) throw new Error('host not started');
    expect((await fetch(`${host.url}/v1/sys/health`)).status).toBe(200);
  });
});
