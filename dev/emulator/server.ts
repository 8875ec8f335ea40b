// The plumbing every emulated service goes through: request logging, fault injection, one place
// that turns thrown HttpErrors into responses, and listening on 127.0.0.1 only.
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Faults, RequestLog, ServiceName } from './faults';
import { HttpError, sendJson, sleep } from './http-util';

export interface ServiceDeps {
  readonly faults: Faults;
  readonly log: RequestLog;
}

export type ServiceHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** The error body a service would send for an injected status, unless the fault gives its own. */
export function defaultFaultBody(service: ServiceName, status: number): unknown {
  const message = `Fault injected by the azauth cloud emulator (HTTP ${status}).`;
  switch (service) {
    case 'arm':
      return { error: { code: status === 429 ? 'TooManyRequests' : status >= 500 ? 'InternalServerError' : 'InjectedFault', message } };
    case 'graph':
      return { error: { code: status === 429 ? 'TooManyRequests' : status >= 500 ? 'serviceNotAvailable' : 'InjectedFault', message } };
    case 'entra':
      return { error: status >= 500 ? 'temporarily_unavailable' : 'invalid_request', error_description: `AADSTS50000: ${message}`, error_codes: [50000] };
    case 'imds':
    case 'identity':
      return { error: status >= 500 ? 'service_unavailable' : 'invalid_request', error_description: message };
  }
}

/**
 * Wraps a service's handler: records the request, applies the first matching fault, and maps
 * errors to responses (HttpError → its status/body; anything else → 500, logged to stderr since
 * it is an emulator bug rather than a client mistake).
 */
export function serviceListener(deps: ServiceDeps, route: (url: URL) => { service: ServiceName; handler: ServiceHandler }): RequestListener {
  return (req, res) => {
    void (async () => {
      const rawUrl = req.url ?? '/';
      let url: URL;
      try {
        // Only the path and query matter; the base merely makes the request target parseable.
        url = new URL(rawUrl.startsWith('/') ? `http://127.0.0.1${rawUrl}` : rawUrl);
      } catch {
        sendJson(res, 400, { error: 'invalid_request', error_description: 'The request target is not a valid URL.' });
        return;
      }
      const { service, handler } = route(url);
      const method = req.method ?? 'GET';
      const record = deps.log.begin(service, method, rawUrl);
      const finished = (): void => {
        record.status = res.statusCode;
      };
      res.once('finish', finished);
      res.once('close', finished);
      try {
        const fault = deps.faults.take(service, method, rawUrl);
        if (fault !== undefined) {
          if (fault.delayMs > 0) await sleep(fault.delayMs);
          if (fault.status !== undefined) {
            // Drain the body so the client is not left writing into a closed request.
            req.resume();
            const headers: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
            sendJson(res, fault.status, fault.body ?? defaultFaultBody(service, fault.status), headers);
            return;
          }
        }
        await handler(req, res, url);
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof HttpError) {
          sendJson(res, err.status, err.body, err.headers);
        } else {
          const message = err instanceof Error ? err.message : String(err);
          process.stderr.write(`[cloud-emulator] ${service} ${method} ${rawUrl}: ${err instanceof Error ? (err.stack ?? message) : message}\n`);
          sendJson(res, 500, { error: { code: 'EmulatorError', message } });
        }
      }
    })();
  };
}

/** Listens on 127.0.0.1 (never another interface) and resolves with the port. */
export function listenLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('server is not listening on a TCP port'));
      else resolve(address.port);
    });
  });
}

/** Closes a server, cutting idle keep-alive connections that would otherwise hold it open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
