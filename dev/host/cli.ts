// Command line of the local Functions host (`npm run serve`, or `node dist/dev/host/cli.js`).
// After start-up it prints the function list, then machine-readable lines that spawn.ts parses:
//   Master key: <key>
//   Host key: <key>
//   Storage connection string: <connection string>   (only when embedded Azurite runs)
//   Host listening on http://127.0.0.1:<port>          (always last: the ready signal)
import path = require('node:path');
import { describeError } from './logger';
import { HostStartError, startHost, type RunningHost } from './host';
import { HOST_KEY_PREFIX, MASTER_KEY_PREFIX, READY_PREFIX, STORAGE_PREFIX } from './protocol';
import { HostConfigError, parsePort } from './settings';

const USAGE = `Usage: node dist/dev/host/cli.js [--port N] [--cwd DIR]

Runs the Azure Functions app in DIR (default: the current directory) on a local host.
  --port, -p N     port to listen on (0 picks a free port; default PORT, else 7071)
  --cwd, --app DIR app root holding package.json, host.json and local.settings.json
  --help, -h       show this help
Settings are described in dev/host/README.md.`;

interface CliArgs {
  appRoot: string;
  port?: number;
  help: boolean;
}

export function parseArgs(argv: readonly string[], cwd: string): CliArgs {
  const args: CliArgs = { appRoot: cwd, help: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) throw new HostConfigError(`${name} needs a value.`);
      i += 1;
      return next;
    };
    switch (name) {
      case '--port':
      case '-p':
        args.port = parsePort(value(), name);
        break;
      case '--cwd':
      case '--app':
        args.appRoot = path.resolve(cwd, value());
        break;
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new HostConfigError(`Unknown argument "${arg}".\n\n${USAGE}`);
    }
  }
  return args;
}

function banner(host: RunningHost): string {
  const lines = ['', 'Functions:', ''];
  for (const fn of host.functions) {
    if (fn.trigger === 'httpTrigger') {
      const methods = fn.methods ? `[${fn.methods.join(',')}]` : '[ANY]';
      lines.push(`\t${fn.name}: ${methods} ${host.url}${fn.route ?? ''} (authLevel ${fn.authLevel ?? 'anonymous'})`);
    } else {
      lines.push(`\t${fn.name}: timerTrigger (${fn.schedule ?? ''})`);
    }
  }
  lines.push('', `${MASTER_KEY_PREFIX}${host.masterKey}`, `${HOST_KEY_PREFIX}${host.hostKey}`);
  if (host.storageConnectionString) lines.push(`${STORAGE_PREFIX}${host.storageConnectionString}`);
  lines.push(`${READY_PREFIX}${host.url}`, '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2), process.cwd());
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  // Azure would recycle the worker; the local host logs and keeps serving so one stray promise
  // does not take a whole test run down.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`[${new Date().toISOString()}] Uncaught exception in the app (Azure would restart the worker): ${describeError(err)}\n`);
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`[${new Date().toISOString()}] Unhandled promise rejection in the app (Azure would restart the worker): ${describeError(reason)}\n`);
  });

  let host: RunningHost;
  try {
    host = await startHost({ appRoot: args.appRoot, port: args.port });
  } catch (err) {
    const message = err instanceof HostStartError ? err.message : describeError(err);
    process.stderr.write(`Host failed to start: ${message}\n`);
    process.exit(1);
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`Received ${signal} again; exiting without waiting.\n`);
      process.exit(1);
    }
    process.stdout.write(`[${new Date().toISOString()}] Received ${signal}; stopping the host (in-flight requests finish first).\n`);
    host.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`Error while stopping: ${describeError(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  process.stdout.write(banner(host));
}

if (require.main === module) void main();
