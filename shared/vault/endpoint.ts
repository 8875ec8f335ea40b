/**
 * The HTTP adapter between an Azure Functions HTTP trigger and a Vault path definition:
 * request → operation, data, token, caller → handler → envelope. It types the request structurally,
 * so the core never imports `@azure/functions`.
 */
import { randomUUID } from 'node:crypto';
import { withStorageCutoff } from '../storage/tables';
import { raceDeadline } from './deadline';
import { VaultError, badRequest } from './errors';
import { parseFields, parseVaultBool, sensitiveFieldNames, unknownFieldsWarning, type FieldShape } from './fields';
import { errorResponse, resultResponse, toVaultError, type HttpResponseLike } from './respond';
import type { AuditNotes, Caller, Operation, PathDefinition, VaultRequest, VaultResult } from './types';

export interface HttpRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly params: Readonly<Record<string, string | undefined>>;
  /** The body as a stream (the Functions HttpRequest has one): read up to the size limit only. */
  readonly body?: ReadableStream<Uint8Array> | null;
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
  /** The request's data (body or query) as received, raw: the sink writes every string as an HMAC. */
  requestData?: Readonly<Record<string, unknown>>;
  /** Fields the handler's shapes declare sensitive: HMAC'd whole, whatever their JSON type. */
  sensitiveFields?: readonly string[];
  /** What the client received on success (the envelope's data and auth, or a raw body), raw. */
  response?: AuditResponse;
}

export interface AuditResponse {
  readonly data?: unknown;
  readonly auth?: unknown;
  /** Keys of `data` holding secret values: HMAC'd whole (see VaultResult's `secretKeys`). */
  readonly secretKeys?: readonly string[];
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
}

export interface AccessGrant {
  readonly caller: Caller;
  /** The caller is root, or the winning rule grants `sudo` on this path. */
  readonly rootOrSudo: boolean;
}

export interface EndpointServices {
  readonly maxRequestBytes: number;
  /** The pipeline's deadline (AZAUTH_REQUEST_TIMEOUT): the client gets 503 when it passes. */
  readonly requestTimeoutSeconds: number;
  /** The one authorization decision; throws Vault's 403s. */
  checkAccess(request: AccessRequest): Promise<AccessGrant>;
  audit(entry: AuditEntry, ctx: InvocationLike): void;
}

export type HttpHandlerLike = (req: HttpRequestLike, ctx: InvocationLike) => Promise<HttpResponseLike>;

/** What one request accumulates on its way through the pipeline, for its answer and its audit record. */
interface Exchange {
  readonly requestId: string;
  readonly started: Date;
  readonly url: URL;
  readonly path: string;
  readonly remoteAddress: string | undefined;
  readonly notes: AuditNotes;
  readonly secrets: Record<string, string>;
  readonly sensitiveFields: Set<string>;
  operation: Operation | 'unknown';
  caller: Caller;
  data: Record<string, unknown> | undefined;
  /** The route pattern of the path definition that served the request, once resolved. */
  pattern: string;
}

/** How the pipeline ended: the answer, the failure behind it if any, and what it showed on success. */
interface Outcome {
  readonly response: HttpResponseLike;
  readonly failure?: VaultError;
  readonly shown?: AuditResponse;
}

