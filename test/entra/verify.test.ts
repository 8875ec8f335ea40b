import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { EntraTokenError, EntraTokenVerifier, type EntraTokenExpectation, type EntraTokenVerifierOptions } from '../../shared/entra/verify';
import { VaultError } from '../../shared/vault/errors';
import { DISCOVERY_FAILURE_TTL_MS } from '../../shared/entra/discovery';
import { b64json, newSigningKey, startFakeEntra, type FakeEntra } from './fake-entra';

let entra: FakeEntra;
let clock: number;
const nowSeconds = (): number => clock / 1000;

beforeAll(async () => {
  entra = await startFakeEntra();
});
afterAll(async () => {
  await entra.stop();
});
beforeEach(() => {
  clock = Date.UTC(2025, 0, 15, 12, 0, 0);
  entra.failWith = undefined;
  entra.jwksUriOverride = undefined;
});

function newVerifier(options: Partial<EntraTokenVerifierOptions> = {}): EntraTokenVerifier {
  return new EntraTokenVerifier({ clockSkewSeconds: 60, now: () => clock, ...options });
}

function expectation(overrides: Partial<EntraTokenExpectation> = {}): EntraTokenExpectation {
  return { tenantId: entra.tenantId, audience: entra.audience, cloud: { authorityHost: entra.url }, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<VaultError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof VaultError) return err;
    throw err;
  }
  throw new Error('expected the verification to fail');
}

async function refusal(promise: Promise<unknown>): Promise<EntraTokenError> {
  const err = await rejection(promise);
  if (!(err instanceof EntraTokenError)) throw new Error(`expected an EntraTokenError, got ${err.code}: ${err.message}`);
  return err;
}

describe('accepted tokens', () => {
  it('accepts a v1 token and returns its typed claims', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { groups: ['g1'], xms_mirid: '/subscriptions/s/x' } });
    const result = await newVerifier().verifyEntraToken(jwt, expectation());
    expect(result.issuerKind).toBe('v1');
    expect(result.claims.iss).toBe(`https://sts.windows.net/${entra.tenantId}/`);
    expect(result.claims.tid).toBe(entra.tenantId);
    expect(result.claims.ver).toBe('1.0');
    expect(result.claims.groups).toEqual(['g1']);
    expect(result.claims.xms_mirid).toBe('/subscriptions/s/x');
    expect(typeof result.claims.appid).toBe('string');
    // Claims we do not model are dropped, not passed through untyped.
    expect(result.claims).not.toHaveProperty('appidacr');
  });

  it('accepts a v2 token (Vault refuses these: issue #141)', async () => {
    const jwt = await entra.mint({ version: 'v2', nowSeconds: nowSeconds() });
    const result = await newVerifier().verifyEntraToken(jwt, expectation());
    expect(result.issuerKind).toBe('v2');
    expect(result.claims.iss).toBe(`${entra.url}/${entra.tenantId}/v2.0`);
    expect(typeof result.claims.azp).toBe('string');
  });

  it('accepts an audience array that contains the audience', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { aud: ['other', entra.audience] } });
    await expect(newVerifier().verifyEntraToken(jwt, expectation())).resolves.toBeDefined();
  });

  it('compares tid with the tenant case-insensitively', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds() });
    const result = await newVerifier().verifyEntraToken(jwt, expectation({ tenantId: entra.tenantId.toUpperCase() }));
    expect(result.claims.tid).toBe(entra.tenantId.toLowerCase());
  });

  it('accepts a tenant configured by domain name when tid is the GUID in the issuer', async () => {
    const jwt = await entra.mint({ version: 'v2', nowSeconds: nowSeconds() });
    await expect(newVerifier().verifyEntraToken(jwt, expectation({ tenantId: 'contoso.example' }))).resolves.toBeDefined();
    const other = await entra.mint({ version: 'v2', nowSeconds: nowSeconds(), claims: { tid: randomUUID() } });
    expect((await refusal(newVerifier().verifyEntraToken(other, expectation({ tenantId: 'contoso.example' })))).reason).toBe('tenant');
  });

  it('tries every key when the header has no kid', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), kid: null });
    await expect(newVerifier().verifyEntraToken(jwt, expectation())).resolves.toBeDefined();
  });
});

