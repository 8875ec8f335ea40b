/**
 * The bad input of issue 12 over HTTP: each gets a clear 4xx in Vault's envelope, and nothing is
 * written. Plus concurrent writers of one key, with and without check-and-set.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { asRoot, dataOf, enableKv, expectBare404, expectDenied, expectError, expectKvData, kvEnv, tokenWithPolicy, warningsOf, type KvEnv } from '../clients/kv-support';

let stack: Stack;
let env: KvEnv;
let kv = '';
let kv1 = '';
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
  kv = await enableKv(env, 2);
  kv1 = await enableKv(env, 1);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const put = (path: string, body: unknown) => asRoot(env, 'PUT', `${kv}/${path}`, { body });

/** A request whose path is sent byte for byte (fetch would resolve `.` and `..` segments first). */
function rawRequest(method: string, path: string, token: string, body?: unknown): Promise<StackResponse> {
  const url = new URL(stack.url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers: { 'X-Vault-Token': token, ...(text ? { 'Content-Type': 'application/json' } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out = Buffer.concat(chunks).toString('utf8');
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
          resolve({ status: res.statusCode ?? 0, headers, text: out, json: out.trim() ? (JSON.parse(out) as unknown) : undefined });
        });
      },
    );
    req.on('error', reject);
    if (text) req.write(text);
    req.end();
  });
}

describe('key paths', () => {
  it.each([
    ['a%2F..%2Fb', /^invalid key path "a\/\.\.\/b": "\." and "\.\." segments are not allowed$/],
    ['a%2F.%2Fb', /^invalid key path "a\/\.\/b": "\." and "\.\." segments are not allowed$/],
    ['..%2Fb', /"\." and "\.\." segments are not allowed/],
    ['a//b', /^invalid key path "a\/\/b": empty path segments are not allowed$/],
    ['%2Fa', /empty path segments are not allowed/],
    ['x'.repeat(2000), /: it is 2000 characters once escaped for storage; at most 470 are supported$/],
  ])('v2 data/%s: 400, nothing written', async (key, message) => {
    expectError(await put(`data/${key}`, { data: { a: 'b' } }), 400, message);
    expectError(await asRoot(env, 'GET', `${kv}/data/${key}`), 400, message);
    expectError(await put(`metadata/${key}`, { max_versions: 1 }), 400, message);
    expectError(await put(`delete/${key}`, { versions: [1] }), 400, message);
    expectError(await asRoot(env, 'PUT', `${kv1}/${key}`, { body: { a: 'b' } }), 400, message);
    expectBare404(await asRoot(env, 'GET', `${kv}/metadata/?list=true`));
    expectBare404(await asRoot(env, 'GET', `${kv1}/?list=true`));
  });

  it('a key ending in / outside a list: 400 (an empty segment)', async () => {
    expectError(await asRoot(env, 'GET', `${kv}/metadata/app/`), 400, /empty path segments are not allowed/);
    expectError(await put('metadata/app/', { max_versions: 1 }), 400, /empty path segments are not allowed/);
    expectError(await asRoot(env, 'GET', `${kv1}/app/`), 400, /empty path segments are not allowed/);
  });

  it('a segment of 2,000 characters is refused however it is encoded, and one within the limit works', async () => {
    expectError(await put(`data/app/${'é'.repeat(2000)}`, { data: { a: 'b' } }), 400, /once escaped for storage/);
    expect(dataOf(await put(`data/app/${'x'.repeat(400)}`, { data: { a: 'b' } })).version).toBe(1);
  });

  it('literal . and .. segments are resolved before routing (as Kestrel and Vault\'s redirect do): no escape from a policy', async () => {
    await put('data/other/secret', { data: { a: 'not yours' } });
    const token = await tokenWithPolicy(env, `path "${kv}/data/app/*" { capabilities = ["read", "create", "update"] }`);
    expectDenied(await rawRequest('GET', `/v1/${kv}/data/app/../other/secret`, token));
    expectDenied(await rawRequest('PUT', `/v1/${kv}/data/app/../other/secret`, token, { data: { a: 'overwritten' } }));
    expectDenied(await rawRequest('GET', `/v1/${kv}/data/app/%2e%2e/other/secret`, token));
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/data/other/secret`)).data).toEqual({ a: 'not yours' });
    // `./` disappears: the request names app/x.
    expect((await rawRequest('PUT', `/v1/${kv}/data/app/./x`, token, { data: { a: 'b' } })).status).toBe(200);
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/data/app/x`)).data).toEqual({ a: 'b' });
  });
});

