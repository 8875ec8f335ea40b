/**
 * Everything on a KV v2 mount that is none of its paths (Vault's `pathInvalid` in backend.go): a 404
 * whose body is the envelope with `data` null and one warning, so that a v1-style request (`PUT
 * secret/foo`) tells the caller what went wrong instead of a bare "not found".
 *
 *   exactly `data`, `metadata`, `delete`, `undelete` or `destroy` (any operation):
 *       "Non-listing operations on the root of a K/V v2 mount are not supported."
 *   anything else (`secret/foo`, `LIST secret/`, `secret/data/foo/`, `secret/subkeys`, …):
 *       "Invalid path for a versioned K/V secrets engine. … use 'vault kv <cmd>' for this operation."
 *
 * It answers after the ACL decision like every path: a caller without rights on the path gets 403.
 */
import type { PathDefinition, PathHandler } from '../vault/types';
import { KV_MOUNT_TYPE, kvEnvelope, kvPattern, kvSubcommand } from './path-context';

/** The prefixes whose bare root gets the "Non-listing operations" warning. */
export const V2_ROOT_PREFIXES: ReadonlySet<string> = new Set(['data', 'metadata', 'delete', 'undelete', 'destroy']);

export const NON_LISTING_ROOT_WARNING = 'Non-listing operations on the root of a K/V v2 mount are not supported.';

export function invalidPathWarning(subcommand: string): string {
  return (
    'Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. ' +
    `If using the Vault CLI, use 'vault kv ${subcommand}' for this operation.`
  );
}

/** `rest` is the request path after `<mount>/` (with the trailing `/` a list adds). */
export function invalidPath(rest: string): PathDefinition {
  const handler: PathHandler = async (req) => {
    const warning = V2_ROOT_PREFIXES.has(rest) ? NON_LISTING_ROOT_WARNING : invalidPathWarning(kvSubcommand(req.operation));
    return kvEnvelope(req, 404, null, [warning]);
  };
  return {
    pattern: kvPattern('{*invalid}'),
    mountType: KV_MOUNT_TYPE,
    operations: { read: { handler }, list: { handler }, update: { handler }, patch: { handler }, delete: { handler } },
  };
}
