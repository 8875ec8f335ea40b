/**
 * The audit device: one structured JSON record per request, written through the invocation
 * context's log (which reaches Application Insights in Azure). Sensitive values (client tokens,
 * accessors, JWTs, secrets) appear only as `hmac-sha256:<hex>` under a server key, as Vault's audit
 * devices write them: an operator holding a token can match it against the log (see `auditHash`),
 * and the log alone never reveals it. The request's data and the response's data are recorded as
 * Vault records them: structure and key names kept, numbers and booleans as they are, every string
 * value an HMAC, so that no value a client sends or receives is ever in the log in clear.
 */
import { createHmac } from 'node:crypto';
import type { AuditEntry, AuditResponse, InvocationLike } from '../vault/endpoint';
import type { ServerKeys } from '../tokens/serverKeys';
import { setOwn } from '../vault/json';

/** Marks our records among other traces: `traces | where message has '"type":"azauth.audit"'`. */
export const AUDIT_RECORD_TYPE = 'azauth.audit';
/** Written instead of an HMAC when the key cannot be loaded: the raw value is never the fallback. */
export const UNAVAILABLE_HMAC = 'hmac-sha256:unavailable';

export interface AuditRecord {
  type: typeof AUDIT_RECORD_TYPE;
  time: string;
  request_id: string;
  invocation_id: string;
  path: string;
  pattern: string;
  operation: string;
  mount: string | null;
  role: string | null;
  principal_id: string | null;
  tenant_id: string | null;
  remote_address: string | null;
  caller: { kind: string; principal_id?: string; via?: string };
  outcome: AuditEntry['outcome'];
  status: number;
  error: string | null;
  secrets: Record<string, string>;
  /** The request's data (body, or query of a read), every string HMAC'd; see `DataSection`. */
  request: { data: DataSection | null } | TruncatedSection;
  /** What the client received on success (envelope `data` and `auth`, or a raw body), HMAC'd alike; null otherwise. */
  response: { data?: DataSection; auth?: DataSection } | TruncatedSection | null;
}

/** A JSON value with every string replaced by its HMAC (structure, numbers, booleans and null kept). */
export type DataSection = unknown;

/**
 * Instead of a section larger than SECTION_BUDGET: its size and the HMAC of its whole JSON text, so
 * that a record stays one Application Insights trace (32 KiB) and one holding the body can match it.
 */
export interface TruncatedSection {
  truncated: true;
  bytes: number;
  hmac: string;
}

/** Characters of JSON one section may take in a record (request and response: 8 KiB each). */
export const SECTION_BUDGET = 8 * 1024;
/** Below this depth a value is HMAC'd whole (as its JSON text) instead of walked. */
export const SECTION_DEPTH = 32;
/** Error texts are bounded too (they rarely pass a few hundred characters). */
const ERROR_LIMIT = 2048;

export interface AuditSink {
  /** Writes the record for one request. Never throws: auditing must not turn a success into a 500. */
  audit(entry: AuditEntry, ctx: InvocationLike): void;
  /**
   * Loads the HMAC key. Awaited before a request runs, so that its record can be written
   * synchronously inside the invocation; a record whose key is still loading is written when it is.
   */
  ready(): Promise<void>;
  /** `hmac-sha256:<hex>` of a value, as it would appear in the log. */
  auditHash(value: string): Promise<string>;
}

