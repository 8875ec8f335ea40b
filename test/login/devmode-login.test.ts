/**
 * `npm start` prints a one-line login for the demo VM: run dev mode, run the printed mount and role
 * commands, then the printed login line through bash, and check it answers a Vault token.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDevMode, type DevMode } from '../support/devmode';

let devMode: DevMode;

beforeAll(async () => {
  devMode = await startDevMode();
}, 60_000);

afterAll(async () => {
  await devMode?.stop();
});

it('the printed login line logs the demo VM in through its IMDS token', () => {
  const [login] = devMode.printed('JWT=$(curl -s -H Metadata:true');
  expect(login).toBeDefined();
  const result = devMode.runBash([...devMode.printed('curl -s -X POST'), login ?? 'false']);
  expect(result.status, result.stderr).toBe(0);
  const answer = JSON.parse(result.stdout) as { auth?: { client_token?: string; metadata?: Record<string, string> } };
  expect(answer.auth?.client_token, result.stdout).toMatch(/^hvs\./);
  expect(answer.auth?.metadata).toMatchObject({ role: 'demo', vm_name: 'demo-vm', resource_group_name: 'demo-rg' });
});
