/**
 * Who is calling: turns the client token of a request into a `Caller`, or refuses it with Vault's
 * texts. Three kinds of callers exist:
 *
 * - `public` operations (sys/health, login) need nothing: the token is not even looked at.
 * - An admin presents either an Entra access token (tenant `AZAUTH_ADMIN_TENANT_ID`, audience
 *   `AZAUTH_ADMIN_AUDIENCE`, `oid` listed in `AZAUTH_ADMIN_PRINCIPAL_IDS`), or a token this service
 *   issued that carries the `root` policy.
 * - `token` operations (a token's own self-service calls) accept any live token this service issued.
 *   An Entra JWT is not one of ours and has nothing to look up or renew, so there it is an invalid
 *   token, even an admin's.
 *
 * Texts: no token or a live caller without the right → 403 "permission denied"; an unknown, expired
 * or malformed token (including an Entra token that fails verification) → 403 whose text also says
 * "invalid token", which Vault Agent reads as "log in again". Entra unreachable → 502.
 */
import type { CloudEndpoints } from '../entra/clouds';
import { isEntraTokenError } from '../entra/errors';
import type { EntraTokenExpectation, VerifiedEntraToken } from '../entra/verify';
import { VaultError, invalidToken, permissionDenied } from '../vault/errors';
import type { Access, Caller, TokenView } from '../vault/types';

/** Resolves tokens issued by this service (`hvs.`/`hvb.`); throws `invalidToken()` for a dead one. */
export interface TokenAuthenticator {
  authenticate(token: string, remoteAddress: string | undefined): Promise<TokenView>;
}

/** The part of `EntraTokenVerifier` access control needs (a fake in unit tests). */
export interface EntraVerifier {
  verifyEntraToken(jwt: string, expected: EntraTokenExpectation): Promise<VerifiedEntraToken>;
}

/** Who counts as an Entra admin, from the app settings. */
export interface AdminPolicy {
  readonly tenantId: string | undefined;
  readonly audience: string | undefined;
  /** Object ids, compared case-insensitively. */
  readonly principalIds: readonly string[];
  /**
   * The admin tenant's cloud. A function, so that a bad cloud setting fails admin calls with a
   * message naming it (throw a `VaultError`) instead of taking the whole app down at start.
   */
  readonly cloud: () => Pick<CloudEndpoints, 'authorityHost'>;
}

export interface AuthorizeDependencies {
  readonly verifier: EntraVerifier;
  readonly tokens: TokenAuthenticator;
  readonly admin: AdminPolicy;
  /** Operator-facing warnings about the admin settings; each distinct message is logged once. */
  readonly warn: (message: string) => void;
}

export type Authorize = (access: Access, token: string | undefined, remoteAddress: string | undefined) => Promise<Caller>;

/** The root policy: its holder may do anything, as in Vault. */
const ROOT_POLICY = 'root';

/** Tokens this service issues. */
const OWN_TOKEN = /^hv[sb]\./;

/** Three base64url segments (the last may be empty): worth handing to the Entra verifier. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createAuthorize(deps: AuthorizeDependencies): Authorize {
  const warned = new Set<string>();
  const warnOnce = (message: string): void => {
    if (warned.has(message)) return;
    warned.add(message);
    deps.warn(message);
  };
  const adminIds = new Set(deps.admin.principalIds.map((id) => id.trim().toLowerCase()).filter(Boolean));

  async function entraAdmin(jwt: string): Promise<Caller> {
    const { tenantId, audience } = deps.admin;
    if (!tenantId || !audience) {
      // Without these there is no Entra admin at all; the caller still gets Vault's plain text.
      warnOnce('Entra admin access is off: AZAUTH_ADMIN_TENANT_ID and AZAUTH_ADMIN_AUDIENCE must both be set; an Entra token was refused');
      throw permissionDenied();
    }
    let verified: VerifiedEntraToken;
    try {
      verified = await deps.verifier.verifyEntraToken(jwt, { tenantId, audience, cloud: deps.admin.cloud() });
    } catch (err) {
      if (isEntraTokenError(err)) throw invalidToken();
      if (err instanceof VaultError && err.code === 'bad_request') {
        // The verifier refused our own settings (e.g. a tenant id that is not one): not the caller's fault.
        throw new VaultError('internal', `invalid app setting AZAUTH_ADMIN_TENANT_ID or AZAUTH_ADMIN_AUDIENCE: ${err.message}`, { cause: err });
      }
      throw err;
    }
    const oid = verified.claims.oid?.toLowerCase();
    if (adminIds.size === 0) warnOnce('Entra admin access is off: AZAUTH_ADMIN_PRINCIPAL_IDS is empty; a valid Entra token was refused');
    if (!oid || !adminIds.has(oid)) throw permissionDenied();
    return { kind: 'admin', via: 'entra', principalId: oid, tenantId: verified.claims.tid };
  }

  return async (access, token, remoteAddress) => {
    if (access === 'public') return { kind: 'anonymous' };
    if (!token) throw permissionDenied();
    if (OWN_TOKEN.test(token)) {
      const view = await deps.tokens.authenticate(token, remoteAddress);
      if (access === 'token') return { kind: 'token', token: view };
      if (!view.policies.includes(ROOT_POLICY)) throw permissionDenied();
      return { kind: 'admin', via: 'root-token', principalId: view.principalId, token: view };
    }
    if (access === 'admin' && JWT_SHAPE.test(token)) return entraAdmin(token);
    throw invalidToken();
  };
}
