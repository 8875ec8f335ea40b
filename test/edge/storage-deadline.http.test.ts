/**
 * Issue 10 item 2: storage calls have a deadline. Azurite runs in its own process (as Table Storage
 * is its own service) and is paused with SIGSTOP while logins run concurrently, then resumed with
 * SIGCONT. Each login must answer 503 `storage unavailable: ...` within the deadline (not hang until
 * the host's functionTimeout), no token may be written for those logins once storage is back, their
 * audit records must not say `success`, and logins must work again after the resume.
 *
 * Two stacks: one where the storage deadline (2 s) passes first, and one where the request
 * pipeline's deadline (3 s) passes while a storage read is still waiting (storage deadline 30 s):
 * when Azurite wakes up, that read completes and the handler goes on, but its token write is
 * refused, because the request was already answered 503. (Without that cut-off, all eight tokens
 * were written after SIGCONT.) Azurite is paused after the login-state cache (1 s) lapsed, so each
 * login's first storage call is a read. A write that had already reached storage when its deadline
 * passed may still be applied there (its outcome is unknown, as with any storage timeout); that
 * token's value was never returned to anyone.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startAzurite, type Azurite } from '../../bench/stack';
import { startStack, type Stack, type StackResponse } from '../support/stack';

const RESOURCE = 'https://management.azure.com/';
const CONCURRENT_LOGINS = 8;

interface AuditLine {
  request_id: string;
  path: string;
  outcome: string;
  status: number;
  error: string | null;
  principal_id: string | null;
  secrets: Record<string, string>;
}

interface Fixture {
  azurite: Azurite;
  stack: Stack;
  tenant: string;
  role: string;
  oid: string;
}

async function startFixture(env: Record<string, string>): Promise<Fixture> {
  const azurite = await startAzurite(repoRoot());
  try {
    const stack = await startStack({ env: { AzureWebJobsStorage: azurite.connectionString, ...env } });
    const admin = await stack.adminToken();
    const tenant = stack.emulator.entra.addTenant();
    const oid = randomUUID();
    const role = 'deadline';
    const write = async (path: string, body: Record<string, unknown>) => {
      const res = await stack.request('POST', path, { token: admin, body });
      expect(res.status, res.text).toBeLessThan(300);
    };
    await write('auth/azure/config', { tenant_id: tenant, resource: RESOURCE });
    await write(`auth/azure/role/${role}`, { bound_service_principal_ids: [oid] });
    return { azurite, stack, tenant, role, oid };
  } catch (err) {
    await azurite.stop();
    throw err;
  }
}

async function stopFixture(fixture: Fixture | undefined): Promise<void> {
  if (!fixture) return;
  resume(fixture.azurite);
  await fixture.stack.stop();
  await fixture.azurite.stop();
}

function pause(azurite: Azurite): void {
  process.kill(azurite.pid, 'SIGSTOP');
}

function resume(azurite: Azurite): void {
  try {
    process.kill(azurite.pid, 'SIGCONT');
  } catch {
    // already gone
  }
}

/** A login as a fresh principal bound to the role; the client gives up after `clientTimeoutMs`. */
async function login(fixture: Fixture, clientTimeoutMs: number): Promise<{ res?: StackResponse; ms: number; error?: string }> {
  const jwt = await fixture.stack.emulator.entra.mintToken({ tenant: fixture.tenant, audience: RESOURCE, oid: fixture.oid });
  const started = Date.now();
  try {
    const res = await Promise.race([
      fixture.stack.request('POST', 'auth/azure/login', { body: { role: fixture.role, jwt } }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${clientTimeoutMs} ms`)), clientTimeoutMs)),
    ]);
    return { res, ms: Date.now() - started };
  } catch (err) {
    return { ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  }
}

async function tokenCount(stack: Stack): Promise<number> {
  let count = 0;
  for await (const _ of stack.table('azauthtokens').listEntities({ queryOptions: { select: ['PartitionKey'] } })) count += 1;
  return count;
}

function loginRecords(stack: Stack): AuditLine[] {
  return stack
    .logs()
    .split('\n')
    .filter((line) => line.includes('"type":"azauth.audit"'))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as AuditLine)
    .filter((r) => r.path === 'auth/azure/login');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Pauses Azurite, runs CONCURRENT_LOGINS logins at once, checks each answered 503 in time, resumes
 * Azurite, waits for anything still running to finish, and checks nothing was issued or audited as
 * success; then a login works again.
 */
async function pausedLogins(fixture: Fixture, expected: { message: RegExp; withinMs: number }): Promise<void> {
  const { stack } = fixture;
  // Warm up: the audit key, the mount, config and role are read once while storage answers.
  const warm = await login(fixture, 10_000);
  expect(warm.res?.status, warm.error ?? warm.res?.text).toBe(200);
  const tokensBefore = await tokenCount(stack);
  const recordsBefore = loginRecords(stack).length;
  // The login-state cache keeps mount, config and role for at most 1 s: let it lapse.
  await sleep(1_200);

  pause(fixture.azurite);
  let results: Awaited<ReturnType<typeof login>>[];
  try {
    results = await Promise.all(Array.from({ length: CONCURRENT_LOGINS }, () => login(fixture, 15_000)));
    // Storage stays paused a while longer, as it would in an outage.
    await sleep(1_000);
  } finally {
    resume(fixture.azurite);
  }
  for (const result of results) {
    expect(result.error, 'the client got no answer').toBeUndefined();
    expect(result.res?.status, result.res?.text).toBe(503);
    expect(result.res?.headers['content-type']).toBe('application/json');
    const errors = (result.res?.json as { errors?: string[] } | undefined)?.errors ?? [];
    expect(errors.join('; ')).toMatch(expected.message);
    expect(result.ms).toBeLessThan(expected.withinMs);
  }

  // Whatever was still waiting on a socket to the paused Azurite gets its answer now: give it time.
  await sleep(2_000);
  expect(await tokenCount(stack), 'tokens written for logins that answered 503').toBe(tokensBefore);

  const during = loginRecords(stack).slice(recordsBefore);
  expect(during).toHaveLength(CONCURRENT_LOGINS);
  for (const record of during) {
    expect(record.outcome).toBe('error');
    expect(record.status).toBe(503);
    expect(record.secrets.client_token).toBeUndefined();
  }

  const again = await login(fixture, 10_000);
  expect(again.res?.status, again.error ?? again.res?.text).toBe(200);
  expect(await tokenCount(stack)).toBe(tokensBefore + 1);
  await sleep(300); // the host's output reaches this process a moment after the answer
  const after = loginRecords(stack).slice(recordsBefore + CONCURRENT_LOGINS);
  expect(after.map((r) => [r.outcome, r.status])).toEqual([['success', 200]]);
}

describe('storage deadline with Azurite paused', () => {
  let fixture: Fixture | undefined;
  beforeAll(async () => {
    fixture = await startFixture({ AZAUTH_STORAGE_TIMEOUT: '2s', AZAUTH_REQUEST_TIMEOUT: '20s' });
  });
  afterAll(async () => {
    await stopFixture(fixture);
  });

  it('answers 503 "storage unavailable" within the storage deadline, issues nothing, audits errors, recovers', async () => {
    await pausedLogins(fixture!, { message: /^storage unavailable: /, withinMs: 6_000 });
  }, 60_000);
});

describe('request deadline with a storage call still waiting', () => {
  let fixture: Fixture | undefined;
  beforeAll(async () => {
    fixture = await startFixture({ AZAUTH_STORAGE_TIMEOUT: '30s', AZAUTH_REQUEST_TIMEOUT: '3s' });
  });
  afterAll(async () => {
    await stopFixture(fixture);
  });

  it('answers 503 at the request deadline and the handler, still running, never writes the token', async () => {
    await pausedLogins(fixture!, { message: /^request did not complete within 3s/, withinMs: 7_000 });
  }, 60_000);
});
