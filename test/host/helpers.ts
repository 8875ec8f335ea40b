// Shared helpers for the local host tests (not a test file itself).
import net from 'node:net';
import path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '..', 'fixtures');
export const HOST_APP = path.join(FIXTURES, 'host-app');
export const BROKEN_APP = path.join(FIXTURES, 'host-app-broken');
export const ESM_APP = path.join(FIXTURES, 'host-app-esm');

/** Settings every fixture host gets, so the test runner's environment cannot leak in. */
export const BASE_ENV: Record<string, string | undefined> = {
  AzureWebJobsStorage: undefined,
  AzureWebJobsSecretMasterKey: undefined,
  AzureWebJobsSecretHostKey: undefined,
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: undefined,
  PORT: undefined,
};

/** Sends raw bytes and returns the status code of the first response line. */
export function rawStatus(url: string, request: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (match) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed without a status line: ${JSON.stringify(data)}`)));
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
  });
}

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface FixtureState {
  appStarted: boolean;
  hooks: Array<{ pre: string; inputs: number; error: string | null }>;
  timerRuns: Record<string, Array<{ at: string; isPastDue: boolean; scheduleStatus: { last: string; next: string; lastUpdated: string } | null }>>;
  maxActive: Record<string, number>;
  storage: string | null;
}

export async function fixtureState(url: string): Promise<FixtureState> {
  const res = await fetch(`${url}/api/state`);
  return (await res.json()) as FixtureState;
}

/** Host output arrives through a pipe after the HTTP response, so log checks poll briefly. */
export function waitForLog(host: { logs(): string }, expected: string | RegExp, timeoutMs = 3000): Promise<string> {
  return waitFor(
    () => {
      const logs = host.logs();
      return (typeof expected === 'string' ? logs.includes(expected) : expected.test(logs)) ? logs : undefined;
    },
    timeoutMs,
    `log output ${String(expected)}`,
  );
}
