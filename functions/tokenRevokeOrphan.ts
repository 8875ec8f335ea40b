/**
 * `auth/token/revoke-orphan` (POST/PUT, `token`): revokes one token and keeps its children, which
 * become orphans. A root-protected path in Vault's token store (sudo on the path or a root token),
 * and the handler checks it again, answering 400 as Vault does.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { noteToken, requiredToken } from '../shared/tokens/requests';
import { badRequest } from '../shared/vault/errors';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { sensitive, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** The token to revoke (request body). */
  token: sensitive(vString),
};

const revokeOrphan: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const token = requiredToken(req, values.token);
  if (!req.rootOrSudo) throw badRequest('root or sudo privileges required to revoke and orphan');
  const { tokens } = appServices();
  const target = await tokens.find(token);
  if (!target) throw badRequest('token to revoke not found');
  noteToken(req, target);
  await tokens.revokeOrphan(target);
  return undefined;
};

export const tokenRevokeOrphanPath: PathDefinition = {
  pattern: 'auth/token/revoke-orphan',
  mountType: 'token',
  operations: { update: { handler: revokeOrphan } },
};

app.http('tokenRevokeOrphan', {
  route: 'auth/token/revoke-orphan',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenRevokeOrphanPath, () => appServices().endpoint),
});
