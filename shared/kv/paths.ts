/**
 * Key paths and where they live in Table Storage.
 *
 * A key path is Vault's: segments separated by `/`, none empty, none `.` or `..`. Table Storage
 * forbids `/ \ # ?` and control characters in keys, so every name is escaped with the project's one
 * escaping (shared/storage/keys.ts: outside [A-Za-z0-9_.-], `~` and two hex digits per UTF-8 byte).
 *
 * Partition keys (all of a mount's rows start with `<mount uuid>|`, so a mount is one key range):
 *   <uuid>|c                 the mount's KV config (row `config`)
 *   <uuid>|k|<escaped key>   one key: `m` (v2 metadata), `v<inverted version>` (v2 versions), `d` (v1 value)
 *   <uuid>|l|<escaped folder> the folder's listing: one row per child, `<escaped name>` for a key,
 *                             `<escaped name/>` for a sub-folder; the root folder's is `<uuid>|l|`
 * `|` never appears in an escaped name, so the parts cannot run into each other.
 */
import { encodeKey } from '../storage/keys';
import { badRequest } from '../vault/errors';
import { goQuote } from '../vault/goQuote';

/**
 * Longest escaped key path. A partition key holds at most 1 KiB (512 UTF-16 units); the prefix
 * `<36-char uuid>|k|` takes 39 of them, and a margin keeps room for change.
 */
export const MAX_ESCAPED_KEY_CHARS = 470;

/** Checks a key path (not empty, no trailing `/`) and returns its segments. 400 when Vault's rules or our length limit refuse it. */
export function keySegments(key: string): string[] {
  if (key === '') throw badRequest('missing path');
  const segments = key.split('/');
  checkSegments(key, segments);
  return segments;
}

/** Checks a folder for LIST: "" (the mount's root) or segments with an optional trailing `/`. Returns its segments. */
export function folderSegments(folder: string): string[] {
  const trimmed = folder.endsWith('/') ? folder.slice(0, -1) : folder;
  if (trimmed === '') return [];
  const segments = trimmed.split('/');
  checkSegments(folder, segments);
  return segments;
}

function checkSegments(path: string, segments: readonly string[]): void {
  for (const segment of segments) {
    if (segment === '') throw badRequest(`invalid key path ${shortQuote(path)}: empty path segments are not allowed`);
    if (segment === '.' || segment === '..') throw badRequest(`invalid key path ${shortQuote(path)}: "." and ".." segments are not allowed`);
  }
  const escaped = escapeName(segments.join('/'));
  if (escaped.length > MAX_ESCAPED_KEY_CHARS) {
    throw badRequest(
      `invalid key path ${shortQuote(path)}: it is ${escaped.length} characters once escaped for storage; at most ${MAX_ESCAPED_KEY_CHARS} are supported`,
    );
  }
}

function shortQuote(path: string): string {
  return goQuote(path.length > 64 ? `${path.slice(0, 64)}…` : path);
}

/** The project's key escaping, character by character: its own length check would refuse before we can say how long the key is. */
function escapeName(name: string): string {
  let out = '';
  for (const char of name) out += encodeKey(char);
  return out;
}

export const configPartition = (uuid: string): string => `${uuid}|c`;
export const CONFIG_ROW = 'config';
export const keyPartition = (uuid: string, key: string): string => `${uuid}|k|${escapeName(key)}`;
export const listingPartition = (uuid: string, folder: string): string => `${uuid}|l|${escapeName(folder)}`;

/** Every partition of the mount lies in [mountRangeStart, mountRangeEnd): `}` follows `|`. */
export const mountRangeStart = (uuid: string): string => `${uuid}|`;
export const mountRangeEnd = (uuid: string): string => `${uuid}}`;
export const keyRangeStart = (uuid: string): string => `${uuid}|k|`;
export const keyRangeEnd = (uuid: string): string => `${uuid}|k}`;

export const METADATA_ROW = 'm';
export const V1_ROW = 'd';
const VERSION_DIGITS = 10;
const VERSION_CEILING = 10 ** VERSION_DIGITS - 1;

/** Versions sort newest first (inverted), so the metadata row and the current version are the first two rows from `m`. */
export function versionRow(version: number): string {
  return `v${String(VERSION_CEILING - version).padStart(VERSION_DIGITS, '0')}`;
}

export function versionOfRow(rowKey: string): number | undefined {
  if (!/^v\d{10}$/.test(rowKey)) return undefined;
  return VERSION_CEILING - Number(rowKey.slice(1));
}

/** The escaped form of a listing child: a key name, or a folder name with its trailing `/`. */
export const listingRow = (child: string): string => escapeName(child);

/**
 * For `a/b/c`: the listing rows that make it visible, deepest first: (`a/b`, `c`), (`a`, `b/`), (``, `a/`).
 */
export function listingChain(segments: readonly string[]): Array<{ folder: string; child: string }> {
  const chain: Array<{ folder: string; child: string }> = [];
  for (let depth = segments.length - 1; depth >= 0; depth--) {
    const folder = segments.slice(0, depth).join('/');
    const name = segments[depth] ?? '';
    chain.push({ folder, child: depth === segments.length - 1 ? name : `${name}/` });
  }
  return chain;
}

/** Authenticated data of a v2 version's value: moved to another mount, key or version, it does not open. */
export const versionAad = (uuid: string, key: string, version: number): string => `azauth/kv/v2|${uuid}|${key}|${version}`;
/** Of a v2 key's custom metadata. The last field is never a number, so it cannot be taken for a version's. */
export const customMetadataAad = (uuid: string, key: string): string => `azauth/kv/v2|${uuid}|${key}|custom_metadata`;
/** Of a v1 value. */
export const v1Aad = (uuid: string, key: string): string => `azauth/kv/v1|${uuid}|${key}`;
