/**
 * `<mount>/data/<key>` (KV v2; Vault's path_data.go): the versions of a secret.
 *
 *   GET    [?version=N]  → 200 {data, metadata}; a deleted or destroyed version is a 404 whose body
 *                          is the whole envelope with `data.data` null and the version's metadata
 *                          (the Go client, the CLI and Vault Agent read it); an unknown key or version
 *                          is the bare 404 {"errors":[]}.
 *   POST|PUT {data, options: {cas}} → 200 with the new version's metadata. `create` when the key has
 *                          no metadata yet, else `update` (the existence check).
 *   PATCH  {data, options} (Content-Type application/merge-patch+json, checked by the endpoint) →
 *                          a JSON merge patch of the current version, written as a new one; 404 when
 *                          there is no current version (with the flat version metadata as body when
 *                          it is deleted or destroyed). Needs `patch`; no existence check.
 *   DELETE                → 204; soft-deletes the current version (a no-op when there is none).
 *
 * `data` holds the secret: it is declared sensitive (never echoed in an error, HMAC'd whole in the
 * audit record) and a read's `data.data` is marked a secret for the audit record too.
 */
import { badRequest, notFound } from '../vault/errors';
import { sensitive } from '../vault/fields';
import type { PathDefinition, VaultRequest } from '../vault/types';
import { casOption } from './input';
import type { JsonObject } from '../vault/json';
import { KV_MOUNT_TYPE, keyProbe, kvEnvelope, kvInt, kvMap, kvPattern, type KvPathContext } from './path-context';

const readFields = { version: kvInt };

const writeFields = {
  data: sensitive(kvMap),
  options: kvMap,
};

/** `data` and `options.cas` of a write or patch, checked in Vault's order: no data first, then the cas. */
function writeInput(req: VaultRequest): { data: JsonObject; cas: number | undefined } {
  const { values } = req.fields(writeFields);
  if (values.data === undefined) throw badRequest('no data provided');
  return { data: values.data, cas: casOption(values.options) };
}

export function dataPath(ctx: KvPathContext): PathDefinition {
  const { engine, mount, key } = ctx;
  const probe = keyProbe(ctx);
  return {
    pattern: kvPattern('data/{path}'),
    mountType: KV_MOUNT_TYPE,
    exists: probe.exists,
    operations: {
      read: {
        handler: async (req) => {
          const { values } = req.fields(readFields);
          const found = await engine.readData(mount, key, values.version ?? 0);
          if (found.kind === 'absent') return undefined;
          if (found.kind === 'gone') return kvEnvelope(req, 404, found.data);
          return { data: { ...found.data }, secretKeys: ['data'] };
        },
      },
      update: {
        handler: async (req) => {
          const written = await engine.writeData(mount, key, writeInput(req), await ctx.actorOf(req), await probe.found());
          for (const warning of written.warnings) req.warn(warning);
          return { data: { ...written.data } };
        },
      },
      patch: {
        handler: async (req) => {
          const patched = await engine.patchData(mount, key, writeInput(req), await ctx.actorOf(req));
          // No current version: Vault's bare 404 (a patch only changes existing data).
          if (patched.kind === 'absent') throw notFound();
          if (patched.kind === 'gone') return kvEnvelope(req, 404, patched.data);
          for (const warning of patched.warnings) req.warn(warning);
          return { data: { ...patched.data } };
        },
      },
      delete: {
        handler: async (req) => {
          await engine.deleteLatest(mount, key, await ctx.actorOf(req));
          return undefined;
        },
      },
    },
  };
}
