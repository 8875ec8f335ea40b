/**
 * `auth/token/lookup-accessor` (POST/PUT): a token's properties by its accessor, with `id` "".
 * Missing accessor → 400 "missing accessor"; unknown → 400 "invalid accessor".
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { lookupData } from '../shared/tokens/lookup';
import { noteToken, requiredAccessor } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { badRequest } from '../shared/vault/errors';
import { sensitive, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** Accessor of the token to look up (request body). */
  accessor: sensitive(vString),
};

const lookupAccessor: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const accessor = requiredAccessor(req, values.accessor);
  const found = await appServices().tokens.findByAccessor(accessor);
  if (!found) throw badRequest('invalid accessor');
  noteToken(req, found);
  return { data: lookupData(found.record, '', Date.now()) };
};

export const tokenLookupAccessorPath: PathDefinition = {
  pattern: 'auth/token/lookup-accessor',
  mountType: 'token',
  operations: { update: { handler: lookupAccessor } },
};

app.http('tokenLookupAccessor', {
  route: 'auth/token/lookup-accessor',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenLookupAccessorPath, () => appServices().endpoint),
});
