/**
 * Parsing of the KV fields whose rules are the engine's own (Vault parses them in the KV plugin, not
 * in its framework): `options.cas`, `versions`, the mount's signed `delete_version_after`, and
 * `custom_metadata` with its limits and error texts. Each is a pure function; the `*Field` schemas
 * plug into shared/vault/fields.ts `parseFields`, which turns a failure into Vault's framework 400.
 */
import { z } from 'zod';
import { parseDurationSeconds } from '../vault/fields';
import { badRequest } from '../vault/errors';
import { goQuote } from '../vault/goQuote';
import { multiError } from '../vault/multiError';
import { CAS_UNPARSABLE } from './lifecycle';
import { isJsonObject, setOwn } from '../vault/json';

/**
 * `options.cas` as Vault's weak decode reads it: an integer, a numeric string, a boolean (1/0), or
 * null/"" (0). Anything else: 400 `error parsing check-and-set parameter`.
 */
export function parseCas(raw: unknown): number {
  if (raw === null || raw === '') return 0;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return raw;
  if (typeof raw === 'string' && /^[-+]?\d+$/.test(raw)) {
    const n = Number(raw);
    if (Number.isSafeInteger(n)) return n;
  }
  throw badRequest(CAS_UNPARSABLE);
}

/**
 * The `cas` of a write's `options`, or undefined when none was given. `options` may be absent,
 * null or `{}` (hvac always sends `{}`).
 */
export function casOption(options: unknown): number | undefined {
  if (!isJsonObject(options) || !Object.prototype.hasOwnProperty.call(options, 'cas')) return undefined;
  return parseCas(options.cas);
}

/**
 * `versions` as Vault's comma-int-slice reads it: an array of integers or numeric strings, a comma
 * string ("1,2"), or one number. Duplicates are dropped, order kept. Negative and unknown numbers
 * are valid input; the operations skip versions the key does not keep.
 */
export function parseVersionList(raw: unknown): { ok: true; versions: number[] } | { ok: false; reason: string } {
  let items: unknown[];
  if (raw === null || raw === undefined) items = [];
  else if (Array.isArray(raw)) items = raw;
  else if (typeof raw === 'string') items = raw.trim() === '' ? [] : raw.split(',');
  else items = [raw];
  const seen = new Set<number>();
  const versions: number[] = [];
  for (const item of items) {
    const n = toInt(item);
    if (n === undefined) return { ok: false, reason: `cannot parse ${goQuote(String(item))} as an integer` };
    if (!seen.has(n)) {
      seen.add(n);
      versions.push(n);
    }
  }
  return { ok: true, versions };
}

function toInt(item: unknown): number | undefined {
  if (typeof item === 'number') return Number.isSafeInteger(item) ? item : undefined;
  if (typeof item === 'string' && /^\s*[-+]?\d+\s*$/.test(item)) {
    const n = Number(item.trim());
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** `versions` for `parseFields`. */
export const versionsField = z.unknown().transform((value, ctx): number[] => {
  const parsed = parseVersionList(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  }
  return parsed.versions;
});

/**
 * The mount's `delete_version_after`: a signed duration (seconds, or a Go duration string). A
 * negative value disables deletion for every key, so negatives are valid here, unlike the
 * project's other durations.
 */
export function parseSignedDurationSeconds(raw: unknown): { ok: true; seconds: number } | { ok: false; reason: string } {
  if (typeof raw === 'number') return Number.isFinite(raw) ? { ok: true, seconds: Math.trunc(raw) } : { ok: false, reason: 'invalid duration' };
  if (typeof raw === 'string' && raw.trim().startsWith('-')) {
    const parsed = parseDurationSeconds(raw.trim().slice(1));
    return parsed.ok ? { ok: true, seconds: -parsed.seconds } : parsed;
  }
  return parseDurationSeconds(raw);
}

export const signedDurationField = z.unknown().transform((value, ctx): number => {
  const parsed = parseSignedDurationSeconds(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  }
  return parsed.seconds;
});

export const CUSTOM_METADATA_MAX_KEYS = 64;
export const CUSTOM_METADATA_MAX_KEY_BYTES = 128;
export const CUSTOM_METADATA_MAX_VALUE_BYTES = 512;
const PREFIX = 'custom_metadata validation failed';

/**
 * `custom_metadata` values as strings, the way Vault's weak decode turns them into strings; with
 * `dropNulls` (PATCH) a null is kept as null, meaning "remove this entry". A nested object or array
 * has no string form: 400.
 */
export function parseCustomMetadata(raw: Readonly<Record<string, unknown>>, dropNulls: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) {
      setOwn(out, key, dropNulls ? null : '');
    } else if (typeof value === 'string') setOwn(out, key, value);
    else if (typeof value === 'boolean') setOwn(out, key, value ? '1' : '0');
    else if (typeof value === 'number' && Number.isFinite(value)) setOwn(out, key, goFloat(value));
    else {
      const goType = Array.isArray(value) ? '[]interface {}' : 'map[string]interface {}';
      throw badRequest(`${PREFIX}: '' expected type 'string', got unconvertible type '${goType}', value: '${shortJson(value)}'`);
    }
  }
  return out;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): no exponent, as few digits as round-trip. */
function goFloat(value: number): string {
  if (Number.isInteger(value)) return BigInt(value).toString();
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/**
 * Vault's limits on custom metadata: at most 64 keys; each key 1–128 bytes and each value 1–512
 * bytes of printable characters. Every violation is reported at once, in Vault's multi-error text;
 * entries are checked in key order so the text is stable (Vault's order follows Go's map order).
 */
export function validateCustomMetadata(map: Readonly<Record<string, string>>): void {
  const keys = Object.keys(map).sort();
  if (keys.length > CUSTOM_METADATA_MAX_KEYS) {
    throw badRequest(multiError([`${PREFIX}: payload must contain at most ${CUSTOM_METADATA_MAX_KEYS} keys, provided ${keys.length}`]));
  }
  const problems: string[] = [];
  for (const key of keys) {
    const value = map[key] ?? '';
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const valueBytes = Buffer.byteLength(value, 'utf8');
    if (keyBytes === 0 || keyBytes > CUSTOM_METADATA_MAX_KEY_BYTES) {
      problems.push(`${PREFIX}: length of key ${goQuote(key)} is ${keyBytes} but must be 0 < len(key) <= ${CUSTOM_METADATA_MAX_KEY_BYTES}`);
    }
    if (valueBytes === 0 || valueBytes > CUSTOM_METADATA_MAX_VALUE_BYTES) {
      problems.push(
        `${PREFIX}: length of value for key ${goQuote(key)} is ${valueBytes} but must be 0 < len(value) <= ${CUSTOM_METADATA_MAX_VALUE_BYTES}`,
      );
    }
    if (!printable(key)) problems.push(`${PREFIX}: key ${goQuote(key)} (${key}) contains unprintable characters`);
    if (!printable(value)) problems.push(`${PREFIX}: value for key ${goQuote(key)} contains unprintable characters`);
  }
  if (problems.length > 0) throw badRequest(multiError(problems));
}

/** Go's unicode.IsPrint for every character: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function printable(text: string): boolean {
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u.test(text);
}
