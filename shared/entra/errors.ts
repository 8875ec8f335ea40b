/**
 * Errors of Entra token verification. A token that is not even a JWT is the caller's malformed input
 * (400); a well-formed token we do not accept is a denial (403); Entra itself failing is 502.
 */
import { VaultError } from '../vault/errors';

/** Why a token was refused; stable codes for callers, tests and audit, independent of the wording. */
export type EntraTokenFailure =
  | 'malformed'
  | 'too_long'
  | 'algorithm'
  | 'issuer'
  | 'tenant'
  | 'audience'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_exp'
  | 'signature'
  | 'unknown_key';

export class EntraTokenError extends VaultError {
  readonly reason: EntraTokenFailure;

  constructor(reason: EntraTokenFailure, message: string) {
    super(reason === 'malformed' || reason === 'too_long' ? 'bad_request' : 'permission_denied', message);
    this.name = 'EntraTokenError';
    this.reason = reason;
  }
}

export function isEntraTokenError(err: unknown): err is EntraTokenError {
  return err instanceof EntraTokenError;
}

/** Discovery or key-set download failed: not the caller's fault, and never cached. */
export function entraUnavailable(detail: string, cause?: unknown): VaultError {
  return new VaultError('entra_unavailable', `entra unavailable: ${detail}`, cause === undefined ? undefined : { cause });
}
