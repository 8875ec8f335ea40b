// The OAuth 2.0 token endpoint for the client-credentials grant, as @azure/identity's
// ClientSecretCredential, ClientAssertionCredential and WorkloadIdentityCredential call it
// (form fields: client_id, scope, grant_type, client_secret | client_assertion + _type).
//
// Clients authenticate against the Graph model: a secret must be a current password of an
// application with that appId in the tenant; an assertion must be a token this emulator signed,
// unexpired, whose iss/sub/aud match a federated identity credential on the application.
import type { IncomingMessage } from 'node:http';
import type { JWTPayload } from 'jose';
import { entraError } from './entra-errors';
import type { ApplicationRecord, GraphModel } from './graph-model';
import { readBody } from './http-util';
import type { KeyStore } from './keys';
import { type MintSpec, verifyEmulatorToken } from './tokens';

export interface TokenEndpointContext {
  readonly baseUrl: string;
  readonly graph: GraphModel;
  readonly keys: KeyStore;
  mint(spec: MintSpec): Promise<string>;
}

export interface TokenResponse {
  token_type: 'Bearer';
  expires_in: number | string;
  ext_expires_in: number | string;
  access_token: string;
  expires_on?: string;
  not_before?: string;
  resource?: string;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_LIFETIME = 3599;
/** OIDC scopes msal may add to a request; they never name a resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Client id and secret from an HTTP Basic header (client_secret_basic), if present. */
function basicCredentials(req: IncomingMessage): { clientId: string; secret: string } | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^basic\s/i.test(header)) return undefined;
  const decoded = Buffer.from(header.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { clientId: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
}

export async function handleTokenRequest(ctx: TokenEndpointContext, req: IncomingMessage, tenant: string, v2: boolean): Promise<TokenResponse> {
  const base = ctx.baseUrl;
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded/i.test(contentType)) {
    throw entraError(base, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
  }
  const form = new URLSearchParams(await readBody(req));
  const field = (name: string): string | undefined => {
    const value = form.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const missing = (name: string) => entraError(base, 400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);

  const grantType = field('grant_type');
  if (grantType === undefined) throw missing('grant_type');
  if (grantType !== 'client_credentials') {
    throw entraError(base, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'. The emulator implements client_credentials only.`);
  }
  const basic = basicCredentials(req);
  const clientId = field('client_id') ?? basic?.clientId;
  if (clientId === undefined) throw missing('client_id');

  const resource = requestedResource(ctx, v2, field('scope'), field('resource'));

  const apps = ctx.graph.findByAppId(clientId, tenant);
  if (apps.length === 0) {
    throw entraError(
      base,
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    );
  }

  const secret = field('client_secret') ?? basic?.secret;
  const assertion = field('client_assertion');
  let app: ApplicationRecord;
  let acr: '1' | '2';
  if (assertion !== undefined) {
    if (field('client_assertion_type') !== JWT_BEARER) {
      throw entraError(base, 400, 'invalid_request', 700003, `client_assertion_type must be '${JWT_BEARER}'.`);
    }
    app = await authenticateAssertion(ctx, apps, assertion);
    acr = '2';
  } else if (secret !== undefined) {
    app = authenticateSecret(ctx, apps, clientId, secret);
    acr = '1';
  } else {
    throw entraError(base, 401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }

  const now = Math.floor(Date.now() / 1000);
  const accessToken = await ctx.mint({
    tenant,
    audience: resource,
    version: '1.0',
    oid: app.servicePrincipalId,
    appid: app.appId,
    appidacr: acr,
    iat: now - 300,
    nbf: now - 300,
    exp: now + TOKEN_LIFETIME,
  });
  if (v2) return { token_type: 'Bearer', expires_in: TOKEN_LIFETIME, ext_expires_in: TOKEN_LIFETIME, access_token: accessToken };
  // The v1 endpoint answers with strings and adds expires_on/not_before/resource.
  return {
    token_type: 'Bearer',
    expires_in: String(TOKEN_LIFETIME),
    ext_expires_in: String(TOKEN_LIFETIME),
    expires_on: String(now + TOKEN_LIFETIME),
    not_before: String(now - 300),
    resource,
    access_token: accessToken,
  };
}

/** v2: `scope` must be `<resource>/.default`; v1: `resource` (scope accepted as a fallback). */
function requestedResource(ctx: TokenEndpointContext, v2: boolean, scope: string | undefined, resource: string | undefined): string {
  if (!v2 && resource !== undefined) return resource;
  if (scope === undefined) {
    throw entraError(ctx.baseUrl, 400, 'invalid_request', 900144, `The request body must contain the following parameter: '${v2 ? 'scope' : 'resource'}'.`);
  }
  const scopes = scope.split(/\s+/).filter((s) => s !== '' && !OIDC_SCOPES.has(s.toLowerCase()));
  const [first] = scopes;
  if (first === undefined || scopes.length !== 1 || !first.endsWith('/.default')) {
    throw entraError(
      ctx.baseUrl,
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  return first.slice(0, -'/.default'.length);
}

function authenticateSecret(ctx: TokenEndpointContext, apps: readonly ApplicationRecord[], clientId: string, secret: string): ApplicationRecord {
  let expired = false;
  for (const app of apps) {
    const check = ctx.graph.checkSecret(app, secret);
    if (check === 'ok') return app;
    if (check === 'expired') expired = true;
  }
  if (expired) throw entraError(ctx.baseUrl, 401, 'invalid_client', 7000222, `The provided client secret keys for app '${clientId}' are expired.`);
  throw entraError(
    ctx.baseUrl,
    401,
    'invalid_client',
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  );
}

async function authenticateAssertion(ctx: TokenEndpointContext, apps: readonly ApplicationRecord[], assertion: string): Promise<ApplicationRecord> {
  const verified = await verifyEmulatorToken(ctx.keys, assertion);
  if (!verified.ok) {
    const expired = verified.reason === 'the token is expired';
    throw entraError(
      ctx.baseUrl,
      401,
      'invalid_client',
      expired ? 700024 : 700027,
      expired ? 'Client assertion is not within its valid time range.' : `Client assertion failed signature validation: ${verified.reason}.`,
    );
  }
  const claims: JWTPayload = verified.claims;
  const audiences = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
  for (const app of apps) {
    const match = app.federated.find(
      (f) => f.issuer === claims.iss && f.subject === claims.sub && f.audiences.some((a) => audiences.includes(a)),
    );
    if (match !== undefined) return app;
  }
  throw entraError(
    ctx.baseUrl,
    401,
    'invalid_client',
    70021,
    `No matching federated identity record found for presented assertion. Assertion Issuer: '${claims.iss ?? ''}'. Assertion Subject: '${claims.sub ?? ''}'. Assertion Audience: '${audiences.join(',')}'.`,
  );
}
