/**
 * The HTTP adapter between an Azure Functions HTTP trigger and a Vault path definition:
 * request → operation, data, token, caller → handler → envelope. It types the request structurally,
 * so the core never imports `@azure/functions`.
 */
import { randomUUID } from 'node:crypto';
import { VaultError, badRequest } from './errors';
import { parseFields, unknownFieldsWarning, parseVaultBool, type FieldShape } from './fields';
import { errorResponse, resultResponse, toVaultError, type HttpResponseLike } from './respond';
import type { AuditNotes, Caller, Operation, PathDefinition, VaultRequest } from './types';

export interface HttpRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly params: Readonly<Record<string, string | undefined>>;
  text(): Promise<string>;
}

export interface InvocationLike {
  readonly invocationId: string;
  log(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface AuditEntry {
  time: string;
  requestId: string;
  invocationId: string;
  path: string;
  pattern: string;
  operation: Operation | 'unknown';
  remoteAddress: string | undefined;
  caller: { kind: Caller['kind']; principalId?: string; via?: string };
  outcome: 'success' | 'denied' | 'invalid' | 'error';
  status: number;
  error?: string;
  notes: AuditNotes;
  /** Raw sensitive values; the sink writes them only as HMACs and must never log them as given. */
  secrets: Record<string, string>;
}

/** What the one authorization decision is asked (see shared/access/enforce.ts). */
export interface AccessRequest {
  /** Logical path without `/v1/` and without a leading `/`. */
  readonly path: string;
  readonly operation: Operation;
  /** Body fields (writes) or query parameters (reads): what parameter constraints look at. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly token: string | undefined;
  readonly remoteAddress: string | undefined;
  /** One of Vault's unauthenticated paths: no token is needed or looked at. */
  readonly unauthenticated: boolean;
  /** For a write: whether the target exists (create vs update). Absent: always update. */
  readonly exists?: () => Promise<boolean>;
  /** The response-wrapping TTL the request asked for (X-Vault-Wrap-TTL), in seconds. */
  readonly wrapTtlSeconds?: number;
}

export interface AccessGrant {
  readonly caller: Caller;
  /** The caller is root, or the winning rule grants `sudo` on this path. */
  readonly rootOrSudo: boolean;
}

export interface EndpointServices {
  readonly maxRequestBytes: number;
  /** The one authorization decision; throws Vault's 403s. */
  checkAccess(request: AccessRequest): Promise<AccessGrant>;
  audit(entry: AuditEntry, ctx: InvocationLike): void;
}

export type HttpHandlerLike = (req: HttpRequestLike, ctx: InvocationLike) => Promise<HttpResponseLike>;

/** A path definition and the values its route captured, found for one request. */
export interface ResolvedRoute {
  readonly definition: PathDefinition;
  readonly params: Readonly<Record<string, string>>;
}

/** An HTTP trigger serving one path definition (the usual case: one function file, one path). */
export function vaultEndpoint(def: PathDefinition, services: () => EndpointServices): HttpHandlerLike {
  return vaultRouter(async (_path, params) => ({ definition: def, params }), services);
}

/**
 * An HTTP trigger whose path definition depends on the request (the catch-all that serves secrets
 * engines by mount, and Vault's "no handler" for everything else): `resolve` gets the logical path
 * and the route's captured values.
 */
export function vaultRouter(
  resolve: (path: string, params: Readonly<Record<string, string>>) => Promise<ResolvedRoute>,
  services: () => EndpointServices,
): HttpHandlerLike {
  return async (httpReq, ctx) => {
    const requestId = randomUUID();
    const started = new Date();
    const url = new URL(httpReq.url);
    const path = logicalPath(url.pathname);
    const remoteAddress = clientAddress(httpReq.headers.get('x-forwarded-for'));
    const notes: AuditNotes = {};
    const secrets: Record<string, string> = {};
    let operation: Operation | 'unknown' = 'unknown';
    let caller: Caller = { kind: 'anonymous' };
    let response: HttpResponseLike;
    let failure: VaultError | undefined;
    const svc = services();
    let pattern = '';
    try {
      operation = operationOf(httpReq.method, url.searchParams);
      const routeParams: Record<string, string> = {};
      for (const [key, value] of Object.entries(httpReq.params)) if (value !== undefined) routeParams[key] = value;
      const { definition: def, params } = await resolve(path, routeParams);
      pattern = def.pattern;
      const data = await requestData(httpReq, url.searchParams, operation, svc.maxRequestBytes);
      const token = clientToken(httpReq.headers);
      if (token) secrets.client_token = token;
      const unauthenticated = def.unauthenticated === true;
      const exists = def.exists;
      const grant = await svc.checkAccess({
        path,
        operation,
        data,
        token,
        remoteAddress,
        unauthenticated,
        ...(exists && operation === 'update' ? { exists: () => exists({ path, params, data }) } : {}),
      });
      caller = grant.caller;
      const op = def.operations[operation];
      if (!op) throw new VaultError('unsupported_operation', 'unsupported operation');
      const warnings: string[] = [];
      const request: VaultRequest = {
        operation,
        path,
        params,
        data,
        // Unauthenticated paths still see a token sent to them (the UI preflight uses it).
        token,
        remoteAddress,
        requestId,
        caller,
        rootOrSudo: grant.rootOrSudo,
        audit: {
          note: (more) => Object.assign(notes, more),
          secret: (name, value) => {
            if (value) secrets[name] = value;
          },
        },
        fields: <S extends FieldShape>(shape: S) => {
          // Route values win over body fields of the same name, as in Vault.
          const merged: Record<string, unknown> = { ...data };
          for (const key of Object.keys(params)) delete merged[key];
          const parsed = parseFields(shape, merged);
          const warning = unknownFieldsWarning(parsed.unknown);
          if (warning && !warnings.includes(warning)) warnings.push(warning);
          return parsed;
        },
        warn: (message) => {
          warnings.push(message);
        },
      };
      const result = await op.handler(request);
      response = resultResponse(result, operation, warnings, def.mountType ?? '');
    } catch (err) {
      failure = toVaultError(err);
      if (failure.code === 'internal' || failure.code.endsWith('_unavailable')) {
        // The cause may carry upstream detail; log its name and message, never request data.
        const cause = failure.cause instanceof Error ? `${failure.cause.name}: ${failure.cause.message}` : String(failure.cause ?? '');
        ctx.error(`${pattern || path} ${failure.code}: ${failure.message}${cause ? ` (${cause})` : ''}`);
      }
      response = errorResponse(failure);
    }
    svc.audit(
      {
        time: started.toISOString(),
        requestId,
        invocationId: ctx.invocationId,
        path,
        pattern,
        operation,
        remoteAddress,
        caller: describeCaller(caller),
        outcome: !failure
          ? 'success'
          : failure.code === 'permission_denied' || failure.code === 'invalid_token'
            ? 'denied'
            : failure.status < 500
              ? 'invalid'
              : 'error',
        status: response.status,
        ...(failure ? { error: failure.errors.join('; ') || failure.code } : {}),
        notes,
        secrets,
      },
      ctx,
    );
    return response;
  };
}

function describeCaller(caller: Caller): AuditEntry['caller'] {
  switch (caller.kind) {
    case 'anonymous':
      return { kind: 'anonymous' };
    case 'entra-admin':
      return { kind: 'entra-admin', principalId: caller.principalId, via: 'entra' };
    case 'token':
      return { kind: 'token', principalId: caller.token.principalId, ...(caller.acl.isRoot ? { via: 'root-token' } : {}) };
  }
}

/** `/v1/auth/azure/login` → `auth/azure/login` (the route prefix is the host's business). */
export function logicalPath(pathname: string): string {
  const trimmed = pathname.replace(/^\/+/, '');
  const withoutPrefix = trimmed.toLowerCase().startsWith('v1/') ? trimmed.slice(3) : trimmed;
  return decodeURIComponentSafe(withoutPrefix);
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function operationOf(method: string, query: URLSearchParams): Operation {
  switch (method.toUpperCase()) {
    case 'GET': {
      const list = query.get('list');
      if (list === null) return 'read';
      const flag = parseVaultBool(list);
      // Vault answers a list flag it cannot parse with 400 and an empty error list.
      if (flag === undefined) throw new VaultError('bad_request', []);
      return flag ? 'list' : 'read';
    }
    case 'POST':
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
    case 'PATCH':
      return 'patch';
    case 'LIST':
      return 'list';
    default:
      throw new VaultError('unsupported_operation', 'unsupported operation');
  }
}

/** X-Vault-Token wins; `Authorization: Bearer <t>` only when it is absent or empty. */
export function clientToken(headers: { get(name: string): string | null }): string | undefined {
  const direct = headers.get('x-vault-token')?.trim();
  if (direct) return direct;
  const authorization = headers.get('authorization');
  if (authorization?.startsWith('Bearer ')) {
    const value = authorization.slice('Bearer '.length).trim();
    return value || undefined;
  }
  return undefined;
}

/**
 * The caller's address. Azure's front end appends the client it saw to X-Forwarded-For, so the
 * rightmost entry is the one the platform vouches for; entries to its left came from the client.
 */
export function clientAddress(forwardedFor: string | null): string | undefined {
  if (!forwardedFor) return undefined;
  const last = forwardedFor.split(',').pop()?.trim();
  if (!last) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(last);
  if (bracketed) return bracketed[1];
  // IPv4 with a port ("1.2.3.4:5678"); a bare IPv6 address has more than one colon.
  if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(last)) return last.slice(0, last.lastIndexOf(':'));
  return last;
}

async function requestData(
  req: HttpRequestLike,
  query: URLSearchParams,
  operation: Operation,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  if (operation !== 'update' && operation !== 'patch') {
    const data: Record<string, unknown> = {};
    for (const [key, value] of query) if (key !== 'list') data[key] = value;
    return data;
  }
  if (operation === 'patch') {
    // Vault accepts only JSON merge patches on PATCH (RFC 7386).
    const contentType = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/merge-patch+json') {
      throw new VaultError('unsupported_media_type', `PATCH requires Content-Type of application/merge-patch+json, provided ${contentType || '""'}`);
    }
  }
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new VaultError('payload_too_large', 'http: request body too large');
  const text = await req.text();
  if (Buffer.byteLength(text) > maxBytes) throw new VaultError('payload_too_large', 'http: request body too large');
  return parseBody(text, req.headers.get('content-type'));
}

/** JSON or form-encoded, decided like Vault: by content type, then by the first byte. */
export function parseBody(text: string, contentType: string | null): Record<string, unknown> {
  const trimmed = text.trimStart();
  if (trimmed === '') return {};
  const isForm = (contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded') && !trimmed.startsWith('{');
  if (isForm) {
    const data: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(text)) data[key] = value;
    return data;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('error parsing JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('error parsing JSON');
  return parsed as Record<string, unknown>;
}
