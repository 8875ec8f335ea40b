// Starts the compiled local host (dist/dev/host/cli.js) as a child process and waits until it is
// ready. Tests of the whole product use this so that each host gets its own process, environment
// and module cache, exactly like `npm run serve`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path = require('node:path');
import { HOST_KEY_PREFIX, MASTER_KEY_PREFIX, READY_PREFIX, STORAGE_PREFIX } from './protocol';

export interface SpawnHostOptions {
  /** App root: holds package.json, host.json and local.settings.json. */
  appRoot: string;
  /** Added to process.env for the child; an `undefined` value removes the variable. */
  env?: Record<string, string | undefined>;
  /** Default 0 (a free port). */
  port?: number;
  /** Arguments for the host's CLI (after the script). */
  extraArgs?: string[];
  /** Node flags for the host process (before the script), e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
  /**
   * Keep only about the last this many characters of output for `logs()` (default: all). A load test
   * sets it, so that the request and audit lines of a long run do not pile up in its own process.
   */
  maxLogChars?: number;
}

export interface SpawnedHost {
  /** http://127.0.0.1:PORT, no trailing slash */
  url: string;
  /** The host's process id (benchmarks read its CPU time). */
  pid: number;
  masterKey: string;
  hostKey: string;
  /** Set when the host started embedded Azurite (AzureWebJobsStorage=UseDevelopmentStorage=true). */
  storageConnectionString?: string;
  /** stdout and stderr so far, interleaved in arrival order (the tail only, with `maxLogChars`). */
  logs(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** Works from the TypeScript sources (dev/host, e.g. under vitest) and from dist/dev/host. */
export function resolveCliPath(): string {
  const here = __dirname;
  if (path.basename(path.dirname(path.dirname(here))) === 'dist') return path.join(here, 'cli.js');
  return path.resolve(here, '..', '..', 'dist', 'dev', 'host', 'cli.js');
}

function childEnv(extra: Record<string, string | undefined> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function spawnHost(options: SpawnHostOptions): Promise<SpawnedHost> {
  const cli = resolveCliPath();
  if (!existsSync(cli)) {
    return Promise.reject(new Error(`The local host is not built (${cli} is missing); run "npm run build" first.`));
  }
  const args = [...(options.nodeArgs ?? []), cli, '--port', String(options.port ?? 0), '--cwd', path.resolve(options.appRoot), ...(options.extraArgs ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: path.resolve(options.appRoot),
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  let pendingLine = '';
  const maxLogChars = options.maxLogChars ?? Number.POSITIVE_INFINITY;
  const keep = (chunk: string): void => {
    output += chunk;
    // Trimmed in steps (at twice the limit), so that a long run does not copy the tail every chunk.
    if (output.length > 2 * maxLogChars) output = output.slice(-maxLogChars);
  };
  let exited = false;
  // 'close' rather than 'exit': it comes after the child's output has been fully read.
  const exitPromise = new Promise<number | null>((resolve) => {
    child.once('close', (code, signal) => {
      exited = true;
      resolve(code ?? (signal ? 128 : null));
    });
  });
  // Never leave a host behind if the test process ends without calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exitPromise.then(() => process.off('exit', killOnExit));

  const found: { url?: string; masterKey?: string; hostKey?: string; storage?: string } = {};

  return new Promise<SpawnedHost>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${message}\n--- host output ---\n${output}`));
    };
    const timer = setTimeout(() => fail(`The host was not ready within ${READY_TIMEOUT_MS / 1000} s.`), READY_TIMEOUT_MS);

    const stop = async (): Promise<void> => {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exitPromise;
        clearTimeout(killer);
      }
    };

    const onLine = (line: string) => {
      if (line.startsWith(MASTER_KEY_PREFIX)) found.masterKey = line.slice(MASTER_KEY_PREFIX.length).trim();
      else if (line.startsWith(HOST_KEY_PREFIX)) found.hostKey = line.slice(HOST_KEY_PREFIX.length).trim();
      else if (line.startsWith(STORAGE_PREFIX)) found.storage = line.slice(STORAGE_PREFIX.length).trim();
      else if (line.startsWith(READY_PREFIX) && !settled) {
        found.url = line.slice(READY_PREFIX.length).trim().replace(/\/+$/, '');
        if (!found.masterKey || !found.hostKey) {
          fail('The host printed its ready line without its keys.');
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve({
          url: found.url,
          pid: child.pid ?? 0,
          masterKey: found.masterKey,
          hostKey: found.hostKey,
          storageConnectionString: found.storage,
          logs: () => output,
          stop,
        });
      }
    };

    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      keep(chunk);
      pendingLine += chunk;
      let newline = pendingLine.indexOf('\n');
      while (newline >= 0) {
        onLine(pendingLine.slice(0, newline).replace(/\r$/, ''));
        pendingLine = pendingLine.slice(newline + 1);
        newline = pendingLine.indexOf('\n');
      }
    });
    child.stderr!.on('data', (chunk: string) => keep(chunk));
    child.once('error', (err) => fail(`The host process could not be started: ${err.message}`));
    void exitPromise.then((code) => fail(`The host exited with code ${String(code)} before it was ready.`));
  });
}