describe('malformed input (400) is refused before anything is fetched', () => {
  const cases: Array<[string, string]> = [
    ['garbage', 'not-a-jwt'],
    ['two parts', `${b64json({ alg: 'RS256' })}.${b64json({})}`],
    ['four parts', 'a.b.c.d'],
    ['header not base64url', `*!.${b64json({})}.sig`],
    ['header not JSON', `${Buffer.from('nope').toString('base64url')}.${b64json({})}.sig`],
    ['payload not JSON', `${b64json({ alg: 'RS256' })}.${Buffer.from('{oops').toString('base64url')}.sig`],
    ['payload an array', `${b64json({ alg: 'RS256' })}.${b64json([1, 2])}.sig`],
    ['exp a string', `${b64json({ alg: 'RS256' })}.${b64json({ exp: 'tomorrow' })}.sig`],
    ['groups not strings', `${b64json({ alg: 'RS256' })}.${b64json({ groups: [1] })}.sig`],
    ['crit header', `${b64json({ alg: 'RS256', crit: ['b64'] })}.${b64json({})}.sig`],
  ];
  it.each(cases)('%s', async (_name, jwt) => {
    const before = entra.requests.length;
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('malformed');
    expect(err.code).toBe('bad_request');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^oidc: (malformed jwt|failed to unmarshal claims): /);
    expect(entra.requests.length).toBe(before);
  });

  it('refuses a 200 KB token by its length alone', async () => {
    const before = entra.requests.length;
    const huge = `${b64json({ alg: 'RS256' })}.${'A'.repeat(200 * 1024)}.sig`;
    const err = await refusal(newVerifier().verifyEntraToken(huge, expectation()));
    expect(err.reason).toBe('too_long');
    expect(err.status).toBe(400);
    expect(entra.requests.length).toBe(before);
  });

  it('accepts a token right at the length limit and refuses one past it', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds() });
    await expect(newVerifier({ maxTokenLength: jwt.length }).verifyEntraToken(jwt, expectation())).resolves.toBeDefined();
    expect((await refusal(newVerifier({ maxTokenLength: jwt.length - 1 }).verifyEntraToken(jwt, expectation()))).reason).toBe('too_long');
  });
});

describe('algorithms other than RS256 are refused before any key lookup', () => {
  async function claimsNow(): Promise<Record<string, unknown>> {
    const now = Math.floor(nowSeconds());
    return { iss: entra.issuer('v1'), aud: entra.audience, tid: entra.tenantId, oid: randomUUID(), iat: now, nbf: now, exp: now + 3600 };
  }

  it('alg none (unsigned)', async () => {
    const jwt = `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(await claimsNow())}.`;
    await expectAlgorithmRefusal(jwt, 'none');
  });

  it('HS256 signed with the public key as the HMAC secret (key confusion)', async () => {
    const key = entra.keys.v1[0];
    if (!key) throw new Error('no key');
    const signingInput = `${b64json({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64json(await claimsNow())}`;
    const mac = createHmac('sha256', JSON.stringify(key.publicJwk)).update(signingInput).digest('base64url');
    await expectAlgorithmRefusal(`${signingInput}.${mac}`, 'HS256');
  });

  it('ES256', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const jwt = await new SignJWT(await claimsNow()).setProtectedHeader({ alg: 'ES256', kid: 'ec' }).sign(privateKey);
    await expectAlgorithmRefusal(jwt, 'ES256');
  });

  it('PS256 with the tenant key itself', async () => {
    const key = entra.keys.v1[0];
    if (!key) throw new Error('no key');
    const { privateKey } = await generateKeyPair('PS256');
    const jwt = await new SignJWT(await claimsNow()).setProtectedHeader({ alg: 'PS256', kid: key.kid }).sign(privateKey);
    await expectAlgorithmRefusal(jwt, 'PS256');
  });

  it('no alg at all', async () => {
    const jwt = `${b64json({ typ: 'JWT' })}.${b64json(await claimsNow())}.c2ln`;
    await expectAlgorithmRefusal(jwt, '');
  });

  async function expectAlgorithmRefusal(jwt: string, alg: string): Promise<void> {
    const before = entra.requests.length;
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('algorithm');
    expect(err.code).toBe('permission_denied');
    expect(err.status).toBe(403);
    expect(err.message).toBe(`oidc: malformed jwt: unexpected signature algorithm "${alg}"; expected ["RS256"]`);
    expect(entra.requests.length).toBe(before);
  }
});

