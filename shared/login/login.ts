/**
 * `auth/<mount>/login`: a managed-identity token and a role name become a Vault token, in the
 * order of Vault's plugin (behaviour reference §4.3):
 *   jwt required → role required → role exists → token_bound_cidrs → field syntax → mount config →
 *   token verification → principal/group bindings → resource bindings → token issue.
 * Every refusal is a VaultError whose code decides the status: malformed input 400, a binding that
 * does not hold 403, Entra/ARM/storage failing 502/503.
 */
import { TtlCache } from '../arm/cache';
import { ArmFacts, type ArmSession } from '../arm/resource-facts';
import { ArmSessions } from '../arm/sessions';
import { scopeFor } from '../arm/credentials';
import { resolveEffectiveSettings, type FallbackSettings } from '../config/effective';
import { CONFIG_DEFAULTS, type MountConfig } from '../config/types';
import { cloudCatalog, type CloudCatalog, type CloudEndpoints } from '../entra/clouds';
import type { EntraTokenExpectation, VerifiedEntraToken } from '../entra/verify';
import type { Mount } from '../mounts/types';
import { addressAllowed } from '../net/cidr';
import { isValidRoleName } from '../roles/names';
import type { Role } from '../roles/types';
import type { Settings } from '../settings';
import type { IssueSpec } from '../tokens/issue';
import { noHandlerFor } from '../mounts/store';
import { VaultError, badRequest, permissionDenied } from '../vault/errors';
import type { AuthBlock } from '../vault/types';
import type { LoginClaims, LoginRole } from './model';
import { principalDenial } from './principal';
import type { LoginRequest } from './request';
import { verifyResource } from './resource';
import { firstSyntaxError } from './syntax';
import { goQuote } from '../vault/goQuote';

export interface LoginDependencies {
  /** The mount table's hot-path view: active mounts, at most a second stale (see MountStore). */
  readonly mounts: { active(table: 'auth', path: string): Promise<Mount | undefined> };
  readonly roles: { read(mount: string, name: string): Promise<Role | undefined> };
  readonly configs: {
    read(mount: string): Promise<MountConfig | undefined>;
    openClientSecret(mount: string, sealed: string): string;
  };
  readonly settings: FallbackSettings & Pick<Settings, 'AZAUTH_MANAGED_IDENTITY_CLIENT_ID' | 'AZAUTH_ARM_CACHE_TTL'>;
  readonly verifier: { verifyEntraToken(jwt: string, expected: EntraTokenExpectation): Promise<VerifiedEntraToken> };
  readonly issueToken: (spec: IssueSpec) => Promise<{ auth: AuthBlock; warnings: string[] }>;
}

export interface LoginCall {
  readonly mount: string;
  readonly request: LoginRequest;
  /** The caller's address as the platform reported it (rightmost X-Forwarded-For). */
  readonly remoteAddress: string | undefined;
  /**
   * Told who the caller is as soon as the token is verified, so that a login denied later (by a
   * binding) is still audited with its principal and tenant.
   */
  readonly onVerified?: (principalId: string, tenantId: string) => void;
}

export interface LoginOutcome {
  readonly auth: AuthBlock;
  readonly warnings: string[];
}

/**
 * How long a worker reuses the mount, role and config it read for logins. Storage reads cost as much
 * as the token insert itself, so without this a login would cost four storage calls instead of one.
 * A change to a role, config or mount therefore reaches logins within this time (on every instance);
 * a role, config or mount that does not exist is never remembered, so a new one works at once.
 */
export const LOGIN_STATE_CACHE_MS = 1000;

export class LoginService {
  /** ARM facts per credential and resource, shared by the mounts of this worker that use the same credential (see resource-facts.ts). */
  readonly armFacts: ArmFacts;
  private readonly armSessions = new ArmSessions();
  private catalog: CloudCatalog | undefined;
  private readonly roleCache = new TtlCache<Role | undefined>({ ttlMs: LOGIN_STATE_CACHE_MS, maxEntries: 10_000, keep: (r) => r !== undefined });
  private readonly configCache = new TtlCache<MountConfig | undefined>({ ttlMs: LOGIN_STATE_CACHE_MS, maxEntries: 1000, keep: (c) => c !== undefined });

  constructor(private readonly deps: LoginDependencies) {
    this.armFacts = new ArmFacts({ ttlSeconds: deps.settings.AZAUTH_ARM_CACHE_TTL });
  }

