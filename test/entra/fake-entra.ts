/**
 * A loopback HTTP stand-in for Entra's metadata endpoints, for the verifier's unit tests: v1 and v2
 * discovery documents for any tenant path, separate v1 and v2 key sets, request counting, outages,
 * key rotation, and token minting with the keys it serves. (Plain HTTP is fine: the verifier allows
 * http:// to loopback, which is exactly what these tests exercise.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function newSigningKey(kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', kty: 'RSA' };
  return { kid, privateKey, publicJwk };
}

export type TokenVersion = 'v1' | 'v2';

export interface FakeEntra {
  readonly url: string;
  readonly tenantId: string;
  readonly audience: string;
  issuer(version: TokenVersion): string;
  /** Keys currently published per version (mutable: push to rotate). */
  readonly keys: Record<TokenVersion, SigningKey[]>;
  /** Paths requested so far, in order. */
  readonly requests: string[];
  count(kind: 'discovery' | 'jwks'): number;
  /** While set, every request answers with this status. */
  failWith: number | undefined;
  /** Overrides the jwks_uri the discovery documents advertise. */
  jwksUriOverride: string | undefined;
  /** A signed token; claims default to a valid managed-identity token at time `nowSeconds`. */
  mint(options: MintOptions): Promise<string>;
  stop(): Promise<void>;
}

export interface MintOptions {
  readonly version: TokenVersion;
  readonly nowSeconds: number;
  readonly claims?: JWTPayload & Record<string, unknown>;
  /** Claims to delete from the defaults. */
  readonly omit?: readonly string[];
  readonly key?: SigningKey;
  /** The `kid` header; defaults to the key's. `null` leaves it out. */
  readonly kid?: string | null;
}

export async function startFakeEntra(tenantId: string = randomUUID()): Promise<FakeEntra> {
  const keys: Record<TokenVersion, SigningKey[]> = { v1: [await newSigningKey()], v2: [await newSigningKey()] };
  const requests: string[] = [];
  let url = '';
  const issuerOf = (version: TokenVersion, tenant: string): string =>
    version === 'v1' ? `https://sts.windows.net/${tenant}/` : `${url}/${tenant}/v2.0`;

  const state: { failWith: number | undefined; jwksUriOverride: string | undefined } = { failWith: undefined, jwksUriOverride: undefined };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    requests.push(path);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (state.failWith !== undefined) return send(state.failWith, { error: 'temporarily_unavailable' });
    const v1Discovery = /^\/([^/]+)\/\.well-known\/openid-configuration$/.exec(path);
    const v2Discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    // As Entra's discovery does: a tenant given by domain name resolves to the tenant GUID, and
    // issuers always carry the GUID in lower case.
    const tenantOf = (segment: string | undefined): string =>
      (segment && /^[0-9a-f-]{36}$/i.test(segment) ? segment : tenantId).toLowerCase();
    if (v1Discovery) {
      return send(200, { issuer: issuerOf('v1', tenantOf(v1Discovery[1])), jwks_uri: state.jwksUriOverride ?? `${url}/common/discovery/keys` });
    }
    if (v2Discovery) {
      const tenant = tenantOf(v2Discovery[1]);
      return send(200, { issuer: issuerOf('v2', tenant), jwks_uri: state.jwksUriOverride ?? `${url}/${tenant}/discovery/v2.0/keys` });
    }
    if (path === '/common/discovery/keys') return send(200, { keys: keys.v1.map((k) => k.publicJwk) });
    if (/^\/[^/]+\/discovery\/v2\.0\/keys$/.test(path)) return send(200, { keys: keys.v2.map((k) => k.publicJwk) });
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const audience = 'api://azauth-admin';

  const fake: FakeEntra = {
    url,
    tenantId,
    audience,
    issuer: (version) => issuerOf(version, tenantId),
    keys,
    requests,
    count: (kind) =>
      requests.filter((p) => (kind === 'discovery' ? p.endsWith('/openid-configuration') : p.endsWith('/keys'))).length,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
    get jwksUriOverride() {
      return state.jwksUriOverride;
    },
    set jwksUriOverride(value) {
      state.jwksUriOverride = value;
    },
    async mint(options) {
      const key = options.key ?? keys[options.version][0];
      if (!key) throw new Error('no signing key');
      const now = Math.floor(options.nowSeconds);
      const oid = randomUUID();
      const defaults: Record<string, unknown> = {
        aud: audience,
        iss: issuerOf(options.version, tenantId),
        iat: now - 300,
        nbf: now - 300,
        exp: now + 3600,
        tid: tenantId,
        oid,
        sub: oid,
        uti: randomUUID(),
        idtyp: 'app',
        ver: options.version === 'v1' ? '1.0' : '2.0',
        ...(options.version === 'v1' ? { appid: randomUUID(), appidacr: '2' } : { azp: randomUUID(), azpacr: '2' }),
      };
      const claims: Record<string, unknown> = { ...defaults, ...options.claims };
      for (const name of options.omit ?? []) delete claims[name];
      const kid = options.kid === undefined ? key.kid : options.kid;
      return new SignJWT(claims).setProtectedHeader(kid === null ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // fetch keeps connections alive; close them so the server stops at once.
        server.closeAllConnections();
      }),
  };
  return fake;
}

/** base64url of a JSON value, for hand-built tokens. */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
