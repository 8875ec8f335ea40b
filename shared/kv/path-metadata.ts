/**
 * `<mount>/metadata/<key>` (KV v2; Vault's path_metadata.go): a key's settings and version history,
 * and the folder listings.
 *
 *   GET                 → 200 {current_version, oldest_version, created_time, updated_time,
 *                         max_versions, cas_required, delete_version_after, custom_metadata,
 *                         last_updated_by, versions}; 404 {"errors":[]} for an unknown key.
 *   LIST (GET ?list=true) <folder>[/] → 200 {keys}: immediate children, sub-folders ending in `/`;
 *                         `exclude_deleted=true` drops keys whose current version has a deletion
 *                         time; an empty folder is the 404. `<mount>/metadata/` lists the root.
 *   POST|PUT {max_versions, cas_required, delete_version_after, custom_metadata} → 204 (200 with
 *                         Vault's warning when cas_required=false is overruled by the mount); creates
 *                         the metadata of an unknown key (with no version); only the fields given
 *                         change; none given is a no-op that creates nothing. Existence check:
 *                         `create` for a new key, else `update`.
 *   PATCH (merge patch)  → 204; the key must exist (else 404); custom_metadata entries merge, null
 *                         removes one. Needs `patch`.
 *   DELETE               → 204; every version and the metadata, for good.
 */
import { notFound } from '../vault/errors';
import { sensitive } from '../vault/fields';
import type { PathDefinition, VaultRequest } from '../vault/types';
import { KV_MOUNT_TYPE, keyProbe, kvBool, kvDuration, kvInt, kvMap, kvPattern, type KvPathContext } from './path-context';
import type { MetadataInput } from './types';

const writeFields = {
  max_versions: kvInt,
  cas_required: kvBool,
  delete_version_after: kvDuration,
  // Sealed like the secrets themselves: never echoed, HMAC'd whole in the audit record.
  custom_metadata: sensitive(kvMap),
};

const listFields = { exclude_deleted: kvBool };

function metadataInput(req: VaultRequest): MetadataInput {
  const { values } = req.fields(writeFields);
  return {
    ...(values.max_versions !== undefined ? { maxVersions: values.max_versions } : {}),
    ...(values.cas_required !== undefined ? { casRequired: values.cas_required } : {}),
    ...(values.delete_version_after !== undefined ? { deleteVersionAfter: values.delete_version_after } : {}),
    ...(values.custom_metadata !== undefined ? { customMetadata: values.custom_metadata } : {}),
  };
}

export function metadataPath(ctx: KvPathContext): PathDefinition {
  const { engine, mount, key } = ctx;
  const probe = keyProbe(ctx);
  return {
    pattern: kvPattern('metadata/{path}'),
    mountType: KV_MOUNT_TYPE,
    exists: probe.exists,
    operations: {
      read: {
        handler: async () => {
          const metadata = await engine.readMetadata(mount, key);
          return metadata ? { data: { ...metadata } } : undefined;
        },
      },
      list: {
        handler: async (req) => {
          const { values } = req.fields(listFields);
          const keys = await engine.listKeys(mount, key, { excludeDeleted: values.exclude_deleted === true });
          return keys.length > 0 ? { data: { keys } } : undefined;
        },
      },
      update: {
        handler: async (req) => {
          const { warnings } = await engine.writeMetadata(mount, key, metadataInput(req), await probe.found());
          for (const warning of warnings) req.warn(warning);
          return undefined;
        },
      },
      patch: {
        handler: async (req) => {
          const patched = await engine.patchMetadata(mount, key, metadataInput(req));
          if (patched.kind === 'absent') throw notFound();
          for (const warning of patched.warnings) req.warn(warning);
          return undefined;
        },
      },
      delete: {
        handler: async () => {
          await engine.deleteMetadata(mount, key);
          return undefined;
        },
      },
    },
  };
}
