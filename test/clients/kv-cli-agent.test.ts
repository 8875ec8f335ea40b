/**
 * The exact request sequences of the Vault CLI's `vault kv …` commands (reference §9.3) and of a Vault
 * Agent template `{{ with secret "secret/data/app/db" }}{{ .Data.data.password }}{{ end }}` (§9.4),
 * sent as raw HTTP the way the Go `api` client sends them: `X-Vault-Token` and `X-Vault-Request:
 * true`; writes are PUT with a JSON body and no Content-Type (the Go client sets none); patches carry
 * `Content-Type: application/merge-patch+json`; lists are `GET ?list=true`. Each step checks what the
 * CLI or Agent reads from the answer: the preflight's `data.path`, `data.type` and string
 * `data.options.version`, the 404-with-body of a deleted version (the Go client returns it as the
 * secret), the bare 404 of a missing key (the Go client returns nil: "No value found"), `data.keys`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';
import { asRoot, enableKv, kvEnv, tokenWithPolicy, type KvEnv } from './kv-support';

let stack: Stack;
let env: KvEnv;
let kv1 = '';
beforeAll(async () => {
  stack = await startStack();
  env = await kvEnv(stack);
  // As `vault server -dev` has it: KV version 2 at secret/.
  await enableKv(env, 2, 'secret');
  kv1 = await enableKv(env, 1);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  contentType: string | null;
  body: Record<string, unknown> | undefined;
}

/** One request as the Go api client sends it. */
async function go(token: string, method: string, path: string, opts: { json?: unknown; mergePatch?: boolean } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'X-Vault-Token': token, 'X-Vault-Request': 'true', 'User-Agent': 'Go-http-client/1.1' };
  if (opts.mergePatch) headers['Content-Type'] = 'application/merge-patch+json';
  // A Buffer body, so that fetch adds no Content-Type of its own.
  const body = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
  const res = await fetch(`${stack.url}/v1/${path}`, { method, headers, ...(body ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), body: text.trim() ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

type Data = Record<string, unknown>;
const dataOf = (answer: Answer): Data => (answer.body?.data ?? {}) as Data;

/** The CLI's preflight: 200; the mount path and KV version it will build paths from. */
async function preflight(token: string, argument: string): Promise<{ mount: string; version: string }> {
  const answer = await go(token, 'GET', `sys/internal/ui/mounts/${argument}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const data = dataOf(answer);
  expect(data.type).toBe('kv');
  const options = data.options as { version?: unknown } | null;
  // consul-template type-asserts the version as a string; "2" means v2, missing/"1" means v1.
  if (options?.version !== undefined) expect(typeof options.version).toBe('string');
  return { mount: data.path as string, version: (options?.version as string | undefined) ?? '1' };
}

/** The CLI's path building for v2: `<mount><prefix>/<rest>`. */
function v2Path(mount: string, argument: string, prefix: string): string {
  const rest = argument.slice(mount.length);
  return rest === '' ? `${mount}${prefix}` : `${mount}${prefix}/${rest}`;
}

describe('vault kv on a v2 mount (secret/)', () => {
  it('kv put, put -cas, get, get -version, patch, patch -remove-data, list, metadata get/put, delete, delete -versions, undelete, destroy, metadata delete', async () => {
    const t = env.root;
    // vault kv put secret/app/db password=s3cr3t port=5432
    let pf = await preflight(t, 'secret/app/db');
    expect(pf).toEqual({ mount: 'secret/', version: '2' });
    let answer = await go(t, 'PUT', v2Path(pf.mount, 'secret/app/db', 'data'), { json: { data: { password: 's3cr3t', port: '5432' }, options: {} } });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('application/json');
    // Printed as "Secret Path" and "Metadata": these keys.
    expect(dataOf(answer)).toEqual({ created_time: expect.any(String), custom_metadata: null, deletion_time: '', destroyed: false, version: 1 });

    // vault kv put -cas=1 secret/app/db password=second
    pf = await preflight(t, 'secret/app/db');
    answer = await go(t, 'PUT', v2Path(pf.mount, 'secret/app/db', 'data'), { json: { data: { password: 'second' }, options: { cas: 1 } } });
    expect(dataOf(answer).version).toBe(2);
    // vault kv put -cas=1 … again: the CLI prints the error (exit 2).
    answer = await go(t, 'PUT', 'secret/data/app/db', { json: { data: { password: 'third' }, options: { cas: 1 } } });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ errors: ['check-and-set parameter did not match the current version'] });

    // vault kv get secret/app/db
    pf = await preflight(t, 'secret/app/db');
    answer = await go(t, 'GET', v2Path(pf.mount, 'secret/app/db', 'data'));
    expect(answer.status).toBe(200);
    expect(dataOf(answer).data).toEqual({ password: 'second' });
    expect(dataOf(answer).metadata).toMatchObject({ version: 2, deletion_time: '', destroyed: false });
    // vault kv get -version=1 secret/app/db
    answer = await go(t, 'GET', 'secret/data/app/db?version=1');
    expect(dataOf(answer).data).toEqual({ password: 's3cr3t', port: '5432' });
    // vault kv get -mount=secret app/db: the preflight names the mount only.
    expect(await preflight(t, 'secret')).toEqual({ mount: 'secret/', version: '2' });

    // vault kv patch secret/app/db extra=x, then -remove-data=extra
    pf = await preflight(t, 'secret/app/db');
    answer = await go(t, 'PATCH', v2Path(pf.mount, 'secret/app/db', 'data'), { json: { data: { extra: 'x' }, options: {} }, mergePatch: true });
    expect(answer.status).toBe(200);
    expect(dataOf(answer).version).toBe(3);
    answer = await go(t, 'PATCH', 'secret/data/app/db', { json: { data: { extra: null }, options: {} }, mergePatch: true });
    expect(dataOf(answer).version).toBe(4);
    expect(dataOf(await go(t, 'GET', 'secret/data/app/db')).data).toEqual({ password: 'second' });

    // vault kv list secret/app (and the mount's root)
    await go(t, 'PUT', 'secret/data/app/web', { json: { data: { k: 'v' }, options: {} } });
    pf = await preflight(t, 'secret/app');
    answer = await go(t, 'GET', `${v2Path(pf.mount, 'secret/app', 'metadata')}?list=true`);
    expect(answer.status).toBe(200);
    expect(dataOf(answer).keys).toEqual(['db', 'web']);
    pf = await preflight(t, 'secret/');
    expect(dataOf(await go(t, 'GET', `${v2Path(pf.mount, 'secret/', 'metadata')}?list=true`)).keys).toEqual(['app/']);

    // vault kv metadata put -max-versions=5 -cas-required=false -delete-version-after=1h -custom-metadata=owner=team-a secret/app/db
    pf = await preflight(t, 'secret/app/db');
    answer = await go(t, 'PUT', v2Path(pf.mount, 'secret/app/db', 'metadata'), {
      json: { max_versions: 5, cas_required: false, delete_version_after: '1h0m0s', custom_metadata: { owner: 'team-a' } },
    });
    expect(answer.status).toBe(204);
    // vault kv metadata get secret/app/db
    answer = await go(t, 'GET', v2Path(pf.mount, 'secret/app/db', 'metadata'));
    expect(answer.status).toBe(200);
    const meta = dataOf(answer);
    expect(meta).toMatchObject({ current_version: 4, max_versions: 5, cas_required: false, delete_version_after: '1h0m0s', custom_metadata: { owner: 'team-a' } });
    expect(Object.keys(meta.versions as object)).toEqual(['1', '2', '3', '4']);

    // vault kv delete secret/app/db: the latest version
    answer = await go(t, 'DELETE', v2Path(pf.mount, 'secret/app/db', 'data'));
    expect(answer.status).toBe(204);
    // vault kv get now: 404 with a body; the Go client returns it as the secret and the CLI prints its metadata.
    answer = await go(t, 'GET', 'secret/data/app/db');
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ data: { data: null, metadata: { version: 4, destroyed: false } }, warnings: null });
    expect(Date.parse((dataOf(answer).metadata as { deletion_time: string }).deletion_time)).toBeLessThanOrEqual(Date.now());
    // vault kv delete -versions=1,2 secret/app/db
    answer = await go(t, 'PUT', v2Path(pf.mount, 'secret/app/db', 'delete'), { json: { versions: ['1', '2'] } });
    expect(answer.status).toBe(204);
    expect((await go(t, 'GET', 'secret/data/app/db?version=1')).status).toBe(404);
    // vault kv undelete -versions=4 secret/app/db
    answer = await go(t, 'PUT', v2Path(pf.mount, 'secret/app/db', 'undelete'), { json: { versions: ['4'] } });
    expect(answer.status).toBe(204);
    expect(dataOf(await go(t, 'GET', 'secret/data/app/db')).data).toEqual({ password: 'second' });
    // vault kv destroy -versions=1 secret/app/db
    answer = await go(t, 'PUT', v2Path(pf.mount, 'secret/app/db', 'destroy'), { json: { versions: ['1'] } });
    expect(answer.status).toBe(204);
    expect((await go(t, 'GET', 'secret/data/app/db?version=1')).body).toMatchObject({ data: { data: null, metadata: { destroyed: true } } });

    // vault kv metadata delete secret/app/db
    answer = await go(t, 'DELETE', v2Path(pf.mount, 'secret/app/db', 'metadata'));
    expect(answer.status).toBe(204);
    // vault kv get: a bare 404, which the Go client turns into nil ("No value found at secret/data/app/db").
    answer = await go(t, 'GET', 'secret/data/app/db');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ errors: [] });
    expect(dataOf(await go(t, 'GET', 'secret/metadata/app?list=true')).keys).toEqual(['web']);
  });

  it('kv patch without the patch capability: 403, then the CLI\'s fallback (read, then put with cas) works', async () => {
    await asRoot(env, 'PUT', 'secret/data/rw/k', { body: { data: { a: '1' } } });
    const token = await tokenWithPolicy(env, 'path "secret/data/rw/*" { capabilities = ["read", "update"] }');
    await preflight(token, 'secret/rw/k');
    let answer = await go(token, 'PATCH', 'secret/data/rw/k', { json: { data: { b: '2' }, options: {} }, mergePatch: true });
    expect(answer.status).toBe(403);
    answer = await go(token, 'GET', 'secret/data/rw/k');
    const current = dataOf(answer);
    const merged = { ...(current.data as Data), b: '2' };
    answer = await go(token, 'PUT', 'secret/data/rw/k', { json: { data: merged, options: { cas: (current.metadata as { version: number }).version } } });
    expect(answer.status).toBe(200);
    expect(dataOf(await go(token, 'GET', 'secret/data/rw/k')).data).toEqual({ a: '1', b: '2' });
  });

  it('a token that reaches nothing under the mount: the preflight is 403 and the command stops', async () => {
    const token = await tokenWithPolicy(env, `path "${kv1}/*" { capabilities = ["read"] }`);
    const answer = await go(token, 'GET', 'sys/internal/ui/mounts/secret/app/db');
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ errors: ['preflight capability check returned 403, please ensure client\'s policies grant access to path "secret/app/db/"'] });
  });
});

describe('vault kv on a v1 mount', () => {
  it('kv put, get, list, delete use the argument unchanged', async () => {
    const t = env.root;
    const pf = await preflight(t, `${kv1}/app/db`);
    expect(pf).toEqual({ mount: `${kv1}/`, version: '1' });
    let answer = await go(t, 'PUT', `${kv1}/app/db`, { json: { password: 's3cr3t' } });
    expect(answer.status).toBe(204);
    answer = await go(t, 'GET', `${kv1}/app/db`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ data: { password: 's3cr3t' }, lease_duration: 768 * 3600, renewable: false, lease_id: '' });
    expect(dataOf(await go(t, 'GET', `${kv1}/app?list=true`)).keys).toEqual(['db']);
    expect((await go(t, 'DELETE', `${kv1}/app/db`)).status).toBe(204);
    expect((await go(t, 'GET', `${kv1}/app/db`)).body).toEqual({ errors: [] });
  });
});

describe('Vault Agent template {{ with secret "secret/data/app/db" }}{{ .Data.data.password }}{{ end }}', () => {
  it('preflight (v2 only when type "kv" and the string version "2"), then the read; .Data.data.password renders', async () => {
    await asRoot(env, 'PUT', 'secret/data/app/db', { body: { data: { password: 'agent-pw', user: 'app' } } });
    await asRoot(env, 'PUT', 'secret/data/other/x', { body: { data: { password: 'not-yours' } } });
    const token = await tokenWithPolicy(env, 'path "secret/data/app/*" { capabilities = ["read"] }');

    // 1. Preflight, once per dependency.
    const pf = await go(token, 'GET', 'sys/internal/ui/mounts/secret/data/app/db');
    expect(pf.status).toBe(200);
    const mountData = dataOf(pf);
    expect(mountData.type).toBe('kv');
    expect((mountData.options as { version: unknown }).version).toBe('2');
    expect(mountData.path).toBe('secret/');
    // 2. The path after the mount already starts with data/: used as is.
    const rest = 'secret/data/app/db'.slice((mountData.path as string).length);
    expect(rest.startsWith('data/')).toBe(true);
    // 3. The read.
    const read = await go(token, 'GET', 'secret/data/app/db');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0 });
    const data = dataOf(read);
    const rendered = (data.data as { password: string }).password;
    expect(rendered).toBe('agent-pw');
    // deletion_time "" does not parse as a time: the secret is live.
    expect((data.metadata as { deletion_time: string }).deletion_time).toBe('');

    // The neighbouring path: same mount, so the preflight passes, and the read is denied.
    expect((await go(token, 'GET', 'sys/internal/ui/mounts/secret/data/other/x')).status).toBe(200);
    expect((await go(token, 'GET', 'secret/data/other/x')).status).toBe(403);
  });

  it('a template path without data/ gets it inserted; a deleted secret is "no secret exists"; a list template reads data.keys', async () => {
    const token = await tokenWithPolicy(env, 'path "secret/data/tpl/*" { capabilities = ["read"] }\npath "secret/metadata/*" { capabilities = ["list"] }');
    await asRoot(env, 'PUT', 'secret/data/tpl/a', { body: { data: { password: 'a-pw' } } });
    // {{ with secret "secret/tpl/a" }}: preflight, then data/ inserted after the mount.
    const pf = dataOf(await go(token, 'GET', 'sys/internal/ui/mounts/secret/tpl/a'));
    const shimmed = `${pf.path as string}data/${'secret/tpl/a'.slice((pf.path as string).length)}`;
    expect(shimmed).toBe('secret/data/tpl/a');
    expect((dataOf(await go(token, 'GET', shimmed)).data as { password: string }).password).toBe('a-pw');

    // Deleted: 404 with a body whose deletion_time is in the past, which the Agent treats as no secret.
    await asRoot(env, 'DELETE', 'secret/data/tpl/a');
    const gone = await go(token, 'GET', 'secret/data/tpl/a');
    expect(gone.status).toBe(404);
    const deletion = ((gone.body?.data as Data).metadata as { deletion_time: string }).deletion_time;
    expect(Date.parse(deletion)).toBeLessThanOrEqual(Date.now());

    // {{ range secrets "secret/" }}: preflight, then GET secret/metadata/?list=true, reading data.keys.
    expect((await go(token, 'GET', 'sys/internal/ui/mounts/secret/')).status).toBe(200);
    const listed = await go(token, 'GET', 'secret/metadata/?list=true');
    expect(listed.status).toBe(200);
    expect(dataOf(listed).keys).toEqual(expect.arrayContaining(['tpl/']));
  });
});
