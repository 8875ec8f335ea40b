/**
 * What the policy client tests share: a recording proxy in front of the local host (so a test sees
 * exactly what a client put on the wire: verb, path, query, headers, body) and a runner for Debian's
 * hvac under /usr/bin/python3 that does not block this process (the cloud emulator, which the host
 * asks to verify logins, answers from here).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent, e.g. `/v1/sys/policy/app?x=1`. */
  readonly url: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** The host's status. */
  status: number;
}

export interface Recorder {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The requests to `/v1/<prefix>…` only, in order. */
  to(prefix: string): RecordedRequest[];
  stop(): Promise<void>;
}

/** An HTTP proxy that forwards every request to `target` unchanged and records it. */
export async function startRecorder(target: string): Promise<Recorder> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body: body.toString('utf8'), status: 0 };
      requests.push(record);
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent: false },
        (answer) => {
          record.status = answer.statusCode ?? 0;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    to: (prefix) => requests.filter((r) => r.url.startsWith(`/v1/${prefix}`)),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ProcessResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a script with Debian's Python (the one with python3-hvac; `python3` on PATH is another
 * interpreter without it). Asynchronous, so the emulator in this process keeps answering.
 */
export function runPython(script: string, env: Record<string, string>): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The JSON object a script printed on its last line. */
export function lastJsonLine(out: ProcessResult): unknown {
  const lines = out.stdout.trim().split('\n');
  const last = lines.at(-1) ?? '';
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`no JSON on the last line (exit ${out.status})\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`);
  }
}
