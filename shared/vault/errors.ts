/**
 * Every failure the core can produce, each with a stable code. The HTTP status for a code is decided
 * in exactly one place (`statusFor`), so a handler never picks a status number itself.
 */
export type VaultErrorCode =
  | 'bad_request' // the caller's request is malformed or refused by validation
  | 'permission_denied' // valid caller, not allowed (or a binding does not hold)
  | 'invalid_token' // unknown, expired, revoked, used-up or malformed token: Vault Agent re-logs in on this text
  | 'not_found' // read of a missing object, or an empty list: Vault answers 404 {"errors":[]}
  | 'unsupported_path' // no route
  | 'unsupported_operation' // the path exists, the verb does not
  | 'conflict' // a concurrent change won the race
  | 'payload_too_large'
  | 'unsupported_media_type' // PATCH without the merge-patch content type
  | 'entra_unavailable' // Entra discovery/JWKS/token endpoints failing
  | 'arm_unavailable'
  | 'graph_unavailable'
  | 'storage_unavailable'
  | 'throttled' // an upstream asked us to slow down
  | 'request_timeout' // the request pipeline's own deadline (AZAUTH_REQUEST_TIMEOUT) passed
  | 'internal';

const STATUS: Record<VaultErrorCode, number> = {
  bad_request: 400,
  permission_denied: 403,
  invalid_token: 403,
  not_found: 404,
  unsupported_path: 404,
  unsupported_operation: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  entra_unavailable: 502,
  arm_unavailable: 502,
  graph_unavailable: 502,
  storage_unavailable: 503,
  throttled: 503,
  request_timeout: 503,
  internal: 500,
};

export function statusFor(code: VaultErrorCode): number {
  return STATUS[code];
}

export class VaultError extends Error {
  readonly code: VaultErrorCode;
  /** The strings placed in `{"errors": [...]}`; empty for Vault's bare 404. */
  readonly errors: string[];

  constructor(code: VaultErrorCode, errors: string[] | string, options?: { cause?: unknown }) {
    const list = typeof errors === 'string' ? [errors] : errors;
    super(list.join('; ') || code, options);
    this.name = 'VaultError';
    this.code = code;
    this.errors = list;
  }

  get status(): number {
    return statusFor(this.code);
  }
}

export const badRequest = (message: string): VaultError => new VaultError('bad_request', message);

export const notFound = (): VaultError => new VaultError('not_found', []);

/** A valid caller without the right: plain "permission denied" so Vault Agent does not loop into re-login. */
export const permissionDenied = (detail?: string): VaultError =>
  new VaultError('permission_denied', detail ? `permission denied: ${detail}` : 'permission denied');

/**
 * Vault ≥ 1.17 wording for a dead token. Vault Agent and Proxy look for the substring
 * "invalid token" in a 403 to decide to authenticate again.
 */
export const invalidToken = (): VaultError =>
  new VaultError('invalid_token', '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n');

export const conflict = (message: string): VaultError => new VaultError('conflict', message);

export function isVaultError(err: unknown): err is VaultError {
  return err instanceof VaultError;
}
