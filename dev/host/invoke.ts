// One invocation, driven through the app's own programming model exactly like the Node worker's
// InvocationHandler: getInvocationModel → getArguments → preInvocation hooks → invokeFunction →
// postInvocation hooks → getResponse. Handlers therefore receive the package's real HttpRequest,
// Timer and InvocationContext objects, and hooks see the same context objects as in Azure.
import { randomUUID } from 'node:crypto';
import type { CoreStandIn, RegisteredFunction } from './core-standin';
import type {
  CoreInvocationContext,
  FunctionCallback,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
  RpcTypedData,
} from './core-types';

export class FunctionTimeoutError extends Error {
  override name = 'FunctionTimeoutError';
}

export interface InvocationRequest {
  fn: RegisteredFunction;
  triggerBindingName: string;
  triggerData: RpcTypedData;
  /** W3C traceparent of the caller, when it sent a valid one. */
  traceParent?: string;
  /** undefined = no limit */
  timeoutMs: number | undefined;
}

export interface InvocationResult {
  invocationId: string;
  response: RpcInvocationResponse;
}

export interface InvocationHandle {
  invocationId: string;
  /** Settles with the response, or rejects with the app's error / a FunctionTimeoutError. */
  result: Promise<InvocationResult>;
  /**
   * Settles when the app's code has really finished. After a timeout this is later than `result`:
   * the local host cannot kill an in-process handler (Azure recycles the worker process instead).
   */
  finished: Promise<void>;
}

/** Hook context fields the worker exposes read-only (assigning throws, as in the worker). */
class InvocationHookContext {
  readonly #hookData: Record<string, unknown>;
  readonly #appHookData: Record<string, unknown>;
  readonly #invocationContext: unknown;

  constructor(hookData: Record<string, unknown>, appHookData: Record<string, unknown>, invocationContext: unknown, public inputs: unknown[]) {
    this.#hookData = hookData;
    this.#appHookData = appHookData;
    this.#invocationContext = invocationContext;
  }

  get hookData(): Record<string, unknown> {
    return this.#hookData;
  }
  set hookData(_value: unknown) {
    throw new TypeError("Cannot assign to read only property 'hookData'");
  }
  get appHookData(): Record<string, unknown> {
    return this.#appHookData;
  }
  set appHookData(_value: unknown) {
    throw new TypeError("Cannot assign to read only property 'appHookData'");
  }
  get invocationContext(): unknown {
    return this.#invocationContext;
  }
  set invocationContext(_value: unknown) {
    throw new TypeError("Cannot assign to read only property 'invocationContext'");
  }
}

class PreInvocationHookContext extends InvocationHookContext {
  functionCallback: FunctionCallback;

  constructor(hookData: Record<string, unknown>, appHookData: Record<string, unknown>, context: unknown, inputs: unknown[], callback: FunctionCallback) {
    super(hookData, appHookData, context, inputs);
    this.functionCallback = callback;
  }
}

class PostInvocationHookContext extends InvocationHookContext {
  result: unknown = null;
  error: unknown = null;
}

function newTraceParent(incoming: string | undefined): string {
  const traceId = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(incoming ?? '')?.[1] ?? randomUUID().replace(/-/g, '');
  const spanId = randomUUID().replace(/-/g, '').slice(0, 16);
  return `00-${traceId}-${spanId}-00`;
}

export class Invoker {
  readonly #core: CoreStandIn;

  constructor(core: CoreStandIn) {
    this.#core = core;
  }

  start(request: InvocationRequest): InvocationHandle {
    const invocationId = randomUUID();
    const pipeline = this.#run(invocationId, request);
    const finished = pipeline.then(
      () => undefined,
      () => undefined,
    );
    const timeoutMs = request.timeoutMs;
    const result =
      timeoutMs === undefined
        ? pipeline.then((response) => ({ invocationId, response }))
        : new Promise<InvocationResult>((resolve, reject) => {
            const timer = setTimeout(() => {
              const name = request.fn.metadata.name;
              reject(new FunctionTimeoutError(`Timeout value of ${formatTimeSpan(timeoutMs)} was exceeded by function: Functions.${name}`));
            }, timeoutMs);
            pipeline.then(
              (response) => {
                clearTimeout(timer);
                resolve({ invocationId, response });
              },
              (err: unknown) => {
                clearTimeout(timer);
                reject(err);
              },
            );
          });
    return { invocationId, result, finished };
  }

  async #run(invocationId: string, request: InvocationRequest): Promise<RpcInvocationResponse> {
    const core = this.#core;
    const { fn } = request;
    const model = core.programmingModel();
    if (!model) throw new Error('The app did not register a programming model.');
    const functionName = fn.metadata.name;
    let invocationContext: unknown;

    const coreCtx: CoreInvocationContext = {
      invocationId,
      metadata: fn.metadata,
      state: undefined,
      request: {
        invocationId,
        functionId: fn.metadata.functionId ?? functionName,
        inputData: [{ name: request.triggerBindingName, data: request.triggerData }],
        // The package ignores trigger metadata for http and timer triggers (fromRpcTriggerMetadata).
        triggerMetadata: {},
        traceContext: { traceParent: newTraceParent(request.traceParent), traceState: '', attributes: {} },
      },
      log(level: RpcLogLevel, category: RpcLogCategory, message: string) {
        core.emitLog({ level, category, message, functionName, invocationId, invocationContext });
      },
    };

    const invocationModel = await model.getInvocationModel(coreCtx);
    const args = await invocationModel.getArguments();
    const context = args.context;
    invocationContext = context;
    const hookData: Record<string, unknown> = {};

    const pre = new PreInvocationHookContext(hookData, core.appHookData, context, args.inputs, fn.callback);
    coreCtx.state = 'preInvocationHooks';
    try {
      for (const hook of core.hooks('preInvocation')) await hook(pre);
    } finally {
      coreCtx.state = undefined;
    }

    const post = new PostInvocationHookContext(hookData, core.appHookData, context, pre.inputs);
    coreCtx.state = 'invocation';
    try {
      post.result = await invocationModel.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (err) {
      post.error = err;
    } finally {
      coreCtx.state = undefined;
    }

    coreCtx.state = 'postInvocationHooks';
    try {
      for (const hook of core.hooks('postInvocation')) await hook(post);
    } finally {
      coreCtx.state = undefined;
    }

    // The worker treats anything thrown as an error (isError: not null/undefined), and a
    // postInvocation hook may clear or replace it.
    if (post.error !== null && post.error !== undefined) throw post.error;
    return invocationModel.getResponse(context, post.result);
  }
}

export function formatTimeSpan(ms: number): string {
  const totalSeconds = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const fraction = ms % 1000 ? `.${String(ms % 1000).padStart(3, '0')}` : '';
  return `${pad(h)}:${pad(m)}:${pad(s)}${fraction}`;
}
