/**
 * Vault's router for secrets engines: a request the literal routes did not take (`/v1/<anything>`)
 * is resolved by its first path segment against the mount table's hot-path view (at most a second
 * old on other instances, at once on the one that changed it):
 *
 *   no active `kv` mount there (never enabled, disabled, or being disabled) → Vault's 404
 *       "no handler for route" (after the ACL decision, so only root and callers with rights on the
 *       path learn it);
 *   a mount whose v1 → v2 upgrade is under way → Vault's 400 "Upgrading from non-versioned…";
 *   a version 2 mount → config, data/, metadata/, delete/, undelete/, destroy/, subkeys/, or the
 *       404-with-warning of an invalid path (shared/kv/path-*.ts, one file per Vault path group);
 *   a version 1 mount → the passthrough paths.
 *
 * A list is routed as if its path ended in `/` (Vault appends one), so `LIST secret/metadata` is the
 * root listing. The definitions are built per request around the resolved mount and key; the
 * endpoint then runs the one authorization decision (with the definition's existence check) before
 * any handler, and every handler notes the mount in the request's audit record.
 */
import { noHandlerFor, type MountStore } from '../mounts/store';
import { kvVersionOf, type Mount } from '../mounts/types';
import { badRequest } from '../vault/errors';
import type { ResolvedRoute, RouteResolver } from '../vault/endpoint';
import type { Operation, OperationDefinition, PathDefinition, PathHandler, VaultRequest } from '../vault/types';
import { configPath } from './path-config';
import { KV_MOUNT_TYPE, kvPattern, type KvPathContext, type KvPathFactory } from './path-context';
import { dataPath } from './path-data';
import { deletePath, undeletePath } from './path-delete';
import { destroyPath } from './path-destroy';
import { invalidPath } from './path-invalid';
import { metadataPath } from './path-metadata';
import { passthroughPath } from './path-passthrough';
import { subkeysPath } from './path-subkeys';
import { UPGRADING_MESSAGE, type KvEngine } from './store';
import type { Actor } from './types';

export interface KvRouterDeps {
  readonly mounts: Pick<MountStore, 'active'>;
  readonly engine: KvEngine;
  /** AZAUTH_DEFAULT_TTL: a KV v1 read's lease duration when neither the key nor the mount sets one. */
  readonly systemDefaultLeaseTtl: number;
  /** The display name of a token caller (Vault's attribution `actor`), from what the decision already loaded. */
  readonly displayName: (req: VaultRequest) => Promise<string | undefined>;
}

const OPERATIONS: readonly Operation[] = ['read', 'list', 'update', 'patch', 'delete'];

function everyOperation(handler: PathHandler): Partial<Record<Operation, OperationDefinition>> {
  return Object.fromEntries(OPERATIONS.map((op) => [op, { handler }]));
}

/** Vault's answer for a path no mount serves: 404 "no handler for route" naming the request path. */
export const noHandlerPath: PathDefinition = {
  pattern: '{*path}',
  operations: everyOperation(async (req) => {
    throw noHandlerFor(req.path);
  }),
};

/** A KV mount being upgraded from version 1 to 2 answers every request with Vault's 400 until it is done. */
const upgradingPath: PathDefinition = {
  pattern: kvPattern('{*path}'),
  mountType: KV_MOUNT_TYPE,
  operations: everyOperation(async () => {
    throw badRequest(UPGRADING_MESSAGE);
  }),
};

/** The v2 path group `rest` (the path after `<mount>/`) belongs to, and the key it names. */
function v2Route(rest: string): { factory: KvPathFactory; key: string } | undefined {
  if (rest === 'config') return { factory: configPath, key: '' };
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const prefix = rest.slice(0, slash);
  const key = rest.slice(slash + 1);
  switch (prefix) {
    case 'data':
      // Vault's data pattern needs a key that does not end in `/`.
      return key !== '' && !key.endsWith('/') ? { factory: dataPath, key } : undefined;
    case 'metadata':
      return { factory: metadataPath, key };
    case 'delete':
      return { factory: deletePath, key };
    case 'undelete':
      return { factory: undeletePath, key };
    case 'destroy':
      return { factory: destroyPath, key };
    case 'subkeys':
      return { factory: subkeysPath, key };
    default:
      return undefined;
  }
}

/** Every handler first names the mount in the request's audit record. */
function notingMount(def: PathDefinition, mount: Mount): PathDefinition {
  const operations: Partial<Record<Operation, OperationDefinition>> = {};
  for (const op of OPERATIONS) {
    const served = def.operations[op];
    if (!served) continue;
    operations[op] = {
      handler: async (req) => {
        req.audit.note({ mount: mount.path });
        return served.handler(req);
      },
    };
  }
  return { ...def, operations };
}

/** Vault's attribution of a change: the token's display name and entity; an Entra admin by its object id. */
async function actorOf(req: VaultRequest, deps: KvRouterDeps): Promise<Actor> {
  const { caller } = req;
  switch (caller.kind) {
    case 'anonymous':
      return {};
    case 'entra-admin':
      return { actor: 'entra-admin', clientId: caller.principalId };
    case 'token': {
      const displayName = await deps.displayName(req);
      return {
        ...(displayName ? { actor: displayName } : {}),
        ...(caller.token.entityId ? { entityId: caller.token.entityId } : {}),
      };
    }
  }
}

/** Resolves one request path (`<mount>/<rest>`) for the catch-all HTTP function. */
export async function resolveKvRoute(path: string, operation: Operation, deps: KvRouterDeps): Promise<ResolvedRoute> {
  const slash = path.indexOf('/');
  const segment = slash < 0 ? path : path.slice(0, slash);
  let rest = slash < 0 ? '' : path.slice(slash + 1);
  if (operation === 'list' && rest !== '' && !rest.endsWith('/')) rest += '/';
  const mount = segment === '' ? undefined : await deps.mounts.active('secret', segment);
  if (!mount || mount.type !== 'kv') return { definition: noHandlerPath, params: {} };
  if (mount.upgrading) return { definition: notingMount(upgradingPath, mount), params: {} };

  const context = (key: string): KvPathContext => ({
    mount,
    engine: deps.engine,
    key,
    defaultLeaseTtl: mount.tuning.defaultLeaseTtl || deps.systemDefaultLeaseTtl,
    actorOf: (req) => actorOf(req, deps),
  });
  if (kvVersionOf(mount) === 1) {
    // No route values: a v1 body is the secret itself, and every field of it must reach the handler.
    return { definition: notingMount(passthroughPath(context(rest)), mount), params: {} };
  }
  const route = v2Route(rest);
  if (!route) return { definition: notingMount(invalidPath(rest), mount), params: {} };
  // `path` is the KV plugin's field name for the key: a body field of that name is the route's, as in Vault.
  return { definition: notingMount(route.factory(context(route.key)), mount), params: { path: route.key } };
}

/** The catch-all's resolver over the app's services. */
export function kvRouter(deps: () => KvRouterDeps): RouteResolver {
  return (path, _params, operation) => resolveKvRoute(path, operation, deps());
}
