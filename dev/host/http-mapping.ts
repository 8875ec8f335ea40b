// Conversions between Node's HTTP objects and the RPC shapes the `@azure/functions` package
// exchanges with the host (RpcHttpData in, RpcInvocationResponse out), following what the
// Functions host puts on the wire.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse } from './core-types';

export interface RequestTarget {
  /** Raw (still percent-encoded) path, e.g. "/v1/auth/azure/login". */
  path: string;
  /** Raw query string without "?", or "". */
  query: string;
}

/** Parses the request-target (origin-form, or absolute-form from proxies). undefined = malformed. */
export function parseRequestTarget(rawUrl: string | undefined): RequestTarget | undefined {
  if (!rawUrl) return undefined;
  let target = rawUrl;
  if (!target.startsWith('/')) {
    if (!/^https?:\/\//i.test(target)) return undefined;
    try {
      const url = new URL(target);
      target = url.pathname + url.search;
    } catch {
      return undefined;
    }
  }
  const q = target.indexOf('?');
  const path = q >= 0 ? target.slice(0, q) : target;
  const query = q >= 0 ? target.slice(q + 1) : '';
  // Characters Node's lenient parser may let through but that never form a valid path.
  if (/[\s\\\x00-\x1f\x7f]/.test(path)) return undefined;
  return { path, query };
}

/** Strips the IPv4-mapped IPv6 prefix so loopback shows up as 127.0.0.1, as on Azure. */
export function clientAddress(req: IncomingMessage): string | undefined {
  const address = req.socket.remoteAddress;
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

/** StringValues.ToString() in the host joins repeated values with ",". */
function joinValues(values: readonly string[]): string {
  return values.join(',');
}

function queryMap(query: string): Record<string, string> {
  if (query === '') return {};
  const grouped = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) {
    const list = grouped.get(key);
    if (list) list.push(value);
    else grouped.set(key, [value]);
  }
  const result: Record<string, string> = {};
  for (const [key, values] of grouped) result[key] = joinValues(values);
  return result;
}

const HOST_HEADER = /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function toRpcHttpRequest(options: {
  req: IncomingMessage;
  target: RequestTarget;
  params: Record<string, string>;
  body: Buffer;
  localAddress: string;
}): RpcHttpData {
  const { req, target } = options;
  const headers: Record<string, string> = {};
  const distinct = req.headersDistinct;
  for (const name of Object.keys(distinct)) {
    const values = distinct[name];
    if (values) headers[name] = joinValues(values);
  }
  // What Azure's front end does: append the peer address to X-Forwarded-For (apps trust the
  // rightmost entry) and state the scheme the client used.
  const peer = clientAddress(req);
  if (peer) headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${peer}` : peer;
  headers['x-forwarded-proto'] = 'http';

  const hostHeader = req.headers.host;
  const authority = hostHeader && HOST_HEADER.test(hostHeader) ? hostHeader : options.localAddress;
  const url = `http://${authority}${target.path}${target.query ? `?${target.query}` : ''}`;

  return {
    method: req.method ?? 'GET',
    url,
    headers,
    query: queryMap(target.query),
    params: options.params,
    body: { bytes: options.body },
  };
}

/** Uri.EscapeDataString: ASP.NET Core's Response.Cookies.Append escapes names and values. */
function escapeDataString(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function formatSetCookie(cookie: RpcHttpCookie): string {
  const parts = [`${escapeDataString(cookie.name ?? '')}=${escapeDataString(cookie.value ?? '')}`];
  const expires = cookie.expires?.value?.seconds;
  if (expires !== undefined && expires !== null) parts.push(`expires=${new Date(Number(expires) * 1000).toUTCString()}`);
  if (cookie.maxAge?.value !== undefined) parts.push(`max-age=${Math.trunc(cookie.maxAge.value)}`);
  if (cookie.domain?.value) parts.push(`domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`path=${cookie.path.value}`);
  if (cookie.secure?.value) parts.push('secure');
  if (cookie.sameSite === 'lax') parts.push('samesite=lax');
  else if (cookie.sameSite === 'strict') parts.push('samesite=strict');
  else if (cookie.sameSite === 'explicitNone') parts.push('samesite=none');
  if (cookie.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}

/** Headers the server owns; an app cannot set them through the RPC response. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export class InvalidHttpResponseError extends Error {
  override name = 'InvalidHttpResponseError';
}

/** Writes the function's HTTP return value. Throws InvalidHttpResponseError before writing anything. */
export function writeRpcHttpResponse(res: ServerResponse, response: RpcInvocationResponse): void {
  const returnValue = response.returnValue;
  if (returnValue === undefined || returnValue === null) {
    // Returning nothing from an HTTP function yields an empty 204.
    res.writeHead(204);
    res.end();
    return;
  }
  const http = returnValue.http;
  if (!http) throw new InvalidHttpResponseError('The HTTP function returned a value that is not an HTTP response.');
  const status = http.statusCode === undefined ? 200 : Number(http.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new InvalidHttpResponseError(`The HTTP function returned an invalid status code "${String(http.statusCode)}".`);
  }

  const headers: Array<[string, string | string[]]> = [];
  const setCookies: string[] = [];
  for (const [name, value] of Object.entries(http.headers ?? {})) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'set-cookie') setCookies.push(String(value));
    else headers.push([name, String(value)]);
  }
  for (const cookie of http.cookies ?? []) setCookies.push(formatSetCookie(cookie));
  if (setCookies.length > 0) headers.push(['set-cookie', setCookies]);

  const rawBody = http.body;
  let body: Buffer;
  if (rawBody?.bytes) body = Buffer.from(rawBody.bytes.buffer, rawBody.bytes.byteOffset, rawBody.bytes.byteLength);
  else if (typeof rawBody?.string === 'string') body = Buffer.from(rawBody.string);
  else body = Buffer.alloc(0);
  const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
  if (!noBody) headers.push(['content-length', String(body.byteLength)]);

  // Validate every header before anything is written, so a bad header turns into a clean 500.
  for (const [name, value] of headers) {
    try {
      res.setHeader(name, value);
    } catch (err) {
      for (const [n] of headers) res.removeHeader(n);
      throw new InvalidHttpResponseError(`The HTTP function returned an invalid header "${name}": ${(err as Error).message}`);
    }
  }
  res.writeHead(status);
  res.end(noBody ? undefined : body);
}
