/**
 * The one authorization decision every request passes through (Vault's CheckToken):
 *
 * 1. Vault's unauthenticated paths (`sys/health`, `auth/<mount>/login`, the UI mount preflight)
 *    need nothing; a token sent there is left to the handler.
 * 2. Otherwise the token is resolved: one of ours (`hvs.`/`hvb.`: known, unexpired, its mount and
 *    every ancestor live, the caller inside its bound CIDRs), or an Entra access token of a
 *    configured admin principal, which is root (the bootstrap). No token, or anything else: 403.
 * 3. The token's policies become an ACL (cached per worker, see PolicyStore).
 * 4. A write to a path with an existence check is a `create` when the target is absent (Vault).
 * 5. A root-protected path needs `sudo` on the winning rule.
 * 6. The ACL decides, parameter constraints included. Denied: Vault's 403 "permission denied".
 * 7. Only then is a use of a limited-use token consumed (a denied request costs no use).
 *
 * Handlers never decide who may call them; they get the caller (with its ACL) and whether it holds
 * root or sudo on the request path, which a few of Vault's handlers check again (token creation).
 */
import { isEntraTokenError } from '../entra/errors';
import { Acl, type AclOperation, type TemplateContext } from '../policies/acl';
import type { ResolvedToken } from '../tokens/service';
import { VaultError, invalidToken, permissionDenied } from '../vault/errors';
import type { AccessGrant, AccessRequest } from '../vault/endpoint';
import type { TokenView } from '../vault/types';
import type { AdminPolicy, EntraVerifier } from './admin-policy';
import { isRootPath } from './root-paths';

/** The one decision, as endpoints call it. */
export type CheckAccess = (input: AccessRequest) => Promise<AccessGrant>;

export interface AccessDependencies {
  readonly tokens: {
    resolve(token: string, remoteAddress: string | undefined, checkAddress?: boolean): Promise<ResolvedToken>;
    use(found: ResolvedToken): Promise<ResolvedToken>;
    /** The view handlers get; `resolvedFor(view)` finds the record again without storage. */
    viewOf(found: ResolvedToken, limitedUse: boolean): TokenView;
  };
  readonly policies: { aclFor(names: readonly string[], identity?: TemplateContext): Promise<Acl> };
  readonly verifier: EntraVerifier;
  readonly admin: AdminPolicy;
  /** Operator-facing warnings about the admin settings; each distinct message is logged once. */
  readonly warn: (message: string) => void;
}

/** Tokens this service issues. */
const OWN_TOKEN = /^hv[sb]\./;
/** Three base64url segments (the last may be empty): worth handing to the Entra verifier. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** What a resolved token of ours looks like to the decision, before a use is consumed. */
interface OwnToken {
  readonly kind: 'own';
  readonly found: ResolvedToken;
  readonly acl: Acl;
}
interface EntraAdmin {
  readonly kind: 'entra-admin';
  readonly principalId: string;
  readonly tenantId: string;
  readonly acl: Acl;
}

export interface AccessControl {
  readonly check: CheckAccess;
  /**
   * The ACL of a token of ours, without consuming a use or checking the caller's address
   * (`sys/capabilities`, the UI preflight). Undefined for an unknown or dead token.
   */
  aclOfToken(token: string): Promise<Acl | undefined>;
  /** The same for a token found by other means (`sys/capabilities-accessor`). */
  aclOfRecord(found: ResolvedToken): Promise<Acl>;
  /**
   * The ACL of the token sent to an unauthenticated path that uses it (the UI mount preflight): a
   * token of ours as `aclOfToken` sees it, or an Entra admin's token (root). Undefined for anything
   * else; Entra being unreachable still fails (502).
   */
  aclOfPresentedToken(token: string): Promise<Acl | undefined>;
}

