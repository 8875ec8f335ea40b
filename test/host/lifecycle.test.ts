// Start-up failures, the CLI used directly, ESM apps and clean shutdown.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCliPath, spawnHost } from '../../dev/host/spawn';
import { BASE_ENV, BROKEN_APP, ESM_APP, HOST_APP } from './helpers';

describe('start-up failures', () => {
  it('exits non-zero naming the entry point file that failed to load', async () => {
    const err = await spawnHost({ appRoot: BROKEN_APP, env: { ...BASE_ENV, BROKEN_MODE: 'throw' } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/exited with code 1 before it was ready/);
    expect(err?.message).toContain('Failed to load app entry point "src/app.js"');
    expect(err?.message).toContain('this entry point is broken on purpose');
  });

  it.each([
    ['cron-weekday-7', /Function 'badcron' cannot be indexed: .*outside 0-6/],
    ['cron-L', /Function 'badcron' cannot be indexed: 'L' is not a valid \[Day\]/],
    ['admin-route', /Function 'sneaky' cannot be indexed: the route "administration\/keys" conflicts with one or more built in routes/],
    ['missing-setting', /Function 'unresolved' cannot be indexed: '%NO_SUCH_SETTING%' does not resolve to a value/],
  ])('refuses an app with %s', async (mode, message) => {
    const err = await spawnHost({ appRoot: BROKEN_APP, env: { ...BASE_ENV, BROKEN_MODE: mode } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/exited with code 1/);
    expect(err?.message).toMatch(message);
  });

  it('exits non-zero with a clear message when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const err = await spawnHost({ appRoot: HOST_APP, env: BASE_ENV, port }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/exited with code 1/);
      expect(err?.message).toContain(`Port ${port} is unavailable`);
    } finally {
      blocker.close();
    }
  });
});

describe('running', () => {
  it('loads ES module apps with import() and an empty route prefix', async () => {
    const host = await spawnHost({ appRoot: ESM_APP, env: BASE_ENV });
    try {
      const res = await fetch(`${host.url}/esm/hello`);
      expect(await res.json()).toEqual({ esm: true, word: 'hello' });
      // no keys configured: generated ones are printed and work
      expect(host.masterKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const status = await fetch(`${host.url}/admin/host/status`, { headers: { 'x-functions-key': host.masterKey } });
      expect(status.status).toBe(200);
    } finally {
      await host.stop();
    }
  });

  it('can be started directly in the app folder with --port 0', async () => {
    const child = spawn(process.execPath, [resolveCliPath(), '--port', '0'], { cwd: HOST_APP, env: cleanEnv() });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          const match = /^Host listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${String(code)}: ${out}`)));
      });
      expect((await fetch(`${url}/api/hello`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('stops cleanly on SIGTERM: in-flight requests finish, appTerminate hooks run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'host-terminate-'));
    const marker = path.join(dir, 'terminated');
    try {
      const host = await spawnHost({ appRoot: HOST_APP, env: { ...BASE_ENV, TERMINATE_MARKER_FILE: marker } });
      const inFlight = fetch(`${host.url}/api/slow?ms=700`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const stopped = host.stop();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('slow done');
      await stopped;
      expect(host.logs()).toContain('Received SIGTERM');
      expect(existsSync(marker) && readFileSync(marker, 'utf8')).toBe('appTerminate ran');
      await expect(fetch(`${host.url}/api/hello`)).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !(key in BASE_ENV)) env[key] = value;
  }
  return env;
}
