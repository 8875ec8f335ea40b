/**
 * The whole product on loopback for integration tests: the cloud emulator (in this process), the
 * local Functions host (a child process running the built `dist/`) with embedded Azurite, and an
 * admin tenant and principal seeded in the emulator and named in the host's settings.
 *
 *   const stack = await startStack();
 *   const res = await stack.request('GET', 'sys/auth', { token: await stack.adminToken() });
 *   expect(res.status).toBe(200);
 *   await stack.stop();
 *
 * `dist/` must be built first: vitest's globalSetup (test/support/global-setup.ts) does it once.
 * Start one stack per test file (beforeAll), not per test: a start takes about two seconds.
 */
import path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { ADMIN_AUDIENCE, emulatorAppSettings, hostStorageConnectionString, seedAdmin } from '../../dev/devmode-stack';
import { startCloudEmulator, type CloudEmulator } from '../../dev/emulator';
import { spawnHost, type SpawnedHost } from '../../dev/host/spawn';

export interface StackOptions {
  /** Extra host settings; they win over the stack's own. `undefined` removes a setting. */
  env?: Record<string, string | undefined>;
  /**
   * Settings that need the running emulator (e.g. the app's own identity endpoint from
   * `emulator.appServiceIdentity()`); applied after `env`.
   */
  envFromEmulator?: (emulator: CloudEmulator) => Promise<Record<string, string | undefined>>;
}

export interface RequestOptions {
  /** Sent as X-Vault-Token. */
  token?: string;
  /** Sent as JSON (an object), or as given (a string, for malformed-body tests). */
  body?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface StackResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The parsed body, or undefined when it is empty or not JSON. */
  json: unknown;
  text: string;
}

export interface Stack {
  /** Host base URL, e.g. http://127.0.0.1:PORT (requests go to `${url}/v1/...`). */
  readonly url: string;
  readonly emulator: CloudEmulator;
  /** Connection string of the host's embedded Azurite, to inspect tables directly. */
  readonly tableConnectionString: string;
  /** The settings the host was started with (after `opts.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly adminTenantId: string;
  readonly adminPrincipalId: string;
  readonly adminAudience: string;
  /** A fresh Entra access token of the seeded admin principal (v1, one hour). */
  adminToken(): Promise<string>;
  /** `path` is relative to `/v1/` (`sys/health`), or absolute when it starts with `/`. */
  request(method: string, path: string, opts?: RequestOptions): Promise<StackResponse>;
  /** A client for one of the app's tables in the stack's Azurite. */
  table(name: string): TableClient;
  /** Host output so far (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

const APP_ROOT = path.resolve(__dirname, '..', '..');

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const emulator = await startCloudEmulator();
  let host: SpawnedHost | undefined;
  try {
    const admin = seedAdmin(emulator);
    const { tenantId: adminTenantId, principalId: adminPrincipalId } = admin;
    const env: Record<string, string | undefined> = {
      ...emulatorAppSettings(emulator, admin),
      // The test runner's own settings must not leak into the app.
      AZURE_TENANT_ID: undefined,
      AZURE_AD_RESOURCE: undefined,
      AZURE_ENVIRONMENT: undefined,
      ...opts.env,
      ...(opts.envFromEmulator ? await opts.envFromEmulator(emulator) : {}),
    };
    host = await spawnHost({ appRoot: APP_ROOT, env });
    const started = host;
    const tableConnectionString = hostStorageConnectionString(started, env);
    let stopped = false;
    return {
      url: started.url,
      emulator,
      tableConnectionString,
      env,
      adminTenantId,
      adminPrincipalId,
      adminAudience: ADMIN_AUDIENCE,
      adminToken: () => emulator.entra.mintToken({ tenant: adminTenantId, audience: ADMIN_AUDIENCE, oid: adminPrincipalId }),
      request: (method, requestPath, requestOpts) => send(started.url, method, requestPath, requestOpts),
      table: (name) => TableClient.fromConnectionString(tableConnectionString, name, { allowInsecureConnection: true }),
      logs: () => started.logs(),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await started.stop();
        await emulator.stop();
      },
    };
  } catch (err) {
    await host?.stop();
    await emulator.stop();
    throw err;
  }
}

async function send(base: string, method: string, requestPath: string, opts: RequestOptions = {}): Promise<StackResponse> {
  const url = requestPath.startsWith('/') ? `${base}${requestPath}` : `${base}/v1/${requestPath}`;
  const headers: Record<string, string> = { ...(opts.token !== undefined ? { 'X-Vault-Token': opts.token } : {}) };
  let body: string | undefined;
  if (opts.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  Object.assign(headers, opts.headers);
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    responseHeaders[key] = value;
  });
  return { status: response.status, headers: responseHeaders, json, text };
}
