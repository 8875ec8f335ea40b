/**
 * Dev mode (`npm start`) as a person runs it: `node dist/dev/devmode.js` on a free port, its output
 * collected, and the printed command lines run through bash, so tests check what a reader would paste.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
/** Dev mode's last line once everything is up. */
const READY_LINE = 'Ctrl-C stops dev mode.';

export interface BashResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DevMode {
  /** Everything dev mode wrote so far (stdout and stderr). */
  output(): string;
  /** The indented command lines dev mode printed that start with `prefix`, unindented. */
  printed(prefix: string): string[];
  /** Runs `lines` in bash (`set -e`) after the printed `export` lines (VAULT_ADDR, VAULT_TOKEN). */
  runBash(lines: readonly string[]): BashResult;
  stop(): Promise<void>;
}

export async function startDevMode(): Promise<DevMode> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'dev', 'devmode.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', AZAUTH_DEV_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`dev mode did not start:\n${output}`)), 40_000);
      const poll = setInterval(() => {
        if (output.includes(READY_LINE)) finish();
      }, 50);
      const onExit = (code: number | null): void => finish(new Error(`dev mode exited with ${String(code)}:\n${output}`));
      child.once('exit', onExit);
      function finish(err?: Error): void {
        clearTimeout(timer);
        clearInterval(poll);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      }
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const printed = (prefix: string): string[] =>
    output
      .split('\n')
      .filter((line) => line.startsWith(`    ${prefix}`))
      .map((line) => line.trim());
  return {
    output: () => output,
    printed,
    runBash: (lines) => {
      const script = ['set -e', ...printed('export '), ...lines].join('\n');
      const result = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    stop,
  };
}
