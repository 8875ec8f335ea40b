// Benchmark of the local Functions host (not a timed test): start-up to the first answered
// request, with and without embedded Azurite, and requests/s against a trivial anonymous handler
// at concurrency 16 over keep-alive. Run: `npm run build && node dist/bench/host.js`.
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnHost } from '../dev/host/spawn';
import { runStandalone, type BenchRow } from './rows';

const START_RUNS = 5;
const CONCURRENCY = 16;
const WARMUP_MS = 500;
const LOAD_MS = 3000;

/** Works from bench/ (sources) and from dist/bench/ (compiled). */
function fixtureApp(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'test', 'fixtures', 'host-app');
    if (existsSync(path.join(candidate, 'host.json'))) return candidate;
  }
  throw new Error('test/fixtures/host-app not found above the benchmark');
}

const BASE_ENV: Record<string, string | undefined> = {
  AzureWebJobsStorage: undefined,
  PORT: undefined,
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: undefined,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Milliseconds from spawning the host process to the first 200 from a function. */
async function timeToFirstRequest(appRoot: string, env: Record<string, string | undefined>): Promise<number> {
  const started = performance.now();
  const host = await spawnHost({ appRoot, env });
  try {
    const res = await fetch(`${host.url}/api/trivial`);
    await res.text();
    if (res.status !== 200) throw new Error(`first request answered ${res.status}`);
    return performance.now() - started;
  } finally {
    await host.stop();
  }
}

function get(url: string, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${String(res.statusCode)}`));
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', reject);
  });
}

/** A small closed-loop load generator: CONCURRENCY workers, each one request at a time. */
async function requestsPerSecond(url: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const run = async (ms: number): Promise<number> => {
      const end = performance.now() + ms;
      let count = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < end) {
            await get(url, agent);
            count += 1;
          }
        }),
      );
      return count;
    };
    await run(WARMUP_MS);
    const started = performance.now();
    const count = await run(LOAD_MS);
    return count / ((performance.now() - started) / 1000);
  } finally {
    agent.destroy();
  }
}

export async function benchHost(): Promise<{ rows: BenchRow[] }> {
  const appRoot = fixtureApp();
  const plain: number[] = [];
  const withAzurite: number[] = [];
  for (let i = 0; i < START_RUNS; i += 1) {
    plain.push(await timeToFirstRequest(appRoot, BASE_ENV));
    withAzurite.push(await timeToFirstRequest(appRoot, { ...BASE_ENV, AzureWebJobsStorage: 'UseDevelopmentStorage=true' }));
  }

  const host = await spawnHost({ appRoot, env: BASE_ENV });
  let rps: number;
  try {
    rps = await requestsPerSecond(`${host.url}/api/trivial`);
  } finally {
    await host.stop();
  }

  return {
    rows: [
      { name: `host start → first answered request, no storage (median of ${START_RUNS})`, value: Math.round(median(plain)), unit: 'ms' },
      { name: `host start → first answered request, embedded Azurite (median of ${START_RUNS})`, value: Math.round(median(withAzurite)), unit: 'ms' },
      { name: `trivial anonymous handler, concurrency ${CONCURRENCY}, keep-alive, ${LOAD_MS / 1000} s`, value: Math.round(rps), unit: 'requests/s' },
    ],
  };
}

if (require.main === module) runStandalone(benchHost);
