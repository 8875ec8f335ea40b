/**
 * `auth/token/lookup-self` (GET, POST/PUT): the caller's own token. Needs only the token itself.
 * Vault Agent type-asserts `data.id` (string), `data.ttl` (number), `data.renewable` (bool) and
 * `data.type` (string) on this answer.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { lookupData } from '../shared/tokens/lookup';
import { callerToken, noteToken } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { sensitive, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** Accepted and ignored, as in Vault: the token looked up is always the caller's. */
  token: sensitive(vString),
};

const lookupSelf: PathHandler = async (req) => {
  req.fields(fields);
  const { tokens } = appServices();
  const self = await callerToken(req, tokens);
  noteToken(req, self);
  return { data: lookupData(self.record, self.token, Date.now()) };
};

export const tokenLookupSelfPath: PathDefinition = {
  pattern: 'auth/token/lookup-self',
  mountType: 'token',
  operations: {
    read: { handler: lookupSelf },
    update: { handler: lookupSelf },
  },
};

app.http('tokenLookupSelf', {
  route: 'auth/token/lookup-self',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenLookupSelfPath, () => appServices().endpoint),
});