describe('well-formed tokens that are not acceptable (403)', () => {
  it('wrong issuer, in go-oidc words', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { iss: 'https://sts.windows.net/evil/' } });
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('issuer');
    expect(err.status).toBe(403);
    expect(err.message).toBe(
      `oidc: id token issued by a different provider, expected "${entra.issuer('v1')}" or "${entra.issuer('v2')}" got "https://sts.windows.net/evil/"`,
    );
  });

  it('tid of another tenant, even with the right issuer', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { tid: randomUUID() } });
    expect((await refusal(newVerifier().verifyEntraToken(jwt, expectation()))).reason).toBe('tenant');
  });

  it('no tid', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), omit: ['tid'] });
    expect((await refusal(newVerifier().verifyEntraToken(jwt, expectation()))).reason).toBe('tenant');
  });

  it('a token of another tenant (its issuer differs)', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds() });
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation({ tenantId: randomUUID() })));
    expect(err.reason).toBe('issuer');
  });

  it('wrong audience, printed as a Go list', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { aud: ['https://management.azure.com/', 'x'] } });
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('audience');
    expect(err.message).toBe(`oidc: expected audience "${entra.audience}" got ["https://management.azure.com/" "x"]`);
  });

  it('audience compared case-sensitively and exactly (trailing slash matters)', async () => {
    for (const aud of [entra.audience.toUpperCase(), `${entra.audience}/`]) {
      const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { aud } });
      expect((await refusal(newVerifier().verifyEntraToken(jwt, expectation()))).reason).toBe('audience');
    }
  });

  it('expired, with the expiry in Go time format', async () => {
    const exp = Math.floor(nowSeconds()) - 3600;
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { exp } });
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('expired');
    expect(err.message).toBe('oidc: token is expired (Token Expiry: 2025-01-15 11:00:00 +0000 UTC)');
  });

  it('no exp', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), omit: ['exp'] });
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('missing_exp');
    expect(err.status).toBe(403);
  });

  it('nbf in the future', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { nbf: Math.floor(nowSeconds()) + 600 } });
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('not_yet_valid');
    expect(err.message).toBe('oidc: current time 2025-01-15 12:00:00 +0000 UTC before the nbf (not before) time: 2025-01-15 12:10:00 +0000 UTC');
  });

  it('iat in the future', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { iat: Math.floor(nowSeconds()) + 600 } });
    expect((await refusal(newVerifier().verifyEntraToken(jwt, expectation()))).reason).toBe('not_yet_valid');
  });

  it('a payload changed after signing', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds() });
    const [header, payload, signature] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    const forged = `${header}.${b64json({ ...claims, oid: randomUUID() })}.${signature}`;
    const err = await refusal(newVerifier().verifyEntraToken(forged, expectation()));
    expect(err.reason).toBe('signature');
    expect(err.message).toBe('failed to verify signature: failed to verify id token signature');
  });

  it('a token signed by a key Entra never published, under a published kid', async () => {
    const impostor = await newSigningKey(entra.keys.v1[0]?.kid);
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), key: impostor });
    expect((await refusal(newVerifier().verifyEntraToken(jwt, expectation()))).reason).toBe('signature');
  });

  it('an empty signature', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds() });
    const unsigned = `${jwt.split('.').slice(0, 2).join('.')}.`;
    expect((await refusal(newVerifier().verifyEntraToken(unsigned, expectation()))).reason).toBe('signature');
  });

  it('an unknown kid, after one refresh', async () => {
    const stranger = await newSigningKey();
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), key: stranger });
    const err = await refusal(newVerifier().verifyEntraToken(jwt, expectation()));
    expect(err.reason).toBe('unknown_key');
    expect(err.status).toBe(403);
  });

  it('a v1 token is checked only against the v1 key set (v2 keys do not sign v1 tokens)', async () => {
    const v2Key = entra.keys.v2[0];
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), key: v2Key });
    expect((await refusal(newVerifier().verifyEntraToken(jwt, expectation()))).reason).toBe('unknown_key');
  });

  it('refuses a tenant that is not a GUID or domain name (no path tricks)', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds() });
    for (const tenantId of ['../common', 'a/b', 'x?y', '']) {
      expect((await rejection(newVerifier().verifyEntraToken(jwt, expectation({ tenantId })))).code).toBe('bad_request');
    }
  });
});

