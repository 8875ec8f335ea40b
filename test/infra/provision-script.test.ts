/**
 * infra/scripts/provision.sh (what the provisioning deployment script runs) against the real app on
 * the local host: the payloads are built exactly as infra/modules/provision.bicep builds them (its
 * own default objects, read from the Bicep file), and `az` is a stand-in that hands out Entra tokens
 * minted by the cloud emulator, as the deployment identity or the pipeline would get them from
 * Entra: an admin token for the admin audience, the provisioning principal's token for any other
 * resource (the login mount's).
 * Needs bash, curl and jq, which the AzureCLI deployment-script image also has.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { bicepLiteral, bicepVar, readBicep, type BicepLiteral } from './bicep-source';

const INFRA = path.resolve(__dirname, '..', '..', 'infra');
const SCRIPT = path.join(INFRA, 'scripts', 'provision.sh');
const PROVISION = readBicep(path.join(INFRA, 'modules', 'provision.bicep'));
const CONFIG_DEFAULTS = bicepLiteral(bicepVar(PROVISION, 'configFieldDefaults')) as Record<string, BicepLiteral>;
const ROLE_DEFAULTS = bicepLiteral(bicepVar(PROVISION, 'roleFieldDefaults')) as Record<string, BicepLiteral>;
const KV_CONFIG_DEFAULTS = bicepLiteral(bicepVar(PROVISION, 'kvMountConfigDefaults')) as Record<string, BicepLiteral>;
const LOGIN_DEFAULTS = bicepLiteral(bicepVar(PROVISION, 'provisioningLoginDefaults')) as Record<string, BicepLiteral>;

type Declared = Record<string, BicepLiteral>;
interface DeclaredMount {
  path: string;
  description?: string;
  config: Declared;
}
interface DeclaredPolicy {
  name: string;
  policy: string;
}
interface DeclaredKvMount {
  path: string;
  description?: string;
  options: { version: '1' | '2' };
  config?: Declared;
}
/** The Bicep parameters of main.bicep / provision.bicep that the script's input is built from. */
interface Declarations {
  mounts: DeclaredMount[];
  roles: Declared[];
  policies?: DeclaredPolicy[];
  kvMounts?: DeclaredKvMount[];
  login?: Declared;
  prune?: boolean;
}
interface Authentication {
  mode?: 'admin' | 'login' | 'token';
  vaultToken?: string;
}

/** What a string-valued field of the merged login settings is (the defaults are all strings or lists). */
function text(value: BicepLiteral | undefined): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** provision.bicep's loginSettings, loginRoles, desiredLogin, desiredMounts, desiredRoles, desiredKvMounts. */
function scriptInput(d: Declarations): Record<string, string> {
  const login = { ...LOGIN_DEFAULTS, ...(d.login ?? {}) };
  const loginRoles: Declared[] =
    text(login.role) === ''
      ? []
      : [
          {
            mount: text(login.mount),
            name: text(login.role),
            bound_service_principal_ids: login.principal_ids ?? [],
            token_policies: [text(login.policy)],
            token_ttl: text(login.token_ttl),
            token_max_ttl: text(login.token_ttl),
          },
        ];
  const desiredLogin = text(login.role) === '' ? {} : { mount: login.mount, role: login.role, policy: login.policy, resource: login.resource };
  return {
    AZAUTH_POLICIES: JSON.stringify(d.policies ?? []),
    AZAUTH_MOUNTS: JSON.stringify(d.mounts.map((m) => ({ path: m.path, description: m.description ?? '', config: { ...CONFIG_DEFAULTS, ...m.config } }))),
    AZAUTH_ROLES: JSON.stringify([...d.roles, ...loginRoles].map((r) => ({ ...ROLE_DEFAULTS, ...r }))),
    AZAUTH_KV_MOUNTS: JSON.stringify(
      (d.kvMounts ?? []).map((k) => ({ path: k.path, description: k.description ?? '', options: k.options, config: { ...KV_CONFIG_DEFAULTS, ...(k.config ?? {}) } })),
    ),
    AZAUTH_PROVISION_LOGIN: JSON.stringify(desiredLogin),
    AZAUTH_PRUNE: d.prune ? 'true' : 'false',
  };
}

