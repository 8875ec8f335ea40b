/**
 * Batch tokens: the token *is* the record. `hvb.` + base64url(version ‖ iv ‖ AES-256-GCM(payload) ‖
 * tag) under the server's batch key, so any instance can verify one without storage, and neither the
 * holder nor anyone else can read or alter its policies. Not stored, not renewable, no accessor.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BATCH_PREFIX, MAX_BATCH_TOKEN_LENGTH, tokenHash } from './format';
import type { TokenRecord } from './record';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('azauth/batch-token/v1', 'utf8');

// Short keys keep the token small; it travels on every request.
const payloadSchema = z.object({
  p: z.array(z.string()),
  m: z.record(z.string(), z.string()).nullable(),
  mt: z.string(),
  pa: z.string(),
  r: z.string(),
  o: z.string(),
  t: z.string(),
  e: z.string(),
  d: z.string(),
  i: z.number().int(),
  x: z.number().int(),
  ct: z.number().int().nonnegative(),
  c: z.array(z.string()),
  // Required: a batch token must name the enable of its mount, so that disabling the mount (or
  // disabling and re-enabling its path) ends it. Tokens sealed before this field existed no longer open.
  ma: z.string(),
  an: z.array(z.string()),
});

export class BatchTokenTooLarge extends Error {}

export function sealBatchToken(record: TokenRecord, key: Buffer): string {
  if (record.expireTimeMs === null) throw new Error('batch tokens always expire');
  const payload: z.input<typeof payloadSchema> = {
    p: [...record.policies],
    m: record.meta ? { ...record.meta } : null,
    mt: record.mount,
    pa: record.path,
    r: record.role,
    o: record.principalId,
    t: record.tenantId,
    e: record.entityId,
    d: record.displayName,
    i: record.issueTimeMs,
    x: record.expireTimeMs,
    ct: record.creationTtl,
    c: [...record.boundCidrs],
    ma: record.mountAccessor,
    an: [...record.ancestors],
  };
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  const token = BATCH_PREFIX + Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()]).toString('base64url');
  if (token.length > MAX_BATCH_TOKEN_LENGTH) throw new BatchTokenTooLarge(`batch token would be ${token.length} characters`);
  return token;
}

/**
 * The record inside a batch token, or undefined when it was not sealed by us or was altered.
 * Expiry is the caller's business (lookup of an expired batch token and use of one differ).
 */
export function openBatchToken(token: string, key: Buffer): TokenRecord | undefined {
  if (!token.startsWith(BATCH_PREFIX) || token.length > MAX_BATCH_TOKEN_LENGTH) return undefined;
  const raw = Buffer.from(token.slice(BATCH_PREFIX.length), 'base64url');
  if (raw.length < 1 + IV_BYTES + TAG_BYTES + 2 || raw[0] !== VERSION) return undefined;
  const iv = raw.subarray(1, 1 + IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const body = raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES);
  let plaintext: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(plaintext);
  } catch {
    return undefined;
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const p = parsed.data;
  return {
    type: 'batch',
    hash: tokenHash(token),
    accessor: '',
    policies: p.p,
    meta: p.m,
    displayName: p.d,
    path: p.pa,
    mount: p.mt,
    mountAccessor: p.ma,
    ancestors: p.an,
    role: p.r,
    principalId: p.o,
    tenantId: p.t,
    entityId: p.e,
    issueTimeMs: p.i,
    creationTtl: p.ct,
    expireTimeMs: p.x,
    explicitMaxTtl: 0,
    numUses: 0,
    period: 0,
    renewable: false,
    boundCidrs: p.c,
    issueTtl: p.ct,
    issueMaxTtl: 0,
    lastRenewalTimeMs: null,
  };
}
