/**
 * `auth/token/revoke-accessor` (POST/PUT): revokes a token given by accessor. 204; an
 * unknown accessor is Vault's 200 with the warning "No token found with this accessor".
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { requiredAccessor } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { sensitive, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** Accessor of the token to revoke (request body). */
  accessor: sensitive(vString),
};

const revokeAccessor: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const accessor = requiredAccessor(req, values.accessor);
  const revoked = await appServices().tokens.revokeAccessor(accessor);
  if (!revoked) req.warn('No token found with this accessor');
  return undefined;
};

export const tokenRevokeAccessorPath: PathDefinition = {
  pattern: 'auth/token/revoke-accessor',
  mountType: 'token',
  operations: { update: { handler: revokeAccessor } },
};

app.http('tokenRevokeAccessor', {
  route: 'auth/token/revoke-accessor',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenRevokeAccessorPath, () => appServices().endpoint),
});
