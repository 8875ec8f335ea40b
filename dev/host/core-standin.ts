// Stand-in for the `@azure/functions-core` module that the Azure Functions Node worker injects at
// runtime. `@azure/functions` talks to the host only through this module: without it every
// `app.http()` / `app.timer()` call is silently skipped ("test mode"), so the local host provides
// the same surface and installs it the way the worker does (a `Module.prototype.require` proxy).
import Module = require('node:module');
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  HookName,
  ProgrammingModel,
  RpcLogCategory,
  RpcLogLevel,
} from './core-types';

export const CORE_MODULE_ID = '@azure/functions-core';

/** Mirrors the worker's Disposable: `dispose()` runs the callback at most once. */
export class Disposable {
  static from(...items: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => {
      for (const item of items) item.dispose();
    });
  }

  #callOnDispose: (() => unknown) | undefined;

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  dispose(): unknown {
    const callback = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return callback?.();
  }
}

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
}

export interface LogEntry {
  level: RpcLogLevel;
  category: RpcLogCategory;
  message: string;
  functionName?: string;
  invocationId?: string;
  /** The package's InvocationContext, handed to log hooks. */
  invocationContext?: unknown;
}

export type LogSink = (entry: LogEntry) => void;

const HOOK_NAMES: readonly HookName[] = ['preInvocation', 'postInvocation', 'appStart', 'appTerminate', 'log'];
// Same rule the Functions host applies when indexing (FunctionMetadataManager / Utility.IsValidFunctionName).
const FUNCTION_NAME = /^[a-z][a-z0-9_-]{0,127}$/i;

export interface CoreApi {
  readonly version: string;
  readonly hostVersion: string;
  readonly Disposable: typeof Disposable;
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable;
  registerHook(name: string, callback: HookCallback): Disposable;
  setProgrammingModel(model: ProgrammingModel): void;
  getProgrammingModel(): ProgrammingModel | undefined;
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
}

export interface CoreStandIn {
  readonly api: CoreApi;
  /** Registered functions keyed by function id, in registration order. */
  readonly functions: ReadonlyMap<string, RegisteredFunction>;
  /** Data shared by all hooks for the app's lifetime (the worker's `appHookData`). */
  readonly appHookData: Record<string, unknown>;
  /** Data shared only by appStart/appTerminate hooks (the worker's `appLevelOnlyHookData`). */
  readonly appLevelOnlyHookData: Record<string, unknown>;
  hooks(name: HookName): readonly HookCallback[];
  programmingModel(): ProgrammingModel | undefined;
  /** After start-up, registering or disposing functions throws, as in the worker. */
  lockRegistration(): void;
  /** Routes a log through the app's `log` hooks, then to the host's sink. */
  emitLog(entry: LogEntry): void;
}

class SystemError extends Error {
  readonly isAzureFunctionsSystemError = true;
}

class SystemRangeError extends RangeError {
  readonly isAzureFunctionsSystemError = true;
}

export function createCoreStandIn(options: { version: string; hostVersion: string; sink: LogSink }): CoreStandIn {
  const functions = new Map<string, RegisteredFunction>();
  const hookLists: Record<HookName, HookCallback[]> = {
    preInvocation: [],
    postInvocation: [],
    appStart: [],
    appTerminate: [],
    log: [],
  };
  const appHookData: Record<string, unknown> = {};
  const appLevelOnlyHookData: Record<string, unknown> = {};
  let model: ProgrammingModel | undefined;
  let locked = false;
  let warnedAsyncLogHook = false;

  const emitLog = (entry: LogEntry): void => {
    const hooks = hookLists.log;
    if (hooks.length > 0) {
      // The package's LogHookContext writes through to these properties, so hooks can rewrite
      // (e.g. redact) user log messages; system logs are passed on unchanged, like the worker does.
      const ctx = {
        hookData: {},
        appHookData,
        level: entry.level,
        message: entry.message,
        category: entry.category,
        invocationContext: entry.invocationContext,
      };
      try {
        for (const hook of hooks) {
          const result = hook(ctx);
          if (result instanceof Promise && !warnedAsyncLogHook) {
            warnedAsyncLogHook = true;
            options.sink({ level: 'warning', category: 'system', message: 'Log hooks must be synchronous; the returned promise is ignored.' });
          }
        }
        if (entry.category === 'user') {
          entry = { ...entry, level: ctx.level, message: String(ctx.message) };
        }
      } catch {
        // A failing log hook must not suppress the log itself (the worker ignores hook errors too).
      }
    }
    options.sink(entry);
  };

  const api: CoreApi = {
    version: options.version,
    hostVersion: options.hostVersion,
    Disposable,
    registerFunction(metadata, callback) {
      if (locked) throw new SystemError('A function can only be registered during app startup.');
      if (typeof metadata?.name !== 'string' || typeof metadata.bindings !== 'object' || metadata.bindings === null) {
        throw new SystemError('Function metadata must have a name and bindings.');
      }
      if (typeof callback !== 'function') throw new SystemError(`Function "${metadata.name}" has no handler.`);
      if (!FUNCTION_NAME.test(metadata.name)) {
        throw new SystemError(
          `The function name "${metadata.name}" is invalid: use letters, digits, "_" and "-", starting with a letter, at most 128 characters.`,
        );
      }
      const functionId = metadata.functionId ?? metadata.name;
      // The Functions host treats function names case-insensitively, so "Hello" and "hello" clash.
      const lowerName = metadata.name.toLowerCase();
      const clash = functions.has(functionId) || [...functions.values()].some((f) => f.metadata.name.toLowerCase() === lowerName);
      if (clash) throw new SystemError(`A function with id "${functionId}" has already been registered.`);
      functions.set(functionId, { metadata: { ...metadata, functionId }, callback });
      return new Disposable(() => {
        if (locked) throw new SystemError('A function can only be disposed during app startup.');
        functions.delete(functionId);
      });
    },
    registerHook(name, callback) {
      if (!(HOOK_NAMES as readonly string[]).includes(name)) {
        throw new SystemRangeError(`Unrecognized hook "${name}"`);
      }
      if (typeof callback !== 'function') throw new SystemError(`Hook "${name}" needs a callback.`);
      const list = hookLists[name as HookName];
      list.push(callback);
      return new Disposable(() => {
        const index = list.indexOf(callback);
        if (index >= 0) list.splice(index, 1);
      });
    },
    setProgrammingModel(next) {
      model = next;
    },
    getProgrammingModel() {
      return model;
    },
    log(level, category, message) {
      emitLog({ level, category, message: String(message) });
    },
  };

  return {
    api,
    functions,
    appHookData,
    appLevelOnlyHookData,
    hooks: (name) => hookLists[name],
    programmingModel: () => model,
    lockRegistration() {
      locked = true;
    },
    emitLog,
  };
}

interface RequireFunction {
  (this: unknown, id: string): unknown;
}

/**
 * Makes `require('@azure/functions-core')` return the stand-in, exactly like the worker's
 * `setupCoreModule`. ESM apps are covered too: `@azure/functions` is CommonJS and does the
 * `require` itself. Returns a function that restores the original `require`.
 */
export function installCoreModule(api: CoreApi): () => void {
  const proto = Module.prototype as unknown as { require: RequireFunction };
  const original = proto.require;
  proto.require = new Proxy(original, {
    apply(target, thisArg: unknown, args: unknown[]) {
      if (args[0] === CORE_MODULE_ID) return api;
      return Reflect.apply(target, thisArg, args);
    },
  });
  return () => {
    proto.require = original;
  };
}
