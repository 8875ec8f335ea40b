/**
 * Issue 10 item 10 (part): a JSON body nested 400,000 deep answered 500 (a stack overflow in code
 * that walks the parsed value). It is refused as malformed input: 400 `error parsing JSON`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';

const DEPTH = 400_000;
// `{"a":` is five bytes a level: 150,000 levels stay under the 1 MiB body limit.
const OBJECT_DEPTH = 150_000;
const deep = (key: string) => `{"${key}":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`;
const deepObject = (key: string) => `{"${key}":${'{"a":'.repeat(OBJECT_DEPTH)}1${'}'.repeat(OBJECT_DEPTH)}}`;

let stack: Stack;
let admin = '';
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.adminToken();
});
afterAll(async () => {
  await stack?.stop();
});

describe('deeply nested JSON', () => {
  it.each([
    ['auth/azure/login', 'role', deep, false],
    ['auth/azure/role/deep', 'token_policies', deep, true],
    ['sys/auth/deep', 'config', deepObject, true],
    ['auth/token/create', 'meta', deepObject, true],
  ])('POST %s {"%s": <deep>} is 400 error parsing JSON', async (path, key, make, withToken) => {
    const res = await stack.request('POST', path, { token: withToken ? admin : undefined, body: make(key) });
    expect(res.status, res.text.slice(0, 200)).toBe(400);
    expect(res.json).toEqual({ errors: ['error parsing JSON'] });
  });

  it('still accepts ordinary nesting', async () => {
    const res = await stack.request('POST', 'sys/auth/shallow', { token: admin, body: { type: 'azure', config: { a: { b: { c: [1, [2, [3]]] } } } } });
    expect(res.status, res.text).toBeLessThan(300);
  });
});
