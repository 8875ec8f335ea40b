// Entra's OAuth error body: `error` (RFC 6749 code), `error_description` starting with the AADSTS
// code, `error_codes`, and the trace/correlation ids and timestamp Entra always adds.
import { randomUUID } from 'node:crypto';
import { HttpError } from './http-util';

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

export function entraErrorBody(baseUrl: string, error: string, aadsts: number, message: string): EntraErrorBody {
  const now = new Date();
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const stamp = now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    error,
    error_description: `AADSTS${aadsts}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${stamp}`,
    error_codes: [aadsts],
    timestamp: stamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${baseUrl}/error?code=${aadsts}`,
  };
}

export function entraError(baseUrl: string, status: number, error: string, aadsts: number, message: string): HttpError {
  return new HttpError(status, entraErrorBody(baseUrl, error, aadsts, message));
}

export function unknownTenant(baseUrl: string, tenant: string): HttpError {
  return entraError(
    baseUrl,
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}
