/**
 * Every path of a KV version 1 mount (Vault's passthrough.go): `<mount>/<key>` is the secret itself.
 *
 *   GET     → 200 with `data` = the object as written and `lease_duration` = its `ttl` (else `lease`)
 *             field when that parses as a duration, otherwise the mount's default lease TTL (no lease
 *             is created: `lease_id` "" and `renewable` false); 404 {"errors":[]} when missing.
 *   LIST    <folder>[/] → 200 {keys}, sub-folders ending in `/`; the mount's root with `<mount>/`.
 *   POST|PUT → 204; the body (any JSON object, not empty) replaces the value. Existence check:
 *             `create` for a new key, else `update`.
 *   DELETE  → 204, whether or not the key exists.
 *   PATCH   → 405: version 1 has no patch.
 *
 * The paths of version 2 mean nothing special here, exactly as in Vault: `PUT kv1/data/app` stores a
 * key named `data/app` holding the body as given.
 *
 * Every field of the body is a secret value: all are declared sensitive (HMAC'd whole in the audit
 * record, numbers included), and so is every key of a read's `data`.
 */
import { z } from 'zod';
import { sensitive, type FieldShape } from '../vault/fields';
import type { PathDefinition, VaultRequest } from '../vault/types';
import { KV_MOUNT_TYPE, kvPattern, type KvPathContext } from './path-context';
import { setOwn } from '../vault/json';

const secretValue = sensitive(z.unknown());

/** The body, every field of it registered as sensitive for the audit record. */
function secretBody(req: VaultRequest): Record<string, unknown> {
  const shape: FieldShape = {};
  for (const name of Object.keys(req.data)) setOwn(shape, name, secretValue);
  req.fields(shape);
  return { ...req.data };
}

export function passthroughPath(ctx: KvPathContext): PathDefinition {
  const { engine, mount, key } = ctx;
  return {
    pattern: kvPattern('{path}'),
    mountType: KV_MOUNT_TYPE,
    exists: () => engine.existsV1(mount, key).catch(() => false),
    operations: {
      read: {
        handler: async () => {
          const found = await engine.readV1(mount, key, ctx.defaultLeaseTtl);
          if (!found) return undefined;
          return { data: found.data, leaseDuration: found.lease_duration, secretKeys: Object.keys(found.data) };
        },
      },
      list: {
        handler: async () => {
          const keys = await engine.listKeys(mount, key);
          return keys.length > 0 ? { data: { keys } } : undefined;
        },
      },
      update: {
        handler: async (req) => {
          await engine.writeV1(mount, key, secretBody(req));
          return undefined;
        },
      },
      delete: {
        handler: async () => {
          await engine.deleteV1(mount, key);
          return undefined;
        },
      },
    },
  };
}
