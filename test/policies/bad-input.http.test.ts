/**
 * Issue 11's bad input over HTTP, beyond what policies.http.test.ts covers: unknown keys (in the
 * document and in the request body), the built-in names (`root`, `default`, Vault's hidden ones) in
 * every spelling and on both endpoints, the size limits (1 MiB: the request body limit, 413; just over
 * 64 KiB: the policy limit, 400; exactly 64 KiB: accepted), `+` and `*` in odd places, 10,000 stored
 * policies listed, a token with 200 real policies, children asking for what their parent lacks,
 * `create-orphan` without a grant, a policy deleted while tokens carry its name, and concurrent
 * writes (and deletes) of one policy.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../shared/storage/tables';
import { encodeKey } from '../../shared/storage/keys';
import { startStack, type Stack, type StackResponse } from '../support/stack';
import { authOf, createToken, dataOf, errorsOf, expectBadRequest, expectPlainDenial, prepareMount, warningsOf, type TokenEnv } from '../tokens/http-support';

let stack: Stack | undefined;
let env: TokenEnv;

beforeAll(async () => {
  stack = await startStack();
  env = await prepareMount(stack);
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;
const req = (method: string, path: string, token: string | undefined, body?: unknown): Promise<StackResponse> =>
  env.stack.request(method, path, { ...(token !== undefined ? { token } : {}), ...(body !== undefined ? { body } : {}) });
const put = (name: string, policy: string, extra: Record<string, unknown> = {}): Promise<StackResponse> => req('PUT', `sys/policies/acl/${name}`, env.admin, { policy, ...extra });

async function writePolicy(name: string, policy: string): Promise<void> {
  const res = await put(name, policy);
  expect(res.status, res.text).toBe(204);
}

/** Runs `work` over `items` a few at a time. */
async function pooled<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}

describe('unknown keys', () => {
  it('in a path block, in HCL and JSON: Vault\'s multierror text with the path and the line', async () => {
    expect(errorsOf(await put(unique('k'), 'path "a" {\n  capabilities = ["read"]\n  bogus = 1\n}\n'))).toBe(
      'failed to parse policy: 1 error occurred:\n\t* path "a": invalid key "bogus" on line 3\n\n',
    );
    const json = await put(unique('k'), JSON.stringify({ path: { a: { capabilities: ['read'], bogus: 1 } } }));
    expect(json.status).toBe(400);
    expect(errorsOf(json)).toMatch(/^failed to parse policy: 1 error occurred:\n\t\* path "a": invalid key "bogus" on line \d+\n\n$/);
    const top = await put(unique('k'), JSON.stringify({ path: { a: { capabilities: ['read'] } }, extra: {} }));
    expect(top.status).toBe(400);
    expect(errorsOf(top)).toMatch(/^failed to parse policy: 1 error occurred:\n\t\* invalid key "extra" on line \d+\n\n$/);
  });

  it('an unknown capability, an unknown legacy policy value', async () => {
    expectBadRequest(await put(unique('k'), 'path "a" { capabilities = ["read", "admin"] }'), 'failed to parse policy: path "a": invalid capability "admin"');
    expectBadRequest(await put(unique('k'), 'path "a" { capabilities = ["root"] }'), 'failed to parse policy: path "a": invalid capability "root"');
    expectBadRequest(await put(unique('k'), 'path "a" { policy = "admin" }'), 'failed to parse policy: path "a": invalid policy "admin"');
  });

  it('unknown body fields are ignored with Vault\'s warning (a 200 instead of the 204)', async () => {
    const name = unique('k');
    const res = await put(name, 'path "a" { capabilities = ["read"] }', { rules: 'ignored here', name: 'other', zzz: 1 });
    expect(res.status, res.text).toBe(200);
    expect(warningsOf(res)).toEqual(['Endpoint ignored these unrecognized parameters: [rules zzz]']);
    expect(dataOf(await req('GET', `sys/policies/acl/${name}`, env.admin))).toEqual({ name, policy: 'path "a" { capabilities = ["read"] }' });
  });
});

