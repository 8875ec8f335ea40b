/**
 * Issue 10 item 11: hvac sends the LIST verb by default, which Node's HTTP parser rejects before any
 * handler runs. The local host answers it with a Vault-shaped error that names the fix; with
 * `strict_http=True` hvac sends `GET ?list=true` and listing works.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHvac } from '../clients/kv-support';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
let admin = '';
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.adminToken();
  const res = await stack.request('POST', 'auth/azure/role/listed', { token: admin, body: { bound_service_principal_ids: ['sp-1'] } });
  expect(res.status, res.text).toBeLessThan(300);
});
afterAll(async () => {
  await stack?.stop();
});

/** Debian's hvac (0.11.2) with the stack's address and the admin's token. */
const hvac = (script: string) => runHvac(script, { VAULT_ADDR: stack.url, VAULT_TOKEN: admin }, 20_000);

/** Sends raw bytes and resolves with everything the server wrote before closing. */
function raw(text: string): Promise<string> {
  const { port } = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      resolve(received);
    });
  });
}

// hvac's Client.list() already sends GET ?list=true; its API classes (auth.azure.list_roles,
// auth.token.list_accessors, secrets.kv.*.list_secrets, ...) send the LIST verb.
describe('the LIST verb', () => {
  it('hvac by default gets InvalidRequest naming GET ?list=true and strict_http=True', () => {
    const out = hvac(`
import json, os, hvac
client = hvac.Client(url=os.environ['VAULT_ADDR'], token=os.environ['VAULT_TOKEN'])
try:
    client.auth.azure.list_roles(mount_point='azure')
    print(json.dumps({'raised': None}))
except hvac.exceptions.VaultError as err:
    print(json.dumps({'raised': type(err).__name__, 'errors': err.errors, 'text': str(err)}))
`);
    expect(out.status, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout.trim()) as { raised: string | null; errors: string[] | null; text: string };
    expect(result.raised).toBe('InvalidRequest');
    expect(result.errors).toHaveLength(1);
    const message = result.errors![0]!;
    expect(message).toContain('GET');
    expect(message).toContain('?list=true');
    expect(message).toContain('strict_http=True');
    expect(message).toContain('noCustomHTTPVerbs');
  });

  it('hvac with strict_http=True lists', () => {
    const out = hvac(`
import json, os, hvac
client = hvac.Client(url=os.environ['VAULT_ADDR'], token=os.environ['VAULT_TOKEN'], strict_http=True)
print(json.dumps(client.auth.azure.list_roles(mount_point='azure')['keys']))
`);
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout.trim())).toContain('listed');
  });

  it('answers a raw LIST with Vault\'s envelope and Content-Type: application/json exactly', async () => {
    const response = await raw(`LIST /v1/auth/azure/role HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${admin}\r\n\r\n`);
    const [head = '', body = ''] = response.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/\r\ncontent-type: application\/json\r\n/i);
    const parsed = JSON.parse(body) as { errors: string[] };
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0]).toMatch(/LIST/);
    expect(response).not.toContain(admin);
  });

  it('keeps the bare 400 for requests that are not an unknown verb', async () => {
    const response = await raw('GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header Line\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(response).toMatch(/content-length: 0/i);
  });
});