describe('data', () => {
  it.each([
    ['a string', 'secret'],
    ['an array', ['secret']],
    ['a number', 42],
    ['a boolean', true],
  ])('data as %s: 400 naming the field, never the value; nothing written', async (_what, data) => {
    const res = await put('data/typed', { data });
    expectError(res, 400, /^Field validation failed: error converting input of type \w+ for field "data": the value of a sensitive field is not shown$/);
    expect(res.text).not.toContain('secret');
    expectBare404(await asRoot(env, 'GET', `${kv}/metadata/typed`));
  });

  it('data missing or null: 400 "no data provided"', async () => {
    expectError(await put('data/typed', { options: {} }), 400, 'no data provided');
    expectError(await put('data/typed', { data: null }), 400, 'no data provided');
    expectBare404(await asRoot(env, 'GET', `${kv}/metadata/typed`));
  });

  it('600 KiB of data: 413 with a clear message; nothing written, the current version unchanged', async () => {
    await put('data/big', { data: { v: 'small' } });
    const big = { blob: 'x'.repeat(600 * 1024) };
    expectError(await put('data/big', { data: big }), 413, /^the secret's data is \d+ bytes of JSON; a version holds at most 524288 bytes \(512 KiB\)$/);
    expectError(await put('data/big-new', { data: big }), 413, /a version holds at most 524288 bytes/);
    expectError(await asRoot(env, 'PUT', `${kv1}/big`, { body: big }), 413, /a version holds at most 524288 bytes/);
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/big`)).current_version).toBe(1);
    expectBare404(await asRoot(env, 'GET', `${kv}/metadata/big-new`));
    expectBare404(await asRoot(env, 'GET', `${kv1}/big`));
    // 512 KiB minus the JSON punctuation fits exactly.
    const fits = { blob: 'y'.repeat(512 * 1024 - '{"blob":""}'.length) };
    expect(dataOf(await put('data/big', { data: fits })).version).toBe(2);
    expect((expectKvData(await asRoot(env, 'GET', `${kv}/data/big`)).data as { blob: string }).blob.length).toBe(fits.blob.length);
    // A PATCH that would grow the secret past the limit is refused the same way.
    expectError(
      await asRoot(env, 'PATCH', `${kv}/data/big`, { body: { data: { more: 'z'.repeat(1024) } }, headers: { 'Content-Type': 'application/merge-patch+json' } }),
      413,
      /a version holds at most 524288 bytes/,
    );
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/big`)).current_version).toBe(2);
  });

  it('a body over the request limit (1 MiB): 413 from the HTTP layer', async () => {
    expectError(await put('data/huge', { data: { blob: 'x'.repeat(1024 * 1024 + 10) } }), 413, 'http: request body too large');
  });

  it('unknown top-level fields: written, with Vault\'s warning', async () => {
    const res = await put('data/extra', { data: { a: 'b' }, options: {}, colour: 'blue' });
    expect(expectKvData(res).version).toBe(1);
    expect(warningsOf(res)).toEqual(['Endpoint ignored these unrecognized parameters: [colour]']);
  });

  it('options not an object, version not a number: 400', async () => {
    expectError(await put('data/opts', { data: { a: 'b' }, options: 'cas=1' }), 400, /error converting input cas=1 for field "options"/);
    expectError(await asRoot(env, 'GET', `${kv}/data/opts?version=latest`), 400, /error converting input latest for field "version"/);
  });
});

describe('options.cas', () => {
  it('a non-numeric string, an object: 400 "error parsing check-and-set parameter"; nothing written', async () => {
    await put('data/cas', { data: { v: 1 } });
    expectError(await put('data/cas', { data: { v: 2 }, options: { cas: 'one' } }), 400, 'error parsing check-and-set parameter');
    expectError(await put('data/cas', { data: { v: 2 }, options: { cas: { n: 1 } } }), 400, 'error parsing check-and-set parameter');
    expectError(await put('data/cas', { data: { v: 2 }, options: { cas: 1.5 } }), 400, 'error parsing check-and-set parameter');
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/cas`)).current_version).toBe(1);
  });

  it('negative or stale: 400 "did not match the current version"', async () => {
    expectError(await put('data/cas', { data: { v: 2 }, options: { cas: -1 } }), 400, 'check-and-set parameter did not match the current version');
    expect(dataOf(await put('data/cas', { data: { v: 2 }, options: { cas: 1 } })).version).toBe(2);
    expectError(await put('data/cas', { data: { v: 3 }, options: { cas: 1 } }), 400, 'check-and-set parameter did not match the current version');
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/cas`)).current_version).toBe(2);
  });
});

