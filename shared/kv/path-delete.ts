/**
 * `<mount>/delete/<key>` and `<mount>/undelete/<key>` (KV v2; Vault's path_delete.go), POST or PUT
 * with `{"versions": [...]}` (integers, numeric strings as the CLI sends them, or "1,2"):
 *
 *   delete   → 204; soft-deletes each listed version that is neither destroyed nor already deleted.
 *   undelete → 204; clears the deletion of each listed version that is not destroyed (or restarts
 *              its `delete_version_after` clock).
 *
 * An empty list is Vault's 400 `No version number provided`; an unknown key, and version numbers the
 * key does not keep (negative ones included), are skipped silently. No existence check: each needs
 * `update` on its own path (`<mount>/delete/<key>`, `<mount>/undelete/<key>`), not on `data/`.
 */
import type { PathDefinition } from '../vault/types';
import { versionsField } from './input';
import { KV_MOUNT_TYPE, kvPattern, type KvPathContext } from './path-context';

const versionFields = { versions: versionsField };

export function deletePath(ctx: KvPathContext): PathDefinition {
  const { engine, mount, key } = ctx;
  return {
    pattern: kvPattern('delete/{path}'),
    mountType: KV_MOUNT_TYPE,
    operations: {
      update: {
        handler: async (req) => {
          const { values } = req.fields(versionFields);
          await engine.deleteVersions(mount, key, values.versions ?? [], await ctx.actorOf(req));
          return undefined;
        },
      },
    },
  };
}

export function undeletePath(ctx: KvPathContext): PathDefinition {
  const { engine, mount, key } = ctx;
  return {
    pattern: kvPattern('undelete/{path}'),
    mountType: KV_MOUNT_TYPE,
    operations: {
      update: {
        handler: async (req) => {
          const { values } = req.fields(versionFields);
          await engine.undeleteVersions(mount, key, values.versions ?? [], await ctx.actorOf(req));
          return undefined;
        },
      },
    },
  };
}
