/**
 * `auth/token/lookup` (POST/PUT, GET): any token, by value. Without `token`, looks up
 * the caller's own token (a root-token admin); an unknown token is Vault's 403 "bad token".
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { lookupData } from '../shared/tokens/lookup';
import { callerView, noteToken, requiredToken } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { VaultError } from '../shared/vault/errors';
import { sensitive, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** The token to look up (request body; a query parameter on GET). */
  token: sensitive(vString),
};

const lookup: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  // Without `token`, Vault looks up the caller's own token; an Entra admin has none of ours.
  const token = requiredToken(req, values.token || (callerView(req) ? req.token : undefined));
  const { tokens } = appServices();
  const found = await tokens.find(token);
  if (!found) throw new VaultError('permission_denied', 'bad token');
  noteToken(req, found);
  return { data: lookupData(found.record, token, Date.now()) };
};

export const tokenLookupPath: PathDefinition = {
  pattern: 'auth/token/lookup',
  mountType: 'token',
  operations: {
    read: { handler: lookup },
    update: { handler: lookup },
  },
};

app.http('tokenLookup', {
  route: 'auth/token/lookup',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenLookupPath, () => appServices().endpoint),
});
