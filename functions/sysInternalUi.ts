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
import { VaultError, permissionDenied } from '../shared/vault/errors';
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

/** The ACL of the token sent to an unauthenticated path, or undefined without a usable one. */
async function presentedAcl(req: VaultRequest): Promise<CallerAcl | undefined> {
  if (!req.token) return undefined;
  return (await appServices().access.aclOfToken(req.token))?.acl;
}

const mountPathOf = (mount: Mount): string => (mount.table === 'auth' ? `auth/${mount.path}/` : `${mount.path}/`);

function preflightRefusal(path: string): VaultError {
  return new VaultError(
    'permission_denied',
    `preflight capability check returned 403, please ensure client's policies grant access to path "${path}"`,
  );
}

export const sysUiMountsPath: PathDefinition = {
  pattern: 'sys/internal/ui/mounts/{path}',
  mountType: 'system',
  // Vault's unauthenticated path: the handler uses the token itself when one is sent.
  unauthenticated: true,
  operations: {
    read: {
      handler: async (req) => {
        const { mounts } = appServices();
        const requested = (req.params.path ?? '').replace(/^\/+/, '');
        const acl = await presentedAcl(req);
        if (requested === '') {
          // The listing: with a token, the mounts it reaches; without, those tuned `unauth` visible.
          const secret: Record<string, unknown> = {};
          const auth: Record<string, unknown> = {};
          for (const table of ['secret', 'auth'] as const) {
            for (const mount of await mounts.list(table)) {
              const path = mountPathOf(mount);
              const into = table === 'secret' ? secret : auth;
              const key = table === 'secret' ? path : `${mount.path}/`;
              if (acl) {
                if (acl.hasMountAccess(path)) into[key] = mountInfo(mount);
              } else if (mount.tuning.listingVisibility === 'unauth') {
                into[key] = { type: mount.type, description: mount.description, options: mount.options ? { ...mount.options } : null };
              }
            }
          }
          return { data: { secret, auth } };
        }
        // The preflight.
        const sanitized = requested.endsWith('/') ? requested : `${requested}/`;
        if (!req.token) throw permissionDenied();
        if (!acl) throw permissionDenied();
        const mount = await mountContaining(sanitized);
        if (!mount || !acl.hasMountAccess(mountPathOf(mount))) throw preflightRefusal(sanitized);
        return { data: { ...mountInfo(mount), path: mountPathOf(mount) } };
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
