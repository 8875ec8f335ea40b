/**
 * Verification of Entra ID access tokens (v1 and v2) for one tenant and audience: what both admin
 * access (shared/access/authorize.ts) and login (shared/login/login.ts) rely on.
 *
 * Order (go-oidc's, with structural checks first): size → structure → algorithm (RS256 only) →
 * claim types → tenant metadata (v1 and v2 discovery) → issuer → tid → audience → exp → nbf/iat →
 * signature with the key set of the issuer the token names. A v1 token is checked against the v1
 * document's keys and a v2 token against the v2 document's, so each issuer is tied to its own keys.
 *
 * Clock skew (`AZAUTH_CLOCK_SKEW`, default 60 s) applies to all three times: a token is accepted
 * from `nbf - skew` (and `iat - skew`) until `exp + skew`. go-oidc gives no leeway at expiry; we do,
 * because Azure's and Entra's clocks drift independently and a minute on a token that lives hours
 * (24 h for managed identities) buys no attacker anything real.
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { VaultError } from '../vault/errors';
import type { CloudEndpoints } from './clouds';
import { DiscoveryCache, type IssuerKind, type IssuerMetadata } from './discovery';
import { EntraTokenError } from './errors';
import type { FetchLike } from './fetch-json';
import { KeySetCache } from './keys';
import { parseJwt, type EntraClaims } from './jwt';
import { goQuote } from '../vault/goQuote';
import { GUID, tenantIdProblem } from './tenant';

export type { EntraClaims } from './jwt';
export { EntraTokenError, isEntraTokenError, type EntraTokenFailure } from './errors';


export interface EntraTokenVerifierOptions {
  readonly clockSkewSeconds: number;
  /** Current time in milliseconds; injectable for tests. */
  readonly now?: () => number;
  readonly fetch?: FetchLike;
  /** Longest token accepted, in characters (JWTs are ASCII). Default 16 KiB. */
  readonly maxTokenLength?: number;
  /** How long discovery documents are reused. Default 24 h. */
  readonly discoveryMaxAgeSeconds?: number;
  /** How long a key set is reused before it is downloaded again. Default 24 h. */
  readonly keySetMaxAgeSeconds?: number;
  /** Least time between two downloads of one key set caused by unknown `kid`s. Default 30 s. */
  readonly unknownKidIntervalSeconds?: number;
  /** Timeout of one request to Entra. Default 10 s. */
  readonly requestTimeoutSeconds?: number;
}

export interface EntraTokenExpectation {
  /** Tenant GUID (or a verified domain of the tenant). */
  readonly tenantId: string;
  /** The `aud` the token must carry, compared exactly. */
  readonly audience: string;
  /** Where the tenant's metadata lives (already resolved with the authority override). */
  readonly cloud: Pick<CloudEndpoints, 'authorityHost'>;
}

/** What a verified token tells: its claims, with the ones verification guarantees made required. */
export type VerifiedEntraClaims = EntraClaims & { readonly iss: string; readonly tid: string; readonly exp: number };

export interface VerifiedEntraToken {
  readonly claims: VerifiedEntraClaims;
  /** Which discovery document's issuer the token matched. */
  readonly issuerKind: IssuerKind;
}

export class EntraTokenVerifier {
  private readonly now: () => number;
  private readonly clockSkewSeconds: number;
  private readonly maxTokenLength: number;
  private readonly discovery: DiscoveryCache;
  private readonly keySets: KeySetCache;

  constructor(options: EntraTokenVerifierOptions) {
    this.now = options.now ?? Date.now;
    this.clockSkewSeconds = options.clockSkewSeconds;
    this.maxTokenLength = options.maxTokenLength ?? 16 * 1024;
    const fetchFn: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
    const timeoutMs = (options.requestTimeoutSeconds ?? 10) * 1000;
    this.discovery = new DiscoveryCache({
      fetch: fetchFn,
      now: this.now,
      maxAgeMs: (options.discoveryMaxAgeSeconds ?? 24 * 3600) * 1000,
      timeoutMs,
    });
    this.keySets = new KeySetCache({
      fetch: fetchFn,
      now: this.now,
      maxAgeMs: (options.keySetMaxAgeSeconds ?? 24 * 3600) * 1000,
      unknownKidIntervalMs: (options.unknownKidIntervalSeconds ?? 30) * 1000,
      timeoutMs,
    });
  }

