/**
 * The one place that turns results and errors into HTTP status codes and Vault's JSON envelopes.
 */
import { randomUUID } from 'node:crypto';
import { StorageTimeoutError } from '../storage/tables';
import { VaultError, isVaultError } from './errors';
import type { VaultResult, Operation } from './types';

export interface HttpResponseLike {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

// Vault sends these on every response; clients and proxies must never cache a token.
const BASE_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

export function jsonResponse(status: number, body: unknown): HttpResponseLike {
  // Go's encoder ends the document with a newline; some scripts compare bodies byte for byte.
  return { status, headers: { ...BASE_HEADERS }, body: `${JSON.stringify(body)}\n` };
}

export function emptyResponse(status: 204): HttpResponseLike {
  return { status, headers: { ...BASE_HEADERS } };
}

/**
 * Classifies anything thrown by a handler. A VaultError keeps its code; a storage SDK error or a
 * storage call past its deadline is a 503 naming storage; everything else is a 500 whose text is not
 * shown to the caller.
 */
export function toVaultError(err: unknown): VaultError {
  if (isVaultError(err)) return err;
  if (err instanceof StorageTimeoutError) {
    return new VaultError('storage_unavailable', `storage unavailable: ${err.message}`, { cause: err });
  }
  if (isRestError(err)) {
    return new VaultError('storage_unavailable', `storage unavailable: ${err.statusCode ?? 'no response'}`, { cause: err });
  }
  return new VaultError('internal', 'internal error', { cause: err });
}

function isRestError(err: unknown): err is { name: string; statusCode?: number } {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'RestError';
}

export function errorResponse(err: VaultError): HttpResponseLike {
  return jsonResponse(err.status, { errors: err.errors });
}

export function resultResponse(
  result: VaultResult,
  operation: Operation,
  warnings: readonly string[],
  mountType: string,
): HttpResponseLike {
  if (result?.kind === 'raw') return jsonResponse(result.status, result.body);
  const empty = !result || (result.data == null && result.auth == null);
  if (empty && warnings.length === 0) {
    // A read or list with nothing to show is Vault's 404 with an empty error list.
    if (operation === 'read' || operation === 'list') return jsonResponse(404, { errors: [] });
    return emptyResponse(204);
  }
  const data = result?.data ?? null;
  const envelope: Record<string, unknown> = {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: result?.leaseDuration ?? 0,
    data,
    wrap_info: null,
    warnings: warnings.length ? [...warnings] : null,
    auth: result?.auth ?? null,
    mount_type: mountType,
  };
  if (result?.copyDataToTop && data) {
    for (const [key, value] of Object.entries(data)) if (!(key in envelope)) envelope[key] = value;
  }
  return jsonResponse(200, envelope);
}
