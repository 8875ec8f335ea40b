// Fault injection (Nth call, times, Retry-After, delays, per service) and request accounting.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CloudEmulator, startCloudEmulator } from '../../dev/emulator/index';
import { ARM, SUB } from './helpers';

let cloud: CloudEmulator;
let armToken: string;
let vmId: string;

beforeAll(async () => {
  cloud = await startCloudEmulator();
  armToken = await cloud.entra.mintToken({ tenant: cloud.defaultTenantId, audience: ARM });
  vmId = cloud.arm.addVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm', location: 'eastus', systemAssigned: true }).id;
});
afterEach(() => {
  cloud.faults.clear();
  cloud.resetCounts();
});
afterAll(async () => {
  await cloud.stop();
});

async function getVm(): Promise<Response> {
  return cloud.fetch(`${cloud.url}${vmId}?api-version=2024-07-01`, { headers: { authorization: `Bearer ${armToken}` } });
}

describe('faults', () => {
  it('fails exactly the Nth matching call, with Retry-After and ARM\'s error shape', async () => {
    const fault = cloud.faults.add({ service: 'arm', pathIncludes: '/virtualMachines/vm', nth: 2, status: 429, retryAfterSeconds: 7 });
    expect((await getVm()).status).toBe(200);
    const second = await getVm();
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('7');
    expect(await second.json()).toMatchObject({ error: { code: 'TooManyRequests' } });
    expect((await getVm()).status).toBe(200);
    expect(fault.matched).toBe(3);
    expect(fault.fired).toBe(1);
    expect(cloud.requests({ service: 'arm' }).map((r) => r.status)).toEqual([200, 429, 200]);
  });

  it('fails the next `times` calls, or a span from nth; can be removed; custom bodies', async () => {
    const next2 = cloud.faults.add({ service: 'arm', times: 2, status: 503, body: { error: { code: 'ServerBusy', message: 'busy' } } });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await getVm()).status);
    expect(statuses).toEqual([503, 503, 200]);
    next2.remove();

    cloud.faults.add({ service: 'arm', method: 'GET', nth: 2, times: 2, status: 500 });
    const span = [];
    for (let i = 0; i < 4; i += 1) span.push((await getVm()).status);
    expect(span).toEqual([200, 500, 500, 200]);

    const forever = cloud.faults.add({ service: 'arm', status: 502 });
    expect((await getVm()).status).toBe(502);
    expect((await getVm()).status).toBe(502);
    forever.remove();
    expect((await getVm()).status).toBe(200);
  });

  it('does not fire on other services, methods or paths', async () => {
    cloud.faults.add({ service: 'graph', status: 500 });
    cloud.faults.add({ service: 'arm', method: 'POST', status: 500 });
    cloud.faults.add({ service: 'arm', pathIncludes: 'virtualMachineScaleSets', status: 500 });
    expect((await getVm()).status).toBe(200);
  });

  it('delays calls, with or without failing them', async () => {
    cloud.faults.add({ service: 'arm', nth: 1, delayMs: 150 });
    const started = Date.now();
    expect((await getVm()).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(() => cloud.faults.add({ service: 'arm' })).toThrow(/status, a delayMs/);
    expect(() => cloud.faults.add({ service: 'arm', nth: 0, status: 500 })).toThrow(/nth/);
  });

  it('injects into Entra, Graph, IMDS and the App Service identity endpoint, matching decoded queries', async () => {
    const tenant = cloud.defaultTenantId;
    cloud.faults.add({ service: 'entra', pathIncludes: '/discovery/keys', nth: 1, status: 500 });
    expect((await cloud.fetch(`${cloud.url}/common/discovery/keys`)).status).toBe(500);
    expect((await cloud.fetch(`${cloud.url}/common/discovery/keys`)).status).toBe(200);

    const app = cloud.graph.addApplication();
    const graphToken = await cloud.entra.mintToken({ tenant, audience: 'https://graph.microsoft.com' });
    cloud.faults.add({ service: 'graph', pathIncludes: `appId eq '${app.appId}'`, nth: 1, status: 503, retryAfterSeconds: 1 });
    const list = () => cloud.fetch(`${cloud.url}/v1.0/applications?$filter=${encodeURIComponent(`appId eq '${app.appId}'`)}`, { headers: { authorization: `Bearer ${graphToken}` } });
    const failed = await list();
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ error: { code: 'serviceNotAvailable' } });
    expect((await list()).status).toBe(200);

    const imds = await cloud.imdsFor(vmId);
    cloud.faults.add({ service: 'imds', nth: 1, status: 410 });
    const tokenUrl = `${imds}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(ARM)}`;
    expect((await fetch(tokenUrl, { headers: { Metadata: 'true' } })).status).toBe(410);
    expect((await fetch(tokenUrl, { headers: { Metadata: 'true' } })).status).toBe(200);

    const identity = await cloud.appServiceIdentity();
    cloud.faults.add({ service: 'identity', nth: 1, status: 500 });
    const identityUrl = `${identity.endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(ARM)}`;
    expect((await fetch(identityUrl, { headers: { 'X-IDENTITY-HEADER': identity.header } })).status).toBe(500);
    expect((await fetch(identityUrl, { headers: { 'X-IDENTITY-HEADER': identity.header } })).status).toBe(200);

    expect(cloud.count({ service: 'entra' })).toBe(2);
    expect(cloud.count({ service: 'graph', status: 503 })).toBe(1);
    expect(cloud.count({ service: 'imds', pathIncludes: '/metadata/identity' })).toBe(2);
    expect(cloud.count({ service: 'identity', method: 'get' })).toBe(2);
    expect(cloud.count()).toBe(8);
    const [first] = cloud.requests();
    expect(first).toMatchObject({ service: 'entra', method: 'GET', path: '/common/discovery/keys', query: '', status: 500 });
    expect(typeof first?.at).toBe('number');
    cloud.resetCounts();
    expect(cloud.count()).toBe(0);
  });
});
