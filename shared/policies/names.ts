/**
 * Policy names and the policy size limit.
 *
 * Vault lower-cases and trims a name and otherwise takes anything after `sys/policies/acl/`,
 * slashes included, with no length limit. Names here are also storage keys and route values, so a
 * few names Vault would store are refused: they could not be written, read or deleted reliably
 * through URLs (a `?` or `#` is cut off by clients, `.`/`..` segments are collapsed by URL
 * normalisation, `%` is decoded a second time by some proxies) or they hold invisible characters.
 */
import { goQuote } from '../vault/goQuote';

/** Vault-internal policies: never written, deleted, listed or put on a token. */
export const HIDDEN_POLICIES: ReadonlySet<string> = new Set(['response-wrapping', 'control-group']);

/** Longest accepted name, in characters (Vault: no limit). Our mount names stop at 128 too. */
export const MAX_POLICY_NAME_LENGTH = 128;

/**
 * Largest accepted policy text, in UTF-8 bytes (Vault: only its 32 MiB request limit). Real policies
 * are a few KiB; 64 KiB holds about 500 path blocks. The bound is also a cost bound: the HCL parser
 * (GopherJS) takes about 3 to 5 ms per KiB on one core, so the largest policy costs a few hundred
 * milliseconds to parse, and a 1 MiB body is refused before any parsing.
 */
export const MAX_POLICY_BYTES = 64 * 1024;

/** Vault's normalisation: trimmed and lower-cased (`MyPolicy` is stored as `mypolicy`). */
export function normalizePolicyName(raw: string): string {
  return raw.trim().toLowerCase();
}

/** Vault's text for an empty name. */
export const EMPTY_POLICY_NAME = 'policy name must be provided in the URL';

// C0 and C1 controls, DEL, and invisible format characters (zero-width, bidi overrides, BOM).
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/u;
const URL_UNSAFE = /[?#%\\]/;

/**
 * Why a normalised name cannot be used, or undefined when it can. The texts are for a 400.
 */
export function policyNameProblem(name: string): string | undefined {
  if (name === '') return EMPTY_POLICY_NAME;
  const problem = ((): string | undefined => {
    if ([...name].length > MAX_POLICY_NAME_LENGTH) return `longer than ${MAX_POLICY_NAME_LENGTH} characters`;
    if (INVISIBLE.test(name)) return 'contains a control or invisible character';
    if (URL_UNSAFE.test(name)) return 'contains one of ? # % \\';
    const segments = name.split('/');
    if (segments.some((segment) => segment === '')) return 'has an empty path segment (a leading, trailing or double /)';
    if (segments.some((segment) => segment === '.' || segment === '..')) return 'has a . or .. path segment';
    return undefined;
  })();
  return problem === undefined ? undefined : `invalid policy name ${goQuote(name)}: ${problem}`;
}
