// Minting of Entra-shaped access tokens, and verification of tokens presented to the emulated
// ARM and Graph. Claim names, issuers and header fields follow azure-identity-and-peers.md §3.
import { createHmac, generateKeyPair as generateNodeKeyPair, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { KeyStore } from './keys';

export type TokenVersion = '1.0' | '2.0';

/**
 * Deliberately bad tokens for negative tests:
 * - `unknown-key`: RS256 signed by a key that is never published (its kid is unknown);
 * - `alg-none`: unsigned, header alg "none", empty signature;
 * - `hs256-public-key`: HS256 whose HMAC secret is the published signing key's SPKI PEM (the
 *   classic key-confusion attack), header kid of that published key;
 * - `es256`: ES256 signed by a fresh P-256 key, header kid of the published RSA key.
 */
export type TokenAttack = 'unknown-key' | 'alg-none' | 'hs256-public-key' | 'es256';

export type Cloud = 'public' | 'usgov' | 'china';

export interface MintSpec {
  /** Tenant id: goes into `tid` and the issuer. Need not be a registered tenant. */
  tenant: string;
  /** `aud`, exactly as given (mind trailing slashes). */
  audience: string;
  /** '1.0' (default): iss https://sts.windows.net/{tid}/, appid/appidacr. '2.0': iss <base>/{tid}/v2.0, azp/azpacr. */
  version?: TokenVersion;
  /** Object id of the principal; random when omitted. */
  oid?: string;
  /** Defaults to oid (app-only tokens have sub === oid). */
  sub?: string;
  /** Client (application) id: `appid` in v1, `azp` in v2. Random when omitted. */
  appid?: string;
  /** `appidacr`/`azpacr`: '0' public client, '1' secret, '2' certificate or managed identity. Default '2'. */
  appidacr?: '0' | '1' | '2';
  /** `idp`; defaults to the v1 issuer (as Entra sets it for managed identities), null omits it. */
  idp?: string | null;
  /** Default 'app'; null omits. */
  idtyp?: string | null;
  aio?: string;
  uti?: string;
  /** Epoch seconds. iat and nbf default to now-300 (Entra back-dates by ~5 min); null omits the claim. */
  iat?: number | null;
  nbf?: number | null;
  /** Epoch seconds; defaults to now + lifetimeSeconds; null omits `exp` (tokens without exp must be refused). */
  exp?: number | null;
  /** Default 3600. */
  lifetimeSeconds?: number;
  /** Overrides `iss` (wrong-issuer tests). */
  issuer?: string;
  /** Overrides `tid` independently of the issuer (null omits it). */
  tid?: string | null;
  /** v1 issuer form; defaults to 'public' (sts.windows.net). */
  cloud?: Cloud;
  xms_mirid?: string;
  xms_az_rid?: string;
  groups?: readonly string[];
  /**
   * Emit Entra's group overage form (`_claim_names`/`_claim_sources` pointing at Graph) instead of
   * `groups`, as Entra does above 200 groups.
   */
  groupOverage?: boolean;
  /** Extra claims, applied last, so they can also override any of the above. */
  claims?: Readonly<Record<string, unknown>>;
  /** Claim names to delete from the final payload. */
  omitClaims?: readonly string[];
  /** Sign with this published key (e.g. the previous one after rotateKeys()); default the current key. */
  kid?: string;
  attack?: TokenAttack;
}

const FIVE_MINUTES = 300;

export function v1Issuer(tenant: string, cloud: Cloud = 'public'): string {
  // US Gov v1 tokens use sts.windows.net too (azure-identity-and-peers.md marks this unverified).
  return cloud === 'china' ? `https://sts.chinacloudapi.cn/${tenant}/` : `https://sts.windows.net/${tenant}/`;
}

export function v2Issuer(baseUrl: string, tenant: string): string {
  return `${baseUrl}/${tenant}/v2.0`;
}

/** Opaque base64url blobs shaped like Entra's `aio`/`rh`/`uti` values (their content means nothing). */
export function opaque(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function generateEcKey(): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    generateNodeKeyPair('ec', { namedCurve: 'P-256' }, (err, _publicKey, privateKey) => {
      if (err) reject(err);
      else resolve(privateKey);
    });
  });
}

export class TokenMinter {
  constructor(
    private readonly keys: KeyStore,
    private readonly baseUrl: string,
  ) {}

