// Programmatic entry point of the local Functions host: reads the app root's settings, starts
// embedded Azurite when asked to, loads the app in this process through the core stand-in,
// serves HTTP triggers and runs timers until stop(). One host per process: the app shares
// process.env, the module cache and the `require` hook with the host.
import http = require('node:http');
import type { AddressInfo } from 'node:net';
import os = require('node:os');
import path = require('node:path');
import { performance } from 'node:perf_hooks';
import { startEmbeddedAzurite, isDevelopmentStorage, type EmbeddedAzurite } from './azurite';
import { buildCatalog, type Catalog, type HostedFunction } from './catalog';
import { createCoreStandIn, installCoreModule, type CoreStandIn, type LogEntry } from './core-standin';
import { clientErrorResponse, createRequestListener, type AdminInvokeResult, type HostState } from './http-server';
import { FunctionTimeoutError, Invoker } from './invoke';
import { resolveKeys, type HostKeys } from './keys';
import { AppLoadError, loadEntryPoints } from './loader';
import { describeError, HostLogger, type Writable } from './logger';
import {
  applyLocalSettings,
  DEFAULT_PORT,
  HostConfigError,
  parsePort,
  readHostJson,
  readLocalSettings,
  readPackageJson,
  resolveBodyLimit,
  SETTING,
} from './settings';
import { createTableStatusStore, MemoryStatusStore, type StatusStore } from './timer-status';
import { TimerScheduler, type RunTimerFunction, type TimerReason } from './timers';

/** Reported as the host version to the app and by /admin/host/status. */
export const HOST_VERSION = '4.0.0-azauth-local';

export class HostStartError extends Error {
  override name = 'HostStartError';
}

export interface HostOptions {
  /** Folder holding package.json, host.json and (optionally) local.settings.json. */
  appRoot: string;
  /** Port to listen on; 0 picks a free one. Default: PORT, then local.settings.json Host.LocalHttpPort, then 7071. */
  port?: number;
  /** How long stop() waits for requests and timer runs in progress. Default 30 s. */
  shutdownTimeoutMs?: number;
  stdout?: Writable;
  stderr?: Writable;
}

export interface FunctionSummary {
  name: string;
  trigger: 'httpTrigger' | 'timerTrigger';
  route?: string;
  methods?: string[];
  authLevel?: string;
  schedule?: string;
  runOnStartup?: boolean;
  useMonitor?: boolean;
}

export interface RunningHost {
  /** http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  port: number;
  hostId: string;
  masterKey: string;
  hostKey: string;
  keysGenerated: { masterKey: boolean; hostKey: boolean };
  /** The explicit connection string handed to the app when embedded Azurite runs. */
  storageConnectionString?: string;
  routePrefix: string;
  functions: FunctionSummary[];
  /** Resolves once every timer has read its status and armed its first run. */
  timersStarted(): Promise<void>;
  stop(): Promise<void>;
}

function defaultHostId(appRoot: string): string {
  const raw = `${os.hostname()}-${path.basename(path.resolve(appRoot))}`.toLowerCase();
  const id = raw.replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-/, '').slice(0, 32).replace(/-+$/, '');
  return id || 'azauth-local-host';
}

function summarize(fn: HostedFunction): FunctionSummary {
  if (fn.kind === 'http') {
    return { name: fn.name, trigger: 'httpTrigger', route: `/${fn.route}`, methods: fn.methods, authLevel: fn.authLevel };
  }
  return { name: fn.name, trigger: 'timerTrigger', schedule: fn.schedule.expression, runOnStartup: fn.runOnStartup, useMonitor: fn.useMonitor };
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new HostStartError(`Port ${port} is unavailable. Close the process using that port, or specify another port using --port.`));
      } else {
        reject(new HostStartError(`Cannot listen on 127.0.0.1:${port}: ${err.message}`));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // Loopback only: the local host enforces keys, but it is still a development server.
    server.listen(port, '127.0.0.1');
  });
}

function hookContext(core: CoreStandIn, extra: Record<string, unknown> = {}): object {
  const ctx: Record<string, unknown> = { ...extra };
  for (const [name, value] of [
    ['hookData', core.appLevelOnlyHookData],
    ['appHookData', core.appHookData],
  ] as const) {
    Object.defineProperty(ctx, name, {
      enumerable: true,
      get: () => value,
      set: () => {
        throw new TypeError(`Cannot assign to read only property '${name}'`);
      },
    });
  }
  return ctx;
}