describe('clock skew (60 s on nbf, iat and exp)', () => {
  async function verifyAt(claims: Record<string, number>): Promise<string> {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims });
    try {
      await newVerifier().verifyEntraToken(jwt, expectation());
      return 'ok';
    } catch (err) {
      return err instanceof EntraTokenError ? err.reason : String(err);
    }
  }
  const now = (): number => Math.floor(nowSeconds());

  it('exp: accepted until exp + skew, refused from then on', async () => {
    expect(await verifyAt({ exp: now() - 59 })).toBe('ok');
    expect(await verifyAt({ exp: now() - 60 })).toBe('expired');
  });

  it('nbf: accepted up to skew in the future', async () => {
    expect(await verifyAt({ nbf: now() + 60 })).toBe('ok');
    expect(await verifyAt({ nbf: now() + 61 })).toBe('not_yet_valid');
  });

  it('iat: accepted up to skew in the future', async () => {
    expect(await verifyAt({ iat: now() + 60 })).toBe('ok');
    expect(await verifyAt({ iat: now() + 61 })).toBe('not_yet_valid');
  });

  it('zero skew is exact', async () => {
    const jwt = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { exp: now() + 1, nbf: now() } });
    await expect(newVerifier({ clockSkewSeconds: 0 }).verifyEntraToken(jwt, expectation())).resolves.toBeDefined();
    const late = await entra.mint({ version: 'v1', nowSeconds: nowSeconds(), claims: { exp: now() } });
    expect((await refusal(newVerifier({ clockSkewSeconds: 0 }).verifyEntraToken(late, expectation()))).reason).toBe('expired');
  });
});

