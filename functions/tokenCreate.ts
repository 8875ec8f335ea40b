/**
 * `auth/token/create` and `auth/token/create-orphan` (POST/PUT): a child of the calling token (or an
 * orphan) with the given policies, TTLs, use count, period, metadata and display name, under Vault's
 * token-store rules (shared/tokens/create.ts): a caller without root or sudo on the path may only
 * give a subset of its own policies and cannot make orphans or periodic tokens through `create`.
 * Unknown fields are ignored with Vault's warning; a TTL above the system max is capped with Vault's
 * warning (a 200, as Vault answers), not refused.
 */
import { app } from '@azure/functions';
import { appServices } from '../shared/services';
import { createSpec } from '../shared/tokens/create';
import { TOKEN_MOUNT } from '../shared/mounts/types';
import { callerToken, callerView } from '../shared/tokens/requests';
import { VaultError } from '../shared/vault/errors';
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
  /** Create an orphan (needs root or sudo on the path). */
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

/** The token store's mount: its accessor is recorded on every token it creates. */
async function tokenMountAccessor(): Promise<string> {
  const mount = await appServices().mounts.active('auth', TOKEN_MOUNT);
  if (!mount) throw new VaultError('internal', 'the token mount is missing from the mount table');
  return mount.accessor;
}

const create =
  (orphanEndpoint: boolean): PathHandler =>
  async (req) => {
    const { values } = req.fields(fields);
    const { tokens } = appServices();
    const view = callerView(req);
    const parent = view ? (await callerToken(req, tokens)).record : undefined;
    const spec = createSpec(
      { ...values, meta: values.meta ?? values.metadata, ttl: values.ttl ?? values.lease },
      {
        parent,
        parentLimitedUse: view?.limitedUse ?? false,
        rootOrSudo: req.rootOrSudo,
        orphanEndpoint,
        tokenMountAccessor: await tokenMountAccessor(),
      },
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
  operations: { update: { handler: create(false) } },
};

export const tokenCreateOrphanPath: PathDefinition = {
  pattern: 'auth/token/create-orphan',
  mountType: 'token',
  operations: { update: { handler: create(true) } },
};

app.http('tokenCreate', {
  route: 'auth/token/create',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenCreatePath, () => appServices().endpoint),
});

app.http('tokenCreateOrphan', {
  route: 'auth/token/create-orphan',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  authLevel: 'anonymous',
  handler: vaultEndpoint(tokenCreateOrphanPath, () => appServices().endpoint),
});