const REASONS: Record<TimerReason, string> = {
  Timer: 'Timer fired',
  IsPastDue: 'Timer fired (UnscheduledInvocationReason: IsPastDue)',
  RunOnStartup: 'Timer fired (UnscheduledInvocationReason: RunOnStartup)',
  Manual: 'This function was programmatically called via the host APIs.',
};

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const appRoot = path.resolve(options.appRoot);
  const env = process.env;
  const startedAt = performance.now();

  let hostJson;
  let pkg;
  let localSettings;
  try {
    hostJson = readHostJson(appRoot);
    pkg = readPackageJson(appRoot);
    localSettings = readLocalSettings(appRoot);
  } catch (err) {
    if (err instanceof HostConfigError) throw new HostStartError(err.message, { cause: err });
    throw err;
  }
  const logger = new HostLogger(hostJson.logLevels, options.stdout, options.stderr);
  process.once('exit', () => logger.flush());
  applyLocalSettings(localSettings, env, (message) => logger.info(message));

  let port: number;
  let bodyLimit: number;
  try {
    if (options.port !== undefined) port = options.port;
    else if (env[SETTING.port]) port = parsePort(env[SETTING.port]!, 'PORT');
    else port = localSettings?.localHttpPort ?? DEFAULT_PORT;
    bodyLimit = resolveBodyLimit(env);
  } catch (err) {
    if (err instanceof HostConfigError) throw new HostStartError(err.message, { cause: err });
    throw err;
  }
  const hostId = env[SETTING.hostId] || defaultHostId(appRoot);

  let state: HostState = 'Starting';
  let catalog: Catalog | undefined;
  let keys: HostKeys | undefined;
  let scheduler: TimerScheduler | undefined;
  let listenPort = port;
  let inFlight = 0;
  let idleWaiters: Array<() => void> = [];
  const invocationLogger = (entry: LogEntry): void => {
    let category = 'Host.Worker';
    if (entry.functionName) category = entry.category === 'user' ? `Function.${entry.functionName}.User` : `Function.${entry.functionName}`;
    logger.log(category, entry.level, entry.message);
  };
  const core = createCoreStandIn({ version: HOST_VERSION, hostVersion: HOST_VERSION, sink: invocationLogger });
  const invoker = new Invoker(core);

  const runTimer: RunTimerFunction = async ({ timer, triggerJson, reason }) => {
    const handle = invoker.start({
      fn: timer.fn,
      triggerBindingName: timer.triggerBindingName,
      triggerData: { json: triggerJson },
      timeoutMs: hostJson.functionTimeoutMs,
    });
    const category = `Function.${timer.name}`;
    logger.log(category, 'information', `Executing 'Functions.${timer.name}' (Reason='${REASONS[reason]}', Id=${handle.invocationId})`);
    const t0 = performance.now();
    try {
      await handle.result;
      logger.log(category, 'information', `Executed 'Functions.${timer.name}' (Succeeded, Id=${handle.invocationId}, Duration=${Math.round(performance.now() - t0)}ms)`);
    } catch (err) {
      const detail = err instanceof FunctionTimeoutError ? err.message : describeError(err);
      logger.log(category, 'error', `Executed 'Functions.${timer.name}' (Failed, Id=${handle.invocationId}, Duration=${Math.round(performance.now() - t0)}ms)\n${detail}`);
    }
    return { finished: handle.finished };
  };

  let listener: ReturnType<typeof createRequestListener> | undefined;
  const server = http.createServer((req, res) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
      if (inFlight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const wake of waiters) wake();
      }
      if (state === 'Stopping') server.closeIdleConnections();
    });
    if (listener) listener(req, res);
    else {
      res.writeHead(503, { 'content-length': '0' });
      res.end();
    }
  });
  // A request Node cannot parse (bad characters, oversized headers) gets a bare 400 (431); an
  // unknown method, a Vault client's LIST, gets an error naming GET ?list=true.
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket) => {
    if (socket.writable && !socket.destroyed) socket.end(clientErrorResponse(err));
    else socket.destroy();
  });

  listenPort = await listen(server, port);
  const url = `http://127.0.0.1:${listenPort}`;

  let azurite: EmbeddedAzurite | undefined;
  const cleanupAfterFailure = async () => {
    server.close();
    server.closeAllConnections();
    await azurite?.stop().catch(() => undefined);
  };

  try {
    if (isDevelopmentStorage(env[SETTING.storage])) {
      azurite = await startEmbeddedAzurite();
      env[SETTING.storage] = azurite.connectionString;
      logger.info(`Embedded Azurite Table service listening on ${azurite.tableEndpoint}`);
    }

    installCoreModule(core.api);
    await loadEntryPoints(appRoot, pkg);
    for (const hook of core.hooks('appStart')) await hook(hookContext(core, { functionAppDirectory: appRoot }));
    const model = core.programmingModel();
    if (model) {
      // Locks app.setup(), as the worker does once the app has started.
      const capabilities = await model.getCapabilities({});
      if (capabilities.HttpUri) {
        throw new HostStartError('The app enables HTTP streaming (app.setup({ enableHttpStream: true })), which the local host does not support.');
      }
    }
    core.lockRegistration();
    if (core.functions.size === 0) logger.warn('No job functions found. The app registered no functions.');

    catalog = buildCatalog(core.functions, { routePrefix: hostJson.routePrefix, env, logger });
    keys = resolveKeys(env, catalog.functions.map((f) => f.name));

    const needsStore = catalog.timers.some((t) => t.useMonitor);
    const connection = env[SETTING.storage];
    let storePromise: Promise<StatusStore> | undefined;
    const store = (): Promise<StatusStore> => {
      storePromise ??= (async () => {
        if (!needsStore || !connection) return new MemoryStatusStore();
        try {
          return await createTableStatusStore(connection, hostId);
        } catch (err) {
          logger.warn(`Timer schedule status cannot use AzureWebJobsStorage (${describeError(err)}); keeping it in memory.`);
          return new MemoryStatusStore();
        }
      })();
      return storePromise;
    };
    scheduler = new TimerScheduler(catalog.timers, store, runTimer, logger);
  } catch (err) {
    logger.flush();
    await cleanupAfterFailure();
    if (err instanceof HostStartError || err instanceof AppLoadError) throw new HostStartError(err.message, { cause: err });
    throw new HostStartError(`The app failed to start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  const readyCatalog = catalog;
  const readyKeys = keys;
  const readyScheduler = scheduler;
  const processStart = Date.now();
  listener = createRequestListener({
    routes: readyCatalog.routes,
    keys: readyKeys,
    invoker,
    logger,
    bodyLimit,
    functionTimeoutMs: hostJson.functionTimeoutMs,
    localAddress: () => `127.0.0.1:${listenPort}`,
    state: () => state,
    admin: {
      status: () => ({
        id: hostId,
        state,
        version: HOST_VERSION,
        versionDetails: 'azauth local Functions host (dev/host)',
        processUptime: Date.now() - processStart,
        functions: readyCatalog.functions.map(summarize),
      }),
      invoke: async (name): Promise<AdminInvokeResult> => {
        const fn = readyCatalog.byName.get(name.toLowerCase());
        if (!fn) return 'not-found';
        if (fn.kind === 'http') return 'http-function';
        await readyScheduler.runManually(fn.name);
        return 'accepted';
      },
    },
  });
  state = 'Running';
  readyScheduler.start();
  logger.log('Host', 'debug', `Host started in ${Math.round(performance.now() - startedAt)}ms`);
  logger.flush(); // so the caller's own output (the CLI banner) comes after the start-up log

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      state = 'Stopping';
      server.close();
      server.closeIdleConnections();
      const grace = options.shutdownTimeoutMs ?? 30_000;
      const drained = Promise.all([
        inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
        readyScheduler.stop(),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), grace);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) logger.warn(`Stopping although work is still in progress after ${grace}ms.`);
      server.closeAllConnections();
      for (const hook of core.hooks('appTerminate')) {
        try {
          await hook(hookContext(core));
        } catch (err) {
          logger.error(`An appTerminate hook failed: ${describeError(err)}`);
        }
      }
      await azurite?.stop().catch((err: unknown) => logger.warn(`Azurite did not stop cleanly: ${describeError(err)}`));
      logger.flush();
    })();
    return stopping;
  };

  return {
    url,
    port: listenPort,
    hostId,
    masterKey: readyKeys.masterKey,
    hostKey: readyKeys.hostKey,
    keysGenerated: readyKeys.generated,
    storageConnectionString: azurite?.connectionString,
    routePrefix: hostJson.routePrefix,
    functions: readyCatalog.functions.map(summarize),
    timersStarted: () => readyScheduler.started(),
    stop,
  };
}