describe('versions', () => {
  async function threeVersions(key: string): Promise<void> {
    for (let i = 1; i <= 3; i++) await put(`data/${key}`, { data: { i } });
  }
  const deletionTimes = async (key: string): Promise<Record<string, string>> => {
    const versions = expectKvData(await asRoot(env, 'GET', `${kv}/metadata/${key}`)).versions as Record<string, { deletion_time: string }>;
    return Object.fromEntries(Object.entries(versions).map(([v, m]) => [v, m.deletion_time]));
  };

  it('strings that are not numbers: 400 naming the item; nothing changes', async () => {
    await threeVersions('vs');
    expectError(await put('delete/vs', { versions: ['1', 'two'] }), 400, /for field "versions": cannot parse "two" as an integer/);
    expectError(await put('destroy/vs', { versions: [1, true] }), 400, /for field "versions"/);
    expectError(await put('undelete/vs', { versions: { one: 1 } }), 400, /for field "versions"/);
    expect(Object.values(await deletionTimes('vs'))).toEqual(['', '', '']);
  });

  it('numeric strings work; negatives and unknown numbers are skipped; duplicates count once', async () => {
    await threeVersions('vn');
    expect((await put('delete/vn', { versions: ['1', -1, 0, 99, '-7'] })).status).toBe(204);
    const times = await deletionTimes('vn');
    expect(times['1']).not.toBe('');
    expect([times['2'], times['3']]).toEqual(['', '']);
    expect((await put('destroy/vn', { versions: [2, 2, '2', 2] })).status).toBe(204);
    const versions = expectKvData(await asRoot(env, 'GET', `${kv}/metadata/vn`)).versions as Record<string, { destroyed: boolean }>;
    expect([versions['1']!.destroyed, versions['2']!.destroyed, versions['3']!.destroyed]).toEqual([false, true, false]);
  });

  it('10,000 entries: accepted, and only the versions the key keeps are touched', async () => {
    await threeVersions('vmany');
    const versions = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const res = await put('delete/vmany', { versions });
    expect(res.status, res.text).toBe(204);
    expect(Object.values(await deletionTimes('vmany')).every((t) => t !== '')).toBe(true);
    expect((await put('undelete/vmany', { versions })).status).toBe(204);
    expect(Object.values(await deletionTimes('vmany'))).toEqual(['', '', '']);
  });
});

describe('PATCH without the merge-patch content type', () => {
  it.each([['application/json'], ['text/plain'], ['']])('Content-Type "%s": 415 with Vault\'s text; nothing written', async (type) => {
    await put('data/pt', { data: { a: '1' } });
    const before = expectKvData(await asRoot(env, 'GET', `${kv}/metadata/pt`)).current_version;
    const res = await asRoot(env, 'PATCH', `${kv}/data/pt`, { body: JSON.stringify({ data: { a: '2' } }), headers: type ? { 'Content-Type': type } : { 'Content-Type': '' } });
    expectError(res, 415, `PATCH requires Content-Type of application/merge-patch+json, provided ${type || '""'}`);
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/pt`)).current_version).toBe(before);
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/data/pt`)).data).toEqual({ a: '1' });
  });
});

describe('concurrent writes to one key', () => {
  it('without cas: every writer gets its own version number, none twice, none skipped', async () => {
    const n = 20;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => put('data/race', { data: { writer: i } })));
    for (const res of results) expect(res.status, res.text).toBe(200);
    const versions = results.map((res) => dataOf(res).version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/race`)).current_version).toBe(n);
  });

  it('with the same cas: exactly one winner; the others get Vault\'s check-and-set error', async () => {
    await put('data/cas-race', { data: { v: 0 } });
    const n = 20;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => put('data/cas-race', { data: { writer: i }, options: { cas: 1 } })));
    const winners = results.filter((res) => res.status === 200);
    expect(winners).toHaveLength(1);
    expect(dataOf(winners[0]!).version).toBe(2);
    for (const res of results.filter((r) => r.status !== 200)) expectError(res, 400, 'check-and-set parameter did not match the current version');
    const meta = expectKvData(await asRoot(env, 'GET', `${kv}/metadata/cas-race`));
    expect(meta.current_version).toBe(2);
    // The stored version is the winner's.
    const winnerIndex = results.indexOf(winners[0]!);
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/data/cas-race`)).data).toEqual({ writer: winnerIndex });
  });

  it('new key, many creators with cas 0: one creates it', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => put('data/cas-new', { data: { writer: i }, options: { cas: 0 } })));
    expect(results.filter((res) => res.status === 200)).toHaveLength(1);
    expect(expectKvData(await asRoot(env, 'GET', `${kv}/metadata/cas-new`)).current_version).toBe(1);
  });
});
