/**
 * `auth/token/create` (POST/PUT): an orphan service (or batch) token with the given policies, TTLs,
 * use count, period, metadata and display name. Admin only; a token with the `root` policy is an
 * admin. Unknown fields are ignored with Vault's warning; a TTL above the system max is capped with
 * Vault's warning (a 200, as Vault answers), not refused.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { createSpec } from '../shared/tokens/create';
import { callerToken } from '../shared/tokens/requests';
import { vaultEndpoint } from '../shared/vault/endpoint';
import { sensitive, vBool, vDuration, vInt, vOptionalBool, vString, vStringMap, vStringSlice } from '../shared/vault/fields';
import type { PathDefinition, PathHandler } from '../shared/vault/types';

const fields = {
  /** Vault lets root choose the token value; refused here (tokens must be random to be stored hashed). */
  id: sensitive(vString),
  /** Policies of the new token; absent = the calling token's policies. */
  policies: vStringSlice,
  /** Arbitrary string metadata (Vault reads `meta`; `metadata` is accepted as its documented alias). */
  meta: vStringMap,
  metadata: vStringMap,
  /** Every token created here is an orphan; accepted for compatibility. */
  no_parent: vBool,
  no_default_policy: vBool,
  renewable: vOptionalBool,
  ttl: vDuration,
  /** Deprecated name of `ttl`. */
  lease: vDuration,
  explicit_max_ttl: vDuration,
  display_name: vString,
  num_uses: vInt,
  period: vDuration,
  /** `service` (default) or `batch`. */
  type: vString,
  entity_alias: vString,
  /** Output format for the CLI; the API always answers JSON. */
  format: vString,
};

const create: PathHandler = async (req) => {
  const { values } = req.fields(fields);
  const { tokens } = appServices();
  const parent = req.caller.kind === 'admin' && req.caller.via === 'root-token' ? (await callerToken(req, tokens)).record : undefined;
  const spec = createSpec(
    {
      ...values,
      meta: values.meta ?? values.metadata,
      ttl: values.ttl ?? values.lease,
    },
    req.caller,
    parent,
  );
  const issued = await tokens.issueToken(spec);
  req.audit.note({ mount: 'token' });
  req.audit.secret('new_accessor', issued.auth.accessor);
  for (const warning of issued.warnings) req.warn(warning);
  return { auth: issued.auth };
};

export const tokenCreatePath: PathDefinition = {
  pattern: 'auth/token/create',
  mountType: 'token',
  operations: { update: { access: 'admin', handler: create } },
};

app.http('tokenCreate', {
  route: 'auth/token/create',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenCreatePath, () => appServices().endpoint),
});
