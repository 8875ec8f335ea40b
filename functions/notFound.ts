/**
 * Catch-all for `/v1/<anything>` no other function serves: Vault's router. The host tries every
 * literal route first, so this only sees what nothing else matches. Like Vault, the ACL decision
 * comes before routing: a caller without a right to the path gets 403, root gets Vault's 404 naming it.
 */
import { app } from '@azure/functions';
import { noHandlerFor } from '../shared/mounts/store';
import { appServices } from '../shared/services';
import { vaultRouter } from '../shared/vault/endpoint';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const noHandler: PathHandler = async (req) => {
  throw noHandlerFor(req.path);
};

export const unknownPath: PathDefinition = {
  pattern: '{*path}',
  operations: {
    read: { handler: noHandler },
    list: { handler: noHandler },
    update: { handler: noHandler },
    delete: { handler: noHandler },
    patch: { handler: noHandler },
  },
};

app.http('notFound', {
  route: '{*path}',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
  authLevel: 'anonymous',
  handler: vaultRouter(async (_path, params) => ({ definition: unknownPath, params }), () => appServices().endpoint),
});
