/**
 * `<mount>/subkeys/<key>?version=N&depth=D` (KV v2; Vault's path_subkeys.go): the secret's structure
 * with every value replaced by null, for callers allowed to see which keys a secret has but not
 * their values. Same 404 rules as a data read (a deleted or destroyed version: 404 with the envelope,
 * `subkeys` null). `depth` 0 (the default) is unlimited.
 */
import type { PathDefinition } from '../vault/types';
import { KV_MOUNT_TYPE, kvEnvelope, kvInt, kvPattern, type KvPathContext } from './path-context';

const readFields = { version: kvInt, depth: kvInt };

export function subkeysPath(ctx: KvPathContext): PathDefinition {
  const { engine, mount, key } = ctx;
  return {
    pattern: kvPattern('subkeys/{path}'),
    mountType: KV_MOUNT_TYPE,
    operations: {
      read: {
        handler: async (req) => {
          const { values } = req.fields(readFields);
          const found = await engine.readSubkeys(mount, key, { version: values.version ?? 0, depth: values.depth ?? 0 });
          if (found.kind === 'absent') return undefined;
          if (found.kind === 'gone') return kvEnvelope(req, 404, found.data);
          return { data: { ...found.data } };
        },
      },
    },
  };
}
