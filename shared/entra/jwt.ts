/**
 * Structural parsing of a compact JWS (header.payload.signature) before anything is trusted or
 * fetched: size bound, three base64url parts, JSON objects, the algorithm, and the claim types.
 */
import { z } from 'zod';
import { EntraTokenError } from './errors';
import { goQuote } from '../vault/goQuote';

/** The only signature algorithm Entra uses for access tokens, and the only one we accept. */
export const ACCEPTED_ALGORITHM = 'RS256';

const BASE64URL = /^[A-Za-z0-9_-]*$/;

const headerSchema = z.looseObject({
  alg: z.string().optional(),
  kid: z.string().optional(),
  crit: z.unknown().optional(),
});

const numericDate = z.number().refine(Number.isFinite, 'expected a finite number');

/** The claims we read; unknown claims are dropped. All optional here: the verifier decides what is required. */
export const entraClaimsSchema = z.object({
  iss: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  exp: numericDate.optional(),
  nbf: numericDate.optional(),
  iat: numericDate.optional(),
  tid: z.string().optional(),
  oid: z.string().optional(),
  sub: z.string().optional(),
  appid: z.string().optional(),
  azp: z.string().optional(),
  ver: z.string().optional(),
  idtyp: z.string().optional(),
  uti: z.string().optional(),
  groups: z.array(z.string()).optional(),
  /** Group overage: present instead of `groups` when the principal has too many groups. */
  _claim_names: z.record(z.string(), z.string()).optional(),
  xms_mirid: z.string().optional(),
  xms_az_rid: z.string().optional(),
});

export type EntraClaims = z.output<typeof entraClaimsSchema>;

export interface ParsedJwt {
  readonly kid: string | undefined;
  readonly claims: EntraClaims;
  /** `header.payload` as sent, the bytes the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

export function parseJwt(jwt: string, maxLength: number): ParsedJwt {
  // Checked before splitting or decoding anything, so a huge input costs nothing.
  if (jwt.length > maxLength) {
    throw new EntraTokenError('too_long', `oidc: malformed jwt: token is ${jwt.length} characters long, the limit is ${maxLength}`);
  }
  const parts = jwt.split('.');
  if (parts.length !== 3) throw malformed(`expected 3 parts, got ${parts.length}`);
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = headerSchema.safeParse(decodeJsonObject(headerPart, 'header'));
  if (!header.success) throw malformed('header: kid must be a string');
  // The algorithm is refused before the payload is trusted or any key is looked up.
  const alg = header.data.alg;
  if (alg !== ACCEPTED_ALGORITHM) {
    throw new EntraTokenError('algorithm', `oidc: malformed jwt: unexpected signature algorithm ${goQuote(alg ?? '')}; expected [${goQuote(ACCEPTED_ALGORITHM)}]`);
  }
  // RFC 7515: a header naming extensions we do not implement must be rejected.
  if (header.data.crit !== undefined) throw malformed('unsupported critical header parameters');
  const payload = decodeJsonObject(payloadPart, 'payload');
  const claims = entraClaimsSchema.safeParse(payload);
  if (!claims.success) {
    const issue = claims.error.issues[0];
    throw new EntraTokenError('malformed', `oidc: failed to unmarshal claims: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  if (signaturePart === '') throw new EntraTokenError('signature', 'oidc: id token not signed');
  if (!BASE64URL.test(signaturePart)) throw malformed('signature is not base64url');
  return {
    kid: header.data.kid,
    claims: claims.data,
    signingInput: `${headerPart}.${payloadPart}`,
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}

function decodeJsonObject(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  if (part === '' || !BASE64URL.test(part) || part.length % 4 === 1) throw malformed(`${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw malformed(`${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function malformed(detail: string): EntraTokenError {
  return new EntraTokenError('malformed', `oidc: malformed jwt: ${detail}`);
}

