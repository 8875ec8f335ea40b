/**
 * The Vault CLI is not installed here, so its policy commands are replayed byte for byte as its Go
 * `api` client sends them (the reference's §9.1–9.2; api/sys_policy.go, api/sys_capabilities.go,
 * api/request.go): the verb, path and query, a JSON body written by Go's encoder (map keys sorted,
 * `<`, `>` and `&` escaped, a trailing newline), `X-Vault-Request: true`, `X-Vault-Token`, Go's
 * User-Agent and Accept-Encoding, and **no** Content-Type. Each answer is then read the way the CLI
 * reads it: `data.keys` for `policy list`, `data.policy` for `policy read` (a 404 meaning "No policy
 * named"), `data[path]` falling back to `data.capabilities` for `token capabilities`.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type Stack } from '../support/stack';
import { createToken, prepareMount, type TokenEnv } from '../tokens/http-support';

let stack: Stack | undefined;
let env: TokenEnv;

beforeAll(async () => {
  stack = await startStack();
  env = await prepareMount(stack);
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

/** Go's json.Encoder: HTML-safe escapes and a trailing newline (map keys sorted by the caller). */
function goJson(value: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)));
  return `${JSON.stringify(sorted).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}\n`;
}

interface GoRequest {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** `/v1/...` with the query, as the CLI puts it on the request line. */
  readonly target: string;
  readonly body?: Record<string, string>;
}

interface GoAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
  /** Exactly the header names this test put on the request. */
  readonly sentHeaders: string[];
}

/** Sends one request as the Go client does (api.Request.ToHTTP over net/http). */
function goSend(token: string, request: GoRequest): Promise<GoAnswer> {
  const url = new URL(stack!.url);
  const body = request.body === undefined ? undefined : Buffer.from(goJson(request.body), 'utf8');
  const headers: Record<string, string> = {
    'User-Agent': 'Go-http-client/1.1',
    ...(body ? { 'Content-Length': String(body.length) } : {}),
    'X-Vault-Request': 'true',
    'X-Vault-Token': token,
    'Accept-Encoding': 'gzip',
  };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: request.method, path: request.target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          text: Buffer.concat(chunks).toString('utf8'),
          sentHeaders: req.getHeaderNames(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** api.ParseSecret, as far as these commands use it. */
const secretSchema = z.object({ data: z.record(z.string(), z.unknown()).nullable() }).passthrough();
const parseSecret = (answer: GoAnswer): z.infer<typeof secretSchema> => secretSchema.parse(JSON.parse(answer.text));

// The commands, as the CLI's Go client turns them into requests.
const cli = {
  policyWrite: (name: string, text: string): GoRequest => ({ method: 'PUT', target: `/v1/sys/policies/acl/${name.trim().toLowerCase()}`, body: { policy: text } }),
  policyRead: (name: string): GoRequest => ({ method: 'GET', target: `/v1/sys/policies/acl/${name.trim().toLowerCase()}` }),
  policyList: (): GoRequest => ({ method: 'GET', target: '/v1/sys/policies/acl?list=true' }),
  policyDelete: (name: string): GoRequest => ({ method: 'DELETE', target: `/v1/sys/policies/acl/${name.trim().toLowerCase()}` }),
  /** `vault token capabilities PATH`: the client's own token goes in the body too. */
  capabilitiesSelf: (ownToken: string, path: string): GoRequest => ({ method: 'POST', target: '/v1/sys/capabilities-self', body: { path, token: ownToken } }),
  /** `vault token capabilities TOKEN PATH` */
  capabilities: (token: string, path: string): GoRequest => ({ method: 'POST', target: '/v1/sys/capabilities', body: { path, token } }),
  /** `vault token capabilities -accessor ACCESSOR PATH` */
  capabilitiesAccessor: (accessor: string, path: string): GoRequest => ({ method: 'POST', target: '/v1/sys/capabilities-accessor', body: { accessor, path } }),
};

/** What `vault token capabilities` prints from an answer (Sys().Capabilities). */
function capabilitiesOf(answer: GoAnswer, path: string): string[] {
  const data = parseSecret(answer).data ?? {};
  const own = z.array(z.string()).safeParse(data[path]);
  if (own.success && own.data.length > 0) return own.data;
  return z.array(z.string()).parse(data.capabilities ?? []);
}

describe('vault policy write / read / list / delete, on the wire', () => {
  it('round-trips a policy with characters Go escapes, and answers what the CLI reads', async () => {
    const name = `Cli-${randomUUID().slice(0, 8)}`;
    const text = '# app -> reads <its> secrets & nothing else: "ünïcode"\npath "auth/azure/role/*" {\n  capabilities = ["read", "list"]\n}\n';

    const written = await goSend(env.admin, cli.policyWrite(name, text));
    expect(written.sentHeaders.sort()).toEqual(['accept-encoding', 'content-length', 'host', 'user-agent', 'x-vault-request', 'x-vault-token']);
    // `Success! Uploaded policy: <name>`: any 2xx; Vault answers 204 with no body.
    expect(written.status, written.text).toBe(204);
    expect(written.text).toBe('');

    const read = await goSend(env.admin, cli.policyRead(name));
    expect(read.status, read.text).toBe(200);
    expect(read.contentType).toBe('application/json');
    const readSecret = parseSecret(read);
    expect(readSecret.data).toEqual({ name: name.toLowerCase(), policy: text });

    const list = await goSend(env.admin, cli.policyList());
    expect(list.status, list.text).toBe(200);
    const keys = z.array(z.string()).parse(parseSecret(list).data?.keys);
    expect(keys).toContain(name.toLowerCase());
    expect(keys).toContain('default');
    expect(keys.at(-1)).toBe('root');

    const deleted = await goSend(env.admin, cli.policyDelete(name));
    expect(deleted.status, deleted.text).toBe(204);
    // `No policy named: <name>`: GetPolicy turns a 404 into "".
    const gone = await goSend(env.admin, cli.policyRead(name));
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.text)).toEqual({ errors: [] });
  });

  it('a bad document: 400 with Vault\'s parse error, which the CLI prints', async () => {
    const answer = await goSend(env.admin, cli.policyWrite(`cli-bad-${randomUUID().slice(0, 8)}`, 'path "a" {\n  capabilities = ["read"\n'));
    expect(answer.status).toBe(400);
    expect(z.object({ errors: z.array(z.string()) }).parse(JSON.parse(answer.text)).errors[0]).toMatch(/^failed to parse policy: At 3:1: /);
  });
});

