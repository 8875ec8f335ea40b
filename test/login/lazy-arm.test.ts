/**
 * The ARM SDK and @azure/identity are loaded only by a login that needs ARM. Runs the login service
 * in-process with in-memory stores and a stand-in verifier; the two packages are replaced by
 * modules that record being loaded.
 */
import { describe, expect, it, vi } from 'vitest';
import { LoginService, type LoginDependencies } from '../../shared/login/login';
import { newMountConfig } from '../../shared/config/types';
import { newRole, type Role } from '../../shared/roles/types';
import { readSettings } from '../../shared/settings';
import { DEFAULT_TUNING, type Mount } from '../../shared/mounts/types';

const loaded = vi.hoisted(() => ({ compute: 0, identity: 0 }));

vi.mock('@azure/arm-compute', () => {
  loaded.compute++;
  return {};
});
vi.mock('@azure/arm-compute/api', () => {
  loaded.compute++;
  return {};
});
vi.mock('@azure/identity', () => {
  loaded.identity++;
  return {
    ManagedIdentityCredential: class {
      async getToken(): Promise<null> {
        return null;
      }
    },
  };
});

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SUB = '0f8fad5b-d9cb-469f-a165-70867728950e';
const OID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const VM = `/subscriptions/${SUB}/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/web`;

function service(roles: Record<string, Role>): LoginService {
  const mount: Mount = {
    table: 'auth',
    path: 'azure',
    type: 'azure',
    accessor: 'auth_azure_1',
    uuid: 'u',
    description: '',
    local: false,
    sealWrap: false,
    externalEntropyAccess: false,
    options: null,
    tuning: DEFAULT_TUNING,
    state: 'active',
    disablingSince: '',
    upgrading: false,
    upgradingSince: '',
    createdAt: '',
  };
  const deps: LoginDependencies = {
    mounts: { active: async (_table, path) => (path === 'azure' ? mount : undefined) },
    roles: { read: async (_mount, name) => roles[name] },
    configs: {
      read: async () => ({ ...newMountConfig(new Date()), tenantId: TENANT, resource: 'https://management.azure.com/' }),
      openClientSecret: () => '',
    },
    settings: readSettings({}),
    verifier: {
      verifyEntraToken: async () => ({
        issuerKind: 'v1',
        claims: { iss: `https://sts.windows.net/${TENANT}/`, tid: TENANT, exp: Date.now() / 1000 + 3600, oid: OID, appid: 'app', xms_mirid: VM },
      }),
    },
    issueToken: async (spec) => ({
      warnings: [],
      auth: {
        client_token: 'hvs.x',
        accessor: 'a',
        policies: ['default'],
        token_policies: ['default'],
        metadata: spec.meta ? { ...spec.meta } : null,
        lease_duration: 60,
        renewable: true,
        entity_id: 'e',
        token_type: spec.type,
        orphan: true,
        mfa_requirement: null,
        num_uses: 0,
      },
    }),
  };
  return new LoginService(deps);
}

const request = (role: string) => ({ role, jwt: 'a.b.c', subscription_id: SUB, resource_group_name: 'rg', vm_name: 'web', vmss_name: '', resource_id: '' });

describe('lazy ARM imports', () => {
  it('logins that need no ARM load neither package; the first ARM login loads them', async () => {
    const login = service({
      sp: { ...newRole('sp'), boundServicePrincipalIds: [OID] },
      claims: { ...newRole('claims'), boundServicePrincipalIds: ['*'], boundResourceGroups: ['rg'], resourceVerification: 'claims' },
      arm: { ...newRole('arm'), boundServicePrincipalIds: ['*'], boundResourceGroups: ['rg'] },
    });
    const bySp = await login.login({ mount: 'azure', request: request('sp'), remoteAddress: '127.0.0.1' });
    expect(bySp.auth.metadata).toMatchObject({ role: 'sp', vm_name: 'web', app_id: 'app' });
    await login.login({ mount: 'azure', request: request('claims'), remoteAddress: '127.0.0.1' });
    expect(loaded).toEqual({ compute: 0, identity: 0 });
    // The stand-in packages cannot read ARM; what matters here is that they were loaded.
    await expect(login.login({ mount: 'azure', request: request('arm'), remoteAddress: '127.0.0.1' })).rejects.toThrow();
    expect(loaded.identity).toBe(1);
    expect(loaded.compute).toBeGreaterThan(0);
  });

  it('an IPv4 caller reported as IPv4-mapped IPv6 matches IPv4 blocks', async () => {
    const login = service({ cidr: { ...newRole('cidr'), boundServicePrincipalIds: [OID], tokenBoundCidrs: ['10.0.0.0/8'] } });
    await expect(login.login({ mount: 'azure', request: request('cidr'), remoteAddress: '::ffff:10.1.2.3' })).resolves.toBeDefined();
    await expect(login.login({ mount: 'azure', request: request('cidr'), remoteAddress: '::ffff:11.1.2.3' })).rejects.toThrow('permission denied');
    await expect(login.login({ mount: 'azure', request: request('cidr'), remoteAddress: undefined })).rejects.toThrow('permission denied');
  });
});
