/**
 * Parameter constraints of the winning rule against the request's data (vault/acl.go, newest
 * behaviour): required parameters, then denied, then allowed, with Vault's value matching.
 */
import { globMatches } from './glob';
import type { ParameterMap, Permissions } from './permissions';

/**
 * Request keys whose values Vault lower-cases before matching, because it lower-cases them when it
 * stores them: a deny on "admin" must also catch "Admin".
 */
const LOWER_CASED_KEYS: ReadonlySet<string> = new Set(['policies', 'token_policies']);

function normalized(key: string, value: unknown): unknown {
  if (!LOWER_CASED_KEYS.has(key.toLowerCase())) return value;
  if (typeof value === 'string') return value.toLowerCase();
  if (Array.isArray(value)) return value.map((item: unknown) => (typeof item === 'string' ? item.toLowerCase() : item));
  return value;
}

/** Structural equality of JSON values. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameValue(Reflect.get(a, key), Reflect.get(b, key)));
  }
  return false;
}

/** One value against a list: nil matches nil, a listed string is a glob for a string value, anything else must be equal. */
function inList(value: unknown, list: readonly unknown[]): boolean {
  for (const entry of list) {
    if (entry === null || entry === undefined || value === null || value === undefined) {
      if ((entry ?? null) === (value ?? null)) return true;
    } else if (typeof entry === 'string') {
      if (typeof value === 'string' && globMatches(entry, value)) return true;
    } else if (sameValue(entry, value)) {
      return true;
    }
  }
  return false;
}

/** Vault reads a string as a possible comma-separated list: "a, b" is ["a", "b"], "" is []. */
function commaParts(value: string): string[] {
  return value === '' ? [] : value.split(',').map((part) => part.trim());
}

/** Allowed when the list is empty, the value matches, or every element (of an array or a comma list) matches. */
function allowedValue(value: unknown, list: readonly unknown[]): boolean {
  if (list.length === 0 || inList(value, list)) return true;
  if (Array.isArray(value)) return value.every((item: unknown) => inList(item, list));
  if (typeof value === 'string') return commaParts(value).every((part) => inList(part, list));
  return false;
}

/** Denied when the list is empty, the value matches, or any element (of an array or a comma list) matches. */
function deniedValue(value: unknown, list: readonly unknown[]): boolean {
  if (list.length === 0 || inList(value, list)) return true;
  if (Array.isArray(value)) return value.some((item: unknown) => inList(item, list));
  if (typeof value === 'string') return commaParts(value).some((part) => inList(part, list));
  return false;
}

function hasEntries(map: ParameterMap | undefined): map is ParameterMap {
  return map !== undefined && map.size > 0;
}

/** Whether the request data passes the entry's parameter constraints. */
export function parametersAllowed(permissions: Permissions, data: Readonly<Record<string, unknown>> | undefined): boolean {
  // Request keys are taken as sent here; only the required names are lower-cased (as Vault does).
  for (const name of permissions.required) {
    if (data === undefined || !Object.hasOwn(data, name.toLowerCase())) return false;
  }
  if (data === undefined) return true;
  const keys = Object.keys(data);
  // No data at all passes, so allowed_parameters cannot force a parameter to be present.
  if (keys.length === 0) return true;

  const { allowed, denied } = permissions;
  if (hasEntries(denied)) {
    if (denied.has('*')) return false;
    for (const key of keys) {
      const list = denied.get(key.toLowerCase());
      if (list !== undefined && deniedValue(normalized(key, data[key]), list)) return false;
    }
  }

  if (!hasEntries(allowed)) return true;
  const anyKey = allowed.has('*');
  if (anyKey && allowed.size === 1) return true;
  for (const key of keys) {
    const list = allowed.get(key.toLowerCase());
    if (list === undefined) {
      // A key only `*` admits is not value-checked.
      if (!anyKey) return false;
    } else if (!allowedValue(normalized(key, data[key]), list)) {
      return false;
    }
  }
  return true;
}
