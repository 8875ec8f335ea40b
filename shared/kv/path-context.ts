/**
 * What every KV path definition (shared/kv/path-*.ts) shares: the request's mount and key as the
 * router resolved them, the engine, how a caller is named in `created_by`/`last_updated_by`, the
 * envelope Vault sends with its 404s that carry a body, and the field types of the KV plugin (which
 * reads JSON null as "not set": hvac sends null for every argument it was not given).
 */
import { z } from 'zod';
import type { Mount } from '../mounts/types';
import { nullIsUnset, vDuration, vInt, vOptionalBool } from '../vault/fields';
import type { Operation, PathDefinition, VaultRequest, VaultResult } from '../vault/types';
import { signedDurationField } from './input';
import { isJsonObject, type JsonObject } from '../vault/json';
import type { KeyProbe, KvEngine } from './store';
import type { Actor } from './types';

/** `mount_type` of every KV response envelope, as Vault reports the engine's type. */
export const KV_MOUNT_TYPE = 'kv';

/** What the router hands a path definition: the mount and the rest of the request path. */
export interface KvPathContext {
  readonly mount: Mount;
  readonly engine: KvEngine;
  /** The key (or folder) the path names, e.g. `app/db` of `secret/data/app/db`. */
  readonly key: string;
  /** The mount's default lease TTL, the system's when the mount has none (KV v1 reads report it). */
  readonly defaultLeaseTtl: number;
  /** Who the caller is in KV attribution (`created_by`, `deleted_by`, `last_updated_by`). */
  readonly actorOf: (req: VaultRequest) => Promise<Actor>;
}

/** A path definition of the KV engine, built for one request by the router. */
export type KvPathFactory = (ctx: KvPathContext) => PathDefinition;

/**
 * The existence check (create vs update) of the request's v2 key, keeping the metadata row it read:
 * the write that follows in the same request starts from that row instead of reading it again.
 */
export function keyProbe(ctx: KvPathContext): { exists: () => Promise<boolean>; found: () => Promise<KeyProbe | undefined> } {
  let probe: Promise<KeyProbe> | undefined;
  return {
    exists: async () => {
      probe = ctx.engine.probe(ctx.mount, ctx.key);
      return probe.then(
        (found) => found.exists,
        () => false,
      );
    },
    found: async () => probe?.catch(() => undefined),
  };
}

/** The route pattern shown in audit records: `{mount}/data/{path}` and so on. */
export const kvPattern = (suffix: string): string => (suffix ? `{mount}/${suffix}` : '{mount}');

/**
 * Vault's `logical.RespondWithStatusCode`: a full envelope with the given status, used for the 404s
 * that carry a body (a deleted or destroyed version, an invalid path on a v2 mount). Clients rely on
 * that body: the Go client returns it as the secret, the CLI prints its metadata.
 */
export function kvEnvelope(req: Pick<VaultRequest, 'requestId'>, status: number, data: unknown, warnings: readonly string[] = []): VaultResult {
  return {
    kind: 'raw',
    status,
    body: {
      request_id: req.requestId,
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data,
      wrap_info: null,
      warnings: warnings.length > 0 ? [...warnings] : null,
      auth: null,
      mount_type: KV_MOUNT_TYPE,
    },
  };
}

/** The `vault kv <cmd>` the invalid-path warning names for an operation. */
export function kvSubcommand(operation: Operation): string {
  switch (operation) {
    case 'update':
      return 'put';
    case 'patch':
      return 'patch';
    case 'read':
    case 'header':
      return 'get';
    case 'list':
      return 'list';
    case 'delete':
      return 'delete';
  }
}

/** An integer field (TypeInt) where JSON null means "not set" rather than 0. */
export const kvInt = nullIsUnset(vInt);

/** A boolean field (TypeBool) where JSON null means "not set" rather than false. */
export const kvBool = vOptionalBool;

/** A non-negative duration in seconds (TypeDurationSecond); null is "not set". */
export const kvDuration = vDuration;

/** The mount config's `delete_version_after`: signed (negative disables it for every key); null is "not set". */
export const kvSignedDuration = nullIsUnset(signedDurationField);

/** A map field (TypeMap: `data`, `options`, `custom_metadata`); null is "not set", anything but an object is a 400. */
export const kvMap = nullIsUnset(
  z.unknown().transform((value, ctx): JsonObject => {
    if (!isJsonObject(value)) {
      ctx.addIssue({ code: 'custom', message: `expected a map (a JSON object), got ${Array.isArray(value) ? 'an array' : typeof value}` });
      return z.NEVER;
    }
    return value;
  }),
);
