// Client-side helpers for code that runs in the same process as the emulator. Global fetch in
// Node 20 is undici, which reads its CAs at start-up (NODE_EXTRA_CA_CERTS) and takes a custom CA
// only through an undici dispatcher, and the undici package is not installed here. So: a small
// fetch built on node:https with the emulator's CA, good for jose's customFetch and ad-hoc calls.
// Child processes should use NODE_EXTRA_CA_CERTS=<caCertPath> instead.
import { Agent, request } from 'node:https';

export interface CaFetchInit {
  method?: string;
  headers?: Record<string, string> | Headers | [string, string][];
  body?: string;
  signal?: AbortSignal | null;
}

export type CaFetch = (input: string | URL, init?: CaFetchInit) => Promise<Response>;

/** An https.Agent that trusts exactly the given CA (plus nothing else). */
export function caAgent(caPem: string): Agent {
  return new Agent({ ca: caPem, keepAlive: false });
}

function headerRecord(headers: CaFetchInit['headers']): Record<string, string> {
  if (headers === undefined) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...headers };
}

/** A fetch-compatible function for https URLs that trusts the emulator's CA. */
export function createCaFetch(caPem: string): CaFetch {
  const agent = caAgent(caPem);
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = typeof input === 'string' ? new URL(input) : input;
      if (url.protocol !== 'https:') {
        reject(new TypeError(`createCaFetch only serves https URLs, got ${url.protocol}`));
        return;
      }
      const signal = init.signal ?? undefined;
      const req = request(url, { method: init.method ?? 'GET', headers: headerRecord(init.headers), agent, ...(signal === undefined ? {} : { signal }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) headers.append(name, v);
            else if (value !== undefined) headers.set(name, value);
          }
          const status = res.statusCode ?? 500;
          // Response refuses a body for 204/304.
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }));
        });
      });
      req.on('error', reject);
      if (init.body !== undefined) req.write(init.body);
      req.end();
    });
}
