// Entra ID: tenants, OpenID discovery documents (v1 and v2), key sets, key rotation and token
// minting. The OAuth token endpoint lives in token-endpoint.ts.
//
// Paths mirror login.microsoftonline.com, so with AZURE_AUTHORITY_HOST=<emulator url> msal-node and
// the product's own discovery code use the same URLs they would in Azure. The v1 issuer keeps the
// real `https://sts.windows.net/{tid}/` form (it never names the authority host), while the v2
// issuer is `<emulator url>/{tid}/v2.0`, exactly as v2 issuers name login.microsoftonline.com.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ArmModel } from './arm-model';
import { unknownTenant } from './entra-errors';
import { HttpError, sendJson } from './http-util';
import { isGuid } from './ids';
import type { KeyStore } from './keys';
import { managedIdentityMintSpec, type ManagedIdentityTokenSpec } from './managed-identity';
import { type Cloud, type MintSpec, type TokenMinter, type TokenVersion, v1Issuer, v2Issuer } from './tokens';
import { handleTokenRequest, type TokenEndpointContext } from './token-endpoint';

export interface TenantOptions {
  /** Which v1 issuer form the tenant's tokens and v1 discovery document use. Default 'public'. */
  cloud?: Cloud;
}

export class Entra {
  private readonly tenants = new Map<string, { id: string; cloud: Cloud }>();

  constructor(
    private readonly baseUrl: string,
    private readonly keys: KeyStore,
    private readonly minter: TokenMinter,
    private readonly arm: ArmModel,
    /** The tenant that subscriptions and applications belong to unless told otherwise. */
    readonly defaultTenantId: string,
  ) {
    this.addTenant(defaultTenantId);
  }

  /** Registers a tenant (random GUID when omitted) and returns its id. Idempotent. */
  addTenant(tenantId: string = randomUUID(), opts: TenantOptions = {}): string {
    if (!isGuid(tenantId)) throw new Error(`tenant ids are GUIDs, got ${JSON.stringify(tenantId)}`);
    const id = tenantId.toLowerCase();
    this.tenants.set(id, { id, cloud: opts.cloud ?? this.tenants.get(id)?.cloud ?? 'public' });
    return id;
  }

  hasTenant(tenantId: string): boolean {
    return this.tenants.has(tenantId.toLowerCase());
  }

  tenantCloud(tenantId: string): Cloud {
    return this.tenants.get(tenantId.toLowerCase())?.cloud ?? 'public';
  }

  /** The `iss` of tokens for a tenant: v1 `https://sts.windows.net/{tid}/`, v2 `<url>/{tid}/v2.0`. */
  issuer(tenantId: string, version: TokenVersion = '1.0'): string {
    return version === '1.0' ? v1Issuer(tenantId, this.tenantCloud(tenantId)) : v2Issuer(this.baseUrl, tenantId);
  }

  /** URL of a tenant's discovery document. */
  discoveryUrl(tenantId: string, version: TokenVersion = '1.0'): string {
    return version === '1.0'
      ? `${this.baseUrl}/${tenantId}/.well-known/openid-configuration`
      : `${this.baseUrl}/${tenantId}/v2.0/.well-known/openid-configuration`;
  }

  /** Adds a new signing key (now used for new tokens); the old ones stay published. Returns the new kid. */
  async rotateKeys(): Promise<string> {
    return (await this.keys.rotate()).kid;
  }

  /** Unpublishes every key except the current one. */
  retireOldKeys(): void {
    this.keys.retireOld();
  }

  publishedKeyIds(): string[] {
    return this.keys.published.map((k) => k.kid);
  }

  currentKeyId(): string {
    return this.keys.current.kid;
  }

  /** Signs an access token (or a deliberately broken one, see MintSpec.attack). */
  mintToken(spec: MintSpec): Promise<string> {
    return this.minter.mint({ cloud: this.tenantCloud(spec.tenant), ...spec });
  }