/** A path definition and the values its route captured, found for one request. */
export interface ResolvedRoute {
  readonly definition: PathDefinition;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Finds the path definition of a request from its logical path, the route's captured values and the
 * operation (a list is routed as if its path ended in `/`, as Vault appends one).
 */
export type RouteResolver = (path: string, params: Readonly<Record<string, string>>, operation: Operation) => Promise<ResolvedRoute>;

/** An HTTP trigger serving one path definition (the usual case: one function file, one path). */
export function vaultEndpoint(def: PathDefinition, services: () => EndpointServices): HttpHandlerLike {
  return vaultRouter(async (_path, params) => ({ definition: def, params }), services);
}

/**
 * An HTTP trigger whose path definition depends on the request (the catch-all that serves secrets
 * engines by mount, and Vault's "no handler" for everything else).
 */
export function vaultRouter(resolve: RouteResolver, services: () => EndpointServices): HttpHandlerLike {
  return async (httpReq, ctx) => {
    const exchange = startExchange(httpReq);
    const svc = services();
    const outcome = await serveWithDeadline(resolve, httpReq, exchange, svc);
    if (outcome.failure) logFailure(exchange, outcome.failure, ctx);
    svc.audit(auditEntry(exchange, outcome, ctx), ctx);
    return outcome.response;
  };
}

function startExchange(httpReq: HttpRequestLike): Exchange {
  const url = new URL(httpReq.url);
  return {
    requestId: randomUUID(),
    started: new Date(),
    url,
    path: logicalPath(url.pathname),
    remoteAddress: clientAddress(httpReq.headers.get('x-forwarded-for')),
    notes: {},
    secrets: {},
    sensitiveFields: new Set(),
    operation: 'unknown',
    caller: { kind: 'anonymous' },
    data: undefined,
    pattern: '',
  };
}

/**
 * Serves the request within AZAUTH_REQUEST_TIMEOUT. When the deadline passes first, the client gets
 * 503 and the audit record says so; the handler may still be running, but from that moment every
 * storage write it makes (or still waits for) fails, so it cannot store what the client was told
 * did not happen.
 */
async function serveWithDeadline(resolve: RouteResolver, httpReq: HttpRequestLike, exchange: Exchange, svc: EndpointServices): Promise<Outcome> {
  const seconds = svc.requestTimeoutSeconds;
  const raced = await raceDeadline(seconds * 1000, (over) => withStorageCutoff(over, () => serve(resolve, httpReq, exchange, svc)));
  if (raced.finished) return raced.value;
  const failure = new VaultError('request_timeout', `request did not complete within ${seconds}s`);
  return { response: errorResponse(failure), failure };
}

/**
 * request → operation → path definition → data → the one authorization decision → handler →
 * envelope. Never throws. As in Vault, the ACL is consulted before the definition is asked whether it
 * serves the operation, so a caller without rights learns nothing about the path.
 */
async function serve(resolve: RouteResolver, httpReq: HttpRequestLike, exchange: Exchange, svc: EndpointServices): Promise<Outcome> {
  try {
    const operation = operationOf(httpReq.method, exchange.url.searchParams);
    exchange.operation = operation;
    const routeParams: Record<string, string> = {};
    for (const [key, value] of Object.entries(httpReq.params)) if (value !== undefined) routeParams[key] = value;
    const { definition: def, params } = await resolve(exchange.path, routeParams, operation);
    exchange.pattern = def.pattern;
    const data = await requestData(httpReq, exchange.url.searchParams, operation, svc.maxRequestBytes);
    exchange.data = data;
    const token = clientToken(httpReq.headers);
    if (token) exchange.secrets.client_token = token;
    const { exists } = def;
    const path = exchange.path;
    const grant = await svc.checkAccess({
      path,
      operation,
      data,
      token,
      remoteAddress: exchange.remoteAddress,
      unauthenticated: def.unauthenticated === true,
      ...(exists && operation === 'update' ? { exists: () => exists({ path, params, data }) } : {}),
    });
    exchange.caller = grant.caller;
    const op = def.operations[operation];
    if (!op) throw new VaultError('unsupported_operation', 'unsupported operation');
    const warnings: string[] = [];
    // Unauthenticated paths still see a token sent to them (the UI preflight uses it).
    const request = vaultRequest(exchange, operation, params, data, token, grant.rootOrSudo, warnings);
    const result = await op.handler(request);
    return { response: resultResponse(result, operation, warnings, def.mountType ?? ''), shown: shownOf(result) };
  } catch (err) {
    const failure = toVaultError(err);
    return { response: errorResponse(failure), failure };
  }
}

function vaultRequest(
  exchange: Exchange,
  operation: Operation,
  params: Readonly<Record<string, string>>,
  data: Record<string, unknown>,
  token: string | undefined,
  rootOrSudo: boolean,
  warnings: string[],
): VaultRequest {
  const { notes, secrets } = exchange;
  return {
    operation,
    path: exchange.path,
    params,
    data,
    token,
    remoteAddress: exchange.remoteAddress,
    requestId: exchange.requestId,
    caller: exchange.caller,
    rootOrSudo,
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
      noteSensitiveFields(exchange, shape, merged);
      const parsed = parseFields(shape, merged);
      const warning = unknownFieldsWarning(parsed.unknown);
      if (warning && !warnings.includes(warning)) warnings.push(warning);
      return parsed;
    },
    warn: (message) => {
      warnings.push(message);
    },
  };
}

/**
 * Registers the request's sensitive fields before they are parsed, so that the audit record HMACs
 * them even when parsing (or anything after it) fails before the handler names them itself.
 */
