// The HTTP front of the host: request-target checks, body limit, built-in /admin routes, function
// routing, key checks, invocation with functionTimeout, and one log line per request. Error
// answers carry no detail (the host's 401/413/500 bodies are empty in Azure too); details go to
// the log only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { HttpFunction } from './catalog';
import { parseRequestTarget, toRpcHttpRequest, writeRpcHttpResponse, type RequestTarget } from './http-mapping';
import { FunctionTimeoutError, type Invoker } from './invoke';
import { isAuthorized, presentedKey, type HostKeys } from './keys';
import { describeError, type HostLogger } from './logger';
import { MalformedPathError, splitRequestPath, type RouteTable } from './routes';

export type HostState = 'Starting' | 'Running' | 'Stopping';

export type AdminInvokeResult = 'accepted' | 'not-found' | 'http-function';

export interface AdminApi {
  status(): Record<string, unknown>;
  /** Runs a non-HTTP function once and resolves after it finished. */
  invoke(name: string, input: unknown): Promise<AdminInvokeResult>;
}

export interface HttpFrontOptions {
  routes: RouteTable<HttpFunction>;
  keys: HostKeys;
  invoker: Invoker;
  logger: HostLogger;
  bodyLimit: number;
  functionTimeoutMs: number | undefined;
  /** "127.0.0.1:PORT", used for request URLs when the Host header is missing or unusable. */
  localAddress(): string;
  state(): HostState;
  admin: AdminApi;
}

class BodyTooLargeError extends Error {}