describe('vault token capabilities, on the wire', () => {
  it('-self, for another token, and by accessor: the list the CLI prints', async () => {
    const name = `cli-caps-${randomUUID().slice(0, 8)}`;
    expect((await goSend(env.admin, cli.policyWrite(name, 'path "auth/azure/role/*" { capabilities = ["update", "read"] }'))).status).toBe(204);
    const holder = await createToken(env, { policies: [name] });

    const self = await goSend(holder.token, cli.capabilitiesSelf(holder.token, 'auth/azure/role/web'));
    expect(self.status, self.text).toBe(200);
    expect(capabilitiesOf(self, 'auth/azure/role/web')).toEqual(['read', 'update']);
    // Old Go clients read the top-level copy.
    expect((JSON.parse(self.text) as { capabilities?: unknown }).capabilities).toEqual(['read', 'update']);

    const other = await goSend(env.admin, cli.capabilities(holder.token, 'auth/azure/config'));
    expect(other.status, other.text).toBe(200);
    expect(capabilitiesOf(other, 'auth/azure/config')).toEqual(['deny']);

    const byAccessor = await goSend(env.admin, cli.capabilitiesAccessor(holder.accessor, 'auth/azure/role/web'));
    expect(byAccessor.status, byAccessor.text).toBe(200);
    expect(capabilitiesOf(byAccessor, 'auth/azure/role/web')).toEqual(['read', 'update']);

    // The admin (root) asking about itself.
    expect(capabilitiesOf(await goSend(env.admin, cli.capabilitiesSelf(env.admin, 'sys/auth/x')), 'sys/auth/x')).toEqual(['root']);
  });
});
