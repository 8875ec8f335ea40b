/**
 * Catch-all for `/v1/<anything>` no other function serves: Vault's 404 naming the path, for any
 * method. The host tries every literal route first, so this only answers what nothing else matches.
 */
import { app } from '@azure/functions';
import { noHandlerFor } from '../shared/mounts/store';
import { logicalPath } from '../shared/vault/endpoint';
import { errorResponse, type HttpResponseLike } from '../shared/vault/respond';

export async function notFoundHandler(req: { readonly url: string }): Promise<HttpResponseLike> {
  return errorResponse(noHandlerFor(logicalPath(new URL(req.url).pathname)));
}

app.http('notFound', {
  route: '{*path}',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
  authLevel: 'anonymous',
  handler: notFoundHandler,
});
