/**
 * Issue 10 item 10 (part): the request body is read as a stream and reading stops once it passes
 * AZAUTH_MAX_REQUEST_BYTES (a chunked body has no Content-Length to refuse it by).
 */
import { describe, expect, it } from 'vitest';
import { vaultEndpoint, type AuditEntry, type EndpointServices, type HttpRequestLike } from '../../shared/vault/endpoint';
import type { PathDefinition } from '../../shared/vault/types';

const LIMIT = 64 * 1024;
const CHUNK = 16 * 1024;
const CHUNKS = 400; // 6.4 MiB offered in all

/** A chunked upload: no Content-Length, and a stream that counts what was pulled from it. */
function chunkedRequest(): { req: HttpRequestLike; pulled: () => number } {
  let pulled = 0;
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= CHUNKS) {
        controller.close();
        return;
      }
      sent += 1;
      pulled += CHUNK;
      controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
    },
  });
  const req: HttpRequestLike = {
    method: 'POST',
    url: 'http://127.0.0.1/v1/sys/thing',
    headers: { get: (name: string) => (name.toLowerCase() === 'transfer-encoding' ? 'chunked' : null) },
    params: {},
    body,
    text: async () => new Response(body).text(),
  };
  return { req, pulled: () => pulled };
}

const definition: PathDefinition = {
  pattern: 'sys/thing',
  unauthenticated: true,
  operations: { update: { handler: async () => undefined } },
};

describe('request body limit on a chunked upload', () => {
  it('answers 413 and stops reading soon after the limit', async () => {
    const audits: AuditEntry[] = [];
    const services: EndpointServices = {
      maxRequestBytes: LIMIT,
      requestTimeoutSeconds: 30,
      checkAccess: async () => ({ caller: { kind: 'anonymous' }, rootOrSudo: false }),
      audit: (entry) => audits.push(entry),
    };
    const { req, pulled } = chunkedRequest();
    const res = await vaultEndpoint(definition, () => services)(req, { invocationId: 'i', log: () => undefined, error: () => undefined });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body ?? '{}')).toEqual({ errors: ['http: request body too large'] });
    // What a stream reader holds at most: the limit plus the chunk that crossed it, plus read-ahead.
    expect(pulled()).toBeLessThanOrEqual(LIMIT + 4 * CHUNK);
    expect(audits[0]?.status).toBe(413);
  });
});
