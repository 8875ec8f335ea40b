/**
 * `auth/token/renew-accessor` (POST/PUT): extends a token given by accessor. The
 * `auth` block carries `client_token: ""`: an accessor never reveals its token.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { noteToken, requiredAccessor } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { badRequest } from '../shared/vault/errors';
import { sensitive, vDuration, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** Accessor of the token to renew (request body). */
  accessor: sensitive(vString),
  /** Requested TTL in seconds or as a duration; 0 or absent lets the server choose. */
  increment: vDuration,
};

const renewAccessor: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const accessor = requiredAccessor(req, values.accessor);
  const { tokens } = appServices();
  const target = await tokens.findByAccessor(accessor);
  if (!target) throw badRequest('invalid accessor');
  noteToken(req, target);
  const renewed = await tokens.renew(target, values.increment ?? 0, '', 'token_not_found');
  for (const warning of renewed.warnings) req.warn(warning);
  return { auth: renewed.auth };
};

export const tokenRenewAccessorPath: PathDefinition = {
  pattern: 'auth/token/renew-accessor',
  mountType: 'token',
  operations: { update: { handler: renewAccessor } },
};

app.http('tokenRenewAccessor', {
  route: 'auth/token/renew-accessor',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenRenewAccessorPath, () => appServices().endpoint),
});
