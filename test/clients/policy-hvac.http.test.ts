/**
 * hvac 0.11.2 (Debian's python3-hvac under /usr/bin/python3) against the policy endpoints, through a
 * recording proxy. What this old version sends (read from its source and checked on the wire here):
 * `sys.create_or_update_policy` PUT sys/policy/<name> {"policy": <text, or a dict dumped as pretty
 * JSON>}, `read_policy` GET sys/policy/<name> (callers read `rules`), `list_policies` GET sys/policy
 * (callers read `data.policies`), `delete_policy` DELETE sys/policy/<name>, `get_capabilities` POST
 * sys/capabilities-self {"paths": [...]}, each with X-Vault-Request: true. Then a workload's login
 * on the azure mount whose token may read one role and is refused the role next to it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type Stack } from '../support/stack';
import { makeRole, prepareMount, RESOURCE, type TokenEnv } from '../tokens/http-support';
import { lastJsonLine, runPython, startRecorder, type Recorder } from './policy-support';

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

const PRELUDE = `
import json, os, sys, warnings
warnings.simplefilter('ignore')
import hvac
def errors_of(fn):
    try:
        fn()
        return None
    except hvac.exceptions.VaultError as err:
        return [type(err).__name__, err.errors]
`;

async function hvac(body: string, extraEnv: Record<string, string>): Promise<unknown> {
  const out = await runPython(`${PRELUDE}\n${body}`, { VAULT_ADDR: recorder!.url, ...extraEnv });
  expect(out.status, `${out.stdout}\n${out.stderr}`).toBe(0);
  return lastJsonLine(out);
}

describe('hvac 0.11.2 sys.*_policy', () => {
  it('create_or_update_policy (text and dict), read_policy, list_policies, delete_policy, and the errors', async () => {
    const name = `hv-${randomUUID().slice(0, 8)}`;
    const policy = 'path "auth/azure/role/*" {\n  capabilities = ["read"]\n}\n';
    const result = z
      .object({
        created: z.number(),
        read: z.object({ name: z.string(), rules: z.string(), data: z.object({ name: z.string(), rules: z.string() }) }),
        listed: z.array(z.string()),
        listedTop: z.array(z.string()),
        createdDict: z.number(),
        readDict: z.string(),
        deleted: z.number(),
        afterDelete: z.tuple([z.string(), z.array(z.string())]),
        deleteDefault: z.tuple([z.string(), z.array(z.string())]),
        badHcl: z.tuple([z.string(), z.array(z.string())]),
        writeRoot: z.tuple([z.string(), z.array(z.string())]),
      })
      .parse(
        await hvac(
          `
c = hvac.Client(url=os.environ['VAULT_ADDR'], token=os.environ['VAULT_TOKEN'])
name = os.environ['NAME']
out = {}
out['created'] = c.sys.create_or_update_policy(name=name, policy=os.environ['POLICY']).status_code
out['read'] = c.sys.read_policy(name=name)
listed = c.sys.list_policies()
out['listed'] = listed['data']['policies']
out['listedTop'] = listed['policies']
out['createdDict'] = c.sys.create_or_update_policy(name=name + '-dict', policy={'path': {'auth/azure/config': {'capabilities': ['read']}}}).status_code
out['readDict'] = c.sys.read_policy(name=name + '-dict')['rules']
out['deleted'] = c.sys.delete_policy(name=name).status_code
out['afterDelete'] = errors_of(lambda: c.sys.read_policy(name=name))
out['deleteDefault'] = errors_of(lambda: c.sys.delete_policy(name='default'))
out['badHcl'] = errors_of(lambda: c.sys.create_or_update_policy(name=name, policy='path "a" { capabilities = ["read" }'))
out['writeRoot'] = errors_of(lambda: c.sys.create_or_update_policy(name='root', policy='path "a" {}'))
print(json.dumps(out))
`,
          { VAULT_TOKEN: env.admin, NAME: name, POLICY: policy },
        ),
      );
    expect(result.created).toBe(204);
    expect(result.read).toMatchObject({ name, rules: policy, data: { name, rules: policy } });
    expect(result.listed).toContain(name);
    expect(result.listed.at(-1)).toBe('root');
    expect(result.listedTop).toEqual(result.listed);
    expect(result.createdDict).toBe(204);
    // hvac sends a dict as pretty-printed JSON; it is stored and read back as sent.
    expect(JSON.parse(result.readDict)).toEqual({ path: { 'auth/azure/config': { capabilities: ['read'] } } });
    expect(result.readDict).toContain('\n    ');
    expect(result.deleted).toBe(204);
    expect(result.afterDelete).toEqual(['InvalidPath', []]);
    expect(result.deleteDefault).toEqual(['InvalidRequest', ['cannot delete default policy']]);
    expect(result.badHcl[0]).toBe('InvalidRequest');
    expect(result.badHcl[1][0]).toMatch(/^failed to parse policy: /);
    expect(result.writeRoot).toEqual(['InvalidRequest', ['cannot update "root" policy']]);

    // What went over the wire.
    const sent = recorder!.to('sys/policy');
    for (const request of sent) expect(request.headers['x-vault-request']).toBe('true');
    const put = sent.find((r) => r.method === 'PUT' && r.url === `/v1/sys/policy/${name}`);
    expect(JSON.parse(put!.body)).toEqual({ policy });
    expect(put!.headers['content-type']).toBe('application/json');
    const putDict = sent.find((r) => r.method === 'PUT' && r.url === `/v1/sys/policy/${name}-dict`);
    expect(typeof (JSON.parse(putDict!.body) as { policy: unknown }).policy).toBe('string');
    expect(sent.some((r) => r.method === 'GET' && r.url === '/v1/sys/policy')).toBe(true);
    expect(sent.some((r) => r.method === 'GET' && r.url === `/v1/sys/policy/${name}`)).toBe(true);
    expect(sent.some((r) => r.method === 'DELETE' && r.url === `/v1/sys/policy/${name}` && r.status === 204)).toBe(true);
  });
});

describe('hvac 0.11.2: a workload logs in and may do exactly what its policy says', () => {
  it('reads the role its policy names, is refused the role next to it; get_capabilities agrees', async () => {
    const allowed = await makeRole(env);
    const neighbour = await makeRole(env);
    const policy = `hv-login-${randomUUID().slice(0, 8)}`;
    const write = await env.stack.request('PUT', `sys/policies/acl/${policy}`, {
      token: env.admin,
      body: { policy: `path "auth/azure/role/${allowed}" { capabilities = ["read"] }` },
    });
    expect(write.status, write.text).toBe(204);
    const loginRole = await makeRole(env, { token_policies: [policy] });
    const jwt = await env.stack.emulator.entra.mintToken({ tenant: env.tenant, audience: RESOURCE, oid: env.oid });
    const result = z
      .object({
        policies: z.array(z.string()),
        allowed: z.object({ bound_service_principal_ids: z.array(z.string()) }).passthrough(),
        neighbour: z.tuple([z.string(), z.array(z.string())]),
        capabilities: z.record(z.string(), z.unknown()),
        selfPolicies: z.array(z.string()),
        config: z.tuple([z.string(), z.array(z.string())]),
      })
      .parse(
        await hvac(
          `
c = hvac.Client(url=os.environ['VAULT_ADDR'])
auth = c.auth.azure.login(role=os.environ['ROLE'], jwt=os.environ['JWT'], mount_point='azure')
out = {'policies': auth['auth']['policies']}
out['allowed'] = c.auth.azure.read_role(name=os.environ['ALLOWED'], mount_point='azure')
out['neighbour'] = errors_of(lambda: c.auth.azure.read_role(name=os.environ['NEIGHBOUR'], mount_point='azure'))
out['capabilities'] = c.sys.get_capabilities(paths=['auth/azure/role/' + os.environ['ALLOWED'], 'auth/azure/role/' + os.environ['NEIGHBOUR']])['data']
out['selfPolicies'] = c.auth.token.lookup_self()['data']['policies']
out['config'] = errors_of(lambda: c.auth.azure.read_config(mount_point='azure'))
print(json.dumps(out))
`,
          { ROLE: loginRole, JWT: jwt, ALLOWED: allowed, NEIGHBOUR: neighbour },
        ),
      );
    expect(result.policies).toEqual(['default', policy]);
    expect(result.allowed.bound_service_principal_ids).toEqual([env.oid]);
    expect(result.neighbour).toEqual(['Forbidden', ['permission denied']]);
    expect(result.capabilities).toEqual({ [`auth/azure/role/${allowed}`]: ['read'], [`auth/azure/role/${neighbour}`]: ['deny'] });
    expect(result.selfPolicies).toEqual(['default', policy]);
    expect(result.config).toEqual(['Forbidden', ['permission denied']]);
    const capabilitiesCall = recorder!.to('sys/capabilities-self').at(-1);
    expect(capabilitiesCall?.method).toBe('POST');
    expect(JSON.parse(capabilitiesCall!.body)).toEqual({ paths: [`auth/azure/role/${allowed}`, `auth/azure/role/${neighbour}`] });
  });
});