function noteSensitiveFields(exchange: Exchange, shape: FieldShape, data: Record<string, unknown>): void {
  for (const name of sensitiveFieldNames(shape)) {
    exchange.sensitiveFields.add(name);
    const value = data[name];
    if (value === undefined || value === null || value === '' || name in exchange.secrets) continue;
    exchange.secrets[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/** What the client is shown on success, for the audit record. */
function shownOf(result: VaultResult): AuditResponse | undefined {
  if (!result) return undefined;
  if (result.kind === 'raw') return { data: result.body };
  if (result.data == null && result.auth == null) return undefined;
  return {
    ...(result.data != null ? { data: result.data } : {}),
    ...(result.auth != null ? { auth: result.auth } : {}),
    ...(result.data != null && result.secretKeys?.length ? { secretKeys: result.secretKeys } : {}),
  };
}

function logFailure(exchange: Exchange, failure: VaultError, ctx: InvocationLike): void {
  const where = exchange.pattern || exchange.path;
  if (failure.code === 'request_timeout') {
    ctx.error(`${where} ${failure.code}: ${failure.message}; answered 503, and the handler's storage calls are refused from now on`);
    return;
  }
  if (failure.code === 'internal' || failure.code.endsWith('_unavailable')) {
    // The cause may carry upstream detail; log its name and message, never request data.
    const cause = failure.cause instanceof Error ? `${failure.cause.name}: ${failure.cause.message}` : String(failure.cause ?? '');
    ctx.error(`${where} ${failure.code}: ${failure.message}${cause ? ` (${cause})` : ''}`);
  }
}

/**
 * The audit entry of what the client got. Notes and secrets are copied: a handler still running
 * after the deadline must not change a record that is written later (the sink may wait for its key).
 */
function auditEntry(exchange: Exchange, outcome: Outcome, ctx: InvocationLike): AuditEntry {
  const { failure, response } = outcome;
  return {
    time: exchange.started.toISOString(),
    requestId: exchange.requestId,
    invocationId: ctx.invocationId,
    path: exchange.path,
    pattern: exchange.pattern,
    operation: exchange.operation,
    remoteAddress: exchange.remoteAddress,
    caller: describeCaller(exchange.caller),
    outcome: outcomeOf(failure),
    status: response.status,
    ...(failure ? { error: failure.errors.join('; ') || failure.code } : {}),
    notes: { ...exchange.notes },
    secrets: { ...exchange.secrets },
    ...(exchange.data ? { requestData: exchange.data } : {}),
    sensitiveFields: [...exchange.sensitiveFields],
    ...(!failure && outcome.shown ? { response: outcome.shown } : {}),
  };
}

function outcomeOf(failure: VaultError | undefined): AuditEntry['outcome'] {
  if (!failure) return 'success';
  if (failure.code === 'permission_denied' || failure.code === 'invalid_token') return 'denied';
  return failure.status < 500 ? 'invalid' : 'error';
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
    // Vault's header operation: it goes through the token check and the ACL like any other, so
    // only root learns that the path does not serve it (405); everyone else gets 403.
    case 'HEAD':
    case 'OPTIONS':
      return 'header';
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
  if (declared > maxBytes) throw bodyTooLarge();
  const text = await readBody(req, maxBytes);
  return parseBody(text, req.headers.get('content-type'));
}

const bodyTooLarge = (): VaultError => new VaultError('payload_too_large', 'http: request body too large');

/**
 * The body as text, read as a stream that is abandoned as soon as it passes `maxBytes`: a chunked
 * upload declares no length, and reading it whole first would hold all of it in memory.
 */
export async function readBody(req: HttpRequestLike, maxBytes: number): Promise<string> {
  if (req.body === null) return '';
  if (req.body === undefined) {
    // A request without a stream (tests, other adapters): the limit still applies, after the fact.
    const text = await req.text();
    if (Buffer.byteLength(text) > maxBytes) throw bodyTooLarge();
    return text;
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw bodyTooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  // TextDecoder drops a leading byte-order mark, as the Fetch API's text() does.
  return new TextDecoder().decode(Buffer.concat(chunks, size));
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
  // Deeper documents overflow the stack of code that walks the value (JSON.stringify among them).
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) throw badRequest('error parsing JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('error parsing JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('error parsing JSON');
  return parsed as Record<string, unknown>;
}

/** Deepest nesting of arrays and objects a JSON body may have (Go's decoder, and so Vault: 10,000). */
export const MAX_JSON_DEPTH = 500;

/** Whether brackets outside strings nest deeper than `max`; a scan, so nothing deep is ever built. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i += 1;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth -= 1;
  }
  return false;
}