/** Filled in while a request is handled, read by the request log line. */
interface LogInfo {
  label: string;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

/** For the request log: the path only (a query string may carry `code=`), printable, bounded. */
function loggablePath(rawUrl: string | undefined): string {
  const url = rawUrl ?? '';
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  const clean = path.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

function sendEmpty(res: ServerResponse, status: number, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (close) res.shouldKeepAlive = false;
  res.writeHead(status, { 'content-length': '0' });
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/**
 * The raw answer to a request Node's HTTP parser rejected (the 'clientError' event): no handler can
 * run, so the host writes it on the socket itself and closes the connection.
 *
 * A method Node does not know (`HPE_INVALID_METHOD`) is almost always a Vault client's `LIST`: hvac
 * and node-vault send that verb by default, and it cannot reach any handler here (an Azure Functions
 * HTTP trigger cannot declare it either). It gets a Vault-shaped error that names the fix, with a
 * status hvac turns into `InvalidRequest` and `Content-Type: application/json` exactly (hvac reads
 * `errors` only then). Anything else keeps the bare 400 (431 for oversized headers) Azure gives.
 */
export function clientErrorResponse(err: { code?: string; rawPacket?: unknown }): string {
  if (err.code === 'HPE_INVALID_METHOD') {
    const body = `${JSON.stringify({ errors: [unknownMethodMessage(requestMethod(err.rawPacket))] })}\n`;
    return [
      'HTTP/1.1 400 Bad Request',
      'Content-Type: application/json',
      'Cache-Control: no-store',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n');
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  return `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

/** The method token of the rejected request line, if it is a plain word; never anything after it. */
function requestMethod(rawPacket: unknown): string | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  const token = /^([A-Za-z-]{1,20}) /.exec(rawPacket.subarray(0, 32).toString('latin1'))?.[1];
  return token?.toUpperCase();
}

function unknownMethodMessage(method: string | undefined): string {
  const named = method ? `"${method}"` : 'of this request';
  return (
    `unsupported HTTP method ${named}: this server cannot receive it. ` +
    'To list, send GET <path>?list=true instead of LIST ' +
    '(hvac: hvac.Client(..., strict_http=True); node-vault: noCustomHTTPVerbs: true; the Vault CLI and Go client already do)'
  );
}

export function createRequestListener(options: HttpFrontOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, keys } = options;

  const onBodyError = (res: ServerResponse, err: unknown): void => {
    if (err instanceof BodyTooLargeError) {
      // The rest of the body is not read, so the connection cannot be reused.
      sendEmpty(res, 413, true);
      return;
    }
    res.destroy();
  };

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, target: RequestTarget, segments: string[], info: LogInfo): Promise<void> {
    info.label = 'admin';
    const method = req.method ?? 'GET';
    const [, area, name, extra] = segments.map((s) => s.toLowerCase());
    if (area === 'host' && name === 'ping' && extra === undefined && (method === 'GET' || method === 'POST' || method === 'HEAD')) {
      sendEmpty(res, 200);
      return;
    }
    const key = presentedKey(req.headers['x-functions-key'], new URLSearchParams(target.query));
    const isStatus = area === 'host' && name === 'status' && extra === undefined && method === 'GET';
    const isInvoke = area === 'functions' && name !== undefined && extra === undefined && method === 'POST';
    if (!isStatus && !isInvoke) {
      sendJson(res, 404, { error: 'NotFound', message: 'No host API matches the request.' });
      return;
    }
    if (!isAuthorized(keys, 'admin', undefined, key)) {
      sendEmpty(res, 401);
      return;
    }
    if (isStatus) {
      sendJson(res, 200, options.admin.status());
      return;
    }
    info.label = `admin:invoke ${segments[2]!}`;
    let body: Buffer;
    try {
      body = await readBody(req, options.bodyLimit);
    } catch (err) {
      onBodyError(res, err);
      return;
    }
    let invocation: unknown;
    try {
      invocation = body.length ? JSON.parse(body.toString('utf8')) : undefined;
    } catch {
      invocation = undefined;
    }
    if (typeof invocation !== 'object' || invocation === null || Array.isArray(invocation)) {
      sendJson(res, 400, { error: 'BadRequest', message: 'Expected a JSON body such as {"input": ""}.' });
      return;
    }
    const outcome = await options.admin.invoke(segments[2]!, (invocation as { input?: unknown }).input);
    if (outcome === 'not-found') sendJson(res, 404, { error: 'NotFound', message: 'No such function.' });
    else if (outcome === 'http-function') sendJson(res, 400, { error: 'BadRequest', message: 'Use the function route to run an HTTP function.' });
    else sendEmpty(res, 202);
  }

  async function handleFunction(req: IncomingMessage, res: ServerResponse, target: RequestTarget, segments: string[], info: LogInfo): Promise<void> {
    const match = options.routes.match(req.method ?? 'GET', segments);
    if (!match) {
      sendJson(res, 404, { error: 'NotFound', message: 'No HTTP function matches the request method and path.' });
      return;
    }
    const fn = match.entry.target;
    info.label = fn.name;
    const key = fn.authLevel === 'anonymous' ? undefined : presentedKey(req.headers['x-functions-key'], new URLSearchParams(target.query));
    if (!isAuthorized(keys, fn.authLevel, fn.name, key)) {
      sendEmpty(res, 401);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, options.bodyLimit);
    } catch (err) {
      onBodyError(res, err);
      return;
    }
    const http = toRpcHttpRequest({ req, target, params: match.params, body, localAddress: options.localAddress() });
    const traceparent = req.headers.traceparent;
    const handle = options.invoker.start({
      fn: fn.fn,
      triggerBindingName: fn.triggerBindingName,
      triggerData: { http },
      traceParent: typeof traceparent === 'string' ? traceparent : undefined,
      timeoutMs: options.functionTimeoutMs,
    });
    try {
      const { response } = await handle.result;
      if (res.destroyed) return;
      if (options.state() === 'Stopping') res.shouldKeepAlive = false;
      writeRpcHttpResponse(res, response);
    } catch (err) {
      if (err instanceof FunctionTimeoutError) {
        logger.log(`Function.${fn.name}`, 'error', `${err.message} (Id: ${handle.invocationId}). The handler keeps running in the background; Azure would recycle the worker.`);
      } else {
        logger.log(`Function.${fn.name}`, 'error', `Executed 'Functions.${fn.name}' (Failed, Id=${handle.invocationId})\n${describeError(err)}`);
      }
      sendEmpty(res, 500);
    }
  }

  return (req, res) => {
    const started = performance.now();
    const info: LogInfo = { label: '-' };
    res.once('close', () => {
      const ms = (performance.now() - started).toFixed(1);
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      logger.write('information', `${req.method ?? '?'} ${loggablePath(req.url)} ${status} ${ms}ms (${info.label})`);
    });

    const run = async (): Promise<void> => {
      const state = options.state();
      if (state !== 'Running') {
        // Like Azure while the host is (re)starting; connections are not kept while stopping.
        sendEmpty(res, 503, state === 'Stopping');
        return;
      }
      const target = parseRequestTarget(req.url);
      let segments: string[] | undefined;
      try {
        segments = target ? splitRequestPath(target.path) : undefined;
      } catch (err) {
        if (!(err instanceof MalformedPathError)) throw err;
      }
      if (!target || !segments) {
        sendEmpty(res, 400, true);
        return;
      }
      if (segments[0]?.toLowerCase() === 'admin') await handleAdmin(req, res, target, segments, info);
      else await handleFunction(req, res, target, segments, info);
    };

    run().catch((err: unknown) => {
      logger.error(`Unhandled error while serving ${req.method ?? '?'} ${loggablePath(req.url)}: ${describeError(err)}`);
      sendEmpty(res, 500);
    });
  };
}