interface Summary {
  auth: string;
  policiesWritten: string[];
  mountsCreated: string[];
  configsWritten: string[];
  kvMountsCreated: string[];
  kvMountsTuned: string[];
  rolesWritten: string[];
  rolesDeleted: string[];
  rolesUndeclared: string[];
  errors: string[];
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  summary: Summary | undefined;
  /** The --resource of every `az account get-access-token` the run made. */
  resources: string[];
}

const TENANT_B = '0d5b3c1e-8f2a-4c67-b1d9-7e3a9c4f2b22';
const SUBSCRIPTION = '3c9e5a7b-1d2f-4e8a-9b6c-5f7d1e3a9c33';
const PRINCIPAL = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c44';
const GROUP = '2b4d6f8a-0c1e-4f3a-9b5d-7e9f1a3c5e55';
/** The pipeline identity that provisions with the narrow token once the bootstrap is done. */
const PROVISIONER = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e66';
const ARM = 'https://management.azure.com/';

let stack: Stack;
let fakeBin: string;
let adminTokenFile: string;
let loginTokenFile: string;
let requestedResources: string;

/** Mounts as main.bicepparam would declare them; the azure mount trusts the emulator's tenant, so its logins work. */
const mounts = (): DeclaredMount[] => [
  { path: 'azure', config: { tenant_id: stack.emulator.defaultTenantId, resource: ARM } },
  { path: 'team-b', description: 'Team B workloads', config: { tenant_id: TENANT_B, resource: 'api://team-b', max_retries: 5 } },
];
const WEB: Declared = { mount: 'azure', name: 'Web', bound_subscription_ids: [SUBSCRIPTION], token_policies: ['web'], token_ttl: '1h' };
const BATCH: Declared = { mount: 'team-b', name: 'batch', bound_service_principal_ids: [PRINCIPAL], token_type: 'batch', token_ttl: '15m' };
const OLD: Declared = { mount: 'team-b', name: 'old', bound_group_ids: [GROUP], token_policies: ['legacy'] };
const WEB_POLICY: DeclaredPolicy = {
  name: 'web',
  policy: '# The web workloads read their secrets.\npath "kv-app/data/web/*" {\n  capabilities = ["read"]\n}\n',
};
const KV_APP: DeclaredKvMount = { path: 'kv-app', description: 'Application secrets', options: { version: '2' }, config: { default_lease_ttl: '1h' } };
const KV_V1: DeclaredKvMount = { path: 'kv-v1', options: { version: '1' } };
const LOGIN: Declared = { role: 'azauth-provision', principal_ids: [PROVISIONER] };

const declarations = (more: Partial<Declarations> = {}): Declarations => ({
  mounts: mounts(),
  roles: [WEB, BATCH, OLD],
  policies: [WEB_POLICY],
  kvMounts: [KV_APP, KV_V1],
  login: LOGIN,
  ...more,
});

