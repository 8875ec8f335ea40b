/**
 * `npm start` (dev mode) end to end: start `node dist/dev/devmode.js`, then run the very commands it
 * prints (curl through bash, and the node-vault one-liner) and check they configure the azure mount
 * and create a role.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
let child: ChildProcess;
let output = '';

beforeAll(async () => {
  child = spawn(process.execPath, [path.join(ROOT, 'dist', 'dev', 'devmode.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', AZAUTH_DEV_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev mode did not start:\n${output}`)), 40_000);
    const poll = setInterval(() => {
      if (output.includes('Ctrl-C stops dev mode.')) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      }
    }, 50);
    child.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`dev mode exited with ${String(code)}:\n${output}`));
    });
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

/** The indented command lines dev mode printed, starting with `prefix`. */
const printed = (prefix: string): string[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith(`    ${prefix}`))
    .map((line) => line.trim());

function runBash(lines: string[]): { status: number | null; stdout: string; stderr: string } {
  const script = ['set -e', ...printed('export '), ...lines].join('\n');
  const result = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('dev mode', () => {
  it('prints VAULT_ADDR and an admin VAULT_TOKEN', () => {
    const exports = printed('export ');
    expect(exports.some((line) => /^export VAULT_ADDR='http:\/\/127\.0\.0\.1:\d+'$/.test(line))).toBe(true);
    expect(exports.some((line) => /^export VAULT_TOKEN='[\w-]+\.[\w-]+\.[\w-]+'$/.test(line))).toBe(true);
  });

  it('serves sys/health', () => {
    const health = runBash(printed('curl -s "$VAULT_ADDR/v1/sys/health"'));
    expect(health.status, health.stderr).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ initialized: true, sealed: false });
  });

  it('the printed curl commands configure the azure mount and create a role', () => {
    const commands = printed('curl -s -X POST');
    expect(commands).toHaveLength(2);
    const write = runBash(commands);
    expect(write.status, write.stderr).toBe(0);
    expect(write.stdout).toBe(''); // two 204s
    const [readRole] = printed('curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/azure/role/demo"');
    const read = runBash([readRole ?? 'false', 'curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/azure/config"']);
    expect(read.status, read.stderr).toBe(0);
    const [role, config] = read.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { data: Record<string, unknown> });
    expect(role?.data).toMatchObject({ bound_subscription_ids: ['3f9c1a2b-5d4e-4f60-8a7b-9c0d1e2f3a4b'], token_policies: ['default'], token_ttl: 3600 });
    expect(config?.data).toMatchObject({ resource: 'https://management.azure.com/' });
    expect(String(config?.data.tenant_id)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the printed node-vault one-liner works too', () => {
    const [command] = printed('node -e ');
    expect(command).toBeDefined();
    const result = runBash([command ?? 'false']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("'demo'");
  });
});
