/**
 * node-vault 0.12 against the policy endpoints, through a recording proxy so the test sees what the
 * client sent: `addPolicy` (PUT sys/policy/<name> with the legacy `rules` field, answered 200 with
 * Vault's deprecation warning), `getPolicy`, `policies`, `removePolicy`, and what a policy written
 * this way then lets a token do. Errors reach the caller as node-vault's ApiResponseError, whose
 * message is Vault's `errors[0]`.
 */
import { randomUUID } from 'node:crypto';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type Stack } from '../support/stack';
import { createToken, prepareMount, type TokenEnv } from '../tokens/http-support';
import { startRecorder, type Recorder } from './policy-support';

let stack: Stack | undefined;
let env: TokenEnv;
let recorder: Recorder | undefined;

beforeAll(async () => {
  stack = await startStack();
  env = await prepareMount(stack);
  recorder = await startRecorder(stack.url);
}, 90_000);
afterAll(async () => {
  await recorder?.stop();
  await stack?.stop();
});

const client = (token: string): ReturnType<typeof nodeVault> => nodeVault({ endpoint: recorder!.url, token, noCustomHTTPVerbs: true });

const warned = z.object({ data: z.null(), warnings: z.array(z.string()) });
const legacyRead = z.object({ name: z.string(), rules: z.string(), data: z.object({ name: z.string(), rules: z.string() }) });
const legacyList = z.object({ keys: z.array(z.string()), policies: z.array(z.string()), data: z.object({ keys: z.array(z.string()), policies: z.array(z.string()) }) });

/** The rejection of a node-vault call: its message (Vault's errors[0]) and status. */
async function rejection(call: Promise<unknown>): Promise<{ message: string; status: number | undefined }> {
  const outcome: unknown = await call.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof Error)) throw new Error('the call resolved; a rejection was expected');
  const status = (outcome as { response?: { statusCode?: number } }).response?.statusCode;
  return { message: outcome.message, status };
}

describe('node-vault 0.12 policy commands', () => {
  it('addPolicy → getPolicy → policies → removePolicy, and what the client sent', async () => {
    const vault = client(env.admin);
    const name = `nv-${randomUUID().slice(0, 8)}`;
    const rules = 'path "auth/azure/role/*" {\n  capabilities = ["read", "list"]\n}\n';

    const added = warned.parse(await vault.addPolicy({ name, rules }));
    expect(added.warnings).toEqual(["'rules' is deprecated, please use 'policy' instead"]);
    const [put] = recorder!.to(`sys/policy/${name}`);
    expect(put).toMatchObject({ method: 'PUT', url: `/v1/sys/policy/${name}`, status: 200 });
    // node-vault sends every argument as the body, the name included; it is the URL's, not an unknown field.
    expect(JSON.parse(put!.body)).toEqual({ name, rules });

    const read = legacyRead.parse(await vault.getPolicy({ name }));
    expect(read).toMatchObject({ name, rules, data: { name, rules } });

    const listed = legacyList.parse(await vault.policies());
    expect(listed.policies).toContain(name);
    expect(listed.policies).toContain('default');
    expect(listed.policies.at(-1)).toBe('root');
    expect(listed.keys).toEqual(listed.policies);
    expect(listed.data.policies).toEqual(listed.policies);
    expect(recorder!.to('sys/policy').some((r) => r.method === 'GET' && r.url === '/v1/sys/policy')).toBe(true);

    const removed: unknown = await vault.removePolicy({ name });
    expect(removed).toBe(''); // a 204
    const gone = await rejection(vault.getPolicy({ name }));
    expect(gone.status).toBe(404);
    expect(legacyList.parse(await vault.policies()).policies).not.toContain(name);
    const methods = recorder!.to(`sys/policy/${name}`).map((r) => `${r.method} ${r.status}`);
    expect(methods).toEqual(['PUT 200', 'GET 200', 'DELETE 204', 'GET 404']);
  });

  it('a policy written through addPolicy is enforced; `policy` instead of `rules` gives a 204', async () => {
    const vault = client(env.admin);
    const name = `nv-enf-${randomUUID().slice(0, 8)}`;
    await vault.addPolicy({ name, rules: 'path "auth/azure/config" { capabilities = ["read"] }' });
    const token = (await createToken(env, { policies: [name], no_default_policy: true })).token;
    const asToken = client(token);
    expect(z.object({ data: z.object({ tenant_id: z.string() }).passthrough() }).parse(await asToken.read('auth/azure/config')).data.tenant_id).toBe(env.tenant);
    const denied = await rejection(asToken.read('sys/auth'));
    expect(denied).toEqual({ message: 'permission denied', status: 403 });
    // The current field: no warning, so 204 (node-vault resolves it with an empty body).
    expect(await vault.addPolicy({ name, policy: 'path "sys/auth" { capabilities = ["read"] }' })).toBe('');
    expect(z.object({ data: z.record(z.string(), z.unknown()) }).parse(await asToken.read('sys/auth')).data).toHaveProperty(['azure/']);
    await expect(asToken.read('auth/azure/config')).rejects.toThrow('permission denied');
  });

  it('Vault\'s errors: bad HCL, root, default, and a caller without the right', async () => {
    const vault = client(env.admin);
    const bad = await rejection(vault.addPolicy({ name: 'nv-bad', rules: 'path "a" { capabilities = ["read"] ' }));
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/^failed to parse policy: /);
    expect(await rejection(vault.addPolicy({ name: 'root', rules: 'path "a" { capabilities = ["read"] }' }))).toEqual({ message: 'cannot update "root" policy', status: 400 });
    expect(await rejection(vault.removePolicy({ name: 'default' }))).toEqual({ message: 'cannot delete default policy', status: 400 });
    const plain = (await createToken(env, { policies: ['nothing'] })).token;
    expect(await rejection(client(plain).policies())).toEqual({ message: 'permission denied', status: 403 });
    expect(await rejection(client(plain).addPolicy({ name: 'nv-x', rules: 'path "a" {}' }))).toEqual({ message: 'permission denied', status: 403 });
  });
});
