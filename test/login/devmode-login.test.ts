/**
 * `npm start` prints a one-line login for the demo VM: run dev mode, run the printed mount and role
 * commands, then the printed login line through bash, and check it answers a Vault token.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

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

const printed = (prefix: string): string[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith(`    ${prefix}`))
    .map((line) => line.trim());

it('the printed login line logs the demo VM in through its IMDS token', () => {
  const [login] = printed('JWT=$(curl -s -H Metadata:true');
  expect(login).toBeDefined();
  const script = ['set -e', ...printed('export '), ...printed('curl -s -X POST'), login ?? 'false'].join('\n');
  const result = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  expect(result.status, result.stderr).toBe(0);
  const answer = JSON.parse(result.stdout) as { auth?: { client_token?: string; metadata?: Record<string, string> } };
  expect(answer.auth?.client_token, result.stdout).toMatch(/^hvs\./);
  expect(answer.auth?.metadata).toMatchObject({ role: 'demo', vm_name: 'demo-vm', resource_group_name: 'demo-rg' });
});
