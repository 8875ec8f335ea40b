/**
 * Catch-all for `/v1/<anything>` no other function serves: Vault's router for secrets engines. The
 * host tries every literal route first, so this only sees what nothing else matches; the first path
 * segment names a `kv` mount (shared/kv/router.ts), or nothing, which is Vault's 404 "no handler for
 * route". Like Vault, the ACL decision comes before the path definition is asked anything: a caller
 * without a right to the path gets 403, whatever is (or is not) mounted there.
 */
import { app } from '@azure/functions';
import { kvRouter } from '../shared/kv/router';
import { appServices } from '../shared/services';
import { vaultRouter } from '../shared/vault/endpoint';

const router = kvRouter(() => {
  const services = appServices();
  return {
    mounts: services.mounts,
    engine: services.kv,
    systemDefaultLeaseTtl: services.settings.AZAUTH_DEFAULT_TTL,
    displayName: async (req) => {
      if (req.caller.kind !== 'token' || !req.token) return undefined;
      // The record the authorization decision loaded for this request: no storage call.
      return (await services.tokens.resolvedFor(req.caller.token, req.token)).record.displayName;
    },
  };
});

app.http('secretsRouter', {
  route: '{*path}',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
  authLevel: 'anonymous',
  handler: vaultRouter(router, () => appServices().endpoint),
});