  /** The claims mintToken would sign for a spec (random parts drawn afresh). */
  tokenClaims(spec: MintSpec): Record<string, unknown> {
    return this.minter.payload({ cloud: this.tenantCloud(spec.tenant), ...spec });
  }

  /** A managed identity's token for a resource registered in the ARM model, claims as Azure fills them. */
  async mintManagedIdentityToken(spec: ManagedIdentityTokenSpec): Promise<string> {
    return this.mintToken(managedIdentityMintSpec(this.arm, spec));
  }

  /** @internal */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, tokenContext: TokenEndpointContext): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '');
    const segments = path.split('/').slice(1);
    const [tenantSegment = '', ...rest] = segments;
    const tail = rest.join('/').toLowerCase();
    const method = req.method ?? 'GET';

    if (method === 'GET' && tail === '.well-known/openid-configuration') {
      return sendJson(res, 200, this.v1Discovery(this.tenantForDocument(tenantSegment)));
    }
    if (method === 'GET' && tail === 'v2.0/.well-known/openid-configuration') {
      return sendJson(res, 200, this.v2Discovery(this.tenantForDocument(tenantSegment)));
    }
    if (method === 'GET' && tail === 'discovery/keys') {
      // v1 key sets carry no per-key issuer; the tenant is still checked so typos 400 as in Entra.
      this.tenantForDocument(tenantSegment);
      return sendJson(res, 200, this.keys.jwks());
    }
    if (method === 'GET' && tail === 'discovery/v2.0/keys') {
      const tenant = this.tenantForDocument(tenantSegment);
      return sendJson(res, 200, this.keys.jwks(v2Issuer(this.baseUrl, tenant)));
    }
    if (tail === 'oauth2/token' || tail === 'oauth2/v2.0/token') {
      if (method !== 'POST') throw new HttpError(405, { error: 'invalid_request', error_description: 'The token endpoint only accepts POST.' }, { allow: 'POST' });
      const tenant = tenantSegment.toLowerCase();
      if (!this.hasTenant(tenant)) throw unknownTenant(this.baseUrl, tenantSegment);
      const result = await handleTokenRequest(tokenContext, req, tenant, tail === 'oauth2/v2.0/token');
      return sendJson(res, 200, result, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
    }
    throw new HttpError(404, { error: 'not_found', error_description: `The emulator's Entra has no endpoint ${url.pathname}` });
  }

  /**
   * The tenant a document is served for: a registered tenant id, or the `{tenantid}` template for
   * the multi-tenant aliases (common, organizations). Unknown tenants get Entra's AADSTS90002 400.
   */
  private tenantForDocument(segment: string): string {
    const lower = segment.toLowerCase();
    if (lower === 'common' || lower === 'organizations') return '{tenantid}';
    if (!this.hasTenant(lower)) throw unknownTenant(this.baseUrl, segment);
    return lower;
  }

  private v1Discovery(tenant: string): Record<string, unknown> {
    const base = this.baseUrl;
    const issuer = tenant === '{tenantid}' ? 'https://sts.windows.net/{tenantid}/' : this.issuer(tenant, '1.0');
    return {
      token_endpoint: `${base}/${tenant}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/common/discovery/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${tenant}/oauth2/logout`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
      scopes_supported: ['openid'],
      issuer,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'amr', 'nonce', 'email', 'given_name', 'family_name', 'nickname'],
      microsoft_multi_refresh_token: true,
      check_session_iframe: `${base}/${tenant}/oauth2/checksession`,
      userinfo_endpoint: `${base}/${tenant}/openid/userinfo`,
      kerberos_endpoint: `${base}/${tenant}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
      authorization_endpoint: `${base}/${tenant}/oauth2/authorize`,
    };
  }

  private v2Discovery(tenant: string): Record<string, unknown> {
    const base = this.baseUrl;
    return {
      token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2Issuer(base, tenant),
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${base}/${tenant}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }
}
