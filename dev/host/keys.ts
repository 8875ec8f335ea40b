// Function keys, as the Functions host checks them (AuthenticationLevelHandler / SecretManager):
// the `x-functions-key` header wins over the `code` query parameter; the master key grants admin
// level, host keys and the function's own key grant function level. Core Tools disables these
// checks locally; this host enforces them so tests see the same 401s as Azure.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SETTING } from './settings';

export type AuthLevel = 'anonymous' | 'function' | 'admin';

export interface HostKeys {
  masterKey: string;
  hostKey: string;
  /** Function keys by lower-cased function name. */
  functionKeys: ReadonlyMap<string, string>;
  /** Which keys were generated (and therefore printed) rather than read from settings. */
  generated: { masterKey: boolean; hostKey: boolean };
}

/** URL-safe so a generated key can be pasted into `?code=` without escaping. */
export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}

export function resolveKeys(env: NodeJS.ProcessEnv, functionNames: readonly string[]): HostKeys {
  const master = env[SETTING.masterKey];
  const host = env[SETTING.hostKey];
  const functionKeys = new Map<string, string>();
  for (const name of functionNames) {
    const key = env[`${SETTING.functionKeyPrefix}${name}`];
    if (key) functionKeys.set(name.toLowerCase(), key);
  }
  return {
    masterKey: master || generateKey(),
    hostKey: host || generateKey(),
    functionKeys,
    generated: { masterKey: !master, hostKey: !host },
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison; hashing first makes the lengths equal. */
function keyEquals(candidate: string, key: string): boolean {
  return timingSafeEqual(digest(candidate), digest(key));
}

/** The key a request presents: header first (even when empty), then `?code=`. */
export function presentedKey(headerValue: string | string[] | undefined, query: URLSearchParams | undefined): string | undefined {
  if (headerValue !== undefined) return Array.isArray(headerValue) ? headerValue[0] : headerValue;
  return query?.get('code') ?? undefined;
}

export function isAuthorized(keys: HostKeys, level: AuthLevel, functionName: string | undefined, key: string | undefined): boolean {
  if (level === 'anonymous') return true;
  if (!key) return false;
  if (keyEquals(key, keys.masterKey)) return true;
  if (level === 'admin') return false;
  if (keyEquals(key, keys.hostKey)) return true;
  const own = functionName ? keys.functionKeys.get(functionName.toLowerCase()) : undefined;
  return own !== undefined && keyEquals(key, own);
}

export function parseAuthLevel(value: unknown): AuthLevel | undefined {
  if (value === undefined || value === null) return 'anonymous'; // v4 programming model default
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  // "system" keys are not emulated; treat like "admin" (master key only) rather than opening it up.
  if (lower === 'system') return 'admin';
  return lower === 'anonymous' || lower === 'function' || lower === 'admin' ? lower : undefined;
}
