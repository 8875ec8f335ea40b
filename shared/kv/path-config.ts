/**
 * `<mount>/config` (KV v2; Vault's path_config.go): the mount-wide settings every key falls back on.
 *
 *   GET   → 200 {max_versions, cas_required, delete_version_after}
 *   POST  → 204; only the fields given change, none given is a no-op. `delete_version_after` is
 *           signed here: negative disables deletion for every key, 0 clears it.
 *
 * No existence check: a write always needs `update` on `<mount>/config`.
 */
import type { PathDefinition } from '../vault/types';
import { KV_MOUNT_TYPE, kvBool, kvInt, kvPattern, kvSignedDuration, type KvPathContext } from './path-context';

const configFields = {
  max_versions: kvInt,
  cas_required: kvBool,
  delete_version_after: kvSignedDuration,
};

export function configPath(ctx: KvPathContext): PathDefinition {
  const { engine, mount } = ctx;
  return {
    pattern: kvPattern('config'),
    mountType: KV_MOUNT_TYPE,
    operations: {
      read: {
        handler: async () => ({ data: { ...(await engine.getConfig(mount)) } }),
      },
      update: {
        handler: async (req) => {
          const { values } = req.fields(configFields);
          await engine.writeConfig(mount, {
            ...(values.max_versions !== undefined ? { maxVersions: values.max_versions } : {}),
            ...(values.cas_required !== undefined ? { casRequired: values.cas_required } : {}),
            ...(values.delete_version_after !== undefined ? { deleteVersionAfter: values.delete_version_after } : {}),
          });
          return undefined;
        },
      },
    },
  };
}