  /** The claims a spec produces (exposed so tests can assert on the exact payload). */
  payload(spec: MintSpec): Record<string, unknown> {
    const version = spec.version ?? '1.0';
    const now = Math.floor(Date.now() / 1000);
    const oid = spec.oid ?? randomUUID();
    const appid = spec.appid ?? randomUUID();
    const issuedAt = now - FIVE_MINUTES;
    const v1 = v1Issuer(spec.tenant, spec.cloud);
    const claims: Record<string, unknown> = {
      aud: spec.audience,
      iss: spec.issuer ?? (version === '1.0' ? v1 : v2Issuer(this.baseUrl, spec.tenant)),
    };
    setUnlessNull(claims, 'iat', spec.iat === undefined ? issuedAt : spec.iat);
    setUnlessNull(claims, 'nbf', spec.nbf === undefined ? issuedAt : spec.nbf);
    setUnlessNull(claims, 'exp', spec.exp === undefined ? now + (spec.lifetimeSeconds ?? 3600) : spec.exp);
    claims['aio'] = spec.aio ?? opaque(48);
    if (version === '1.0') {
      claims['appid'] = appid;
      claims['appidacr'] = spec.appidacr ?? '2';
    } else {
      claims['azp'] = appid;
      claims['azpacr'] = spec.appidacr ?? '2';
    }
    if (spec.groupOverage === true) {
      // Entra's overage pointer; v1 tokens historically point at AAD Graph, v2 at Microsoft Graph.
      claims['_claim_names'] = { groups: 'src1' };
      claims['_claim_sources'] = {
        src1: {
          endpoint:
            version === '1.0'
              ? `https://graph.windows.net/${spec.tenant}/users/${oid}/getMemberObjects`
              : `https://graph.microsoft.com/v1.0/users/${oid}/getMemberObjects`,
        },
      };
    } else if (spec.groups !== undefined) {
      claims['groups'] = [...spec.groups];
    }
    setUnlessNull(claims, 'idp', spec.idp === undefined ? v1 : spec.idp);
    setUnlessNull(claims, 'idtyp', spec.idtyp === undefined ? 'app' : spec.idtyp);
    claims['oid'] = oid;
    claims['rh'] = `1.${opaque(40)}.`;
    claims['sub'] = spec.sub ?? oid;
    setUnlessNull(claims, 'tid', spec.tid === undefined ? spec.tenant : spec.tid);
    claims['uti'] = spec.uti ?? opaque(16);
    claims['ver'] = version;
    if (spec.xms_az_rid !== undefined) claims['xms_az_rid'] = spec.xms_az_rid;
    if (spec.xms_mirid !== undefined) claims['xms_mirid'] = spec.xms_mirid;
    Object.assign(claims, spec.claims ?? {});
    for (const name of spec.omitClaims ?? []) delete claims[name];
    return claims;
  }

  async mint(spec: MintSpec): Promise<string> {
    const claims = this.payload(spec);
    const version = spec.version ?? '1.0';
    const key = spec.kid === undefined ? this.keys.current : this.keys.find(spec.kid);
    if (key === undefined) throw new Error(`no published signing key with kid ${spec.kid ?? ''}`);
    switch (spec.attack) {
      case undefined: {
        // v1 headers carry x5t as well as kid; v2 headers carry kid only.
        const header = version === '1.0' ? { alg: 'RS256', typ: 'JWT', x5t: key.x5t, kid: key.kid } : { alg: 'RS256', typ: 'JWT', kid: key.kid };
        return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
      }
      case 'unknown-key': {
        const rogue = await this.keys.rogueKey();
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: rogue.kid, x5t: rogue.x5t }).sign(rogue.privateKey);
      }
      case 'alg-none':
        return `${base64urlJson({ alg: 'none', typ: 'JWT', kid: key.kid })}.${base64urlJson(claims)}.`;
      case 'hs256-public-key': {
        const input = `${base64urlJson({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${base64urlJson(claims)}`;
        const signature = createHmac('sha256', key.publicKeyPem).update(input).digest('base64url');
        return `${input}.${signature}`;
      }
      case 'es256': {
        const ecKey = await generateEcKey();
        return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid }).sign(ecKey);
      }
    }
  }
}

function setUnlessNull(target: Record<string, unknown>, name: string, value: unknown): void {
  if (value !== null) target[name] = value;
}

export type VerifyResult = { ok: true; claims: JWTPayload } | { ok: false; reason: string };

/**
 * Checks that a token was signed by a key this emulator currently publishes (RS256 only), is
 * within its validity window, and (when `audiences` is given) carries one of them as `aud`. Used
 * by ARM and Graph to authenticate callers, and by the token endpoint for client assertions.
 */
export async function verifyEmulatorToken(keys: KeyStore, token: string, audiences?: readonly string[]): Promise<VerifyResult> {
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(token);
    kid = header.kid;
  } catch {
    return { ok: false, reason: 'the token is not a JWT' };
  }
  const key = kid === undefined ? undefined : keys.find(kid);
  if (key === undefined) return { ok: false, reason: `the token's signing key (kid ${kid ?? 'missing'}) is not published` };
  try {
    const { payload } = await jwtVerify(token, key.publicKey, { algorithms: ['RS256'], clockTolerance: 60 });
    if (payload.exp === undefined) return { ok: false, reason: 'the token has no exp claim' };
    if (audiences !== undefined) {
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!aud.some((a) => a !== undefined && audiences.includes(a))) {
        return { ok: false, reason: `invalid audience ${JSON.stringify(payload.aud)}` };
      }
    }
    return { ok: true, claims: payload };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'the token is expired' };
    if (err instanceof Error) return { ok: false, reason: err.message };
    return { ok: false, reason: 'token verification failed' };
  }
}