  /**
   * Verifies `jwt` for the tenant and audience, or throws: `EntraTokenError` (400 malformed, 403
   * refused) or `VaultError('entra_unavailable')` (502) when discovery or the key set cannot be had.
   */
  async verifyEntraToken(jwt: string, expected: EntraTokenExpectation): Promise<VerifiedEntraToken> {
    const tenantId = expected.tenantId.trim();
    // A stored config was checked at write; AZURE_TENANT_ID and configs written before that check were not.
    const tenantProblem = tenantIdProblem(tenantId);
    if (tenantProblem) throw new VaultError('bad_request', tenantProblem);
    if (expected.audience === '') throw new VaultError('bad_request', 'resource is required');

    const token = parseJwt(jwt, this.maxTokenLength);
    const { claims } = token;

    const metadata = await this.discovery.tenant(expected.cloud.authorityHost, tenantId);
    const issuer = metadata.issuers.find((candidate) => candidate.issuer === claims.iss);
    if (!issuer) {
      const wanted = metadata.issuers.map((candidate) => goQuote(candidate.issuer)).join(' or ');
      throw new EntraTokenError('issuer', `oidc: id token issued by a different provider, expected ${wanted} got ${goQuote(claims.iss ?? '')}`);
    }
    const tid = checkTenant(claims.tid, tenantId, issuer);
    checkAudience(claims.aud, expected.audience);
    const exp = this.checkTimes(claims);
    await this.checkSignature(token.signingInput, token.signature, token.kid, issuer);
    return { claims: { ...claims, iss: issuer.issuer, tid, exp }, issuerKind: issuer.kind };
  }

  private checkTimes(claims: EntraClaims): number {
    const nowSeconds = this.now() / 1000;
    const skew = this.clockSkewSeconds;
    if (claims.exp === undefined) throw new EntraTokenError('missing_exp', 'oidc: token has no expiry (exp claim missing)');
    if (nowSeconds >= claims.exp + skew) {
      throw new EntraTokenError('expired', `oidc: token is expired (Token Expiry: ${goTime(claims.exp)})`);
    }
    if (claims.nbf !== undefined && claims.nbf > nowSeconds + skew) {
      throw new EntraTokenError('not_yet_valid', `oidc: current time ${goTime(nowSeconds)} before the nbf (not before) time: ${goTime(claims.nbf)}`);
    }
    if (claims.iat !== undefined && claims.iat > nowSeconds + skew) {
      throw new EntraTokenError('not_yet_valid', `oidc: current time ${goTime(nowSeconds)} before the iat (issued at) time: ${goTime(claims.iat)}`);
    }
    return claims.exp;
  }

  private async checkSignature(signingInput: string, signature: Buffer, kid: string | undefined, issuer: IssuerMetadata): Promise<void> {
    const lookup = await this.keySets.keysFor(issuer.jwksUri, kid);
    if (!lookup.found) {
      throw new EntraTokenError(
        'unknown_key',
        `failed to verify signature: no key ${kid === undefined ? '' : `with kid ${goQuote(kid)} `}in the key set of ${goQuote(issuer.issuer)}`,
      );
    }
    const data = Buffer.from(signingInput, 'ascii');
    const valid = lookup.keys.some((key: KeyObject) => verifySignature('sha256', data, key, signature));
    if (!valid) throw new EntraTokenError('signature', 'failed to verify signature: failed to verify id token signature');
  }
}

/**
 * `tid` must be the configured tenant. When the tenant was configured by domain name there is no
 * GUID to compare with, so the token's `tid` must then be a GUID that appears in the issuer it
 * matched (Entra's issuers carry the tenant GUID).
 */
function checkTenant(tid: string | undefined, tenantId: string, issuer: IssuerMetadata): string {
  const got = tid ?? '';
  const matches = GUID.test(tenantId)
    ? got.toLowerCase() === tenantId.toLowerCase()
    : GUID.test(got) && issuer.issuer.toLowerCase().split('/').includes(got.toLowerCase());
  if (!matches) throw new EntraTokenError('tenant', `oidc: token tenant (tid) ${goQuote(got)} is not the expected tenant ${goQuote(tenantId)}`);
  return got.toLowerCase();
}

/** Exact, case-sensitive, as go-oidc: `aud` is one string or an array that must contain it. */
function checkAudience(aud: string | readonly string[] | undefined, audience: string): void {
  const audiences = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
  if (!audiences.includes(audience)) {
    throw new EntraTokenError('audience', `oidc: expected audience ${goQuote(audience)} got [${audiences.map(goQuote).join(' ')}]`);
  }
}

/** A Unix time as Go prints a UTC `time.Time`: `2006-01-02 15:04:05 +0000 UTC`. */
function goTime(seconds: number): string {
  const date = new Date(Math.floor(seconds) * 1000);
  // A made-up claim can lie beyond what Date can print; show the number rather than fail.
  if (Number.isNaN(date.getTime())) return String(seconds);
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}
