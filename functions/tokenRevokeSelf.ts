/**
 * `auth/token/revoke-self` (POST/PUT): revokes the caller's own token; 204. A batch token cannot
 * be revoked (400): it ends when its TTL does.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { callerToken, noteToken } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

/** No fields: anything sent is reported back as ignored, as in Vault. */
const fields = {};

const revokeSelf: PathHandler = async (req) => {
  req.fields(fields);
  const { tokens } = appServices();
  const self = await callerToken(req, tokens);
  noteToken(req, self);
  await tokens.revoke(self);
  return undefined;
};

export const tokenRevokeSelfPath: PathDefinition = {
  pattern: 'auth/token/revoke-self',
  mountType: 'token',
  operations: { update: { handler: revokeSelf } },
};

app.http('tokenRevokeSelf', {
  route: 'auth/token/revoke-self',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenRevokeSelfPath, () => appServices().endpoint),
});
