/**
 * Issue 11 "done when": no authenticated route skips the one authorization decision.
 *
 * The routes come from the running local host's own catalog (`GET /admin/host/status`, the table it
 * routes by), so a new function file is walked without touching this test; the test also checks that
 * the catalog holds every `app.http(...)` of `functions/*.ts`, so a function the host did not load
 * cannot hide. Every route is called with every method it accepts (and `GET ?list=true`, Vault's list
 * operation) by:
 *
 * - a live token that carries no policy at all (`no_default_policy` and a policy name that does not
 *   exist): Vault's plain 403 `permission denied` everywhere;
 * - no token: the same 403;
 * - a dead token: 403 with `invalid token` (what Vault Agent re-authenticates on);
 *
 * except Vault's unauthenticated paths, listed here explicitly with what they answer instead.
 * Route parameters are filled with plausible values (a configured mount, a role that exists, a
 * policy that exists), so that a route which skipped the ACL would reach a handler that can serve it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type Stack } from '../support/stack';
import { createToken, makeRole, prepareMount, type TokenEnv } from '../tokens/http-support';

const ROOT = path.resolve(__dirname, '..', '..');
const MASTER_KEY = randomBytes(24).toString('base64url');

let stack: Stack | undefined;
let env: TokenEnv;
let routes: HostRoute[] = [];
let roleName = '';
/** A live token of ours with no policy at all. */
let bare = '';

const catalogSchema = z.object({
  functions: z.array(
    z.object({
      name: z.string(),
      trigger: z.string(),
      route: z.string().optional(),
      methods: z.array(z.string()).optional(),
    }),
  ),
});

interface HostRoute {
  readonly name: string;
  /** As the host routes it, e.g. `/v1/auth/{mount}/role/{*name}`. */
  readonly route: string;
  readonly methods: readonly string[];
}

beforeAll(async () => {
  stack = await startStack({ env: { AzureWebJobsSecretMasterKey: MASTER_KEY } });
  env = await prepareMount(stack);
  roleName = await makeRole(env);
  const policy = await stack.request('PUT', 'sys/policies/acl/walk-app', { token: env.admin, body: { policy: 'path "secret/data/app" { capabilities = ["read"] }' } });
  expect(policy.status, policy.text).toBe(204);
  const mount = await stack.request('POST', 'sys/mounts/secret', { token: env.admin, body: { type: 'kv', options: { version: '2' } } });
  expect([200, 204], mount.text).toContain(mount.status);
  bare = (await createToken(env, { policies: ['no-such-policy'], no_default_policy: true })).token;
  const status = await fetch(`${stack.url}/admin/host/status`, { headers: { 'x-functions-key': MASTER_KEY } });
  expect(status.status).toBe(200);
  const catalog = catalogSchema.parse(await status.json());
  routes = catalog.functions
    .filter((fn) => fn.trigger === 'httpTrigger')
    .map((fn) => {
      if (!fn.route) throw new Error(`HTTP function ${fn.name} has no route in the host catalog`);
      // No method list means every method: walk the ones a client can send to Node.
      return { name: fn.name, route: fn.route, methods: fn.methods ?? ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] };
    });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

/**
 * Vault's unauthenticated paths among ours (Vault's `PathsSpecial.Unauthenticated` and each auth
 * method's login), by the host's route template, with what each answers a caller who holds no
 * right at all. Everything not listed here must answer 403.
 */
const UNAUTHENTICATED: Readonly<Record<string, (call: Call) => ExpectedAnswer>> = {
  '/v1/sys/health': (call) => (call.method === 'GET' && !call.list ? { status: 200 } : call.method === 'HEAD' ? { status: 200 } : unsupported),
  '/v1/auth/{mount}/login': (call) =>
    (call.method === 'POST' || call.method === 'PUT') && !call.list ? { status: 400, errors: ['jwt is required'] } : unsupported,
  '/v1/sys/internal/ui/mounts/{*path}': (call) => {
    if (call.method !== 'GET' || call.list) return unsupported;
    // The listing answers everyone; the KV preflight uses the token itself and refuses one that
    // reaches nothing under the mount (its own 403 text, never the ACL's plain one).
    return call.path === 'sys/internal/ui/mounts'
      ? { status: 200 }
      : { status: 403, errors: ['preflight capability check returned 403, please ensure client\'s policies grant access to path "secret/data/app/"'] };
  },
};

interface ExpectedAnswer {
  readonly status: number;
  readonly errors?: readonly string[];
}
const unsupported: ExpectedAnswer = { status: 405, errors: ['unsupported operation'] };

/**
 * Plausible values for route parameters, by parameter name, then by function for the names that
 * mean different things in different routes. A route with a parameter named in neither fails the
 * test: choose a value for it here.
 */
const PARAMETER_SAMPLES: Readonly<Record<string, readonly string[]>> = {
  mount: ['azure'],
};
const FUNCTION_SAMPLES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  authRole: { name: ['{role}', ''] },
  sysAuthMount: { path: ['azure'] },
  sysMounts: { path: ['secret'] },
  sysMountsTune: { path: ['secret'] },
  sysAuditHash: { path: ['file'] },
  sysPoliciesAcl: { name: ['walk-app', 'default', ''] },
  sysPolicy: { name: ['walk-app', ''] },
  sysUiMounts: { path: ['secret/data/app', ''] },
  // The catch-all: a KV secret, Vault paths served nowhere else, an unknown auth-method path.
  // The catch-all: the KV engine of a mounted path, and Vault's "no handler" for anything else.
  secretsRouter: {
    path: ['secret/data/app', 'secret/metadata/app', 'secret/config', 'secret/subkeys/app', 'secret/destroy/app', 'secret', 'cubbyhole/app', 'identity/entity/id/x', 'sys/leases/lookup', 'auth/azure/unknown'],
  },
};

