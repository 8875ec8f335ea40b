// The local host serving the fixture app over real HTTP: routing, keys, limits, errors, admin API,
// hooks and logging. One host for the whole file.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHost, type SpawnedHost } from '../../dev/host/spawn';
import { BASE_ENV, fixtureState, HOST_APP, rawStatus, waitForLog } from './helpers';

let host: SpawnedHost;

beforeAll(async () => {
  host = await spawnHost({ appRoot: HOST_APP, env: { ...BASE_ENV, OVERRIDDEN: 'from the environment' } });
});

afterAll(async () => {
  await host?.stop();
});

const api = (path: string) => `${host.url}/api/${path}`;

describe('loading and settings', () => {
  it('runs the app through the package, with local.settings.json values that do not override the environment', async () => {
    const res = await fetch(api('hello/World?q=1'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      greeting: 'hello from local.settings.json',
      overridden: 'from the environment',
      name: 'World',
      q: '1',
      method: 'GET',
      isHttpRequest: true,
      functionName: 'hello',
    });
    expect(body.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.url).toBe(`${host.url}/api/hello/World?q=1`);
    expect(host.logs()).toContain("Skipping 'OVERRIDDEN' from local settings as it's already defined in current environment variables.");
  });

  it('reports the keys from local.settings.json', () => {
    expect(host.masterKey).toBe('fixture-master-key');
    expect(host.hostKey).toBe('fixture-host-key');
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(host.storageConnectionString).toBeUndefined();
  });

  it('appends the client address to X-Forwarded-For and sets X-Forwarded-Proto', async () => {
    const plain = (await (await fetch(api('hello'))).json()) as Record<string, unknown>;
    expect(plain.forwardedFor).toBe('127.0.0.1');
    expect(plain.forwardedProto).toBe('http');
    const forwarded = (await (await fetch(api('hello'), { headers: { 'x-forwarded-for': '203.0.113.9' } })).json()) as Record<string, unknown>;
    expect(forwarded.forwardedFor).toBe('203.0.113.9, 127.0.0.1');
  });

  it('ran the appStart hook and shares hookData from pre- to postInvocation hooks', async () => {
    await fetch(api('hello'));
    const state = await fixtureState(host.url);
    expect(state.appStarted).toBe(true);
    expect(state.hooks.at(-1)).toEqual({ pre: 'pre:hello', inputs: 1, error: null });
  });

  it('ran the runOnStartup timer once, with the schedule status Azure hands over', async () => {
    const state = await fixtureState(host.url);
    const runs = state.timerRuns.startup ?? [];
    expect(runs).toHaveLength(1);
    expect(runs[0]?.isPastDue).toBe(false);
    expect(runs[0]?.scheduleStatus).toMatchObject({ last: '0001-01-01T00:00:00.000Z', lastUpdated: '0001-01-01T00:00:00.000Z' });
    expect(Date.parse(runs[0]!.scheduleStatus!.next)).toBeGreaterThan(Date.now());
  });
});

