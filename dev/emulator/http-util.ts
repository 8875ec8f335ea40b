// Small HTTP helpers shared by every emulated service. Node's http module only; no framework,
// so the emulator adds nothing to the dependency tree and starts in milliseconds.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bodies the real services accept are tiny; 1 MiB keeps a runaway test from eating memory. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Thrown by handlers to answer with a given status and JSON body; caught in one place (server.ts). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, { error: 'request body too large' }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-length': '0', ...headers });
  res.end();
}

/** The bearer token of an Authorization header, or undefined. The scheme is case-insensitive (RFC 7235). */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** JSON body as a plain object, or an HttpError 400 carrying the service's error shape. */
export function parseJsonObject(text: string, errorBody: unknown): Record<string, unknown> {
  let value: unknown;
  try {
    value = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, errorBody);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, errorBody);
  return value as Record<string, unknown>;
}

/** A query parameter looked up case-insensitively, as ARM and IMDS treat parameter names. */
export function queryParam(url: URL, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of url.searchParams) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
