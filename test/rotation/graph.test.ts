// The Graph client and the client-secret token source against the cloud emulator: the wire calls,
// retries on 429/5xx honouring Retry-After within bounds, and which failures are whose fault.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudEmulator, type AddedApplication, type CloudEmulator } from '../../dev/emulator/index';
import { CredentialsRefusedError, clientSecretTokenSource } from '../../shared/rotation/credentials';
import { GraphRequestError, graphClient, type GraphApi } from '../../shared/rotation/graph';
import { delayBefore, parseRetryAfter, type FetchLike, type RetryOptions } from '../../shared/rotation/http';
import { graphConnector } from '../../shared/rotation/service';
import { cloudCatalog } from '../../shared/entra/clouds';
import { VaultError } from '../../shared/vault/errors';

let cloud: CloudEmulator;
let fetchViaCa: FetchLike;
beforeAll(async () => {
  cloud = await startCloudEmulator();
  fetchViaCa = (url, init) =>
    cloud.fetch(url, { method: init.method ?? 'GET', headers: new Headers(init.headers), ...(typeof init.body === 'string' ? { body: init.body } : {}), signal: init.signal ?? null });
});
afterAll(async () => {
  await cloud?.stop();
});
beforeEach(() => {
  cloud.faults.clear();
  cloud.resetCounts();
});

const RETRY: RetryOptions = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 2_000, attemptTimeoutMs: 5_000 };

function clientFor(app: AddedApplication, secret = app.password?.secretText ?? ''): { graph: GraphApi; sleeps: number[] } {
  const sleeps: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    sleeps.push(ms);
  };
  const tokens = clientSecretTokenSource(
    { authorityHost: `${cloud.url}/`, tenantId: cloud.defaultTenantId, clientId: app.appId, clientSecret: secret },
    { scope: 'https://graph.microsoft.com/.default', fetch: fetchViaCa, retry: RETRY, sleep },
  );
  return { graph: graphClient({ baseUrl: cloud.url, tokens, fetch: fetchViaCa, retry: RETRY, sleep }), sleeps };
}

async function failure(promise: Promise<unknown>): Promise<VaultError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    return err as VaultError;
  }
  throw new Error('expected a failure');
}