const PARAMETER = /\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\??(?:=[^}]*)?\}/g;

/** Every concrete logical path (no `/v1/`) a route template stands for here. */
function samplePaths(fn: HostRoute): string[] {
  const template = fn.route.replace(/^\/v1\//, '');
  let paths = [template];
  for (const match of template.matchAll(PARAMETER)) {
    const [whole, , name = ''] = match;
    const samples = FUNCTION_SAMPLES[fn.name]?.[name] ?? PARAMETER_SAMPLES[name];
    if (!samples) throw new Error(`route ${fn.route} of ${fn.name}: no sample value for {${name}}; add one to the route walk`);
    const values = samples.map((value) => value.replace('{role}', roleName));
    paths = paths.flatMap((p) => values.map((value) => p.replace(whole, value)));
  }
  // An empty catch-all value leaves a trailing slash: call the bare path, as clients do.
  return [...new Set(paths.map((p) => p.replace(/\/+$/, '')))];
}

interface Call {
  readonly fn: HostRoute;
  readonly method: string;
  readonly path: string;
  /** `GET ?list=true`: Vault's list operation. */
  readonly list: boolean;
}

function callsOf(fn: HostRoute): Call[] {
  return samplePaths(fn).flatMap((p) =>
    fn.methods.flatMap((method) => [
      { fn, method, path: p, list: false },
      ...(method === 'GET' ? [{ fn, method, path: p, list: true }] : []),
    ]),
  );
}

interface Answer {
  readonly status: number;
  readonly errors: unknown;
}

async function send(call: Call, token: string | undefined): Promise<Answer> {
  const headers: Record<string, string> = token ? { 'X-Vault-Token': token } : {};
  let body: string | undefined;
  if (call.method === 'POST' || call.method === 'PUT') {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify({ role: roleName, policy: 'path "x" { capabilities = ["read"] }', type: 'azure', token: bare, accessor: 'x', input: 'x' });
  } else if (call.method === 'PATCH') {
    // The only content type Vault takes on PATCH; anything else is a 415 before the ACL.
    headers['Content-Type'] = 'application/merge-patch+json';
    body = '{}';
  }
  const url = `${stack!.url}/v1/${call.path}${call.list ? '?list=true' : ''}`;
  const response = await fetch(url, { method: call.method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let errors: unknown;
  try {
    errors = text.trim() === '' ? undefined : (JSON.parse(text) as { errors?: unknown }).errors;
  } catch {
    errors = `(not JSON) ${text.slice(0, 200)}`;
  }
  return { status: response.status, errors };
}

/** Runs the calls a few at a time (the machine is shared), collecting what differs from `expected`. */
async function walk(calls: readonly Call[], token: string | undefined, expected: (call: Call) => ExpectedAnswer): Promise<string[]> {
  const wrong: string[] = [];
  const queue = [...calls];
  const worker = async (): Promise<void> => {
    for (let call = queue.shift(); call; call = queue.shift()) {
      const want = expected(call);
      const got = await send(call, token);
      // HEAD answers carry no body: only the status can be compared.
      const errorsMatch = call.method === 'HEAD' || want.errors === undefined || JSON.stringify(got.errors) === JSON.stringify(want.errors);
      if (got.status !== want.status || !errorsMatch) {
        wrong.push(`${call.method} /v1/${call.path}${call.list ? '?list=true' : ''} (${call.fn.name}): got ${got.status} ${JSON.stringify(got.errors)}, want ${want.status} ${JSON.stringify(want.errors ?? '')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return wrong;
}

const allCalls = (): Call[] => routes.flatMap(callsOf);
const exemption = (call: Call): ((call: Call) => ExpectedAnswer) | undefined => UNAUTHENTICATED[call.fn.route];

/** The token is still live (the walk neither used it up nor revoked it) and has no policy. */
async function expectBareTokenLive(): Promise<void> {
  const res = await stack!.request('POST', 'auth/token/lookup', { token: env.admin, body: { token: bare } });
  expect(res.status, res.text).toBe(200);
  expect((res.json as { data: { policies: string[] } }).data.policies).toEqual(['no-such-policy']);
}

describe('the route table', () => {
  it('is the host\'s, and holds every app.http of functions/*.ts', () => {
    const declared = readdirSync(path.join(ROOT, 'functions'))
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [...readFileSync(path.join(ROOT, 'functions', file), 'utf8').matchAll(/app\.http\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!));
    expect(declared.length).toBeGreaterThan(30);
    expect(routes.map((r) => r.name).sort()).toEqual([...declared].sort());
    // Every exemption names a route that exists (a renamed route must not leave a stale exemption).
    for (const route of Object.keys(UNAUTHENTICATED)) expect(routes.map((r) => r.route)).toContain(route);
  });
});

describe('every authenticated route goes through the ACL', () => {
  it('a live token without any policy gets 403 "permission denied" on every route and method', async () => {
    await expectBareTokenLive();
    const calls = allCalls();
    expect(calls.length).toBeGreaterThan(200);
    const wrong = await walk(calls, bare, (call) => exemption(call)?.(call) ?? { status: 403, errors: ['permission denied'] });
    expect(wrong, wrong.join('\n')).toEqual([]);
    await expectBareTokenLive();
  }, 120_000);

  it('no token at all: 403 "permission denied" on the same routes', async () => {
    const calls = allCalls().filter((call) => !exemption(call));
    const wrong = await walk(calls, undefined, () => ({ status: 403, errors: ['permission denied'] }));
    expect(wrong, wrong.join('\n')).toEqual([]);
  }, 120_000);

  it('HEAD and OPTIONS are Vault\'s header operation: root passes the ACL and meets a path that does not serve it', async () => {
    for (const method of ['HEAD', 'OPTIONS']) {
      const res = await fetch(`${stack!.url}/v1/secret/data/app`, { method, headers: { 'X-Vault-Token': env.admin } });
      expect(res.status, method).toBe(405);
    }
  });

  it('a dead token: 403 with "invalid token" on the same routes', async () => {
    const calls = allCalls().filter((call) => !exemption(call));
    const dead = `hvs.${'A'.repeat(43)}`;
    const wrong = await walk(calls, dead, () => ({ status: 403, errors: ['2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'] }));
    expect(wrong, wrong.join('\n')).toEqual([]);
  }, 120_000);
});