beforeAll(async () => {
  stack = await startStack();
  fakeBin = mkdtempSync(path.join(tmpdir(), 'azauth-fake-az-'));
  adminTokenFile = path.join(fakeBin, 'admin-token');
  loginTokenFile = path.join(fakeBin, 'login-token');
  requestedResources = path.join(fakeBin, 'resources');
  // Only the one call the script makes; anything else fails loudly.
  writeFileSync(
    path.join(fakeBin, 'az'),
    [
      '#!/usr/bin/env bash',
      'if [[ "$1 $2" == "account get-access-token" && "$3" == "--resource" ]]; then',
      `  echo "$4" >>'${requestedResources}'`,
      `  if [[ "$4" == '${stack.adminAudience}' ]]; then cat '${adminTokenFile}'; else cat '${loginTokenFile}'; fi`,
      '  exit 0',
      'fi',
      'echo "fake az: unexpected call: $*" >&2',
      'exit 2',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(fakeBin, 'az'), 0o755);
  writeFileSync(adminTokenFile, await stack.adminToken());
  writeFileSync(loginTokenFile, await provisionerToken());
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (fakeBin) rmSync(fakeBin, { recursive: true, force: true });
});

/** The provisioning principal's Entra token for the login mount's resource (as `az` gives it to a pipeline). */
function provisionerToken(): Promise<string> {
  return stack.emulator.entra.mintToken({ tenant: stack.emulator.defaultTenantId, audience: ARM, oid: PROVISIONER });
}

function runScript(d: Declarations, auth: Authentication = {}, extraEnv: Record<string, string> = {}): Promise<RunResult> {
  writeFileSync(requestedResources, '');
  return new Promise((resolve) => {
    // Asynchronous on purpose: the host verifies Entra tokens against the emulator, which runs in
    // this process and must keep answering while the script runs.
    execFile(
      'bash',
      [SCRIPT],
      {
        env: {
          PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
          HOME: process.env.HOME ?? tmpdir(),
          VAULT_ADDR: `${stack.url}/`,
          AZAUTH_ADMIN_AUDIENCE: stack.adminAudience,
          ...scriptInput(d),
          ...(auth.mode ? { AZAUTH_PROVISION_AUTH: auth.mode } : {}),
          ...(auth.vaultToken ? { VAULT_TOKEN: auth.vaultToken } : {}),
          AZAUTH_HEALTH_WAIT_SECONDS: '20',
          AZAUTH_POLL_SECONDS: '1',
          ...extraEnv,
        },
        timeout: 90_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        const last = stdout.trim().split('\n').pop() ?? '';
        let summary: Summary | undefined;
        try {
          summary = JSON.parse(last) as Summary;
        } catch {
          summary = undefined;
        }
        const resources = readFileSync(requestedResources, 'utf8').split('\n').filter((line) => line !== '');
        resolve({ code, stdout, stderr, summary, resources });
      },
    );
  });
}

async function read(pathUnderV1: string, token?: string): Promise<{ status: number; data: unknown }> {
  const res = await stack.request('GET', pathUnderV1, { token: token ?? (await stack.adminToken()) });
  const body = res.json as { data?: unknown } | undefined;
  return { status: res.status, data: body?.data };
}

interface MountEntry {
  type: string;
  description: string;
  accessor: string;
  uuid: string;
  options: Record<string, string> | null;
  config: { default_lease_ttl: number; max_lease_ttl: number };
}

async function secretMounts(): Promise<Record<string, MountEntry>> {
  return (await read('sys/mounts')).data as Record<string, MountEntry>;
}

async function policyNames(): Promise<string[]> {
  return ((await read('sys/policies/acl?list=true')).data as { keys: string[] }).keys;
}

/** What an operator would compare: every config, role, policy and mount the declarations touch. */
async function state(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const p of [
    'auth/azure/config',
    'auth/team-b/config',
    'auth/azure/role/web',
    'auth/team-b/role/batch',
    'auth/team-b/role/old',
    'auth/azure/role/azauth-provision',
    'sys/policies/acl/web',
    'sys/policies/acl/azauth-provision',
  ]) {
    out[p] = await read(p);
  }
  const auth = (await read('sys/auth')).data as Record<string, { accessor: string; description: string }>;
  out['sys/auth team-b'] = auth['team-b/'];
  const kv = await secretMounts();
  out['sys/mounts kv-app'] = kv['kv-app/'];
  out['sys/mounts kv-v1'] = kv['kv-v1/'];
  return out;
}

async function login(jwt: string): Promise<string> {
  const res = await stack.request('POST', 'auth/azure/login', { body: { role: 'azauth-provision', jwt } });
  const token = (res.json as { auth?: { client_token?: string } } | undefined)?.auth?.client_token;
  if (res.status !== 200 || !token) throw new Error(`login: ${res.status} ${res.text}`);
  return token;
}

/** Tokens in storage issued to the provisioning principal (a revoked token is gone). */
async function provisionerTokensStored(): Promise<number> {
  let count = 0;
  for await (const entity of stack.table('azauthtokens').listEntities()) {
    if (JSON.stringify(entity).includes(PROVISIONER)) count += 1;
  }
  return count;
}

/**
 * A script run takes a few seconds alone and several times that while the rest of the suite shares
 * the two cores; some tests run it twice.
 */
const SCRIPT_TESTS = { timeout: 180_000 };