describe('Graph calls', () => {
  it('lists the application by appId, adds and removes a password', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app);
    const [found, ...others] = await graph.applicationsByAppId(app.appId);
    expect(others).toEqual([]);
    expect(found).toMatchObject({ id: app.id, appId: app.appId });
    expect(found?.passwordCredentials).toEqual([expect.objectContaining({ keyId: app.password?.keyId, displayName: 'initial', hint: app.password?.secretText.slice(0, 3) })]);
    const end = new Date(Date.now() + 86_400_000);
    const added = await graph.addPassword(app.id, 'azauth-test', end);
    expect(added.endDateTime).toBe(end.toISOString());
    expect(cloud.graph.passwords(app.id).find((p) => p.keyId === added.keyId)?.secretText).toBe(added.secretText);
    await graph.removePassword(app.id, added.keyId);
    expect(cloud.graph.passwords(app.id)).toHaveLength(1);
    expect(cloud.count({ service: 'graph', pathIncludes: "appId eq '" })).toBe(1);
  });

  it('quotes the appId as an OData literal', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app);
    const fault = cloud.faults.add({ service: 'graph', method: 'GET', pathIncludes: "appId eq 'o''brien'", status: 200, body: { value: [] } });
    expect(await graph.applicationsByAppId("o'brien")).toEqual([]);
    expect(fault.fired).toBe(1);
  });

  it('retries a 429 after the Retry-After it was given', async () => {
    const app = cloud.graph.addApplication();
    const { graph, sleeps } = clientFor(app);
    cloud.faults.add({ service: 'graph', method: 'GET', nth: 1, status: 429, retryAfterSeconds: 1 });
    expect(await graph.applicationsByAppId(app.appId)).toHaveLength(1);
    expect(sleeps).toEqual([1000]);
    expect(cloud.count({ service: 'graph', method: 'GET' })).toBe(2);
  });

  it('retries 5xx with growing delays, and gives up after maxAttempts as graph_unavailable (502)', async () => {
    const app = cloud.graph.addApplication();
    const { graph, sleeps } = clientFor(app);
    cloud.faults.add({ service: 'graph', method: 'GET', status: 503, body: { error: { code: 'ServiceUnavailable', message: 'try later' } } });
    const err = await failure(graph.applicationsByAppId(app.appId));
    expect(err.status).toBe(502);
    expect(err.code).toBe('graph_unavailable');
    expect(err.message).toBe('graph unavailable: listing applications: 503 ServiceUnavailable try later');
    expect(cloud.count({ service: 'graph', method: 'GET' })).toBe(3);
    expect(sleeps).toEqual([10, 20]);
  });

  it('does not wait longer than its bound: a long Retry-After ends the retries', async () => {
    const app = cloud.graph.addApplication();
    const { graph, sleeps } = clientFor(app);
    cloud.faults.add({ service: 'graph', method: 'GET', status: 429, retryAfterSeconds: 120 });
    const err = await failure(graph.applicationsByAppId(app.appId));
    expect(err.status).toBe(502);
    expect(sleeps).toEqual([]);
    expect(cloud.count({ service: 'graph', method: 'GET' })).toBe(1);
  });

  it('does not repeat addPassword after a 5xx (its outcome is unknown), but does after a 429', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app);
    const broken = cloud.faults.add({ service: 'graph', pathIncludes: '/addPassword', status: 500 });
    const err = await failure(graph.addPassword(app.id, 'azauth-x', new Date(Date.now() + 86_400_000)));
    expect(err.message).toMatch(/^graph unavailable: failed to add new password: 500/);
    expect(cloud.count({ service: 'graph', pathIncludes: '/addPassword' })).toBe(1);
    broken.remove();
    cloud.faults.add({ service: 'graph', pathIncludes: '/addPassword', nth: 1, status: 429, retryAfterSeconds: 0 });
    await graph.addPassword(app.id, 'azauth-y', new Date(Date.now() + 86_400_000));
    expect(cloud.count({ service: 'graph', pathIncludes: '/addPassword' })).toBe(3);
    expect(cloud.graph.passwords(app.id).map((p) => p.displayName)).toEqual(['initial', 'azauth-y']);
  });

  it('reports a refusal (403) as the configuration\'s fault, naming the permission', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app);
    cloud.faults.add({ service: 'graph', pathIncludes: '/addPassword', status: 403, body: { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } } });
    const err = await failure(graph.addPassword(app.id, 'azauth-x', new Date(Date.now() + 86_400_000)));
    expect(err).toBeInstanceOf(GraphRequestError);
    expect(err.status).toBe(400);
    expect(err.message).toContain('Authorization_RequestDenied');
    expect(err.message).toContain('Application.ReadWrite.OwnedBy');
  });

  it('treats the removal of a gone application as done', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app);
    cloud.faults.add({ service: 'graph', pathIncludes: '/removePassword', status: 404, body: { error: { code: 'Request_ResourceNotFound' } } });
    await graph.removePassword(app.id, app.password?.keyId ?? '');
  });
});

