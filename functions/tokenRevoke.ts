/**
 * `auth/token/revoke` (POST/PUT): revokes a token given by value and every token below it in its
 * tree. 204 also when the token does not exist (Vault); a batch token → 400 "batch tokens cannot be
 * revoked".
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { noteToken, requiredToken } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { sensitive, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** The token to revoke (request body). */
  token: sensitive(vString),
};

const revoke: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const token = requiredToken(req, values.token);
  const target = await appServices().tokens.revokeByToken(token);
  if (target) noteToken(req, target);
  return undefined;
};

export const tokenRevokePath: PathDefinition = {
  pattern: 'auth/token/revoke',
  mountType: 'token',
  operations: { update: { handler: revoke } },
};

app.http('tokenRevoke', {
  route: 'auth/token/revoke',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenRevokePath, () => appServices().endpoint),
});