describe('provision.sh against the app, as an Entra admin (the bootstrap)', SCRIPT_TESTS, () => {
  let afterFirstRun: Record<string, unknown>;

  it('writes policies (the derived provisioning policy first), creates the missing auth and KV mounts, writes configs and roles', async () => {
    const run = await runScript(declarations());
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary).toEqual({
      auth: 'admin',
      policiesWritten: ['azauth-provision', 'web'],
      mountsCreated: ['team-b'],
      configsWritten: ['azure', 'team-b'],
      kvMountsCreated: ['kv-app', 'kv-v1'],
      kvMountsTuned: [],
      rolesWritten: ['azure/web', 'team-b/batch', 'team-b/old', 'azure/azauth-provision'],
      rolesDeleted: [],
      rolesUndeclared: [],
      errors: [],
    });
    // A write answered 204 carries no "ignored parameters" warning, so the names are checked
    // against the read-back instead (and against the request schemas in consistency.test.ts).
    expect(run.stderr).not.toMatch(/warning from/);
    expect(run.resources).toEqual([stack.adminAudience]);

    const auth = (await read('sys/auth')).data as Record<string, { type: string; description: string }>;
    expect(auth['team-b/']).toMatchObject({ type: 'azure', description: 'Team B workloads' });
    expect((await read('auth/team-b/config')).data).toMatchObject({ tenant_id: TENANT_B, resource: 'api://team-b', max_retries: 5, retry_delay: 4 });
    expect((await read('auth/azure/role/web')).data).toMatchObject({
      bound_subscription_ids: [SUBSCRIPTION],
      bound_service_principal_ids: [],
      token_policies: ['web'],
      token_ttl: 3600,
      token_type: 'default',
      resource_verification: 'arm',
    });
    expect((await read('auth/team-b/role/batch')).data).toMatchObject({ token_type: 'batch', token_ttl: 900 });
    const roleKeys = Object.keys((await read('auth/azure/role/web')).data as object);
    expect(Object.keys(ROLE_DEFAULTS).filter((field) => !roleKeys.includes(field))).toEqual([]);
    const configKeys = Object.keys((await read('auth/azure/config')).data as object);
    expect(Object.keys(CONFIG_DEFAULTS).filter((field) => !configKeys.includes(field))).toEqual([]);

    expect((await read('sys/policies/acl/web')).data).toEqual({ name: 'web', policy: WEB_POLICY.policy });
    const kv = await secretMounts();
    expect(kv['kv-app/']).toMatchObject({ type: 'kv', description: 'Application secrets', options: { version: '2' }, config: { default_lease_ttl: 3600, max_lease_ttl: 0 } });
    expect(kv['kv-v1/']).toMatchObject({ type: 'kv', description: '', options: { version: '1' }, config: { default_lease_ttl: 0 } });
    afterFirstRun = await state();
  });

  it('binds the provisioning role to the provisioning principal, with only the provisioning policy, short-lived', async () => {
    expect((await read('auth/azure/role/azauth-provision')).data).toMatchObject({
      bound_service_principal_ids: [PROVISIONER],
      token_policies: ['azauth-provision'],
      token_ttl: 900,
      token_max_ttl: 900,
    });
    const policy = ((await read('sys/policies/acl/azauth-provision')).data as { policy: string }).policy;
    const rules = [...policy.matchAll(/path "([^"]+)" \{\n {2}capabilities = \[([^\]]*)\]\n\}/g)].map((m) => `${m[1] ?? ''}: ${m[2] ?? ''}`);
    expect(rules).toEqual([
      'sys/auth: "read"',
      'sys/auth/azure: "sudo", "update"',
      'auth/azure/config: "create", "update"',
      'sys/auth/team-b: "sudo", "update"',
      'auth/team-b/config: "create", "update"',
      'auth/azure/role/*: "create", "list", "update"',
      'auth/team-b/role/*: "create", "list", "update"',
      'auth/azure/role/azauth-provision: "read"',
      'sys/mounts: "read"',
      'sys/mounts/kv-app: "update"',
      'sys/mounts/kv-app/tune: "update"',
      'sys/mounts/kv-v1: "update"',
      'sys/mounts/kv-v1/tune: "update"',
      'sys/policies/acl/web: "update"',
    ]);
  });

  it('changes nothing when run again with the same declarations: same mounts (uuid, accessor), roles, configs, policies', async () => {
    const run = await runScript(declarations());
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary?.mountsCreated).toEqual([]);
    expect(run.summary?.kvMountsCreated).toEqual([]);
    expect(run.summary?.kvMountsTuned).toEqual(['kv-app', 'kv-v1']);
    expect(run.summary?.rolesDeleted).toEqual([]);
    expect(await state()).toEqual(afterFirstRun);
  });

  it('tunes an existing KV mount to the declarations: a description or TTL removed from Bicep is reset', async () => {
    const { description: _d, config: _c, ...bare } = KV_APP;
    const run = await runScript(declarations({ kvMounts: [bare, KV_V1] }));
    expect(run.code, run.stderr).toBe(0);
    expect((await secretMounts())['kv-app/']).toMatchObject({ description: '', config: { default_lease_ttl: 0 }, options: { version: '2' } });
    const back = await runScript(declarations());
    expect(back.code, back.stderr).toBe(0);
    expect(await state()).toEqual(afterFirstRun);
  });

  it('leaves a KV mount of another version alone, says why, applies the rest and exits non-zero', async () => {
    const before = await secretMounts();
    const run = await runScript(declarations({ kvMounts: [{ ...KV_APP, options: { version: '1' } }, { ...KV_V1, options: { version: '2' } }] }));
    expect(run.code).not.toBe(0);
    expect(run.summary?.errors).toEqual([
      'KV mount kv-app is version 2 but declared version 1; left alone: a KV mount cannot be downgraded (declare version 2)',
      expect.stringMatching(/^KV mount kv-v1 is version 1 but declared version 2; left alone: upgrading moves its data .*vault kv enable-versioning kv-v1/),
    ]);
    expect(run.summary?.rolesWritten).toContain('azure/web');
    const after = await secretMounts();
    expect(after['kv-app/']).toEqual(before['kv-app/']);
    expect(after['kv-v1/']).toEqual(before['kv-v1/']);
  });

  it('keeps an undeclared role without prune, and resets a field removed from a role', async () => {
    const { token_policies: _dropped, ...webWithoutPolicies } = WEB;
    const run = await runScript(declarations({ roles: [webWithoutPolicies, BATCH] }));
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary?.rolesUndeclared).toEqual(['team-b/old']);
    expect(run.summary?.rolesDeleted).toEqual([]);
    expect((await read('auth/team-b/role/old')).status).toBe(200);
    expect((await read('auth/azure/role/web')).data).toMatchObject({ token_policies: [] });
  });

  it('deletes the undeclared role with prune, never the provisioning role', async () => {
    const run = await runScript(declarations({ roles: [WEB, BATCH], prune: true }));
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary?.rolesDeleted).toEqual(['team-b/old']);
    expect((await read('auth/team-b/role/old')).status).toBe(404);
    expect((await read('auth/team-b/role/batch')).status).toBe(200);
    expect((await read('auth/azure/role/azauth-provision')).status).toBe(200);
    // Back to the declarations the narrow runs below use (prune off: the policy grants no delete).
    const back = await runScript(declarations({ roles: [WEB, BATCH] }));
    expect(back.code, back.stderr).toBe(0);
  });

  it('refuses bad declarations before writing anything', async () => {
    const policiesBefore = await policyNames();
    const withExtraMount = [...mounts(), { path: 'never-created', config: { tenant_id: TENANT_B, resource: 'x' } }];
    const cases: Array<[Partial<Declarations>, Authentication, string]> = [
      [{ mounts: withExtraMount, roles: [WEB, { ...WEB, name: 'web' }] }, {}, 'roles declared twice: azure/web'],
      [{ mounts: [{ path: 'a/b', config: { tenant_id: TENANT_B, resource: 'x' } }] }, {}, "invalid mount path 'a/b'"],
      [{ mounts: withExtraMount, policies: [WEB_POLICY, { name: 'root', policy: 'path "*" { capabilities = ["sudo"] }' }] }, {}, 'the root policy cannot be declared'],
      [{ mounts: withExtraMount, policies: [WEB_POLICY, { ...WEB_POLICY, name: 'Web' }] }, {}, 'policies declared twice: web'],
      [{ mounts: withExtraMount, policies: [{ name: 'azauth-provision', policy: 'path "x" {}' }] }, {}, 'is the provisioning policy of AZAUTH_PROVISION_LOGIN'],
      [{ mounts: withExtraMount, kvMounts: [{ path: 'sys', options: { version: '2' } }] }, {}, "invalid KV mount path 'sys': reserved"],
      [{ mounts: withExtraMount, kvMounts: [KV_APP, { ...KV_V1, path: 'kv-app' }] }, {}, 'KV mounts declared twice: kv-app'],
      [{ mounts: withExtraMount, login: {} }, { mode: 'login' }, 'AZAUTH_PROVISION_AUTH=login needs AZAUTH_PROVISION_LOGIN'],
      [{ mounts: withExtraMount }, { mode: 'token' }, 'AZAUTH_PROVISION_AUTH=token needs VAULT_TOKEN'],
    ];
    for (const [more, auth, message] of cases) {
      const run = await runScript(declarations(more), auth);
      expect(run.code, message).not.toBe(0);
      expect(run.stderr).toContain(message);
      expect(run.resources, message).toEqual([]);
    }
    const version3 = await runScript(declarations(), {}, { AZAUTH_KV_MOUNTS: JSON.stringify([{ path: 'kv-x', description: '', options: { version: '3' }, config: {} }]) });
    expect(version3.code).not.toBe(0);
    expect(version3.stderr).toContain('AZAUTH_KV_MOUNTS must be a JSON array of {path, description, options: {version: "1" or "2"}, config}');
    const auth = (await read('sys/auth')).data as Record<string, unknown>;
    expect(Object.keys(auth)).not.toContain('never-created/');
    expect(await policyNames()).toEqual(policiesBefore);
  });

  it("reports the API's refusals, applies the rest, and exits non-zero", async () => {
    const roles = [{ ...BATCH, token_period: '1h' }, { mount: 'missing', name: 'x', bound_service_principal_ids: [PRINCIPAL] }, WEB];
    const run = await runScript(declarations({ roles, login: {} }));
    expect(run.code).not.toBe(0);
    expect(run.summary?.errors).toEqual([
      expect.stringMatching(/^POST auth\/team-b\/role\/batch answered 400: 'token_type' cannot be 'batch'/),
      'role x: mount missing neither exists nor was created',
    ]);
    expect(run.summary?.rolesWritten).toEqual(['azure/web']);
  });

  it('stops with a clear message when the identity is not an admin', async () => {
    const admin = readFileSync(adminTokenFile, 'utf8');
    writeFileSync(adminTokenFile, await stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: stack.adminAudience, oid: PRINCIPAL }));
    try {
      const run = await runScript(declarations());
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('PUT sys/policies/acl/azauth-provision answered 403: permission denied');
      expect(run.stderr).toContain('GET sys/auth answered 403: permission denied');
    } finally {
      writeFileSync(adminTokenFile, admin);
    }
  });
});

