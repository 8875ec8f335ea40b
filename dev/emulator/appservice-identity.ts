// The App Service / Functions managed-identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER,
// api-version 2019-08-01) that serves the function app's *own* identity: the credential the
// product uses for ARM and Graph when no client secret is configured, and the source of the
// client assertion for workload identity federation. Plain HTTP on loopback, as on App Service.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ArmModel } from './arm-model';
import type { Entra } from './entra';
import { HttpError, queryParam, sendJson } from './http-util';
import { assertGuid, randomHex, resourceGroupScope } from './ids';
import { issueLocalToken } from './local-token';
import { ManagedIdentityTokenCache, resolveIdentity, selectIdentity } from './managed-identity';
import { type ServiceDeps, closeServer, listenLoopback, serviceListener } from './server';

export interface AppServiceIdentityOptions {
  /**
   * The identity the site runs with: 'system' (default) gives the site a system-assigned identity;
   * a user-assigned identity id attaches that identity. Ignored when `siteId` names an existing site.
   */
  principal?: 'system' | string;
  /** More user-assigned identities to attach (selectable with client_id / principal_id / mi_res_id). */
  userAssigned?: readonly string[];
  /** Use (or create with this id) a Microsoft.Web/sites resource; default a new site in a new subscription. */
  siteId?: string;
  /** Subscription for a created site; default a random one (in the default tenant). */
  subscriptionId?: string;
  /** Default 86400. */
  tokenLifetimeSeconds?: number;
  /** Same token for repeat requests, as the platform caches; default true. */
  cacheTokens?: boolean;
}

export interface AppServiceIdentityEndpoint {
  /** IDENTITY_ENDPOINT: http://127.0.0.1:PORT/msi/token */
  readonly endpoint: string;
  /** IDENTITY_HEADER: the secret expected in X-IDENTITY-HEADER. */
  readonly header: string;
  /** The site the function app runs as. */
  readonly siteId: string;
  /** The `principal` identity (what an unqualified request gets if it is the system one). */
  readonly principalId: string;
  readonly clientId: string;
  readonly tenantId: string;
  /** `{ IDENTITY_ENDPOINT, IDENTITY_HEADER }` ready to merge into a child's environment. */
  readonly env: Readonly<Record<'IDENTITY_ENDPOINT' | 'IDENTITY_HEADER', string>>;
}

const API_VERSION = '2019-08-01';

function identityError(status: number, message: string): HttpError {
  return new HttpError(status, { statusCode: status, message });
}

export class AppServiceIdentityHost {
  private readonly servers: Server[] = [];

  constructor(
    private readonly arm: ArmModel,
    private readonly entra: Entra,
    private readonly deps: ServiceDeps,
  ) {}

  async start(opts: AppServiceIdentityOptions = {}): Promise<AppServiceIdentityEndpoint> {
    const principal = opts.principal ?? 'system';
    const siteId = this.ensureSite(opts, principal);
    const resolved = resolveIdentity(this.arm, siteId, principal).principal;
    const header = randomBytes(24).toString('base64url');
    const cache = opts.cacheTokens === false ? undefined : new ManagedIdentityTokenCache();
    const lifetime = opts.tokenLifetimeSeconds ?? 86_400;
    const server = createServer(
      serviceListener(this.deps, () => ({ service: 'identity', handler: (req, res, url) => this.handle(siteId, header, lifetime, cache, req, res, url) })),
    );
    const port = await listenLoopback(server);
    this.servers.push(server);
    const endpoint = `http://127.0.0.1:${port}/msi/token`;
    return {
      endpoint,
      header,
      siteId,
      principalId: resolved.principalId,
      clientId: resolved.clientId,
      tenantId: resolved.tenantId,
      env: { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header },
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.servers.map((s) => closeServer(s)));
    this.servers.length = 0;
  }

  private ensureSite(opts: AppServiceIdentityOptions, principal: 'system' | string): string {
    if (opts.siteId !== undefined && this.arm.get(opts.siteId) !== undefined) return opts.siteId;
    const subscriptionId = opts.subscriptionId ?? randomUUID();
    assertGuid(subscriptionId, 'subscriptionId');
    const id = opts.siteId ?? `${resourceGroupScope(subscriptionId, 'azauth-host')}/providers/Microsoft.Web/sites/azauth-func-${randomHex(4)}`;
    const userAssigned = [...(opts.userAssigned ?? []), ...(principal === 'system' ? [] : [principal])];
    return this.arm.addResource({ id, kind: 'functionapp,linux', systemAssigned: principal === 'system', userAssigned }).id;
  }

  private async handle(
    siteId: string,
    expectedHeader: string,
    lifetime: number,
    cache: ManagedIdentityTokenCache | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<void> {
    if (req.method !== 'GET') throw identityError(405, 'Only GET is supported');
    const presented = req.headers['x-identity-header'];
    if (typeof presented !== 'string' || !sameSecret(presented, expectedHeader)) {
      throw identityError(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER');
    }
    const apiVersion = queryParam(url, 'api-version');
    if (apiVersion !== API_VERSION) throw identityError(400, `api-version ${apiVersion ?? '(none)'} is not supported; use ${API_VERSION}`);
    const resource = queryParam(url, 'resource');
    if (resource === undefined || resource === '') throw identityError(400, 'The resource parameter is required');
    const site = this.arm.get(siteId);
    if (site === undefined) throw identityError(404, 'The site no longer exists');
    const selection = selectIdentity(this.arm, site, {
      clientId: queryParam(url, 'client_id'),
      objectId: queryParam(url, 'principal_id') ?? queryParam(url, 'object_id'),
      resourceId: queryParam(url, 'mi_res_id') ?? queryParam(url, 'msi_res_id'),
    });
    if (!selection.ok) throw identityError(400, selection.message);
    const issued = await issueLocalToken(this.entra, this.arm, { resourceId: siteId, identity: selection.identity, audience: resource, lifetimeSeconds: lifetime, cache });
    sendJson(res, 200, {
      access_token: issued.token,
      expires_on: String(issued.exp),
      not_before: String(issued.nbf),
      resource,
      token_type: 'Bearer',
      client_id: issued.clientId,
    });
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
