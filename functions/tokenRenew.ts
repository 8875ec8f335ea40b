/**
 * `auth/token/renew` (POST/PUT): extends any token, given by value.
 * Missing token → 400 "missing token ID"; unknown or expired → 400 "token not found".
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { noteToken, requiredToken } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { badRequest } from '../shared/vault/errors';
import { sensitive, vDuration, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** The token to renew (request body). */
  token: sensitive(vString),
  /** Requested TTL in seconds or as a duration; 0 or absent lets the server choose. */
  increment: vDuration,
};

const renew: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const token = requiredToken(req, values.token);
  const { tokens } = appServices();
  const target = await tokens.find(token);
  if (!target) throw badRequest('token not found');
  noteToken(req, target);
  const renewed = await tokens.renew(target, values.increment ?? 0, token, 'token_not_found');
  for (const warning of renewed.warnings) req.warn(warning);
  return { auth: renewed.auth };
};

export const tokenRenewPath: PathDefinition = {
  pattern: 'auth/token/renew',
  mountType: 'token',
  operations: { update: { handler: renew } },
};

app.http('tokenRenew', {
  route: 'auth/token/renew',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenRenewPath, () => appServices().endpoint),
});