describe('caching and refresh', () => {
  let own: FakeEntra;
  beforeEach(async () => {
    own = await startFakeEntra();
  });
  afterEach(async () => {
    await own.stop();
  });
  const ownExpectation = (): EntraTokenExpectation => ({ tenantId: own.tenantId, audience: own.audience, cloud: { authorityHost: own.url } });

  it('fetches discovery and keys once for many verifications, also concurrent ones', async () => {
    const verifier = newVerifier();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => own.mint({ version: 'v1', nowSeconds: nowSeconds() })));
    await Promise.all(tokens.map((jwt) => verifier.verifyEntraToken(jwt, ownExpectation())));
    await verifier.verifyEntraToken(tokens[0] ?? '', ownExpectation());
    expect(own.count('discovery')).toBe(2);
    expect(own.count('jwks')).toBe(1);
  });

  it('picks up a rotated key: a new kid causes one refetch and then passes', async () => {
    const verifier = newVerifier();
    await verifier.verifyEntraToken(await own.mint({ version: 'v1', nowSeconds: nowSeconds() }), ownExpectation());
    expect(own.count('jwks')).toBe(1);
    const rotated = await newSigningKey();
    own.keys.v1.push(rotated);
    clock += 31_000;
    const jwt = await own.mint({ version: 'v1', nowSeconds: nowSeconds(), key: rotated });
    // Several requests notice the new kid at once: they share the one refetch and all pass.
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => verifier.verifyEntraToken(jwt, ownExpectation())));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    expect(own.count('jwks')).toBe(2);
    await verifier.verifyEntraToken(jwt, ownExpectation());
    expect(own.count('jwks')).toBe(2);
  });

  it('a flood of unknown kids refetches at most once per 30 s window', async () => {
    const verifier = newVerifier();
    await verifier.verifyEntraToken(await own.mint({ version: 'v1', nowSeconds: nowSeconds() }), ownExpectation());
    clock += 31_000;
    const stranger = await newSigningKey();
    const flood = await Promise.all(
      Array.from({ length: 40 }, () => own.mint({ version: 'v1', nowSeconds: nowSeconds(), key: stranger, kid: randomUUID() })),
    );
    const results = await Promise.allSettled(flood.map((jwt) => verifier.verifyEntraToken(jwt, ownExpectation())));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof EntraTokenError && r.reason.reason === 'unknown_key')).toBe(true);
    expect(own.count('jwks')).toBe(2);
    // Still inside the window: no fetch at all.
    clock += 20_000;
    for (const jwt of flood.slice(0, 5)) await refusal(verifier.verifyEntraToken(jwt, ownExpectation()));
    expect(own.count('jwks')).toBe(2);
    // Next window: one more.
    clock += 11_000;
    for (const jwt of flood.slice(0, 5)) await refusal(verifier.verifyEntraToken(jwt, ownExpectation()));
    expect(own.count('jwks')).toBe(3);
  });

  it('refreshes discovery and keys after a day', async () => {
    const verifier = newVerifier();
    await verifier.verifyEntraToken(await own.mint({ version: 'v1', nowSeconds: nowSeconds() }), ownExpectation());
    clock += 23 * 3600_000;
    await verifier.verifyEntraToken(await own.mint({ version: 'v1', nowSeconds: nowSeconds() }), ownExpectation());
    expect([own.count('discovery'), own.count('jwks')]).toEqual([2, 1]);
    clock += 3600_000;
    await verifier.verifyEntraToken(await own.mint({ version: 'v1', nowSeconds: nowSeconds() }), ownExpectation());
    expect([own.count('discovery'), own.count('jwks')]).toEqual([4, 2]);
  });

  it('remembers a discovery failure for a few seconds only: 502 without asking Entra again, then success once Entra recovers', async () => {
    const verifier = newVerifier();
    const jwt = await own.mint({ version: 'v1', nowSeconds: nowSeconds() });
    own.failWith = 503;
    const before = own.count('discovery');
    const err = await rejection(verifier.verifyEntraToken(jwt, ownExpectation()));
    expect(err).not.toBeInstanceOf(EntraTokenError);
    expect(err.code).toBe('entra_unavailable');
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/^entra unavailable: GET http:\/\/127\.0\.0\.1:\d+\/.+: 503 Service Unavailable$/);
    const asked = own.count('discovery') - before;
    own.failWith = undefined;
    // Within the few seconds: the same 502, and Entra is not asked again.
    clock += DISCOVERY_FAILURE_TTL_MS - 1;
    const again = await rejection(verifier.verifyEntraToken(jwt, ownExpectation()));
    expect(again.message).toBe(err.message);
    expect(own.count('discovery') - before).toBe(asked);
    clock += 1;
    await expect(verifier.verifyEntraToken(jwt, ownExpectation())).resolves.toBeDefined();
  });

  it('does not cache a key-set failure either', async () => {
    const verifier = newVerifier();
    const jwt = await own.mint({ version: 'v1', nowSeconds: nowSeconds() });
    own.jwksUriOverride = `${own.url}/missing/keys`;
    expect((await rejection(verifier.verifyEntraToken(jwt, ownExpectation()))).code).toBe('entra_unavailable');
    // A new verifier reads the fixed discovery document; the old one keeps its cached discovery, whose
    // jwks_uri still 404s, and must keep retrying rather than remember the failure.
    const retries = own.count('jwks');
    expect((await rejection(verifier.verifyEntraToken(jwt, ownExpectation()))).code).toBe('entra_unavailable');
    expect(own.count('jwks')).toBe(retries + 1);
    own.jwksUriOverride = undefined;
    await expect(newVerifier().verifyEntraToken(jwt, ownExpectation())).resolves.toBeDefined();
  });

  it('answers 502 when Entra cannot be reached at all', async () => {
    const jwt = await own.mint({ version: 'v1', nowSeconds: nowSeconds() });
    const err = await rejection(newVerifier().verifyEntraToken(jwt, { ...ownExpectation(), cloud: { authorityHost: 'http://127.0.0.1:1' } }));
    expect(err.code).toBe('entra_unavailable');
    expect(err.message).toMatch(/^entra unavailable: GET http:\/\/127\.0\.0\.1:1\//);
  });

  it('refuses a discovery document whose jwks_uri is plain http to a remote host', async () => {
    own.jwksUriOverride = 'http://keys.example.com/keys';
    const jwt = await own.mint({ version: 'v1', nowSeconds: nowSeconds() });
    const err = await rejection(newVerifier().verifyEntraToken(jwt, ownExpectation()));
    expect(err.code).toBe('entra_unavailable');
    expect(err.message).toContain('unacceptable jwks_uri');
  });
});