describe('the built-in names', () => {
  it('root in any spelling: not writable, not deletable, readable as an empty document, listed last', async () => {
    for (const name of ['root', 'ROOT', 'Root', '%20root%20']) {
      expectBadRequest(await put(name, 'path "*" { capabilities = ["sudo"] }'), 'cannot update "root" policy');
      expectBadRequest(await req('DELETE', `sys/policies/acl/${name}`, env.admin), 'cannot delete "root" policy');
      expectBadRequest(await req('PUT', `sys/policy/${name}`, env.admin, { rules: 'path "*" { capabilities = ["sudo"] }' }), 'cannot update "root" policy');
    }
    expect(dataOf(await req('GET', 'sys/policies/acl/ROOT', env.admin))).toEqual({ name: 'root', policy: '' });
    expect(dataOf(await req('GET', 'sys/policy/root', env.admin))).toEqual({ name: 'root', rules: '' });
  });

  it('default in any spelling and on both endpoints: editable, never deletable', async () => {
    for (const path of ['sys/policies/acl/default', 'sys/policies/acl/DEFAULT', 'sys/policy/default', 'sys/policy/Default']) {
      expectBadRequest(await req('DELETE', path, env.admin), 'cannot delete default policy');
    }
    const original = dataOf(await req('GET', 'sys/policies/acl/default', env.admin)).policy as string;
    const edited = `${original}\npath "sys/capabilities-accessor" { capabilities = ["update"] }\n`;
    await writePolicy('DEFAULT', edited);
    const token = (await createToken(env, { policies: ['nothing'] })).token;
    expect((await req('POST', 'sys/capabilities-accessor', token, { accessor: 'x', path: 'a' })).status).toBe(400); // past the ACL
    await writePolicy('default', original);
    expectPlainDenial(await req('POST', 'sys/capabilities-accessor', token, { accessor: 'x', path: 'a' }));
  });

  it('Vault\'s hidden policies cannot be written, deleted or given to a token', async () => {
    for (const name of ['response-wrapping', 'control-group']) {
      expectBadRequest(await put(name, 'path "a" {}'), `cannot update "${name}" policy`);
      expectBadRequest(await req('DELETE', `sys/policies/acl/${name}`, env.admin), `cannot delete "${name}" policy`);
      expect((await req('GET', `sys/policies/acl/${name}`, env.admin)).status).toBe(404);
    }
    const listed = dataOf(await req('GET', 'sys/policies/acl?list=true', env.admin)).keys as string[];
    expect(listed).not.toContain('response-wrapping');
    expectBadRequest(await req('POST', 'auth/token/create', env.admin, { policies: ['response-wrapping'] }), 'cannot assign policy "response-wrapping"');
  });

  it('names the store cannot keep: refused with a 400 naming the problem', async () => {
    expectBadRequest(await put('a%3Fb', 'path "a" {}'), /^invalid policy name "a\?b": contains one of/);
    expectBadRequest(await put('team//app', 'path "a" {}'), /^invalid policy name "team\/\/app": has an empty path segment/);
    expectBadRequest(await put('x'.repeat(129), 'path "a" {}'), /^invalid policy name "x+": longer than 128 characters$/);
    // A / in a name is Vault's and works.
    await writePolicy('team/app', 'path "a" {}');
    expect(dataOf(await req('GET', 'sys/policies/acl/team/app', env.admin)).name).toBe('team/app');
  });
});

describe('sizes', () => {
  it('a 1 MiB policy is refused by the body limit: 413 before any parsing', async () => {
    const res = await put(unique('big'), `# ${'x'.repeat(1024 * 1024)}\npath "a" {}`);
    expect(res.status).toBe(413);
    expect(errorsOf(res)).toBe('http: request body too large');
  });

  it('one byte over 64 KiB: 400 naming the limit; exactly 64 KiB: stored and read back whole', async () => {
    const body = 'path "a" { capabilities = ["read"] }\n';
    const pad = (total: number): string => `${body}# ${'y'.repeat(total - Buffer.byteLength(body) - 3)}\n`;
    expect(Buffer.byteLength(pad(65_537))).toBe(65_537);
    expectBadRequest(await put(unique('big'), pad(65_537)), 'failed to parse policy: the policy is 65537 bytes; at most 65536 bytes (64 KiB) are accepted');
    const name = unique('edge');
    await writePolicy(name, pad(65_536));
    expect(dataOf(await req('GET', `sys/policies/acl/${name}`, env.admin)).policy).toBe(pad(65_536));
    // Multi-byte characters count as bytes, not characters.
    const wide = `${body}# ${'é'.repeat(32_767)}\n`;
    expect(Buffer.byteLength(wide)).toBeGreaterThan(65_536);
    expectBadRequest(await put(unique('wide'), wide), /^failed to parse policy: the policy is \d+ bytes; at most 65536 bytes/);
  });
});

