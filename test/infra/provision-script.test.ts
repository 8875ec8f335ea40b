/**
 * infra/scripts/provision.sh (what the provisioning deployment script runs) against the real app on
 * the local host: the payloads are built exactly as infra/modules/provision.bicep builds them (its
 * own default objects, read from the Bicep file), and `az` is a stand-in that hands out an admin
 * token minted by the cloud emulator, as the deployment identity would get from Entra.
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

type Declared = Record<string, BicepLiteral>;
interface DeclaredMount {
  path: string;
  description?: string;
  config: Declared;
}

/** provision.bicep's desiredMounts / desiredRoles. */
const mountsPayload = (mounts: DeclaredMount[]) =>
  JSON.stringify(mounts.map((m) => ({ path: m.path, description: m.description ?? '', config: { ...CONFIG_DEFAULTS, ...m.config } })));
const rolesPayload = (roles: Declared[]) => JSON.stringify(roles.map((r) => ({ ...ROLE_DEFAULTS, ...r })));

interface Summary {
  mountsCreated: string[];
  configsWritten: string[];
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
}

const TENANT_A = '6f1c7a52-0c0e-4a38-9d8e-2b6f0d7c1a11';
const TENANT_B = '0d5b3c1e-8f2a-4c67-b1d9-7e3a9c4f2b22';
const SUBSCRIPTION = '3c9e5a7b-1d2f-4e8a-9b6c-5f7d1e3a9c33';
const PRINCIPAL = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c44';
const GROUP = '2b4d6f8a-0c1e-4f3a-9b5d-7e9f1a3c5e55';

const MOUNTS: DeclaredMount[] = [
  { path: 'azure', config: { tenant_id: TENANT_A, resource: 'https://management.azure.com/' } },
  { path: 'team-b', description: 'Team B workloads', config: { tenant_id: TENANT_B, resource: 'api://team-b', max_retries: 5 } },
];
const WEB: Declared = { mount: 'azure', name: 'Web', bound_subscription_ids: [SUBSCRIPTION], token_policies: ['web'], token_ttl: '1h' };
const BATCH: Declared = { mount: 'team-b', name: 'batch', bound_service_principal_ids: [PRINCIPAL], token_type: 'batch', token_ttl: '15m' };
const OLD: Declared = { mount: 'team-b', name: 'old', bound_group_ids: [GROUP], token_policies: ['legacy'] };

let stack: Stack;
let fakeBin: string;
let tokenFile: string;
let requestedResources: string;

beforeAll(async () => {
  stack = await startStack();
  fakeBin = mkdtempSync(path.join(tmpdir(), 'azauth-fake-az-'));
  tokenFile = path.join(fakeBin, 'token');
  requestedResources = path.join(fakeBin, 'resources');
  writeFileSync(requestedResources, '');
  // Only the one call the script makes; anything else fails loudly.
  writeFileSync(
    path.join(fakeBin, 'az'),
    [
      '#!/usr/bin/env bash',
      'if [[ "$1 $2" == "account get-access-token" && "$3" == "--resource" ]]; then',
      `  echo "$4" >>'${requestedResources}'`,
      `  cat '${tokenFile}'`,
      '  exit 0',
      'fi',
      'echo "fake az: unexpected call: $*" >&2',
      'exit 2',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(fakeBin, 'az'), 0o755);
  writeFileSync(tokenFile, await stack.adminToken());
});

afterAll(async () => {
  await stack?.stop();
  if (fakeBin) rmSync(fakeBin, { recursive: true, force: true });
});

function runScript(mounts: string, roles: string, prune: boolean): Promise<RunResult> {
  return new Promise((resolve) => {
    // Asynchronous on purpose: the host verifies the admin token against the emulator, which runs
    // in this process and must keep answering while the script runs.
    execFile(
      'bash',
      [SCRIPT],
      {
        env: {
          PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
          HOME: process.env.HOME ?? tmpdir(),
          VAULT_ADDR: `${stack.url}/`,
          AZAUTH_ADMIN_AUDIENCE: stack.adminAudience,
          AZAUTH_MOUNTS: mounts,
          AZAUTH_ROLES: roles,
          AZAUTH_PRUNE: prune ? 'true' : 'false',
          AZAUTH_HEALTH_WAIT_SECONDS: '20',
          AZAUTH_POLL_SECONDS: '1',
        },
        timeout: 60_000,
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
        resolve({ code, stdout, stderr, summary });
      },
    );
  });
}

async function read(pathUnderV1: string): Promise<{ status: number; data: unknown }> {
  const res = await stack.request('GET', pathUnderV1, { token: await stack.adminToken() });
  const body = res.json as { data?: unknown } | undefined;
  return { status: res.status, data: body?.data };
}

/** What an operator would compare: every config and role the declarations touch. */
async function state(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const p of ['auth/azure/config', 'auth/team-b/config', 'auth/azure/role/web', 'auth/team-b/role/batch', 'auth/team-b/role/old']) {
    out[p] = await read(p);
  }
  const mounts = (await read('sys/auth')).data as Record<string, { accessor: string; description: string }>;
  out['sys/auth team-b'] = mounts['team-b/'];
  return out;
}

