/**
 * `auth/{mount}/login` (POST/PUT, no token needed): Vault's path_login.go. A managed-identity
 * token and a role name become a Vault token; the checks and their order live in
 * `shared/login/login.ts`.
 *
 * The caller's address for `token_bound_cidrs` is the rightmost X-Forwarded-For entry: Azure's
 * front end appends the client address it saw (and the local host does the same), so that entry is
 * the one the platform vouches for; anything to its left came from the client.
 */
import { app } from '@azure/functions';
import { loginRequestFrom, loginFields } from '../shared/login/request';
import { appServices } from '../shared/services';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition } from '../shared/vault/types';

export const authLoginPath: PathDefinition = {
  pattern: 'auth/{mount}/login',
  // Vault's unauthenticated path: no token is needed, and one sent is not looked at.
  unauthenticated: true,
  operations: {
    update: {
      handler: async (req) => {
        const mount = req.params.mount ?? '';
        const { values } = req.fields(loginFields);
        const request = loginRequestFrom(values);
        req.audit.note({ mount, role: request.role, operation: 'login' });
        const outcome = await appServices().login.login({
          mount,
          request,
          remoteAddress: req.remoteAddress,
          onVerified: (principalId, tenantId) => req.audit.note({ principalId, tenantId }),
        });
        req.audit.secret('client_token', outcome.auth.client_token);
        if (outcome.auth.accessor) req.audit.secret('accessor', outcome.auth.accessor);
        for (const warning of outcome.warnings) req.warn(warning);
        return { auth: outcome.auth };
      },
    },
  },
};

// GET and DELETE are routed too, so they get Vault's 405 rather than the catch-all's 404.
app.http('authLogin', {
  route: 'auth/{mount}/login',
  methods: ['GET', 'POST', 'PUT', 'DELETE'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(authLoginPath, () => appServices().endpoint),
});