describe('client-secret tokens', () => {
  it('refuses a wrong secret as the mount\'s fault (400), not as an outage', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app, 'wrong-secret');
    const err = await failure(graph.applicationsByAppId(app.appId));
    expect(err).toBeInstanceOf(CredentialsRefusedError);
    expect(err.status).toBe(400);
    expect(err.message).toContain('invalid_client');
    expect(err.message).not.toContain('wrong-secret');
  });

  it('retries the token endpoint on 5xx and reports a lasting outage as entra_unavailable', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app);
    cloud.faults.add({ service: 'entra', pathIncludes: '/oauth2/v2.0/token', nth: 1, status: 503 });
    expect(await graph.applicationsByAppId(app.appId)).toHaveLength(1);
    cloud.faults.clear();
    const other = clientFor(app).graph;
    cloud.faults.add({ service: 'entra', pathIncludes: '/oauth2/v2.0/token', status: 503 });
    const err = await failure(other.applicationsByAppId(app.appId));
    expect(err.code).toBe('entra_unavailable');
    expect(err.status).toBe(502);
  });

  it('reuses one token for the calls of a session', async () => {
    const app = cloud.graph.addApplication();
    const { graph } = clientFor(app);
    await graph.applicationsByAppId(app.appId);
    await graph.applicationsByAppId(app.appId);
    expect(cloud.count({ service: 'entra', pathIncludes: '/oauth2/v2.0/token' })).toBe(1);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, and bounds the wait', () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    const reply = (value: string | null) => ({ kind: 'reply' as const, reply: { status: 429, statusText: '', body: '', headers: new Headers(value === null ? {} : { 'retry-after': value }) } });
    expect(delayBefore(1, reply('1'), RETRY, now)).toBe(1000);
    expect(delayBefore(1, reply('3'), RETRY, now)).toBeUndefined();
    expect(delayBefore(2, reply(null), RETRY, now)).toBe(20);
    expect(delayBefore(10, reply(null), RETRY, now)).toBe(2000);
  });
});

describe('endpoints per environment', () => {
  /** Records where calls go and answers like Entra and Graph would, without a network. */
  function recordingFetch(): { fetch: FetchLike; calls: Array<{ url: string; body: string }> } {
    const calls: Array<{ url: string; body: string }> = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, body: typeof init.body === 'string' ? init.body : '' });
      const body = url.includes('/oauth2/v2.0/token') ? { access_token: 'token', expires_in: 3600 } : { value: [] };
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    return { fetch, calls };
  }
  const credentials = { tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1' };

  it('uses the cloud of the mount\'s environment for the token and for Graph', async () => {
    const { fetch, calls } = recordingFetch();
    const connect = graphConnector({ catalog: () => cloudCatalog({}), fetch, retry: RETRY, sleep: async () => undefined });
    await connect({ ...credentials, environment: 'azurechinacloud' }).applicationsByAppId('client-1');
    expect(calls.map((c) => c.url)).toEqual([
      'https://login.chinacloudapi.cn/tenant-1/oauth2/v2.0/token',
      `https://microsoftgraph.chinacloudapi.cn/v1.0/applications?$filter=${encodeURIComponent("appId eq 'client-1'")}`,
    ]);
    expect(new URLSearchParams(calls[0]?.body).get('scope')).toBe('https://microsoftgraph.chinacloudapi.cn/.default');
    calls.length = 0;
    await connect({ ...credentials, environment: '' }).applicationsByAppId('client-1');
    expect(calls[1]?.url).toMatch(/^https:\/\/graph\.microsoft\.com\/v1\.0\/applications\?/);
  });

  it('sends Graph calls to AZAUTH_GRAPH_ENDPOINT when set, still asking tokens for the cloud\'s Graph', async () => {
    const { fetch, calls } = recordingFetch();
    const connect = graphConnector({
      catalog: () => cloudCatalog({ AZAUTH_GRAPH_ENDPOINT: 'https://graph.example.test/', AZURE_AUTHORITY_HOST: 'https://login.example.test' }),
      fetch,
      retry: RETRY,
      sleep: async () => undefined,
    });
    await connect({ ...credentials, environment: 'AzureUSGovernmentCloud' }).applicationsByAppId('client-1');
    expect(calls[0]?.url).toBe('https://login.example.test/tenant-1/oauth2/v2.0/token');
    expect(new URLSearchParams(calls[0]?.body).get('scope')).toBe('https://graph.microsoft.us/.default');
    expect(calls[1]?.url).toMatch(/^https:\/\/graph\.example\.test\/v1\.0\/applications\?/);
  });

  it('refuses an unknown environment with 400', () => {
    const connect = graphConnector({ catalog: () => cloudCatalog({}), fetch: recordingFetch().fetch, retry: RETRY, sleep: async () => undefined });
    let caught: unknown;
    try {
      connect({ ...credentials, environment: 'AzureGermanCloud' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VaultError);
    expect((caught as VaultError).status).toBe(400);
    expect((caught as VaultError).message).toBe('err: no cloud configuration matching the name "AZUREGERMANCLOUD"');
  });
});
