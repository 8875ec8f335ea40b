/**
 * The shape of token strings and the values derived from them.
 *
 * Service token: `hvs.` + base64url of 32 random bytes (43 characters). It is never stored. What is
 * stored is its SHA-256 (to confirm a match) under a row keyed by its accessor, and the accessor is
 * itself a one-way function of the token. So the one entity per token is found by a point read both
 * from the token (derive the accessor, then read) and from the accessor (read), while the table holds
 * nothing from which a token could be recovered. See README "Token API" for why this beats a
 * second accessor entity.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SERVICE_PREFIX = 'hvs.';
export const BATCH_PREFIX = 'hvb.';
const SERVICE_SECRET_BYTES = 32;
const SERVICE_BODY = /^[A-Za-z0-9_-]{43}$/;
export const SERVICE_TOKEN_LENGTH = SERVICE_PREFIX.length + 43;
/**
 * Longest batch token we issue or accept. Anything longer is refused before any crypto or storage
 * work, so a 10 KB header costs nothing.
 */
export const MAX_BATCH_TOKEN_LENGTH = 4096;
export const ACCESSOR_LENGTH = 24;
const ACCESSOR_PATTERN = /^[0-9A-Za-z]{24}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// Domain separation: the accessor must never equal the stored token hash or any other digest.
const ACCESSOR_DOMAIN = 'azauth/accessor/v1\0';

export type TokenKind = 'service' | 'batch' | 'malformed';

/** Cheap syntactic triage; a malformed token is answered with "invalid token" without any I/O. */
export function classifyToken(token: string): TokenKind {
  if (token.startsWith(SERVICE_PREFIX)) {
    return token.length === SERVICE_TOKEN_LENGTH && SERVICE_BODY.test(token.slice(SERVICE_PREFIX.length)) ? 'service' : 'malformed';
  }
  if (token.startsWith(BATCH_PREFIX)) {
    return token.length <= MAX_BATCH_TOKEN_LENGTH && /^[A-Za-z0-9_-]+$/.test(token.slice(BATCH_PREFIX.length)) ? 'batch' : 'malformed';
  }
  return 'malformed';
}

export function newServiceToken(): string {
  return SERVICE_PREFIX + randomBytes(SERVICE_SECRET_BYTES).toString('base64url');
}

/** SHA-256 of the token, hex: what is stored, and what the audit/TokenView call the token's hash. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** 24 base62 characters derived one-way from a service token (about 143 bits of the digest). */
export function accessorOf(token: string): string {
  return base62Digits(createHash('sha256').update(ACCESSOR_DOMAIN).update(token, 'utf8').digest(), ACCESSOR_LENGTH);
}

export function isAccessorShaped(value: string): boolean {
  return ACCESSOR_PATTERN.test(value);
}

/**
 * Partition for a token entity: 3 hex characters of a hash of the accessor, so writes spread over
 * 4,096 partitions (one partition serves about 2,000 writes/s) and both lookups can compute it.
 */
export function partitionOf(accessor: string): string {
  return createHash('sha256').update(accessor, 'utf8').digest('hex').slice(0, 3);
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function base62Digits(bytes: Buffer, count: number): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  for (let i = 0; i < count; i++) {
    out += BASE62[Number(value % 62n)];
    value /= 62n;
  }
  return out;
}
