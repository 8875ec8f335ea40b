/**
 * `auth/token/renew-self` (POST/PUT): extends the caller's own token and answers with an `auth`
 * block (Vault Agent reads the new `auth.lease_duration`). Login tokens take their role's current
 * token_ttl / token_max_ttl / token_period; a TTL capped by the max is a 200 with a warning.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { callerToken, noteToken } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { sensitive, vDuration, vString } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** Accepted and ignored: the token renewed is always the caller's. */
  token: sensitive(vString),
  /** Requested TTL in seconds or as a duration ("1h"); 0 or absent lets the server choose. */
  increment: vDuration,
};

const renewSelf: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const { tokens } = appServices();
  const self = await callerToken(req, tokens);
  noteToken(req, self);
  const renewed = await tokens.renew(self, values.increment ?? 0, self.token, 'invalid_token');
  for (const warning of renewed.warnings) req.warn(warning);
  return { auth: renewed.auth };
};

export const tokenRenewSelfPath: PathDefinition = {
  pattern: 'auth/token/renew-self',
  mountType: 'token',
  operations: { update: { handler: renewSelf } },
};

app.http('tokenRenewSelf', {
  route: 'auth/token/renew-self',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenRenewSelfPath, () => appServices().endpoint),
});
