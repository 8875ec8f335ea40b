/**
 * The one authorization decision (shared/access/enforce.ts) with fakes for tokens and the Entra
 * verifier and the real policy engine: who may call what, and when a use of a token is spent.
 */
import { describe, expect, it } from 'vitest';
import { adminPolicyFromSettings, type AdminPolicy, type EntraVerifier } from '../../shared/access/admin-policy';
import { createAccessControl } from '../../shared/access/enforce';
import { EntraTokenError, type EntraTokenFailure } from '../../shared/entra/errors';
import type { EntraTokenExpectation, VerifiedEntraToken } from '../../shared/entra/verify';
import { Acl } from '../../shared/policies/acl';
import { parsePolicy } from '../../shared/policies/parse';
import { readSettings } from '../../shared/settings';
import type { TokenRecord } from '../../shared/tokens/record';
import type { ResolvedToken } from '../../shared/tokens/service';
import type { AccessRequest } from '../../shared/vault/endpoint';
import { VaultError, invalidToken } from '../../shared/vault/errors';
import type { TokenView } from '../../shared/vault/types';

const TENANT = '0b6f3a5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const ADMIN_OID = '11111111-2222-4333-8444-555555555555';
const OTHER_OID = '99999999-8888-4777-8666-555555555555';
const AUDIENCE = 'api://azauth-admin';
const AUTHORITY = 'https://127.0.0.1:9443';

/** Token strings the fake verifier knows; the shape matters to the decision, the content does not. */
const jwt = (name: string): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(name).toString('base64url')}.c2ln`;

type Outcome = { oid?: string } | EntraTokenFailure | VaultError;

class FakeVerifier implements EntraVerifier {
  readonly calls: Array<{ jwt: string; expected: EntraTokenExpectation }> = [];
  constructor(private readonly outcomes: Record<string, Outcome>) {}
  async verifyEntraToken(token: string, expected: EntraTokenExpectation): Promise<VerifiedEntraToken> {
    this.calls.push({ jwt: token, expected });
    const outcome = this.outcomes[token];
    if (outcome === undefined) throw new EntraTokenError('malformed', 'oidc: malformed jwt: unknown to the fake');
    if (outcome instanceof VaultError) throw outcome;
    if (typeof outcome === 'string') throw new EntraTokenError(outcome, `refused: ${outcome}`);
    return { issuerKind: 'v1', claims: { iss: `https://sts.windows.net/${TENANT}/`, tid: TENANT, exp: 2e9, ...outcome } };
  }
}

const POLICIES: Record<string, string> = {
  reader: 'path "secret/data/app/*" { capabilities = ["read"] }\npath "secret/metadata/app" { capabilities = ["list"] }',
  creator: 'path "auth/azure/role/*" { capabilities = ["create"] }',
  enabler: 'path "sys/auth/*" { capabilities = ["create", "update"] }',
  superuser: 'path "sys/auth/*" { capabilities = ["create", "update", "sudo"] }',
};

function record(policies: string[], numUses = 0): TokenRecord {
  return {
    type: 'service',
    hash: 'h',
    accessor: `acc-${policies.join('-')}`,
    policies,
    meta: null,
    displayName: 't',
    path: 'auth/token/create',
    mount: 'token',
    mountAccessor: 'auth_token_1',
    ancestors: [],
    role: '',
    principalId: 'p-1',
    tenantId: '',
    entityId: '',
    issueTimeMs: 0,
    creationTtl: 0,
    expireTimeMs: null,
    explicitMaxTtl: 0,
    numUses,
    period: 0,
    renewable: false,
    boundCidrs: [],
    issueTtl: 0,
    issueMaxTtl: 0,
    lastRenewalTimeMs: null,
  };
}