describe('+ and * in odd places', () => {
  it('parse errors for +* wherever it is', async () => {
    for (const path of ['+*', 'a/+*', 'a/+*/b']) {
      expectBadRequest(await put(unique('w'), `path "${path}" { capabilities = ["read"] }`), `failed to parse policy: path "${path}": invalid use of wildcards ('+*' is forbidden)`);
    }
  });

  it('what each odd pattern grants, as sys/capabilities-self reports it', async () => {
    const name = unique('odd');
    await writePolicy(
      name,
      [
        'path "lit/a*b" { capabilities = ["read"] }', // * inside: a literal character
        'path "/lead/x" { capabilities = ["update"] }', // one leading / is dropped
        'path "seg/+abc/x" { capabilities = ["delete"] }', // +abc is a literal segment
        'path "one/+" { capabilities = ["list"] }', // + is exactly one segment, maybe empty
        'path "two/+/+/end" { capabilities = ["create"] }',
        'path "glob/+/tail*" { capabilities = ["patch"] }', // + with a trailing *: prefix on the last segment
        'path "star/**" { capabilities = ["sudo"] }', // the last * is the glob, the one before is literal
        'path "dbl//slash" { capabilities = ["read"] }',
      ].join('\n'),
    );
    const token = (await createToken(env, { policies: [name] })).token;
    const expected: Record<string, string[]> = {
      'lit/a*b': ['read'],
      'lit/axb': ['deny'],
      'lit/a*bc': ['deny'],
      'lead/x': ['update'],
      '/lead/x': ['update'],
      '//lead/x': ['update'],
      'seg/+abc/x': ['delete'],
      'seg/zabc/x': ['deny'],
      'one/anything': ['list'],
      'one/': ['list'],
      'one/a/b': ['deny'],
      'two/a/b/end': ['create'],
      'two/a/end': ['deny'],
      'glob/x/tail': ['patch'],
      'glob/x/tailor/and/more': ['patch'],
      'glob/x/y/tail': ['deny'],
      'star/*': ['sudo'],
      'star/*x/y': ['sudo'],
      'star/x': ['deny'],
      'dbl//slash': ['read'],
      'dbl/slash': ['deny'],
    };
    const res = await req('POST', 'sys/capabilities-self', token, { paths: Object.keys(expected) });
    expect(res.status, res.text).toBe(200);
    expect(dataOf(res)).toEqual(expected);
  });

  it('a + rule and a mid-path * decide real requests the same way', async () => {
    const name = unique('plus');
    await writePolicy(name, 'path "auth/+/role/*" { capabilities = ["read"] }\npath "auth/azure/conf*g" { capabilities = ["read"] }');
    const token = (await createToken(env, { policies: [name], no_default_policy: true })).token;
    const role = unique('r');
    expect((await req('POST', `auth/azure/role/${role}`, env.admin, { bound_service_principal_ids: [randomUUID()] })).status).toBe(204);
    expect((await req('GET', `auth/azure/role/${role}`, token)).status).toBe(200);
    expectPlainDenial(await req('POST', `auth/azure/role/${role}`, token, { token_ttl: '1h' }));
    // "conf*g" is not a glob: auth/azure/config stays out of reach.
    expectPlainDenial(await req('GET', 'auth/azure/config', token));
  });
});

