import { describe, expect, it } from 'vitest';
import { adminPolicyFromSettings } from '../../shared/access/admin-policy';
import { createAuthorize, type AdminPolicy, type Authorize, type EntraVerifier, type TokenAuthenticator } from '../../shared/access/authorize';
import { EntraTokenError, type EntraTokenFailure } from '../../shared/entra/errors';
import type { EntraTokenExpectation, VerifiedEntraToken } from '../../shared/entra/verify';
import { readSettings } from '../../shared/settings';
import { VaultError, invalidToken } from '../../shared/vault/errors';
import type { TokenView } from '../../shared/vault/types';

const TENANT = '0b6f3a5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const ADMIN_OID = '11111111-2222-4333-8444-555555555555';
const OTHER_OID = '99999999-8888-4777-8666-555555555555';
const AUDIENCE = 'api://azauth-admin';
const AUTHORITY = 'https://127.0.0.1:9443';

/** Token strings the fake verifier knows; the shape matters to `authorize`, the content does not. */
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

function view(policies: string[]): TokenView {
  return { hash: 'h', accessor: 'acc', type: 'service', policies, mount: 'azure', principalId: 'p-1', entityId: '', limitedUse: false };
}

class FakeTokens implements TokenAuthenticator {
  readonly calls: Array<{ token: string; remoteAddress: string | undefined }> = [];
  constructor(private readonly known: Record<string, TokenView>) {}
  async authenticate(token: string, remoteAddress: string | undefined): Promise<TokenView> {
    this.calls.push({ token, remoteAddress });
    const found = this.known[token];
    if (!found) throw invalidToken();
    return found;
  }
}

interface Rig {
  authorize: Authorize;
  verifier: FakeVerifier;
  tokens: FakeTokens;
  warnings: string[];
}