function rig(options: { admin?: Partial<AdminPolicy>; outcomes?: Record<string, Outcome> } = {}) {
  const verifier = new FakeVerifier({ [jwt('admin')]: { oid: ADMIN_OID }, [jwt('user')]: { oid: OTHER_OID }, [jwt('no-oid')]: {}, ...options.outcomes });
  const known: Record<string, TokenRecord> = {
    'hvs.root': record(['root']),
    'hvs.reader': record(['default', 'reader']),
    'hvs.creator': record(['creator']),
    'hvs.enabler': record(['enabler']),
    'hvs.superuser': record(['superuser']),
    'hvs.limited': record(['reader'], 2),
    'hvs.nothing': record([]),
  };
  const resolved: Array<{ token: string; remoteAddress: string | undefined }> = [];
  const used: string[] = [];
  const warnings: string[] = [];
  const admin: AdminPolicy = { tenantId: TENANT, audience: AUDIENCE, principalIds: [ADMIN_OID.toUpperCase()], cloud: () => ({ authorityHost: AUTHORITY }), ...options.admin };
  const access = createAccessControl({
    tokens: {
      resolve: async (token, remoteAddress) => {
        resolved.push({ token, remoteAddress });
        const found = known[token];
        if (!found) throw invalidToken();
        return { token, record: found, etag: 'e' };
      },
      use: async (found: ResolvedToken) => {
        used.push(found.token);
        return { ...found, record: { ...found.record, numUses: Math.max(0, found.record.numUses - 1) } };
      },
      viewOf: (found: ResolvedToken, limitedUse: boolean): TokenView => ({
        hash: found.record.hash,
        accessor: found.record.accessor,
        type: found.record.type,
        policies: found.record.policies,
        mount: found.record.mount,
        mountAccessor: found.record.mountAccessor,
        principalId: found.record.principalId,
        entityId: found.record.entityId,
        limitedUse,
      }),
    },
    policies: {
      aclFor: async (names) =>
        names.includes('root') ? Acl.ROOT : Acl.build(names.filter((n) => POLICIES[n] !== undefined).map((name) => ({ name, rules: parsePolicy(POLICIES[name]!).rules }))),
    },
    verifier,
    admin,
    warn: (m) => warnings.push(m),
  });
  const check = (input: Partial<AccessRequest> & { token?: string | undefined }) =>
    access.check({ path: 'sys/auth', operation: 'read', data: {}, remoteAddress: undefined, unauthenticated: false, token: undefined, ...input });
  return { access, check, verifier, resolved, used, warnings };
}

async function refusal(promise: Promise<unknown>): Promise<VaultError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof VaultError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const PLAIN_DENIAL = { code: 'permission_denied', status: 403, errors: ['permission denied'] };

function expectInvalidToken(err: VaultError): void {
  expect(err.status).toBe(403);
  expect(err.code).toBe('invalid_token');
  expect(err.errors.join()).toContain('permission denied');
  expect(err.errors.join()).toContain('invalid token');
}

describe('unauthenticated paths', () => {
  it('are anonymous whatever the token, which is never looked at', async () => {
    const r = rig();
    for (const token of [undefined, 'garbage', jwt('user'), 'hvs.root']) {
      await expect(r.check({ unauthenticated: true, token })).resolves.toMatchObject({ caller: { kind: 'anonymous' }, rootOrSudo: false });
    }
    expect(r.verifier.calls).toHaveLength(0);
    expect(r.resolved).toHaveLength(0);
  });
});

