/**
 * Helpers for the token HTTP tests on the shared stack: a configured azure mount, roles made on
 * demand, logins with fresh principals, and requests sent from a chosen loopback source address
 * (the local host appends the socket address to X-Forwarded-For, and the app trusts the rightmost
 * entry, so a bound-CIDR test has to really connect from another address: 127.0.0.2).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { expect } from 'vitest';
import type { Stack, StackResponse } from '../support/stack';

export const RESOURCE = 'https://management.azure.com/';

export interface TokenEnv {
  readonly stack: Stack;
  readonly admin: string;
  readonly tenant: string;
  /** The workload principal every test role is bound to (roles must name specific principals). */
  readonly oid: string;
}

export async function prepareMount(stack: Stack): Promise<TokenEnv> {
  const admin = await stack.adminToken();
  const tenant = stack.emulator.entra.addTenant();
  const res = await stack.request('POST', 'auth/azure/config', { token: admin, body: { tenant_id: tenant, resource: RESOURCE } });
  if (res.status !== 204) throw new Error(`config write failed: ${res.status} ${res.text}`);
  return { stack, admin, tenant, oid: randomUUID() };
}

let roleCounter = 0;

/** A new role on the azure mount bound to the test principal; returns its name. */
export async function makeRole(env: TokenEnv, fields: Record<string, unknown> = {}): Promise<string> {
  const name = `role-${++roleCounter}-${randomUUID().slice(0, 8)}`;
  const res = await env.stack.request('POST', `auth/azure/role/${name}`, {
    token: env.admin,
    body: { bound_service_principal_ids: [env.oid], ...fields },
  });
  if (res.status !== 204 && res.status !== 200) throw new Error(`role write failed: ${res.status} ${res.text}`);
  return name;
}

export interface LoginResult {
  readonly res: StackResponse;
  readonly token: string;
  readonly accessor: string;
  readonly oid: string;
}

export async function login(env: TokenEnv, role: string, opts: { from?: string } = {}): Promise<LoginResult> {
  const oid = env.oid;
  const jwt = await env.stack.emulator.entra.mintToken({ tenant: env.tenant, audience: RESOURCE, oid });
  const body = { role, jwt };
  const res = opts.from
    ? await requestFrom(env.stack, opts.from, 'POST', 'auth/azure/login', { body })
    : await env.stack.request('POST', 'auth/azure/login', { body });
  expect(res.status, res.text).toBe(200);
  const auth = (res.json as { auth: { client_token: string; accessor: string } }).auth;
  return { res, token: auth.client_token, accessor: auth.accessor, oid };
}

/** Issues a token through auth/token/create with the Entra admin. */
export async function createToken(env: TokenEnv, body: Record<string, unknown>): Promise<{ res: StackResponse; token: string; accessor: string }> {
  const res = await env.stack.request('POST', 'auth/token/create', { token: env.admin, body });
  expect(res.status, res.text).toBe(200);
  const auth = (res.json as { auth: { client_token: string; accessor: string } }).auth;
  return { res, token: auth.client_token, accessor: auth.accessor };
}

export function errorsOf(res: StackResponse): string {
  const errors = (res.json as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.join('\n') : '';
}

export function warningsOf(res: StackResponse): string[] {
  const warnings = (res.json as { warnings?: unknown } | undefined)?.warnings;
  return Array.isArray(warnings) ? warnings.map(String) : [];
}

export function dataOf(res: StackResponse): Record<string, unknown> {
  return ((res.json as { data?: Record<string, unknown> } | undefined)?.data ?? {}) as Record<string, unknown>;
}

export function authOf(res: StackResponse): Record<string, unknown> {
  return ((res.json as { auth?: Record<string, unknown> } | undefined)?.auth ?? {}) as Record<string, unknown>;
}

/** 403 with both Vault ≥ 1.17 strings: Agent logs in again on "invalid token". */
export function expectInvalidToken(res: StackResponse): void {
  expect(res.status, res.text).toBe(403);
  expect(errorsOf(res)).toContain('permission denied');
  expect(errorsOf(res)).toContain('invalid token');
}

/** 403 "permission denied" without "invalid token": a live caller that lacks the right. */
export function expectPlainDenial(res: StackResponse): void {
  expect(res.status, res.text).toBe(403);
  expect(errorsOf(res)).toContain('permission denied');
  expect(errorsOf(res)).not.toContain('invalid token');
}

export function expectBadRequest(res: StackResponse, message: string | RegExp): void {
  expect(res.status, res.text).toBe(400);
  if (typeof message === 'string') expect(errorsOf(res)).toBe(message);
  else expect(errorsOf(res)).toMatch(message);
}

/** A request whose TCP connection comes from `localAddress` (e.g. 127.0.0.2). */
export function requestFrom(
  stack: Stack,
  localAddress: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<StackResponse> {
  const url = new URL(`${stack.url}/v1/${path}`);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = {
    ...(opts.token ? { 'X-Vault-Token': opts.token } : {}),
    ...(body ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
    ...opts.headers,
  };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.trim() ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const responseHeaders: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') responseHeaders[k] = v;
          resolve({ status: res.statusCode ?? 0, headers: responseHeaders, json, text });
        });
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