describe('routing', () => {
  it('routes by ASP.NET precedence: literal beats parameter beats catch-all', async () => {
    expect(await (await fetch(api('vault/auth/token/lookup-self'))).json()).toEqual({ by: 'lookupSelf' });
    expect(await (await fetch(api('vault/auth/azure/login'), { method: 'POST' })).json()).toEqual({ by: 'login', mount: 'azure' });
    expect(await (await fetch(api('vault/sys/health'))).json()).toEqual({ by: 'fallback', path: 'sys/health' });
    // lookup-self only accepts GET, so a POST falls through to the catch-all
    expect(await (await fetch(api('vault/auth/token/lookup-self'), { method: 'POST' })).json()).toEqual({
      by: 'fallback',
      path: 'auth/token/lookup-self',
    });
  });

  it('applies constraints and matches case-insensitively', async () => {
    expect(await (await fetch(api('items/42'))).json()).toEqual({ by: 'id', id: '42' });
    expect(await (await fetch(`${host.url}/API/ITEMS/abc`)).json()).toEqual({ by: 'name', name: 'abc' });
    expect((await fetch(api('items/4a'))).status).toBe(404);
    expect(await (await fetch(api('codes/ABC'))).json()).toEqual({ code: 'ABC' });
    expect((await fetch(api('codes/ABCD'))).status).toBe(404);
  });

  it('answers 404 with JSON for unmatched paths and for methods a route does not accept', async () => {
    for (const [method, path] of [
      ['GET', `${host.url}/nowhere`],
      ['GET', api('no/such/function')],
      ['PUT', api('items/5')],
      ['DELETE', api('hello')],
    ] as const) {
      const res = await fetch(path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toMatchObject({ error: 'NotFound' });
    }
  });

  it('answers 400 to malformed request targets', async () => {
    expect(await rawStatus(host.url, 'GET /api/vault/%zz HTTP/1.1\r\nHost: x\r\n\r\n')).toBe(400);
    expect(await rawStatus(host.url, 'GET api/hello HTTP/1.1\r\nHost: x\r\n\r\n')).toBe(400);
    expect(await rawStatus(host.url, 'GET /api/hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')).toBe(400);
  });
});

describe('keys', () => {
  it('enforces function level: function key, host key or master key, header before ?code=', async () => {
    expect((await fetch(api('keyed'))).status).toBe(401);
    expect((await fetch(api('keyed?code=wrong'))).status).toBe(401);
    expect((await fetch(api('keyed?code=fixture-function-key'))).status).toBe(200);
    expect((await fetch(api('keyed'), { headers: { 'x-functions-key': 'fixture-host-key' } })).status).toBe(200);
    expect((await fetch(api('keyed'), { headers: { 'x-functions-key': 'fixture-master-key' } })).status).toBe(200);
    // the header wins, even when ?code= holds a valid key
    expect((await fetch(api('keyed?code=fixture-function-key'), { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
    const denied = await fetch(api('keyed?code=wrong'));
    expect(await denied.text()).toBe('');
  });

  it('enforces admin level: only the master key', async () => {
    expect((await fetch(api('ops/ping'), { headers: { 'x-functions-key': 'fixture-function-key' } })).status).toBe(401);
    expect((await fetch(api('ops/ping'), { headers: { 'x-functions-key': 'fixture-host-key' } })).status).toBe(401);
    const ok = await fetch(api('ops/ping?code=fixture-master-key'));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('pong');
  });
});

describe('requests and responses', () => {
  it("passes the handler's status, headers, cookies and body through", async () => {
    const res = await fetch(api('cookies'));
    expect(res.status).toBe(201);
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.headers.getSetCookie()).toEqual(['session=abc%20123; max-age=60; path=/; samesite=strict; httponly']);
    expect(await res.text()).toBe('created');
  });

  it('answers 204 when the handler returns nothing', async () => {
    const res = await fetch(api('nothing'));
    expect(res.status).toBe(204);
  });

  it('passes request bodies up to the limit and answers 413 beyond it', async () => {
    const ok = await fetch(api('echo'), { method: 'POST', body: 'x'.repeat(65536), headers: { 'content-type': 'text/plain' } });
    expect(await ok.json()).toEqual({ length: 65536, contentType: 'text/plain', head: 'xxxxxxxxxxxxxxxx' });

    const tooBig = await fetch(api('echo'), { method: 'POST', body: 'x'.repeat(65537) });
    expect(tooBig.status).toBe(413);

    // Without a Content-Length the limit applies while the body streams in.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(api('echo'), { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i += 1) req.write('y'.repeat(4096));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('answers 500 without the error text when the handler throws', async () => {
    const res = await fetch(api('throws'));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    await waitForLog(host, 'secret failure detail'); // the detail goes to the log only
  });

  it('answers 500 after functionTimeout when the handler never resolves', async () => {
    const started = Date.now();
    const res = await fetch(api('hang'));
    const elapsed = Date.now() - started;
    expect(res.status).toBe(500);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(6000);
    await waitForLog(host, 'Timeout value of 00:00:02 was exceeded by function: Functions.hang');
  });
});

describe('admin API', () => {
  const admin = (path: string, init: RequestInit = {}, key = 'fixture-master-key') =>
    fetch(`${host.url}/admin/${path}`, { ...init, headers: { 'x-functions-key': key, ...(init.headers ?? {}) } });

  it('reports host status to the master key only', async () => {
    expect((await admin('host/status', {}, 'fixture-host-key')).status).toBe(401);
    const res = await admin('host/status');
    expect(res.status).toBe(200);
    const status = (await res.json()) as { state: string; id: string; version: string; functions: Array<{ name: string; trigger: string }> };
    expect(status.state).toBe('Running');
    expect(status.id).toBeTruthy();
    expect(status.version).toBeTruthy();
    expect(status.functions).toContainEqual(expect.objectContaining({ name: 'manual', trigger: 'timerTrigger' }));
    expect(status.functions).toContainEqual(expect.objectContaining({ name: 'hello', trigger: 'httpTrigger', route: '/api/hello/{name?}' }));
  });

  it('runs a timer on demand and answers 202 once the run has finished', async () => {
    const before = (await fixtureState(host.url)).timerRuns.manual?.length ?? 0;
    const unauthorized = await admin('functions/manual', { method: 'POST', body: '{"input":""}' }, 'fixture-host-key');
    expect(unauthorized.status).toBe(401);
    const res = await admin('functions/manual', { method: 'POST', body: JSON.stringify({ input: '' }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(202);
    const runs = (await fixtureState(host.url)).timerRuns.manual ?? [];
    expect(runs).toHaveLength(before + 1);
    expect(runs.at(-1)?.isPastDue).toBe(false);
  });

  it('answers a run that exceeds functionTimeout once the timeout has passed', async () => {
    const started = Date.now();
    const res = await admin('functions/late', { method: 'POST', body: '{"input":""}' });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(202);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(2900);
    await waitForLog(host, /Executed 'Functions\.late' \(Failed.*\n.*Timeout value of 00:00:02 was exceeded by function: Functions\.late/);
  });

  it('refuses unknown functions, HTTP functions and bodies that are not an invocation', async () => {
    expect((await admin('functions/nosuch', { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await admin('functions/hello', { method: 'POST', body: '{}' })).status).toBe(400);
    expect((await admin('functions/manual', { method: 'POST', body: 'not json' })).status).toBe(400);
    expect((await admin('nosuch/api')).status).toBe(404);
  });

  it('answers the anonymous ping', async () => {
    expect((await fetch(`${host.url}/admin/host/ping`)).status).toBe(200);
  });
});

describe('logging', () => {
  it('logs one line per request without query strings, bodies or token headers', async () => {
    await fetch(api('echo?code=QUERYSECRET'), {
      method: 'POST',
      body: 'BODYSECRET',
      headers: { 'x-vault-token': 'TOKENSECRET', authorization: 'Bearer BEARERSECRET' },
    });
    const logs = await waitForLog(host, /\] POST \/api\/echo 200 \d+\.\dms \(echo\)/);
    for (const secret of ['QUERYSECRET', 'BODYSECRET', 'TOKENSECRET', 'BEARERSECRET']) expect(logs).not.toContain(secret);
  });

  it('applies log hooks and host.json log levels to user logs', async () => {
    await fetch(api('hello'));
    await fetch(api('quiet'));
    await waitForLog(host, 'hello called with [redacted]');
    const logs = await waitForLog(host, 'quiet warning log');
    expect(logs).not.toContain('s3cr3t');
    expect(logs).not.toContain('quiet information log'); // Function.quiet.User is at Warning
  });
});