describe('provision.sh with the narrow provisioning token, once the bootstrap is done', SCRIPT_TESTS, () => {
  const narrow = (): Declarations => declarations({ roles: [WEB, BATCH] });
  let bootstrapped: Record<string, unknown>;

  beforeAll(async () => {
    const run = await runScript(narrow());
    if (run.code !== 0) throw new Error(`bootstrap run failed: ${run.stderr}`);
    bootstrapped = await state();
  }, SCRIPT_TESTS.timeout);

  it('logs in through the provisioning role (no admin token asked for), applies the declarations, changes nothing, and revokes its token', async () => {
    const run = await runScript(narrow(), { mode: 'login' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.resources).toEqual([ARM]);
    expect(run.summary).toMatchObject({
      auth: 'login',
      policiesWritten: ['web'],
      mountsCreated: [],
      configsWritten: ['azure', 'team-b'],
      kvMountsCreated: [],
      kvMountsTuned: ['kv-app', 'kv-v1'],
      rolesWritten: ['azure/web', 'team-b/batch'],
      errors: [],
    });
    expect(run.stderr).toContain('only an Entra-admin run writes them');
    expect(await state()).toEqual(bootstrapped);
    expect(await provisionerTokensStored()).toBe(0);
  });

  it('works with VAULT_TOKEN from a login, and leaves that token to its owner', async () => {
    const token = await login(await provisionerToken());
    const run = await runScript(narrow(), { vaultToken: token });
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary?.auth).toBe('token');
    expect(run.resources).toEqual([]);
    expect(await state()).toEqual(bootstrapped);
    expect((await read('auth/token/lookup-self', token)).status).toBe(200);
    // The probe of the previous test sees a live token of the provisioner: its 0 there means revoked.
    expect(await provisionerTokensStored()).toBe(1);
  });

  it('fails with the API\'s 403 and a non-zero exit for what the provisioning policy does not grant, and applies the rest', async () => {
    const wider = declarations({
      roles: [WEB, BATCH],
      mounts: [...mounts(), { path: 'team-c', config: { tenant_id: TENANT_B, resource: 'api://team-c' } }],
      policies: [WEB_POLICY, { name: 'extra', policy: 'path "kv-app/data/extra/*" {\n  capabilities = ["read"]\n}\n' }],
      kvMounts: [KV_APP, KV_V1, { path: 'kv-new', options: { version: '2' } }],
    });
    const run = await runScript(wider, { mode: 'login' });
    expect(run.code).not.toBe(0);
    expect(run.summary?.errors).toEqual([
      'PUT sys/policies/acl/extra answered 403: permission denied',
      'POST sys/auth/team-c answered 403: permission denied',
      'POST sys/mounts/kv-new answered 403: permission denied',
    ]);
    expect(run.stderr).toContain('run the script once as an admin (AZAUTH_PROVISION_AUTH=admin) to widen it');
    expect(run.summary?.rolesWritten).toEqual(['azure/web', 'team-b/batch']);
    expect((await read('sys/policies/acl/extra')).status).toBe(404);
    expect(Object.keys(await secretMounts())).not.toContain('kv-new/');

    // An admin run widens the provisioning policy; from then on the narrow run applies the same.
    const admin = await runScript(wider);
    expect(admin.code, admin.stderr).toBe(0);
    const again = await runScript(wider, { mode: 'login' });
    expect(again.code, again.stderr).toBe(0);
    expect(again.summary?.errors).toEqual([]);
  });

  it('holds a token that cannot widen itself, read secrets, disable mounts or roll keys', async () => {
    const token = await login(await provisionerToken());
    const denied: Array<[string, string, unknown]> = [
      ['PUT', 'sys/policies/acl/azauth-provision', { policy: 'path "*" { capabilities = ["sudo", "read"] }' }],
      ['POST', 'auth/azure/role/azauth-provision', { bound_service_principal_ids: [PROVISIONER], token_policies: ['azauth-provision', 'web'] }],
      ['PUT', 'sys/policies/acl/not-declared', { policy: 'path "x" {}' }],
      ['DELETE', 'sys/mounts/kv-app', undefined],
      ['DELETE', 'sys/auth/team-b', undefined],
      ['GET', 'kv-app/data/web/db', undefined],
      ['GET', 'sys/rotate/root', undefined],
      ['POST', 'sys/rotate', {}],
      ['DELETE', 'auth/azure/role/web', undefined],
    ];
    for (const [method, where, body] of denied) {
      const res = await stack.request(method, where, { token, body });
      expect(res.status, `${method} ${where}`).toBe(403);
      expect(res.json, `${method} ${where}`).toEqual({ errors: ['permission denied'] });
    }
    // And the provisioning principal is no admin: its Entra token alone is nothing.
    const entra = await stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: stack.adminAudience, oid: PROVISIONER });
    expect((await stack.request('GET', 'sys/auth', { token: entra })).status).toBe(403);
  });

  it('stops with a clear message when the login is refused', async () => {
    const good = readFileSync(loginTokenFile, 'utf8');
    writeFileSync(loginTokenFile, await stack.emulator.entra.mintToken({ tenant: stack.emulator.defaultTenantId, audience: ARM, oid: PRINCIPAL }));
    try {
      const run = await runScript(narrow(), { mode: 'login' });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/login at auth\/azure\/login with role azauth-provision answered 403: .*is this identity bound to it\?/);
      expect(run.summary).toBeUndefined();
    } finally {
      writeFileSync(loginTokenFile, good);
    }
  });
});