describe('Entra admins (the bootstrap)', () => {
  it('a listed admin is root (object id compared case-insensitively)', async () => {
    const r = rig();
    const grant = await r.check({ token: jwt('admin'), path: 'sys/auth/x', operation: 'update' });
    expect(grant.caller).toMatchObject({ kind: 'entra-admin', principalId: ADMIN_OID, tenantId: TENANT });
    expect(grant.rootOrSudo).toBe(true);
    expect(r.verifier.calls[0]?.expected).toEqual({ tenantId: TENANT, audience: AUDIENCE, cloud: { authorityHost: AUTHORITY } });
  });

  it('a valid token of a principal who is not an admin: plain permission denied', async () => {
    const r = rig();
    expect(await refusal(r.check({ token: jwt('user') }))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(r.check({ token: jwt('no-oid') }))).toMatchObject(PLAIN_DENIAL);
  });

  it.each<EntraTokenFailure>(['malformed', 'too_long', 'algorithm', 'issuer', 'tenant', 'audience', 'expired', 'not_yet_valid', 'missing_exp', 'signature', 'unknown_key'])(
    'a token refused for %s: invalid token',
    async (reason) => {
      const token = jwt(`bad-${reason}`);
      expectInvalidToken(await refusal(rig({ outcomes: { [token]: reason } }).check({ token })));
    },
  );

  it('Entra being unavailable is 502; a verifier refusing our own settings is 500 naming them', async () => {
    const outage = jwt('outage');
    expect((await refusal(rig({ outcomes: { [outage]: new VaultError('entra_unavailable', 'entra unavailable: 503') } }).check({ token: outage }))).status).toBe(502);
    const bad = jwt('bad-settings');
    const err = await refusal(rig({ outcomes: { [bad]: new VaultError('bad_request', 'tenant_id "a/b" is not a tenant id') } }).check({ token: bad }));
    expect(err.code).toBe('internal');
    expect(err.message).toContain('AZAUTH_ADMIN_TENANT_ID');
  });

  it('with the admin tenant or audience unset: plain permission denied, nothing verified, one warning', async () => {
    for (const admin of [{ tenantId: undefined }, { audience: undefined }]) {
      const r = rig({ admin });
      expect(await refusal(r.check({ token: jwt('admin') }))).toMatchObject(PLAIN_DENIAL);
      expect(await refusal(r.check({ token: jwt('user') }))).toMatchObject(PLAIN_DENIAL);
      expect(r.verifier.calls).toHaveLength(0);
      expect(r.warnings).toEqual([expect.stringContaining('AZAUTH_ADMIN_TENANT_ID')]);
    }
  });

  it('with no admin principal listed: verified tokens are denied, with one warning', async () => {
    const r = rig({ admin: { principalIds: [] } });
    expect(await refusal(r.check({ token: jwt('admin') }))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(r.check({ token: jwt('admin') }))).toMatchObject(PLAIN_DENIAL);
    expect(r.warnings).toEqual([expect.stringContaining('AZAUTH_ADMIN_PRINCIPAL_IDS')]);
  });
});

describe('tokens of ours: the ACL decides', () => {
  it('no token: plain permission denied; garbage: invalid token without any lookup', async () => {
    const r = rig();
    expect(await refusal(r.check({ token: undefined }))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(r.check({ token: '' }))).toMatchObject(PLAIN_DENIAL);
    for (const token of ['garbage', 'a.b', 'Bearer x', 's.legacytoken', 'a.b.c.d', '!!.??.**']) expectInvalidToken(await refusal(r.check({ token })));
    expect(r.verifier.calls).toHaveLength(0);
    expect(r.resolved).toHaveLength(0);
  });

  it('a dead token of ours: invalid token', async () => {
    expectInvalidToken(await refusal(rig().check({ token: 'hvs.revoked' })));
  });

  it('grants what the policy grants and denies the rest, passing the address to the token check', async () => {
    const r = rig();
    const grant = await r.check({ token: 'hvs.reader', path: 'secret/data/app/db', remoteAddress: '192.0.2.1' });
    expect(grant.caller).toMatchObject({ kind: 'token', token: { policies: ['default', 'reader'] } });
    expect(grant.rootOrSudo).toBe(false);
    expect(r.resolved[0]).toEqual({ token: 'hvs.reader', remoteAddress: '192.0.2.1' });
    expect(await refusal(r.check({ token: 'hvs.reader', path: 'secret/data/other' }))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(r.check({ token: 'hvs.reader', path: 'secret/data/app/db', operation: 'update' }))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(r.check({ token: 'hvs.nothing', path: 'auth/token/lookup-self' }))).toMatchObject(PLAIN_DENIAL);
  });

  it('a list is checked on the path with a trailing slash', async () => {
    const r = rig();
    await expect(r.check({ token: 'hvs.reader', path: 'secret/metadata/app', operation: 'list' })).resolves.toBeDefined();
    expect(await refusal(r.check({ token: 'hvs.reader', path: 'secret/metadata/app', operation: 'read' }))).toMatchObject(PLAIN_DENIAL);
  });

  it('a write is a create when the existence check finds nothing, else an update', async () => {
    const r = rig();
    await expect(r.check({ token: 'hvs.creator', path: 'auth/azure/role/new', operation: 'update', exists: async () => false })).resolves.toBeDefined();
    expect(await refusal(r.check({ token: 'hvs.creator', path: 'auth/azure/role/old', operation: 'update', exists: async () => true }))).toMatchObject(PLAIN_DENIAL);
    // Without an existence check a write is always an update.
    expect(await refusal(r.check({ token: 'hvs.creator', path: 'auth/azure/role/x', operation: 'update' }))).toMatchObject(PLAIN_DENIAL);
  });

  it('the existence check is made only for an ACL that could tell create from update (a root ACL allows both)', async () => {
    const r = rig();
    let checks = 0;
    const exists = async (): Promise<boolean> => {
      checks++;
      return true;
    };
    await expect(r.check({ token: 'hvs.root', path: 'auth/azure/role/any', operation: 'update', exists })).resolves.toBeDefined();
    expect(checks).toBe(0);
    expect(await refusal(r.check({ token: 'hvs.creator', path: 'auth/azure/role/old', operation: 'update', exists }))).toMatchObject(PLAIN_DENIAL);
    expect(checks).toBe(1);
  });

  it('a root-protected path needs sudo on the winning rule', async () => {
    const r = rig();
    expect(await refusal(r.check({ token: 'hvs.enabler', path: 'sys/auth/azure2', operation: 'update' }))).toMatchObject(PLAIN_DENIAL);
    const grant = await r.check({ token: 'hvs.superuser', path: 'sys/auth/azure2', operation: 'update' });
    expect(grant.rootOrSudo).toBe(true);
    await expect(r.check({ token: 'hvs.root', path: 'sys/auth/azure2', operation: 'delete' })).resolves.toMatchObject({ rootOrSudo: true });
  });

  it('a use is spent only after the decision allowed the request, and limited use is judged before it', async () => {
    const r = rig();
    expect(await refusal(r.check({ token: 'hvs.limited', path: 'secret/data/other' }))).toMatchObject(PLAIN_DENIAL);
    expect(r.used).toEqual([]);
    const grant = await r.check({ token: 'hvs.limited', path: 'secret/data/app/x' });
    expect(r.used).toEqual(['hvs.limited']);
    expect(grant.caller).toMatchObject({ kind: 'token', token: { limitedUse: true } });
  });

  it('the ACL of a token being looked at skips the address check and spends no use', async () => {
    const r = rig();
    const looked = await r.access.aclOfToken('hvs.reader');
    expect(looked?.capabilities('secret/data/app/db')).toEqual(['read']);
    expect(await r.access.aclOfToken('hvs.unknown')).toBeUndefined();
    expect(await r.access.aclOfToken(jwt('admin'))).toBeUndefined();
    expect(r.used).toEqual([]);
  });
});