export function createAccessControl(deps: AccessDependencies): AccessControl {
  const warned = new Set<string>();
  const warnOnce = (message: string): void => {
    if (warned.has(message)) return;
    warned.add(message);
    deps.warn(message);
  };
  const adminIds = new Set(deps.admin.principalIds.map((id) => id.trim().toLowerCase()).filter(Boolean));

  async function entraAdmin(jwt: string): Promise<EntraAdmin> {
    const { tenantId, audience } = deps.admin;
    if (!tenantId || !audience) {
      warnOnce('Entra admin access is off: AZAUTH_ADMIN_TENANT_ID and AZAUTH_ADMIN_AUDIENCE must both be set; an Entra token was refused');
      throw permissionDenied();
    }
    let claims: { oid?: string; tid: string };
    try {
      claims = (await deps.verifier.verifyEntraToken(jwt, { tenantId, audience, cloud: deps.admin.cloud() })).claims;
    } catch (err) {
      if (isEntraTokenError(err)) throw invalidToken();
      if (err instanceof VaultError && err.code === 'bad_request') {
        // The verifier refused our own settings (e.g. a tenant id that is not one): not the caller's fault.
        throw new VaultError('internal', `invalid app setting AZAUTH_ADMIN_TENANT_ID or AZAUTH_ADMIN_AUDIENCE: ${err.message}`, { cause: err });
      }
      throw err;
    }
    const oid = claims.oid?.toLowerCase();
    if (adminIds.size === 0) warnOnce('Entra admin access is off: AZAUTH_ADMIN_PRINCIPAL_IDS is empty; a valid Entra token was refused');
    if (!oid || !adminIds.has(oid)) throw permissionDenied();
    return { kind: 'entra-admin', principalId: oid, tenantId: claims.tid, acl: Acl.ROOT };
  }

  const identityOf = (found: ResolvedToken): TemplateContext => {
    const { record } = found;
    // The azure plugin names an entity alias by the principal's object id; templated policies can
    // use {{identity.entity.aliases.<mount accessor>.name}} to reach it.
    const aliases: Record<string, string> = {};
    if (record.mountAccessor && record.principalId) aliases[record.mountAccessor] = record.principalId;
    return { ...(record.entityId ? { entityId: record.entityId } : {}), aliases };
  };

  const aclOfRecord = (found: ResolvedToken): Promise<Acl> => deps.policies.aclFor(found.record.policies, identityOf(found));

  async function resolveCaller(token: string, remoteAddress: string | undefined): Promise<OwnToken | EntraAdmin> {
    if (OWN_TOKEN.test(token)) {
      const found = await deps.tokens.resolve(token, remoteAddress);
      return { kind: 'own', found, acl: await aclOfRecord(found) };
    }
    if (JWT_SHAPE.test(token)) return entraAdmin(token);
    throw invalidToken();
  }

  const check: CheckAccess = async (input) => {
    if (input.unauthenticated) return { caller: { kind: 'anonymous' }, rootOrSudo: false };
    if (!input.token) throw permissionDenied();
    const resolved = await resolveCaller(input.token, input.remoteAddress);
    // Vault appends "/" to a list request's path before the ACL sees it.
    const path = input.operation === 'list' && !input.path.endsWith('/') ? `${input.path}/` : input.path;
    // A root ACL allows either, so the existence check (a storage read) is not made for it.
    const checkedAs: AclOperation =
      input.operation === 'update' && input.exists && !resolved.acl.isRoot ? ((await input.exists()) ? 'update' : 'create') : input.operation;
    // Responses are never wrapped here, so a rule with wrapping-TTL bounds denies (as Vault does for
    // an unwrapped request).
    const decision = resolved.acl.allowOperation({ path, operation: checkedAs, data: input.data });
    const rootOrSudo = decision.root || decision.sudo;
    if (!decision.allowed || (isRootPath(path) && !rootOrSudo)) throw permissionDenied();
    if (resolved.kind === 'entra-admin') {
      return { caller: { kind: 'entra-admin', principalId: resolved.principalId, tenantId: resolved.tenantId, acl: resolved.acl }, rootOrSudo };
    }
    const limitedUse = resolved.found.record.numUses > 0;
    const used = await deps.tokens.use(resolved.found);
    return { caller: { kind: 'token', token: deps.tokens.viewOf(used, limitedUse), acl: resolved.acl }, rootOrSudo };
  };

  /** Undefined instead of Vault's 403s (a dead or unknown token, a principal who is not an admin). */
  const unlessRefused = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof VaultError && (err.code === 'invalid_token' || err.code === 'permission_denied')) return undefined;
      throw err;
    }
  };

  const aclOfToken = async (token: string): Promise<Acl | undefined> => {
    if (!OWN_TOKEN.test(token)) return undefined;
    // The address check is about the caller, not about a token being looked at.
    const found = await unlessRefused(() => deps.tokens.resolve(token, undefined, false));
    return found ? aclOfRecord(found) : undefined;
  };

  return {
    check,
    aclOfToken,
    aclOfRecord,
    async aclOfPresentedToken(token) {
      if (OWN_TOKEN.test(token)) return aclOfToken(token);
      if (!JWT_SHAPE.test(token)) return undefined;
      return (await unlessRefused(() => entraAdmin(token)))?.acl;
    },
  };
}

