/** Small helpers shared by the foundation integration tests. */
import { expect } from 'vitest';
import type { RequestOptions, Stack, StackResponse } from '../support/stack';

export type AdminCall = (method: string, path: string, opts?: Omit<RequestOptions, 'token'>) => Promise<StackResponse>;

/** Requests carrying a fresh admin Entra token. */
export function asAdmin(stack: Stack): AdminCall {
  return async (method, path, opts = {}) => stack.request(method, path, { ...opts, token: await stack.adminToken() });
}

/** Asserts a Vault error envelope with this status; returns its messages. */
export function expectErrors(res: StackResponse, status: number): string[] {
  expect(res.status, res.text).toBe(status);
  const body = res.json as { errors?: unknown };
  expect(Array.isArray(body?.errors), res.text).toBe(true);
  expect(Object.keys(body)).toEqual(['errors']);
  return body.errors as string[];
}

/** Asserts a 200 Vault envelope and returns its data. */
export function expectData(res: StackResponse): Record<string, unknown> {
  expect(res.status, res.text).toBe(200);
  const body = res.json as Record<string, unknown>;
  for (const key of ['request_id', 'lease_id', 'renewable', 'lease_duration', 'data', 'wrap_info', 'warnings', 'auth', 'mount_type']) {
    expect(body, `envelope key ${key}`).toHaveProperty(key);
  }
  return body.data as Record<string, unknown>;
}

/** Asserts a 200 envelope without data that carries exactly these warnings (Vault's 204 → 200 rule). */
export function expectWarnings(res: StackResponse): string[] {
  expect(res.status, res.text).toBe(200);
  const body = res.json as { data: unknown; warnings: unknown };
  expect(body.data).toBeNull();
  expect(Array.isArray(body.warnings)).toBe(true);
  return body.warnings as string[];
}

let counter = 0;
/** A mount path unique within the run, so tests in one file do not see each other's state. */
export function uniqueMount(prefix = 'm'): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}