describe('admin policy from the app settings', () => {
  it('reads tenant, audience, principal list and the cloud with the authority override', () => {
    const policy = adminPolicyFromSettings(
      readSettings({
        AZAUTH_ADMIN_TENANT_ID: TENANT,
        AZAUTH_ADMIN_AUDIENCE: AUDIENCE,
        AZAUTH_ADMIN_PRINCIPAL_IDS: `${ADMIN_OID}, ${OTHER_OID}`,
        AZURE_ENVIRONMENT: 'azurechinacloud',
        AZURE_AUTHORITY_HOST: 'http://127.0.0.1:7000',
      }),
    );
    expect(policy).toMatchObject({ tenantId: TENANT, audience: AUDIENCE, principalIds: [ADMIN_OID, OTHER_OID] });
    expect(policy.cloud()).toMatchObject({ name: 'AzureChinaCloud', authorityHost: 'http://127.0.0.1:7000' });
    expect(adminPolicyFromSettings(readSettings({})).cloud()).toMatchObject({ authorityHost: 'https://login.microsoftonline.com' });
  });

  it('turns a bad cloud setting into a 500 naming it when an admin call needs it', async () => {
    const unknownCloud = adminPolicyFromSettings(readSettings({ AZURE_ENVIRONMENT: 'Mars' }));
    expect(() => unknownCloud.cloud()).toThrow('invalid app setting AZURE_ENVIRONMENT: no cloud configuration matching the name "MARS"');
    const badHost = adminPolicyFromSettings(readSettings({ AZURE_AUTHORITY_HOST: 'http://login.example.com' }));
    expect(() => badHost.cloud()).toThrow('invalid app setting AZURE_AUTHORITY_HOST');
    const err = await refusal(rig({ admin: { cloud: badHost.cloud } }).check({ token: jwt('admin') }));
    expect(err.code).toBe('internal');
    expect(err.status).toBe(500);
  });
});
