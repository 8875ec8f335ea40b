/** The shapes that flow between the HTTP adapter, the path handlers and the Vault envelope. */
import type { FieldParseResult, FieldShape } from './fields';

export type Operation = 'read' | 'update' | 'delete' | 'list';

/** Who may call an operation: anyone, an admin, or the holder of any live token (self-service). */
export type Access = 'public' | 'admin' | 'token';

/** A token issued by this service, as the access layer and the token endpoints see it. */
export interface TokenView {
  /** SHA-256 of the token, hex; the token itself is never stored. */
  readonly hash: string;
  readonly accessor: string;
  readonly type: 'service' | 'batch';
  readonly policies: readonly string[];
  readonly mount: string;
  readonly principalId: string;
  readonly entityId: string;
  /** The token had a use limit before this request (even if this request used its last use). */
  readonly limitedUse: boolean;
}

export type Caller =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'admin'; readonly via: 'entra'; readonly principalId: string; readonly tenantId: string }
  | { readonly kind: 'admin'; readonly via: 'root-token'; readonly principalId: string; readonly token: TokenView }
  | { readonly kind: 'token'; readonly token: TokenView };

/** Extra facts a handler attaches to the request's audit record. Secrets go through `secret`. */
export interface AuditNotes {
  mount?: string;
  role?: string;
  principalId?: string;
  tenantId?: string;
  operation?: string;
}

export interface AuditTrail {
  note(notes: AuditNotes): void;
  /** Records a sensitive value (token, accessor, JWT) that the audit sink will only write as an HMAC. */
  secret(name: string, value: string): void;
}

export interface VaultRequest {
  readonly operation: Operation;
  /** The logical path: the URL path without `/v1/`, e.g. `auth/azure/role/web`. */
  readonly path: string;
  /** Values captured by the route template; they win over body fields of the same name. */
  readonly params: Readonly<Record<string, string>>;
  /** Body fields (POST/PUT) or query parameters (GET/DELETE). */
  readonly data: Readonly<Record<string, unknown>>;
  /** The client token from X-Vault-Token, else Authorization: Bearer. */
  readonly token: string | undefined;
  /** The caller's address as the platform reported it (rightmost X-Forwarded-For), else undefined. */
  readonly remoteAddress: string | undefined;
  readonly requestId: string;
  readonly caller: Caller;
  readonly audit: AuditTrail;
  /** Parses `data` against a field shape; unknown keys become Vault's "ignored parameters" warning. */
  fields<S extends FieldShape>(shape: S): FieldParseResult<S>;
  /** Adds a warning to the response (a warning turns a 204 into a 200 envelope, as in Vault). */
  warn(message: string): void;
}

export interface AuthBlock {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  identity_policies?: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: 'service' | 'batch';
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

/**
 * What a handler returns. `undefined` means "nothing": 204 for writes, 404 {"errors":[]} for reads
 * and lists, as Vault answers.
 */
export type VaultResult =
  | {
      readonly kind?: 'envelope';
      readonly data?: Record<string, unknown> | null;
      readonly auth?: AuthBlock | null;
      /** Legacy sys/ routes copy data's keys to the top level of the envelope. */
      readonly copyDataToTop?: boolean;
    }
  | { readonly kind: 'raw'; readonly status: number; readonly body: unknown }
  | undefined;

export type PathHandler = (req: VaultRequest) => Promise<VaultResult>;

export interface PathDefinition {
  /** Shown in logs and audit records, e.g. "auth/{mount}/config". */
  readonly pattern: string;
  /** `token` for auth/token/*, otherwise "" as real Vault shows on auth-method responses. */
  readonly mountType?: string;
  readonly operations: Partial<Record<Operation, { readonly access: Access; readonly handler: PathHandler }>>;
}
