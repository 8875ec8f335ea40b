/**
 * `npm start` (dev mode) end to end: start `node dist/dev/devmode.js`, then run the very commands it
 * prints (curl through bash, and the node-vault one-liner) and check they configure the azure mount
 * and create a role, that the printed root token is an admin credential, and that the printed
 * one-line login logs the demo VM in (one dev mode for all: it takes seconds to start).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevMode, type DevMode } from '../support/devmode';

let devMode: DevMode;

beforeAll(async () => {
  devMode = await startDevMode();
}, 60_000);

afterAll(async () => {
  await devMode?.stop();
});

describe('dev mode', () => {
  it('prints VAULT_ADDR and an admin VAULT_TOKEN', () => {
    const exports = devMode.printed('export ');
    expect(exports.some((line) => /^export VAULT_ADDR='http:\/\/127\.0\.0\.1:\d+'$/.test(line))).toBe(true);
    expect(exports.some((line) => /^export VAULT_TOKEN='[\w-]+\.[\w-]+\.[\w-]+'$/.test(line))).toBe(true);
  });

  it('prints a root token that is an admin credential, as vault server -dev does', () => {
    const rootToken = /^Root Token: (hvs\.[A-Za-z0-9_-]+)$/m.exec(devMode.output())?.[1];
    expect(rootToken, devMode.output()).toBeDefined();
    const root = `-H "X-Vault-Token: ${rootToken ?? ''}"`;
    const result = devMode.runBash([`curl -s ${root} "$VAULT_ADDR/v1/sys/auth"`, `curl -s ${root} "$VAULT_ADDR/v1/auth/token/lookup-self"`]);
    expect(result.status, result.stderr).toBe(0);
    const [mounts, self] = result.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { data: Record<string, unknown> });
    expect(Object.keys(mounts?.data ?? {})).toEqual(expect.arrayContaining(['azure/', 'token/']));
    expect(self?.data).toMatchObject({ policies: ['root'], expire_time: null, type: 'service' });
    // Not a credential for anything when it is wrong: the same call with another token is refused.
    const forged = devMode.runBash([`curl -s -o /dev/null -w '%{http_code}' -H "X-Vault-Token: hvs.${'A'.repeat(43)}" "$VAULT_ADDR/v1/sys/auth"`]);
    expect(forged.stdout).toBe('403');
  });

  it('serves sys/health', () => {
    const health = devMode.runBash(devMode.printed('curl -s "$VAULT_ADDR/v1/sys/health"'));
    expect(health.status, health.stderr).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ initialized: true, sealed: false });
  });

  it('the printed curl commands configure the azure mount and create a role', () => {
    const commands = devMode.printed('curl -s -X POST').filter((line) => line.includes('/v1/auth/azure/'));
    expect(commands).toHaveLength(2);
    const write = devMode.runBash(commands);
    expect(write.status, write.stderr).toBe(0);
    expect(write.stdout).toBe(''); // two 204s
    const [readRole] = devMode.printed('curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/azure/role/demo"');
    const read = devMode.runBash([readRole ?? 'false', 'curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/azure/config"']);
    expect(read.status, read.stderr).toBe(0);
    const [role, config] = read.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { data: Record<string, unknown> });
    expect(role?.data).toMatchObject({ bound_subscription_ids: ['3f9c1a2b-5d4e-4f60-8a7b-9c0d1e2f3a4b'], token_policies: ['app'], token_ttl: 3600 });
    expect(config?.data).toMatchObject({ resource: 'https://management.azure.com/' });
    expect(String(config?.data.tenant_id)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the printed node-vault one-liner works too', () => {
    const [command] = devMode.printed('node -e ');
    expect(command).toBeDefined();
    const result = devMode.runBash([command ?? 'false']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("'demo'");
  });

  it('the printed login line logs the demo VM in through its IMDS token', () => {
    const [login] = devMode.printed('JWT=$(curl -s -H Metadata:true');
    expect(login).toBeDefined();
    const setup = devMode.printed('curl -s -X POST').filter((line) => line.includes('/v1/auth/azure/'));
    const result = devMode.runBash([...setup, login ?? 'false']);
    expect(result.status, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as { auth?: { client_token?: string; metadata?: Record<string, string> } };
    expect(answer.auth?.client_token, result.stdout).toMatch(/^hvs\./);
    expect(answer.auth?.metadata).toMatchObject({ role: 'demo', vm_name: 'demo-vm', resource_group_name: 'demo-rg' });
  });

  it('the whole printed workflow runs as printed: policy, secret, role, VM login, the VM reads its secret and is denied the neighbour', () => {
    const steps = [
      ...devMode.printed('curl -s -X PUT -H "X-Vault-Token: $VAULT_TOKEN"'),
      ...devMode.printed('curl -s -X POST -H "X-Vault-Token: $VAULT_TOKEN"'),
      ...devMode.printed('JWT=$(curl -s -H Metadata:true'),
      ...devMode.printed('VM_TOKEN=$('),
    ];
    expect(steps).toHaveLength(6);
    const [read] = devMode.printed('curl -s -H "X-Vault-Token: $VM_TOKEN" "$VAULT_ADDR/v1/secret/data/app/db"');
    const [denied] = devMode.printed('curl -s -H "X-Vault-Token: $VM_TOKEN" "$VAULT_ADDR/v1/secret/data/billing/db"');
    expect(read && denied).toBeTruthy();
    const result = devMode.runBash([...steps, 'echo', read ?? 'false', 'echo', denied ?? 'false']);
    expect(result.status, result.stderr).toBe(0);
    const answers = result.stdout.split('\n').filter((line) => line.trim().startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const secret = answers.find((a) => (a.data as { data?: unknown } | undefined)?.data !== undefined);
    expect((secret?.data as { data: Record<string, string> }).data).toEqual({ password: 'correct-horse-battery-staple' });
    expect(answers.at(-1)).toEqual({ errors: ['permission denied'] });
  });

  it('mounts secret/ as KV version 2, as vault server -dev does', () => {
    const result = devMode.runBash(['curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/sys/mounts"']);
    const mounts = JSON.parse(result.stdout) as { data: Record<string, { type: string; options: Record<string, string> | null }> };
    expect(mounts.data['secret/']).toMatchObject({ type: 'kv', options: { version: '2' } });
  });
});
