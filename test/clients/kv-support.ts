/**
 * Helpers for the KV HTTP tests (test/kv/*.http.test.ts) and the KV client tests (test/clients/kv-*):
 * a stack with an admin, KV mounts enabled over HTTP, tokens carrying one least-privilege policy,
 * and readers for Vault's envelope.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import type { RequestOptions, Stack, StackResponse } from '../support/stack';

export interface KvEnv {
  readonly stack: Stack;
  /** A root token of ours (auth/token/create with policies=root), which never needs refreshing. */
  readonly root: string;
}

/** Makes a root token with the stack's Entra admin: the tests then work like a Vault operator with `vault login <root>`. */
export async function kvEnv(stack: Stack): Promise<KvEnv> {
  const admin = await stack.adminToken();
  const res = await stack.request('POST', 'auth/token/create', { token: admin, body: { policies: ['root'] } });
  expect(res.status, res.text).toBe(200);
  return { stack, root: (res.json as { auth: { client_token: string } }).auth.client_token };
}

let counter = 0;
/** A mount path unique within the run. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

/** `POST sys/mounts/<path>` with the root token; returns the path. */
export async function enableKv(env: KvEnv, version: 1 | 2, path = uniqueName(`kv${version}`)): Promise<string> {
  const res = await env.stack.request('POST', `sys/mounts/${path}`, { token: env.root, body: { type: 'kv', options: { version: String(version) } } });
  expect(res.status, res.text).toBe(204);
  return path;
}

/** Writes policy `name` and returns a new token that carries it (and `default`). */
export async function tokenWithPolicy(env: KvEnv, policy: string, name = uniqueName('pol')): Promise<string> {
  const written = await env.stack.request('PUT', `sys/policies/acl/${name}`, { token: env.root, body: { policy } });
  expect(written.status, written.text).toBe(204);
  const created = await env.stack.request('POST', 'auth/token/create', { token: env.root, body: { policies: [name], ttl: '1h' } });
  expect(created.status, created.text).toBe(200);
  return (created.json as { auth: { client_token: string } }).auth.client_token;
}

/** A request with the root token. */
export function asRoot(env: KvEnv, method: string, path: string, opts: Omit<RequestOptions, 'token'> = {}): Promise<StackResponse> {
  return env.stack.request(method, path, { ...opts, token: env.root });
}

export function errorsOf(res: StackResponse): string[] {
  const errors = (res.json as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.map(String) : [];
}

export function warningsOf(res: StackResponse): string[] {
  const warnings = (res.json as { warnings?: unknown } | undefined)?.warnings;
  return Array.isArray(warnings) ? warnings.map(String) : [];
}

export function dataOf(res: StackResponse): Record<string, unknown> {
  return ((res.json as { data?: unknown } | undefined)?.data ?? {}) as Record<string, unknown>;
}

/** 200 with Vault's full envelope (`mount_type` kv); returns `data`. */
export function expectKvData(res: StackResponse): Record<string, unknown> {
  expect(res.status, res.text).toBe(200);
  expect(res.headers['content-type']).toBe('application/json');
  const body = res.json as Record<string, unknown>;
  for (const key of ['request_id', 'lease_id', 'renewable', 'lease_duration', 'data', 'wrap_info', 'warnings', 'auth']) expect(body).toHaveProperty(key);
  expect(body.mount_type).toBe('kv');
  return body.data as Record<string, unknown>;
}

/** Vault's bare 404: `{"errors":[]}` and nothing else. */
export function expectBare404(res: StackResponse): void {
  expect(res.status, res.text).toBe(404);
  expect(res.json).toEqual({ errors: [] });
}

/** A 4xx in Vault's error envelope with one message matching `message`. */
export function expectError(res: StackResponse, status: number, message: string | RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  expect(Object.keys(res.json as object)).toEqual(['errors']);
  const errors = errorsOf(res);
  expect(errors, res.text).toHaveLength(1);
  if (typeof message === 'string') expect(errors[0]).toBe(message);
  else expect(errors[0]).toMatch(message);
}

/** 403 "permission denied" from the one authorization decision (Vault 1.16+ wraps it in a multierror or not). */
export function expectDenied(res: StackResponse): void {
  expect(res.status, res.text).toBe(403);
  expect(errorsOf(res).join('\n')).toContain('permission denied');
}

/**
 * Runs a script with Debian's Python and its hvac (`/usr/bin/python3`; `python3` on PATH is another
 * interpreter without hvac), synchronously, killed after `timeoutMs`.
 */
export function runHvac(script: string, env: Record<string, string>, timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