  async login(call: LoginCall): Promise<LoginOutcome> {
    const { mount, request } = call;
    const mounted = await this.deps.mounts.active('auth', mount);
    if (!mounted || mounted.type !== 'azure') throw noHandlerFor(`auth/${mount}/login`);
    // Role and config are remembered per enable of the mount (its uuid), so a path disabled and
    // enabled again never serves what the old mount had.
    const stateKey = mounted.uuid;

    // 1, 2
    if (request.jwt === '') throw badRequest('jwt is required');
    if (request.role === '') throw badRequest('role is required');
    // The config is needed from step 6 on; reading it alongside the role saves a round trip. Its
    // failure is reported only if the login gets that far (an unknown role still answers 400).
    const configRead = this.configCache.get(stateKey, () => this.deps.configs.read(mount));
    configRead.catch(() => undefined);
    // 3: a name no role can have is unknown by definition (and must not reach a storage key).
    const roleName = request.role.toLowerCase();
    const stored = isValidRoleName(request.role) ? await this.roleCache.get(`${stateKey}\0${roleName}`, () => this.deps.roles.read(mount, roleName)) : undefined;
    if (!stored) throw badRequest(`invalid role name ${goQuote(request.role)}`);
    const role = loginRoleOf(stored);
    // 4
    if (role.tokenBoundCidrs.length > 0 && !addressAllowed(role.tokenBoundCidrs, call.remoteAddress)) {
      throw permissionDenied();
    }
    // 5
    const syntaxError = firstSyntaxError(request);
    if (syntaxError) throw badRequest(syntaxError);
    // 6
    const config = await configRead;
    const effective = resolveEffectiveSettings(config, this.deps.settings);
    if (!effective.ok) {
      // A mount whose disable began after this login started has already lost its config: that is
      // the route going away (404), not a deployment mistake (500).
      if ((await this.deps.mounts.active('auth', mount))?.uuid !== mounted.uuid) throw noHandlerFor(`auth/${mount}/login`);
      throw new VaultError('internal', effective.problem);
    }
    const cloud = this.cloud(effective.settings.cloud.name);
    // 7, 8
    const verified = await this.deps.verifier.verifyEntraToken(request.jwt, {
      tenantId: effective.settings.tenantId,
      audience: effective.settings.resource,
      cloud,
    });
    // 9
    const claims = loginClaimsOf(verified);
    call.onVerified?.(claims.objectId, claims.tenantId);
    if (claims.objectId === '') throw new VaultError('permission_denied', 'token has no oid claim: the calling principal cannot be identified');
    // 10
    const principalProblem = principalDenial(role, claims);
    if (principalProblem) throw new VaultError('permission_denied', principalProblem);
    // 11
    await verifyResource({
      role,
      request,
      claims,
      armAudience: cloud.armAudience,
      facts: this.armFacts,
      session: async () => this.armSession(mount, config, effective.settings.tenantId, cloud),
    });
    // 12
    const issued = await this.deps.issueToken({
      type: stored.tokenType === 'batch' ? 'batch' : 'service',
      mount,
      mountAccessor: mounted.accessor,
      path: `auth/${mount}/login`,
      role: request.role,
      policies: stored.tokenPolicies,
      noDefaultPolicy: stored.tokenNoDefaultPolicy,
      meta: loginMetadata(request, claims),
      displayName: `${mount}-${claims.objectId}`,
      principalId: claims.objectId,
      tenantId: claims.tenantId,
      ttl: stored.tokenTtl,
      maxTtl: stored.tokenMaxTtl,
      explicitMaxTtl: stored.tokenExplicitMaxTtl,
      period: stored.tokenPeriod,
      numUses: stored.tokenNumUses,
      boundCidrs: stored.tokenBoundCidrs,
    });
    return { auth: issued.auth, warnings: issued.warnings };
  }

  private cloud(name: string): CloudEndpoints {
    try {
      this.catalog ??= cloudCatalog(this.deps.settings);
      return this.catalog.cloud(name);
    } catch (err) {
      // A bad endpoint override is the deployment's problem, reported by name.
      throw new VaultError('internal', err instanceof Error ? err.message : 'invalid cloud settings', { cause: err });
    }
  }

  private armSession(mount: string, config: MountConfig | undefined, tenantId: string, cloud: CloudEndpoints): ArmSession {
    return this.armSessions.forSpec({
      tenantId,
      clientId: config?.clientId ?? '',
      clientSecret: config ? this.deps.configs.openClientSecret(mount, config.clientSecretSealed) : '',
      identityTokenAudience: config?.identityTokenAudience ?? '',
      authorityHost: cloud.authorityHost,
      managedIdentityClientId: this.deps.settings.AZAUTH_MANAGED_IDENTITY_CLIENT_ID,
      endpoint: cloud.armEndpoint,
      scope: scopeFor(cloud.armAudience),
      maxRetries: config?.maxRetries ?? CONFIG_DEFAULTS.maxRetries,
      retryDelaySeconds: config?.retryDelaySeconds ?? CONFIG_DEFAULTS.retryDelaySeconds,
      maxRetryDelaySeconds: config?.maxRetryDelaySeconds ?? CONFIG_DEFAULTS.maxRetryDelaySeconds,
    });
  }
}

export function loginRoleOf(role: Role): LoginRole {
  return {
    name: role.name,
    boundServicePrincipalIds: role.boundServicePrincipalIds ?? [],
    boundGroupIds: role.boundGroupIds ?? [],
    boundSubscriptionIds: role.boundSubscriptionIds ?? [],
    boundResourceGroups: role.boundResourceGroups ?? [],
    boundLocations: role.boundLocations ?? [],
    boundScaleSets: role.boundScaleSets ?? [],
    tokenBoundCidrs: role.tokenBoundCidrs,
    resourceVerification: role.resourceVerification,
  };
}

export function loginClaimsOf(verified: VerifiedEntraToken): LoginClaims {
  const { claims } = verified;
  return {
    tenantId: claims.tid,
    objectId: claims.oid ?? '',
    // v1 tokens name the client in `appid`, v2 tokens in `azp`.
    appId: claims.appid ?? claims.azp,
    groups: claims.groups ?? [],
    groupOverage: claims._claim_names?.['groups'] !== undefined,
    xmsAzRid: claims.xms_az_rid,
    xmsMirid: claims.xms_mirid,
  };
}

/** Vault's token metadata: three keys always, four more when they have a value. */
export function loginMetadata(request: LoginRequest, claims: LoginClaims): Record<string, string> {
  const meta: Record<string, string> = {
    role: request.role,
    resource_group_name: request.resource_group_name,
    subscription_id: request.subscription_id,
  };
  if (request.vm_name) meta.vm_name = request.vm_name;
  if (request.vmss_name) meta.vmss_name = request.vmss_name;
  if (request.resource_id) meta.resource_id = request.resource_id;
  if (claims.appId) meta.app_id = claims.appId;
  return meta;
}

