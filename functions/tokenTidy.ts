/**
 * `auth/token/tidy` (POST/PUT): the hourly tidy, on demand: expired tokens, then the subtrees of
 * revoked or expired parents.
 *
 * Vault starts tidy in the background and answers at once with a warning. A Functions instance
 * may be frozen once the response is sent, so background work is not reliable here: the run
 * happens inside the request (bounded to 20 s; the hourly timer finishes anything left) and the
 * answer is a 200 carrying Vault's warning plus what was done.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {};

const tidy: PathHandler = async (req) => {
  req.fields(fields);
  const report = await appServices().tokens.tidy({ budgetMs: 20_000 });
  req.warn(
    report.complete
      ? 'Tidy operation successfully completed.'
      : 'Tidy operation stopped at its time budget; the hourly tidy timer will finish the work.',
  );
  return {
    data: {
      expired_tokens_found: report.expiredFound,
      expired_tokens_deleted: report.deleted,
      tree_tokens_revoked: report.treeTokensRevoked,
      complete: report.complete,
    },
  };
};

export const tokenTidyPath: PathDefinition = {
  pattern: 'auth/token/tidy',
  mountType: 'token',
  operations: { update: { handler: tidy } },
};

app.http('tokenTidy', {
  route: 'auth/token/tidy',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenTidyPath, () => appServices().endpoint),
});