export function hmacOf(key: Buffer, value: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(value, 'utf8').digest('hex')}`;
}

/** Builds the record; `key` undefined means the HMAC key is unavailable. Pure, for tests. */
export function auditRecord(entry: AuditEntry, key: Buffer | undefined): AuditRecord {
  const hash = (value: string) => (key ? hmacOf(key, value) : UNAVAILABLE_HMAC);
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries(entry.secrets)) secrets[name] = hash(value);
  return {
    type: AUDIT_RECORD_TYPE,
    time: entry.time,
    request_id: entry.requestId,
    invocation_id: entry.invocationId,
    path: entry.path,
    pattern: entry.pattern,
    operation: entry.notes.operation ?? entry.operation,
    mount: entry.notes.mount ?? null,
    role: entry.notes.role ?? null,
    principal_id: entry.notes.principalId ?? entry.caller.principalId ?? null,
    tenant_id: entry.notes.tenantId ?? null,
    remote_address: entry.remoteAddress ?? null,
    caller: {
      kind: entry.caller.kind,
      ...(entry.caller.principalId ? { principal_id: entry.caller.principalId } : {}),
      ...(entry.caller.via ? { via: entry.caller.via } : {}),
    },
    outcome: entry.outcome,
    status: entry.status,
    error: entry.error === undefined ? null : bounded(scrub(entry.error, entry.secrets, hash)),
    secrets,
    request: requestSection(entry.requestData, new Set(entry.sensitiveFields ?? []), hash),
    response: entry.response ? responseSection(entry.response, hash) : null,
  };
}

type Hash = (value: string) => string;

function requestSection(data: AuditEntry['requestData'], sensitiveFields: ReadonlySet<string>, hash: Hash): AuditRecord['request'] {
  if (!data) return { data: null };
  // The data object's own braces are not charged here, unlike a response's data: charging them now
  // would move every request section's truncation point by two characters.
  return withinBudget(data, hash, (budget) => ({ data: hashedFields(data, sensitiveFields, hash, budget) }));
}

function responseSection(response: AuditResponse, hash: Hash): AuditRecord['response'] {
  // One budget for data and auth together: they are one section of the record.
  return withinBudget(response, hash, (budget) => ({
    ...(response.data !== undefined ? { data: dataSection(response.data, new Set(response.secretKeys ?? []), hash, budget) } : {}),
    ...(response.auth !== undefined ? { auth: walk(response.auth, 0, hash, budget) } : {}),
  }));
}

/** A response's data: the keys holding secret values HMAC'd whole (numbers and booleans too), the rest walked. */
function dataSection(data: unknown, secretKeys: ReadonlySet<string>, hash: Hash, budget: Budget): unknown {
  if (secretKeys.size === 0 || typeof data !== 'object' || data === null || Array.isArray(data)) return walk(data, 0, hash, budget);
  // The braces, as `walk` charges them: naming secret keys changes the cost of those values only.
  spend(budget, 2);
  return hashedFields(data, secretKeys, hash, budget);
}

/**
 * A section's top-level fields: those in `wholeKeys` HMAC'd whole (a wrongly typed secret, a number
 * or a list, too), the rest walked from depth 1. The object's own braces are the caller's to charge.
 */
function hashedFields(obj: object, wholeKeys: ReadonlySet<string>, hash: Hash, budget: Budget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    spend(budget, key.length + 4);
    setOwn(out, key, wholeKeys.has(key) ? spend(budget, 80, hashWhole(value, hash)) : walk(value, 1, hash, budget));
  }
  return out;
}

/**
 * Builds a section within SECTION_BUDGET; a section that passes it is replaced by the size and HMAC
 * of `source`'s whole JSON text (see TruncatedSection), so that a record stays one trace.
 */
function withinBudget<T>(source: unknown, hash: Hash, build: (budget: Budget) => T): T | TruncatedSection {
  const budget: Budget = { left: SECTION_BUDGET };
  try {
    return build(budget);
  } catch (err) {
    if (err !== OVER_BUDGET) throw err;
    return truncated(source, hash);
  }
}

/** Approximate JSON characters a section may still take (see `spend`). */
interface Budget {
  left: number;
}

const OVER_BUDGET = Symbol('over budget');

/** Counts approximate JSON characters; throws OVER_BUDGET once a section passes its budget. */
function spend<T>(budget: Budget, chars: number, value?: T): T {
  budget.left -= chars;
  if (budget.left < 0) throw OVER_BUDGET;
  return value as T;
}

/** Every string HMAC'd, numbers and booleans as they are, structure kept; bounded in depth and size. */
function walk(value: unknown, depth: number, hash: Hash, budget: Budget): unknown {
  if (typeof value === 'string') return spend(budget, 80, hash(value));
  if (typeof value === 'number' || typeof value === 'boolean') return spend(budget, 8, value);
  if (value === null || value === undefined) return spend(budget, 4, null);
  if (typeof value !== 'object') return spend(budget, 80, hash(String(value)));
  if (depth >= SECTION_DEPTH) return spend(budget, 80, hashWhole(value, hash));
  spend(budget, 2);
  if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1, hash, budget));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    spend(budget, key.length + 4);
    setOwn(out, key, walk(item, depth + 1, hash, budget));
  }
  return out;
}

/** A string's HMAC, or the HMAC of any other value's JSON text. */
function hashWhole(value: unknown, hash: Hash): string {
  return hash(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
}

function truncated(value: unknown, hash: Hash): TruncatedSection {
  const text = JSON.stringify(value) ?? '';
  return { truncated: true, bytes: Buffer.byteLength(text), hmac: hash(text) };
}

function bounded(text: string): string {
  return text.length > ERROR_LIMIT ? `${text.slice(0, ERROR_LIMIT)}…` : text;
}

/**
 * An error text may echo request input (field validation quotes the value it could not convert);
 * any sensitive value found in it is replaced by its HMAC too.
 */
function scrub(text: string, secrets: Record<string, string>, hash: Hash): string {
  let out = text;
  for (const value of Object.values(secrets)) {
    if (value.length >= 8) out = out.split(value).join(hash(value));
    // Field errors truncate long input to 64 characters: catch the truncated form as well.
    if (value.length > 64) out = out.split(value.slice(0, 64)).join(hash(value));
  }
  return out;
}

export function createAuditSink(keys: ServerKeys): AuditSink {
  const write = (entry: AuditEntry, ctx: InvocationLike, key: Buffer | undefined) => {
    try {
      ctx.log(JSON.stringify(auditRecord(entry, key)));
    } catch {
      // The log itself failing is not the caller's problem.
    }
  };
  return {
    audit(entry, ctx) {
      const key = keys.peek('audit-hmac');
      if (key || !needsKey(entry)) {
        write(entry, ctx, key);
        return;
      }
      keys.get('audit-hmac').then(
        (loaded) => write(entry, ctx, loaded),
        (err: unknown) => {
          ctx.error(`audit HMAC key unavailable: ${err instanceof Error ? err.message : String(err)}`);
          write(entry, ctx, undefined);
        },
      );
    },
    async ready() {
      await keys.get('audit-hmac').catch(() => undefined);
    },
    async auditHash(value) {
      return hmacOf(await keys.get('audit-hmac'), value);
    },
  };
}

/** Whether a record has anything to HMAC; a record without (a health check) need not wait for the key. */
function needsKey(entry: AuditEntry): boolean {
  return Object.keys(entry.secrets).length > 0 || Object.keys(entry.requestData ?? {}).length > 0 || entry.response !== undefined;
}