describe('provision.sh against the app', () => {
  let afterFirstRun: Record<string, unknown>;

  it('creates the missing mount and writes configs and roles, every field under a name the API reads back', async () => {
    const run = await runScript(mountsPayload(MOUNTS), rolesPayload([WEB, BATCH, OLD]), false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary).toEqual({
      mountsCreated: ['team-b'],
      configsWritten: ['azure', 'team-b'],
      rolesWritten: ['azure/web', 'team-b/batch', 'team-b/old'],
      rolesDeleted: [],
      rolesUndeclared: [],
      errors: [],
    });
    // A write answered 204 carries no "ignored parameters" warning, so the names are checked
    // against the read-back instead (and against the request schemas in consistency.test.ts).
    expect(run.stderr).not.toMatch(/warning from/);
    expect(readFileSync(requestedResources, 'utf8').trim()).toBe(stack.adminAudience);

    const mounts = (await read('sys/auth')).data as Record<string, { type: string; description: string }>;
    expect(mounts['team-b/']).toMatchObject({ type: 'azure', description: 'Team B workloads' });
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
    afterFirstRun = await state();
  });

  it('changes nothing when run again with the same declarations', async () => {
    const run = await runScript(mountsPayload(MOUNTS), rolesPayload([WEB, BATCH, OLD]), false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary?.mountsCreated).toEqual([]);
    expect(run.summary?.rolesDeleted).toEqual([]);
    expect(await state()).toEqual(afterFirstRun);
  });

  it('keeps an undeclared role without prune, and resets a field removed from a role', async () => {
    const { token_policies: _dropped, ...webWithoutPolicies } = WEB;
    const run = await runScript(mountsPayload(MOUNTS), rolesPayload([webWithoutPolicies, BATCH]), false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary?.rolesUndeclared).toEqual(['team-b/old']);
    expect(run.summary?.rolesDeleted).toEqual([]);
    expect((await read('auth/team-b/role/old')).status).toBe(200);
    expect((await read('auth/azure/role/web')).data).toMatchObject({ token_policies: [] });
  });

  it('deletes the undeclared role with prune', async () => {
    const run = await runScript(mountsPayload(MOUNTS), rolesPayload([WEB, BATCH]), true);
    expect(run.code, run.stderr).toBe(0);
    expect(run.summary?.rolesDeleted).toEqual(['team-b/old']);
    expect((await read('auth/team-b/role/old')).status).toBe(404);
    expect((await read('auth/team-b/role/batch')).status).toBe(200);
  });

  it('refuses bad declarations before writing anything', async () => {
    const mounts = [...MOUNTS, { path: 'never-created', config: { tenant_id: TENANT_A, resource: 'x' } }];
    const twice = await runScript(mountsPayload(mounts), rolesPayload([WEB, { ...WEB, name: 'web' }]), false);
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain('roles declared twice: azure/web');
    const badPath = await runScript(mountsPayload([{ path: 'a/b', config: { tenant_id: TENANT_A, resource: 'x' } }]), '[]', false);
    expect(badPath.code).not.toBe(0);
    expect(badPath.stderr).toContain("invalid mount path 'a/b'");
    const mountsNow = (await read('sys/auth')).data as Record<string, unknown>;
    expect(Object.keys(mountsNow)).not.toContain('never-created/');
  });

  it('reports the API\'s refusals, applies the rest, and exits non-zero', async () => {
    const roles = [{ ...BATCH, token_period: '1h' }, { mount: 'missing', name: 'x', bound_service_principal_ids: [PRINCIPAL] }, WEB];
    const run = await runScript(mountsPayload(MOUNTS), rolesPayload(roles), false);
    expect(run.code).not.toBe(0);
    expect(run.summary?.errors).toEqual([
      expect.stringMatching(/^POST auth\/team-b\/role\/batch answered 400: 'token_type' cannot be 'batch'/),
      'role x: mount missing neither exists nor was created',
    ]);
    expect(run.summary?.rolesWritten).toEqual(['azure/web']);
  });

  it('stops with a clear message when the identity is not an admin', async () => {
    const admin = readFileSync(tokenFile, 'utf8');
    writeFileSync(tokenFile, await stack.emulator.entra.mintToken({ tenant: stack.adminTenantId, audience: stack.adminAudience, oid: PRINCIPAL }));
    try {
      const run = await runScript(mountsPayload(MOUNTS), '[]', false);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('GET sys/auth answered 403: permission denied');
    } finally {
      writeFileSync(tokenFile, admin);
    }
  });
});
