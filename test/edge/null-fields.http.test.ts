/**
 * Issue 10 item 5: JSON `null` in a typed field. Vault's field parser treats nil as unset for
 * durations and as zero/false for ints and bools; token create decodes `renewable` into a Go *bool,
 * so null leaves it unset (renewable, the default). Older hvac helpers (`create_token`,
 * `renew_token`) send exactly these nulls. Checked over HTTP and with the real hvac client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHvac } from '../clients/kv-support';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
let admin = '';
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.adminToken();
});
afterAll(async () => {
  await stack?.stop();
});

interface AuthBody {
  auth: { client_token: string; renewable: boolean; num_uses: number; lease_duration: number };
}

async function createToken(body: Record<string, unknown>): Promise<AuthBody['auth']> {
  const res = await stack.request('POST', 'auth/token/create', { token: admin, body });
  expect(res.status, res.text).toBe(200);
  return (res.json as AuthBody).auth;
}

describe('null in typed fields over HTTP', () => {
  it('{"num_uses": null} on auth/token/create is 0 (unlimited)', async () => {
    const auth = await createToken({ policies: ['default'], num_uses: null });
    expect(auth.num_uses).toBe(0);
  });

  it('{"renewable": null} on auth/token/create leaves renewable unset (true)', async () => {
    const auth = await createToken({ policies: ['default'], renewable: null });
    expect(auth.renewable).toBe(true);
  });

  it('{"ttl": null} on auth/token/create is unset (the default TTL)', async () => {
    const auth = await createToken({ policies: ['default'], ttl: null });
    expect(auth.lease_duration).toBe(768 * 3600);
  });

  it('{"increment": null} on auth/token/renew is unset', async () => {
    const { client_token } = await createToken({ policies: ['default'], ttl: '1h' });
    const res = await stack.request('POST', 'auth/token/renew', { token: admin, body: { token: client_token, increment: null } });
    expect(res.status, res.text).toBe(200);
    expect((res.json as AuthBody).auth.lease_duration).toBe(3600);
  });

  it('{"local": null} on sys/auth/<path> is false', async () => {
    const res = await stack.request('POST', 'sys/auth/nulllocal', { token: admin, body: { type: 'azure', local: null, seal_wrap: null } });
    expect(res.status, res.text).toBeLessThan(300);
    const read = await stack.request('GET', 'sys/auth/nulllocal', { token: admin });
    expect(read.status, read.text).toBe(200);
    expect((read.json as { data: { local: boolean } }).data.local).toBe(false);
  });
});

/** Debian's hvac (0.11.2) with the stack's address and the admin's token. */
const hvac = (script: string) => runHvac(script, { VAULT_ADDR: stack.url, VAULT_TOKEN: admin }, 20_000);

describe('hvac 0.11.2 token helpers', () => {
  it('create_token() and renew_token() work with the nulls they send', () => {
    const out = hvac(`
import json, os, hvac
client = hvac.Client(url=os.environ['VAULT_ADDR'], token=os.environ['VAULT_TOKEN'])
created = client.create_token(policies=['default'])
token = created['auth']['client_token']
renewed = client.renew_token(token)
print(json.dumps({'renewable': created['auth']['renewable'], 'renewed': renewed['auth']['client_token'] == token}))
`);
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout.trim())).toEqual({ renewable: true, renewed: true });
  });
});
