// The route the product's own tests take: the emulator runs in the test process and a child
// process trusts it through NODE_EXTRA_CA_CERTS alone (no agents, no TLS switches), then uses the
// unmodified libraries: jose's createRemoteJWKSet over global fetch, @azure/identity's
// ClientSecretCredential with AZURE_AUTHORITY_HOST, and @azure/arm-compute.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';
import { ARM, SUB } from './helpers';

const run = promisify(execFile);

let cloud: CloudEmulator;

beforeAll(async () => {
  cloud = await startCloudEmulator();
});
afterAll(async () => {
  await cloud.stop();
});

const CHILD = `
const { createRemoteJWKSet, jwtVerify } = require('jose');
const { ClientSecretCredential } = require('@azure/identity');
const { ComputeManagementClient } = require('@azure/arm-compute');
(async () => {
  const env = process.env;
  const discovery = await (await fetch(env.AZURE_AUTHORITY_HOST + '/' + env.TENANT + '/v2.0/.well-known/openid-configuration')).json();
  const { payload } = await jwtVerify(env.MI_TOKEN, createRemoteJWKSet(new URL(discovery.jwks_uri)), { audience: env.AUDIENCE, algorithms: ['RS256'] });
  const credential = new ClientSecretCredential(env.TENANT, env.CLIENT_ID, env.CLIENT_SECRET, { authorityHost: env.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true });
  const compute = new ComputeManagementClient(credential, env.SUBSCRIPTION, { endpoint: env.AZAUTH_ARM_ENDPOINT });
  const vm = await compute.virtualMachines.get('rg-child', 'vm-child', { expand: 'instanceView' });
  process.stdout.write(JSON.stringify({ oid: payload.oid, identity: vm.identity }));
})().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
`;

describe('a child process trusting the emulator through NODE_EXTRA_CA_CERTS', () => {
  it('verifies tokens with jose and reads ARM with @azure/identity + @azure/arm-compute', async () => {
    const vm = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg-child', name: 'vm-child', location: 'eastus', systemAssigned: true });
    const app = cloud.graph.addApplication({ displayName: 'azauth' });
    const miToken = await cloud.entra.mintManagedIdentityToken({ audience: ARM, resourceId: vm.id, version: '2.0' });
    const { stdout } = await run(process.execPath, ['-e', CHILD], {
      cwd: process.cwd(),
      timeout: 20_000,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_EXTRA_CA_CERTS: cloud.caCertPath,
        AZURE_AUTHORITY_HOST: cloud.url,
        AZAUTH_ARM_ENDPOINT: cloud.url,
        TENANT: cloud.defaultTenantId,
        CLIENT_ID: app.appId,
        CLIENT_SECRET: app.password?.secretText ?? '',
        SUBSCRIPTION: SUB,
        MI_TOKEN: miToken,
        AUDIENCE: ARM,
      },
    });
    const out = JSON.parse(stdout) as { oid: string; identity: { type: string; principalId: string } };
    expect(out.oid).toBe(vm.principalId);
    expect(out.identity).toMatchObject({ type: 'SystemAssigned', principalId: vm.principalId });
    expect(cloud.count({ service: 'entra', pathIncludes: '/discovery/v2.0/keys' })).toBe(1);
    expect(cloud.count({ service: 'entra', method: 'POST' })).toBe(1);
    expect(cloud.count({ service: 'arm', status: 200 })).toBe(1);
  });
});
