/**
 * The audit device: one structured JSON record per request, written through the invocation
 * context's log (which reaches Application Insights in Azure). Sensitive values (client tokens,
 * accessors, JWTs, secrets) appear only as `hmac-sha256:<hex>` under a server key, as Vault's audit
 * devices write them: an operator holding a token can match it against the log (see `auditHash`),
 * and the log alone never reveals it.
 */
import { createHmac } from 'node:crypto';
import type { AuditEntry, InvocationLike } from '../vault/endpoint';
import type { ServerKeys } from '../tokens/serverKeys';

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
}

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
    error: entry.error === undefined ? null : scrub(entry.error, entry.secrets, hash),
    secrets,
  };
}

/**
 * An error text may echo request input (field validation quotes the value it could not convert);
 * any sensitive value found in it is replaced by its HMAC too.
 */
function scrub(text: string, secrets: Record<string, string>, hash: (value: string) => string): string {
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
      if (key || Object.keys(entry.secrets).length === 0) {
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
