/**
 * `auth/token/accessors` (LIST, or GET `?list=true`): every token accessor. An empty
 * list is Vault's 404 `{"errors":[]}`.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {};

const listAccessors: PathHandler = async (req) => {
  req.fields(fields);
  const keys = await appServices().tokens.listAccessors();
  return keys.length ? { data: { keys } } : undefined;
};

export const tokenAccessorsPath: PathDefinition = {
  pattern: 'auth/token/accessors/',
  mountType: 'token',
  operations: { list: { handler: listAccessors } },
};

app.http('tokenAccessors', {
  route: 'auth/token/accessors',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenAccessorsPath, () => appServices().endpoint),
});