describe('many policies', () => {
  it('10,000 stored policies are listed over HTTP, sorted, root last', async () => {
    const table = env.stack.table(TABLES.policies);
    const names = Array.from({ length: 10_000 }, (_, i) => `bulk-${String(i).padStart(5, '0')}`);
    const text = Buffer.from('path "bulk/x" { capabilities = ["read"] }', 'utf8');
    const batches: string[][] = [];
    for (let i = 0; i < names.length; i += 100) batches.push(names.slice(i, i + 100));
    await pooled(batches, 4, async (batch) => {
      await table.submitTransaction(batch.map((name) => ['create', { partitionKey: 'acl', rowKey: encodeKey(name), name, text, version: 1 }]));
    });
    const started = performance.now();
    const res = await req('GET', 'sys/policies/acl?list=true', env.admin);
    const listMs = performance.now() - started;
    expect(res.status).toBe(200);
    const keys = dataOf(res).keys as string[];
    const bulk = keys.filter((k) => k.startsWith('bulk-'));
    expect(bulk).toEqual(names);
    expect(keys).toContain('default');
    expect(keys.at(-1)).toBe('root');
    expect([...keys.slice(0, -1)].sort()).toEqual(keys.slice(0, -1));
    // The legacy list, twice the names, copied to the top level.
    const legacyStarted = performance.now();
    const legacy = await req('GET', 'sys/policy', env.admin);
    const legacyMs = performance.now() - legacyStarted;
    expect((legacy.json as { policies: string[] }).policies).toHaveLength(keys.length);
    console.log(`listing ${keys.length} policies: ${Math.round(listMs)} ms (sys/policies/acl), ${Math.round(legacyMs)} ms (sys/policy), ${res.text.length} bytes`);
    // A seeded policy is a real one.
    const token = (await createToken(env, { policies: ['bulk-09999'] })).token;
    expect(dataOf(await req('POST', 'sys/capabilities-self', token, { path: 'bulk/x' })).capabilities).toEqual(['read']);
  }, 120_000);

  it('a token with 200 real policies: each one counts, the token shows all of them', async () => {
    const prefix = unique('p200');
    const names = Array.from({ length: 200 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
    await pooled(names, 6, async (name) => writePolicy(name, `path "many/${name}" { capabilities = ["read"] }\npath "many/shared" { capabilities = ["list"] }`));
    const created = await createToken(env, { policies: names, no_default_policy: true });
    expect(authOf(created.res).policies).toEqual(names);
    const token = created.token;
    const sample = [names[0]!, names[99]!, names[199]!];
    const ask = { token, paths: [...sample.map((n) => `many/${n}`), 'many/shared', 'many/other'] };
    let started = performance.now();
    const res = await req('POST', 'sys/capabilities', env.admin, ask);
    const coldMs = performance.now() - started;
    // Right after: the policies were revalidated (one version read each) since they were loaded.
    started = performance.now();
    expect((await req('POST', 'sys/capabilities', env.admin, ask)).status).toBe(200);
    const revalidatedMs = performance.now() - started;
    // And once more: nothing is read if the revalidation finished within the second (on a loaded
    // machine it may not have, and this call revalidates again).
    started = performance.now();
    expect((await req('POST', 'sys/capabilities', env.admin, ask)).status).toBe(200);
    const warmMs = performance.now() - started;
    expect(dataOf(res)).toEqual({
      ...Object.fromEntries(sample.map((n) => [`many/${n}`, ['read']])),
      // The same pattern in 200 policies: merged into one rule.
      'many/shared': ['list'],
      'many/other': ['deny'],
    });
    console.log(`sys/capabilities for a token with 200 policies: ${Math.round(coldMs)} ms cold (200 policies read and parsed), ${Math.round(revalidatedMs)} ms revalidating (200 version reads), then ${Math.round(warmMs)} ms`);
    const lookup = await req('POST', 'auth/token/lookup', env.admin, { token });
    expect(dataOf(lookup).policies).toEqual(names);
  }, 120_000);
});

describe('the token tree', () => {
  it('a child asking for what its parent lacks: 400, whatever the spelling; default only if the parent has it', async () => {
    const maker = unique('maker');
    await writePolicy(maker, 'path "auth/token/create" { capabilities = ["update"] }');
    const withDefault = (await createToken(env, { policies: [maker, 'extra'] })).token;
    for (const policies of [['admin'], ['extra', 'admin'], 'extra,admin', ['ROOT'], ['extra', 'root']]) {
      expectBadRequest(await req('POST', 'auth/token/create', withDefault, { policies }), 'child policies must be subset of parent');
    }
    // Case and spaces are sanitised before the comparison.
    expect(authOf(await req('POST', 'auth/token/create', withDefault, { policies: [' EXTRA '] })).policies).toEqual(['default', 'extra']);
    expect(authOf(await req('POST', 'auth/token/create', withDefault, { policies: ['default'] })).policies).toEqual(['default']);
    // A parent without default cannot give it (Vault compares the lists with default in them).
    const withoutDefault = (await createToken(env, { policies: [maker, 'extra'], no_default_policy: true })).token;
    expectBadRequest(await req('POST', 'auth/token/create', withoutDefault, { policies: ['default'] }), 'child policies must be subset of parent');
    expect(authOf(await req('POST', 'auth/token/create', withoutDefault, { policies: ['extra'] })).policies).toEqual(['extra']);
    // With no list, the child inherits the parent's.
    expect(authOf(await req('POST', 'auth/token/create', withoutDefault, {})).policies).toEqual(['extra', maker].sort());
  });

  it('create-orphan: 403 without a grant on its path; with one, an orphan, still within the parent\'s policies', async () => {
    const maker = unique('maker');
    await writePolicy(maker, 'path "auth/token/create" { capabilities = ["update"] }');
    const noGrant = (await createToken(env, { policies: [maker] })).token;
    expectPlainDenial(await req('POST', 'auth/token/create-orphan', noGrant, { policies: [maker] }));
    const orphanMaker = unique('orphans');
    await writePolicy(orphanMaker, 'path "auth/token/create-orphan" { capabilities = ["update"] }');
    const parent = (await createToken(env, { policies: [orphanMaker, 'extra'] })).token;
    const orphan = await req('POST', 'auth/token/create-orphan', parent, { policies: ['extra'] });
    expect(authOf(orphan)).toMatchObject({ policies: ['default', 'extra'], orphan: true });
    expectBadRequest(await req('POST', 'auth/token/create-orphan', parent, { policies: ['admin'] }), 'child policies must be subset of parent');
    // The orphan outlives its creator.
    expect((await req('POST', 'auth/token/revoke-self', parent)).status).toBe(204);
    expect((await req('GET', 'auth/token/lookup-self', authOf(orphan).client_token as string)).status).toBe(200);
  });

  it('a policy deleted while tokens carry it: the name stays on the token and grants nothing; written again, it grants again', async () => {
    const name = unique('doomed');
    await writePolicy(name, 'path "auth/azure/config" { capabilities = ["read"] }');
    const token = (await createToken(env, { policies: [name] })).token;
    expect((await req('GET', 'auth/azure/config', token)).status).toBe(200);
    expect((await req('DELETE', `sys/policies/acl/${name}`, env.admin)).status).toBe(204);
    expectPlainDenial(await req('GET', 'auth/azure/config', token));
    expect(dataOf(await req('GET', 'auth/token/lookup-self', token)).policies).toEqual(['default', name]);
    expect(dataOf(await req('POST', 'sys/capabilities-self', token, { path: 'auth/azure/config' })).capabilities).toEqual(['deny']);
    // A new token may still be given the name. (Vault adds the warning `Policy "<name>" does not
    // exist` here; azauth does not: see docs/access.md.)
    const created = await req('POST', 'auth/token/create', env.admin, { policies: [name] });
    expect(created.status).toBe(200);
    expect(authOf(created).policies).toEqual(['default', name]);
    await writePolicy(name, 'path "auth/azure/config" { capabilities = ["read"] }');
    expect((await req('GET', 'auth/azure/config', token)).status).toBe(200);
  });
});

describe('concurrency', () => {
  it('20 concurrent writes on both endpoints leave one whole document, and tokens follow it', async () => {
    const name = unique('race');
    const texts = Array.from({ length: 20 }, (_, i) => `path "race/${i}" { capabilities = ["read"] }\n# ${'z'.repeat(i * 50)}`);
    const results = await Promise.all(
      texts.map((policy, i) => (i % 2 === 0 ? put(name, policy) : req('PUT', `sys/policy/${name}`, env.admin, { policy }))),
    );
    for (const res of results) expect(res.status, res.text).toBe(204);
    const final = dataOf(await req('GET', `sys/policies/acl/${name}`, env.admin)).policy as string;
    const index = texts.indexOf(final);
    expect(index).toBeGreaterThanOrEqual(0);
    const token = (await createToken(env, { policies: [name] })).token;
    const caps = dataOf(await req('POST', 'sys/capabilities-self', token, { paths: texts.map((_, i) => `race/${i}`) }));
    expect(Object.entries(caps).filter(([, c]) => JSON.stringify(c) === '["read"]').map(([p]) => p)).toEqual([`race/${index}`]);
  });

  it('writes racing a delete: each answers 204, and the end state is absent or one whole document', async () => {
    const name = unique('race-del');
    const texts = Array.from({ length: 10 }, (_, i) => `path "rd/${i}" { capabilities = ["read"] }`);
    const results = await Promise.all([...texts.map((policy) => put(name, policy)), req('DELETE', `sys/policies/acl/${name}`, env.admin), req('DELETE', `sys/policies/acl/${name}`, env.admin)]);
    for (const res of results) expect(res.status, res.text).toBe(204);
    const read = await req('GET', `sys/policies/acl/${name}`, env.admin);
    if (read.status === 404) expect(read.json).toEqual({ errors: [] });
    else expect(texts).toContain(dataOf(read).policy);
  });
});
