/**
 * Small helpers the `auth/token/*` handlers share: which token a request is about, and what its
 * audit record should say about it.
 */
import { badRequest, invalidToken } from '../vault/errors';
import type { TokenView, VaultRequest } from '../vault/types';
import type { ResolvedToken, TokenService } from './service';

/** The caller's own token, when the caller is a token of ours (not an Entra admin). */
export function callerView(req: VaultRequest): TokenView | undefined {
  return req.caller.kind === 'token' ? req.caller.token : undefined;
}

/** The record of the token that authenticated this request (no second use is consumed). */
export async function callerToken(req: VaultRequest, tokens: TokenService): Promise<ResolvedToken> {
  const view = callerView(req);
  if (!view || !req.token) throw invalidToken();
  return tokens.resolvedFor(view, req.token);
}

/** Records which token an operation touched: its mount, role and principal, and its accessor as an HMAC. */
export function noteToken(req: VaultRequest, target: ResolvedToken): void {
  const { record } = target;
  req.audit.note({
    mount: record.mount,
    ...(record.role ? { role: record.role } : {}),
    ...(record.principalId ? { principalId: record.principalId } : {}),
    ...(record.tenantId ? { tenantId: record.tenantId } : {}),
  });
  if (record.accessor) req.audit.secret('accessor', record.accessor);
}

/** The `token` field of a call about another token: Vault's 400 "missing token ID" when empty; audited as an HMAC only. */
export function requiredToken(req: VaultRequest, value: string | undefined): string {
  if (!value) throw badRequest('missing token ID');
  req.audit.secret('token', value);
  return value;
}

/** The `accessor` field of a call by accessor: Vault's 400 "missing accessor" when empty; audited as an HMAC only. */
export function requiredAccessor(req: VaultRequest, value: string | undefined): string {
  if (!value) throw badRequest('missing accessor');
  req.audit.secret('accessor', value);
  return value;
}