function rig(options: { admin?: Partial<AdminPolicy>; outcomes?: Record<string, Outcome> } = {}): Rig {
  const verifier = new FakeVerifier({
    [jwt('admin')]: { oid: ADMIN_OID },
    [jwt('user')]: { oid: OTHER_OID },
    [jwt('no-oid')]: {},
    ...options.outcomes,
  });
  const tokens = new FakeTokens({ 'hvs.root': view(['root']), 'hvs.plain': view(['default', 'web']), 'hvb.batch': view(['default']) });
  const warnings: string[] = [];
  const admin: AdminPolicy = {
    tenantId: TENANT,
    audience: AUDIENCE,
    principalIds: [ADMIN_OID.toUpperCase()],
    cloud: () => ({ authorityHost: AUTHORITY }),
    ...options.admin,
  };
  return { authorize: createAuthorize({ verifier, tokens, admin, warn: (m) => warnings.push(m) }), verifier, tokens, warnings };
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

describe('public operations', () => {
  it('are anonymous whatever the token, which is never looked at', async () => {
    const r = rig();
    await expect(r.authorize('public', undefined, undefined)).resolves.toEqual({ kind: 'anonymous' });
    await expect(r.authorize('public', 'garbage', undefined)).resolves.toEqual({ kind: 'anonymous' });
    await expect(r.authorize('public', jwt('user'), undefined)).resolves.toEqual({ kind: 'anonymous' });
    expect(r.verifier.calls).toHaveLength(0);
    expect(r.tokens.calls).toHaveLength(0);
  });
});

describe('admin operations with an Entra token', () => {
  it('let in a listed admin (object id compared case-insensitively)', async () => {
    const r = rig();
    await expect(r.authorize('admin', jwt('admin'), '10.0.0.1')).resolves.toEqual({ kind: 'admin', via: 'entra', principalId: ADMIN_OID, tenantId: TENANT });
    expect(r.verifier.calls[0]?.expected).toEqual({ tenantId: TENANT, audience: AUDIENCE, cloud: { authorityHost: AUTHORITY } });
  });

  it('refuse a valid token of a principal who is not an admin with plain permission denied', async () => {
    const r = rig();
    expect(await refusal(r.authorize('admin', jwt('user'), undefined))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(r.authorize('admin', jwt('no-oid'), undefined))).toMatchObject(PLAIN_DENIAL);
  });

  it.each<EntraTokenFailure>(['malformed', 'too_long', 'algorithm', 'issuer', 'tenant', 'audience', 'expired', 'not_yet_valid', 'missing_exp', 'signature', 'unknown_key'])(
    'answer a token refused for %s with invalid token',
    async (reason) => {
      const token = jwt(`bad-${reason}`);
      expectInvalidToken(await refusal(rig({ outcomes: { [token]: reason } }).authorize('admin', token, undefined)));
    },
  );

  it('pass Entra being unavailable through as 502', async () => {
    const token = jwt('outage');
    const err = await refusal(rig({ outcomes: { [token]: new VaultError('entra_unavailable', 'entra unavailable: GET x: 503') } }).authorize('admin', token, undefined));
    expect(err.status).toBe(502);
    expect(err.code).toBe('entra_unavailable');
  });

  it('blame our settings, not the caller, when the verifier refuses them', async () => {
    const token = jwt('bad-settings');
    const err = await refusal(rig({ outcomes: { [token]: new VaultError('bad_request', 'tenant_id "a/b" is not a tenant id or domain name') } }).authorize('admin', token, undefined));
    expect(err.code).toBe('internal');
    expect(err.message).toContain('AZAUTH_ADMIN_TENANT_ID');
  });

  it('when the admin tenant or audience is unset: plain permission denied, nothing verified, one warning', async () => {
    for (const admin of [{ tenantId: undefined }, { audience: undefined }]) {
      const r = rig({ admin });
      expect(await refusal(r.authorize('admin', jwt('admin'), undefined))).toMatchObject(PLAIN_DENIAL);
      expect(await refusal(r.authorize('admin', jwt('user'), undefined))).toMatchObject(PLAIN_DENIAL);
      expect(r.verifier.calls).toHaveLength(0);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toContain('AZAUTH_ADMIN_TENANT_ID');
    }
  });

  it('when no admin principal is listed: verified tokens are denied, with one warning', async () => {
    const r = rig({ admin: { principalIds: [] } });
    expect(await refusal(r.authorize('admin', jwt('admin'), undefined))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(r.authorize('admin', jwt('admin'), undefined))).toMatchObject(PLAIN_DENIAL);
    expect(r.warnings).toEqual([expect.stringContaining('AZAUTH_ADMIN_PRINCIPAL_IDS')]);
  });
});

describe('admin operations, other tokens', () => {
  it('no token: plain permission denied', async () => {
    expect(await refusal(rig().authorize('admin', undefined, undefined))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(rig().authorize('admin', '', undefined))).toMatchObject(PLAIN_DENIAL);
  });

  it.each(['garbage', 'a.b', 'Bearer x', 's.legacytoken', 'a.b.c.d', 'a..c', '!!.??.**'])('garbage %j: invalid token, verifier not called', async (token) => {
    const r = rig();
    expectInvalidToken(await refusal(r.authorize('admin', token, undefined)));
    expect(r.verifier.calls).toHaveLength(0);
    expect(r.tokens.calls).toHaveLength(0);
  });

  it('a service token with the root policy is an admin', async () => {
    const r = rig();
    await expect(r.authorize('admin', 'hvs.root', '10.1.2.3')).resolves.toEqual({ kind: 'admin', via: 'root-token', principalId: 'p-1', token: view(['root']) });
    expect(r.tokens.calls).toEqual([{ token: 'hvs.root', remoteAddress: '10.1.2.3' }]);
  });

  it('a live token without root: plain permission denied', async () => {
    expect(await refusal(rig().authorize('admin', 'hvs.plain', undefined))).toMatchObject(PLAIN_DENIAL);
    expect(await refusal(rig().authorize('admin', 'hvb.batch', undefined))).toMatchObject(PLAIN_DENIAL);
  });

  it('a dead token of ours: the authenticator decides, invalid token', async () => {
    const r = rig();
    expectInvalidToken(await refusal(r.authorize('admin', 'hvs.revoked', undefined)));
    expectInvalidToken(await refusal(r.authorize('admin', 'hvb.expired', undefined)));
    expect(r.verifier.calls).toHaveLength(0);
  });
});

describe('self-service (token) operations', () => {
  it('accept any live token of ours, root or not, passing the address on', async () => {
    const r = rig();
    await expect(r.authorize('token', 'hvs.plain', '192.0.2.1')).resolves.toEqual({ kind: 'token', token: view(['default', 'web']) });
    await expect(r.authorize('token', 'hvb.batch', undefined)).resolves.toEqual({ kind: 'token', token: view(['default']) });
    await expect(r.authorize('token', 'hvs.root', undefined)).resolves.toEqual({ kind: 'token', token: view(['root']) });
    expect(r.tokens.calls[0]).toEqual({ token: 'hvs.plain', remoteAddress: '192.0.2.1' });
  });

  it('refuse no token with permission denied and dead or foreign tokens with invalid token', async () => {
    const r = rig();
    expect(await refusal(r.authorize('token', undefined, undefined))).toMatchObject(PLAIN_DENIAL);
    expectInvalidToken(await refusal(r.authorize('token', 'hvs.revoked', undefined)));
    expectInvalidToken(await refusal(r.authorize('token', 'garbage', undefined)));
    // Even an admin's Entra token is not a token of ours: nothing to look up, renew or revoke.
    expectInvalidToken(await refusal(r.authorize('token', jwt('admin'), undefined)));
    expect(r.verifier.calls).toHaveLength(0);
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
    const r = rig({ admin: { cloud: badHost.cloud } });
    const err = await refusal(r.authorize('admin', jwt('admin'), undefined));
    expect(err.code).toBe('internal');
    expect(err.status).toBe(500);
  });
});
