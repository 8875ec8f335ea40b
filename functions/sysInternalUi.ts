/**
 * The UI and client helper endpoints under `sys/internal/ui/`:
 *
 * - `resultant-acl` (GET): the caller's ACL as the UI shows it; the default policy grants it.
 * - `mounts` (GET) and `mounts/{path}` (GET): Vault's unauthenticated mount listing and the KV
 *   version preflight every `vault kv` command and every Vault Agent template makes before touching
 *   a secret. The preflight answers 200 with the mount (its `path`, `type` and `options.version` as a
 *   string) when the caller's token reaches anything under it, and 403 otherwise: never 404, which
 *   clients read as "an old server, assume KV version 1".
 */
import { app } from '@azure/functions';
import { mountInfo } from '../shared/mounts/info';
import type { Mount } from '../shared/mounts/types';
import { appServices } from '../shared/services';
import { VaultError, badRequest, permissionDenied } from '../shared/vault/errors';
import { vaultEndpoint } from '../shared/vault/endpoint';
import type { CallerAcl, PathDefinition, VaultRequest } from '../shared/vault/types';

const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

export const sysResultantAclPath: PathDefinition = {
  pattern: 'sys/internal/ui/resultant-acl',
  mountType: 'system',
  operations: {
    read: {
      handler: async (req) => {
        if (req.caller.kind === 'anonymous') return undefined;
        return { data: req.caller.acl.resultant() };
      },
    },
  },
};

/**
 * The ACL of the token sent to this unauthenticated path, without consuming a use (Vault's
 * fetchACLTokenEntryAndEntity): a live token of ours, or an Entra admin credential (root), verified
 * as the authorization decision verifies it. Undefined for a missing, unknown or dead token.
 */
async function presentedAcl(req: VaultRequest): Promise<CallerAcl | undefined> {
  return req.token ? appServices().access.aclOfPresentedToken(req.token) : undefined;
}

const mountPathOf = (mount: Mount): string => (mount.table === 'auth' ? `auth/${mount.path}/` : `${mount.path}/`);

function preflightRefusal(path: string): VaultError {
  return new VaultError(
    'permission_denied',
    `preflight capability check returned 403, please ensure client's policies grant access to path "${path}"`,
  );
}

const LISTING_PATH = 'sys/internal/ui/mounts';

/**
 * `GET sys/internal/ui/mounts`: with a token, every mount it reaches (or tuned `listing_visibility=unauth`),
 * with the full mount info; without one, only the `unauth` ones as {type, description, options}. A
 * token that is sent but not valid is a 403, as in Vault.
 */
async function mountListing(req: VaultRequest): Promise<Record<string, unknown>> {
  const acl = await presentedAcl(req);
  if (req.token && !acl) throw permissionDenied();
  const secret: Record<string, unknown> = {};
  const auth: Record<string, unknown> = {};
  for (const table of ['secret', 'auth'] as const) {
    for (const mount of await appServices().mounts.list(table)) {
      const unauthVisible = mount.tuning.listingVisibility === 'unauth';
      if (!unauthVisible && !acl?.hasMountAccess(mountPathOf(mount))) continue;
      const into = table === 'secret' ? secret : auth;
      into[`${mount.path}/`] = acl ? mountInfo(mount) : { type: mount.type, description: mount.description, options: mount.options ? { ...mount.options } : null };
    }
  }
  return { secret, auth };
}

/**
 * `GET sys/internal/ui/mounts/<path>`: the KV version preflight (reference §7.6). The path is
 * sanitised (one leading `/` dropped, a trailing `/` added); no or an invalid token is 403 `permission
 * denied`; a path under no mount, or under one the token reaches nothing beneath, is 403 with
 * Vault's preflight text, never 404 (clients read a 404 as "an old server: KV version 1"). Otherwise
 * 200 with the mount's info, `path` (`"secret/"`) and `options.version` as the string `"2"`.
 */
async function preflight(req: VaultRequest, requested: string): Promise<Record<string, unknown>> {
  const trimmed = requested.startsWith('/') ? requested.slice(1) : requested;
  const sanitized = trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
  const acl = await presentedAcl(req);
  if (!acl) throw permissionDenied();
  const mount = await mountContaining(sanitized);
  if (!mount || !acl.hasMountAccess(mountPathOf(mount))) throw preflightRefusal(sanitized);
  return { ...mountInfo(mount), path: mountPathOf(mount) };
}

export const sysUiMountsPath: PathDefinition = {
  pattern: 'sys/internal/ui/mounts/{path}',
  mountType: 'system',
  // Vault's unauthenticated path: the handler looks at the token itself when one is sent.
  unauthenticated: true,
  operations: {
    read: {
      handler: async (req) => {
        // The logical path, decoded: the route value keeps an encoded `/` (%2F) as it came.
        const rest = req.path.slice(LISTING_PATH.length);
        if (rest === '') return { data: await mountListing(req) };
        const requested = rest.slice(1);
        if (requested === '') throw badRequest('path not set');
        return { data: await preflight(req, requested) };
      },
    },
  },
};

/** The active mount whose path starts `path` (`auth/<x>/…` for auth mounts, `<x>/…` for engines). */
async function mountContaining(path: string): Promise<Mount | undefined> {
  const { mounts } = appServices();
  const segments = path.split('/');
  if (segments[0] === 'auth' && segments[1]) return mounts.active('auth', segments[1]);
  return segments[0] ? mounts.active('secret', segments[0]) : undefined;
}

app.http('sysResultantAcl', {
  route: 'sys/internal/ui/resultant-acl',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysResultantAclPath, () => appServices().endpoint),
});

// `mounts/{*path}` also matches `mounts` and `mounts/`: one function serves the listing and the preflight.
app.http('sysUiMounts', {
  route: 'sys/internal/ui/mounts/{*path}',
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  handler: vaultEndpoint(sysUiMountsPath, () => appServices().endpoint),
});
