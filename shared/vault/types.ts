/** The shapes that flow between the HTTP adapter, the path handlers and the Vault envelope. */
import type { FieldParseResult, FieldShape } from './fields';

/**
 * Vault's logical operations as the HTTP verbs give them (create is decided later, by the ACL check).
 * `header` is HEAD and OPTIONS: the ACL grants it to root only, and no path serves it (405).
 */
export type Operation = 'read' | 'update' | 'delete' | 'list' | 'patch' | 'header';

/** A token issued by this service, as the access layer and the token endpoints see it. */
export interface TokenView {
  /** SHA-256 of the token, hex; the token itself is never stored. */
  readonly hash: string;
  readonly accessor: string;
  readonly type: 'service' | 'batch';
  readonly policies: readonly string[];
  readonly mount: string;
  readonly mountAccessor: string;
  readonly principalId: string;
  readonly entityId: string;
  /** The token had a use limit before this request (even if this request used its last use). */
  readonly limitedUse: boolean;
}

/** What a handler may ask of the caller's ACL (the policy engine's `Acl` provides it). */
export interface CallerAcl {
  readonly isRoot: boolean;
  /** Sorted capability names on `path` (`["root"]` for root, `["deny"]` when nothing grants). */
  capabilities(path: string): string[];
  /** `sys/internal/ui/resultant-acl` data. */
  resultant(): Record<string, unknown>;
  /** Whether anything under a mount path (`"secret/"`) is reachable (the UI mount preflight). */
  hasMountAccess(mountPath: string): boolean;
}

/**
 * Who made the request, as the one authorization decision established it: nobody (Vault's
 * unauthenticated paths), a token of ours, or an Entra admin (root by configuration).
 */
export type Caller =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'token'; readonly token: TokenView; readonly acl: CallerAcl }
  | { readonly kind: 'entra-admin'; readonly principalId: string; readonly tenantId: string; readonly acl: CallerAcl };

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
  /**
   * The caller is root, or its ACL grants `sudo` on this path: Vault's handlers check this again for
   * a few privileged variants (orphan and periodic tokens, revoke-orphan).
   */
  readonly rootOrSudo: boolean;
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
      /** The envelope's `lease_duration` in seconds (KV v1 reads report one without a lease); 0 when absent. */
      readonly leaseDuration?: number;
      /**
       * Keys of `data` whose values are secrets (a KV read's `data`): the audit record HMACs each
       * whole, numbers and booleans included, instead of only its strings.
       */
      readonly secretKeys?: readonly string[];
    }
  | { readonly kind: 'raw'; readonly status: number; readonly body: unknown }
  | undefined;

export type PathHandler = (req: VaultRequest) => Promise<VaultResult>;

export interface OperationDefinition {
  readonly handler: PathHandler;
}

export interface PathDefinition {
  /** Shown in logs and audit records, e.g. "auth/{mount}/config". */
  readonly pattern: string;
  /** `token` for auth/token/*, otherwise "" as real Vault shows on auth-method responses. */
  readonly mountType?: string;
  /**
   * One of Vault's unauthenticated paths (`sys/health`, `auth/<mount>/login`, the UI mount
   * preflight): no token is needed for any operation. Every other path passes the ACL decision
   * first, also for an operation it does not serve (Vault checks the ACL before routing).
   */
  readonly unauthenticated?: true;
  /**
   * Vault's existence check: a write (POST/PUT) to an absent target needs `create`, to a present one
   * `update`. Without one, a write always needs `update`.
   */
  readonly exists?: (req: Pick<VaultRequest, 'path' | 'params' | 'data'>) => Promise<boolean>;
  readonly operations: Partial<Record<Operation, OperationDefinition>>;
}
