/**
 * `<mount>/destroy/<key>` (KV v2; Vault's path_destroy.go), POST or PUT with `{"versions": [...]}`:
 * → 204; the listed versions' values are erased for good (their metadata stays, `destroyed: true`).
 * An empty list is Vault's 400 `no version number provided` (lower case, unlike delete's); unknown
 * keys and versions are skipped. Needs `update` on `<mount>/destroy/<key>`.
 */
import type { PathDefinition } from '../vault/types';
import { versionsField } from './input';
import { KV_MOUNT_TYPE, kvPattern, type KvPathContext } from './path-context';

const versionFields = { versions: versionsField };

export function destroyPath(ctx: KvPathContext): PathDefinition {
  const { engine, mount, key } = ctx;
  return {
    pattern: kvPattern('destroy/{path}'),
    mountType: KV_MOUNT_TYPE,
    operations: {
      update: {
        handler: async (req) => {
          const { values } = req.fields(versionFields);
          await engine.destroyVersions(mount, key, values.versions ?? []);
          return undefined;
        },
      },
    },
  };
}
