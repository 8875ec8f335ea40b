// Turns the functions the app registered into what the host serves: HTTP routes and timer
// schedules. This is where the host's indexing rules apply (built-in route conflicts, schedule
// validation, %Setting% resolution, unsupported trigger types). Azure marks a function that breaks
// these rules as "in error" and runs the rest; the local host refuses to start instead, so the
// mistake is seen before a deployment.
import type { RegisteredFunction } from './core-standin';
import type { RpcBindingInfo } from './core-types';
import { type AuthLevel, parseAuthLevel } from './keys';
import type { HostLogger } from './logger';
import { firesMoreThanOncePerMinute, parseSchedule, resolveSettingReferences, type Schedule } from './ncrontab';
import { joinRoute, RouteTable, RouteTemplateError } from './routes';

export class FunctionIndexError extends Error {
  override name = 'FunctionIndexError';
}

interface FunctionBase {
  name: string;
  fn: RegisteredFunction;
  triggerBindingName: string;
}

export interface HttpFunction extends FunctionBase {
  kind: 'http';
  route: string;
  methods: string[] | undefined;
  authLevel: AuthLevel;
}

export interface TimerFunction extends FunctionBase {
  kind: 'timer';
  schedule: Schedule;
  runOnStartup: boolean;
  useMonitor: boolean;
}

export type HostedFunction = HttpFunction | TimerFunction;

export interface Catalog {
  functions: HostedFunction[];
  routes: RouteTable<HttpFunction>;
  timers: TimerFunction[];
  byName: Map<string, HostedFunction>;
}

function fail(name: string, message: string): never {
  throw new FunctionIndexError(`Function '${name}' cannot be indexed: ${message}`);
}

function isTrigger(binding: RpcBindingInfo): boolean {
  return typeof binding.type === 'string' && /trigger$/i.test(binding.type);
}

function indexHttp(name: string, fn: RegisteredFunction, bindingName: string, binding: RpcBindingInfo, routePrefix: string): HttpFunction {
  const route = typeof binding.route === 'string' && binding.route !== '' ? binding.route : name;
  // The host's prefix test: "administration/x" is refused as well as "admin/x".
  if (/^\/?admin/i.test(route)) fail(name, `the route "${route}" conflicts with one or more built in routes.`);
  const authLevel = parseAuthLevel(binding.authLevel);
  if (!authLevel) fail(name, `unknown authLevel "${String(binding.authLevel)}".`);
  let methods: string[] | undefined;
  if (binding.methods !== undefined && binding.methods !== null) {
    if (!Array.isArray(binding.methods) || !binding.methods.every((m) => typeof m === 'string')) {
      fail(name, 'methods must be a list of HTTP method names.');
    }
    methods = (binding.methods as string[]).map((m) => m.toUpperCase());
  }
  return { kind: 'http', name, fn, triggerBindingName: bindingName, route: joinRoute(routePrefix, route), methods, authLevel };
}

function indexTimer(name: string, fn: RegisteredFunction, bindingName: string, binding: RpcBindingInfo, env: NodeJS.ProcessEnv): TimerFunction {
  if (typeof binding.schedule !== 'string' || binding.schedule.trim() === '') fail(name, 'the timer has no schedule.');
  let schedule: Schedule;
  try {
    schedule = parseSchedule(resolveSettingReferences(binding.schedule, env));
  } catch (err) {
    fail(name, (err as Error).message);
  }
  const requested = binding.useMonitor === undefined || binding.useMonitor === null ? true : binding.useMonitor === true;
  return {
    kind: 'timer',
    name,
    fn,
    triggerBindingName: bindingName,
    schedule,
    runOnStartup: binding.runOnStartup === true,
    useMonitor: requested && !firesMoreThanOncePerMinute(schedule),
  };
}

export function buildCatalog(
  registered: ReadonlyMap<string, RegisteredFunction>,
  options: { routePrefix: string; env: NodeJS.ProcessEnv; logger: HostLogger },
): Catalog {
  const functions: HostedFunction[] = [];
  const routes = new RouteTable<HttpFunction>();
  const byName = new Map<string, HostedFunction>();

  for (const fn of registered.values()) {
    const name = fn.metadata.name;
    const bindings = Object.entries(fn.metadata.bindings);
    const triggers = bindings.filter(([, b]) => b.direction === 'in' && isTrigger(b));
    if (triggers.length !== 1) fail(name, `expected exactly one trigger binding, found ${triggers.length}.`);
    const [bindingName, trigger] = triggers[0]!;

    for (const [other, binding] of bindings) {
      if (other === bindingName) continue;
      const isHttpReturn = other === '$return' && typeof binding.type === 'string' && binding.type.toLowerCase() === 'http';
      if (!isHttpReturn) {
        options.logger.warn(
          `Function '${name}': the ${binding.direction ?? ''} binding '${other}' (type '${String(binding.type)}') is not emulated by the local host and is ignored.`,
        );
      }
    }

    const disabled = options.env[`AzureWebJobs.${name}.Disabled`];
    if (disabled !== undefined && /^(true|1)$/i.test(disabled)) {
      options.logger.info(`Function '${name}' is disabled (AzureWebJobs.${name}.Disabled).`);
      continue;
    }

    const type = String(trigger.type).toLowerCase();
    let hosted: HostedFunction;
    if (type === 'httptrigger') {
      hosted = indexHttp(name, fn, bindingName, trigger, options.routePrefix);
      try {
        routes.add(hosted.route, hosted.methods, hosted);
      } catch (err) {
        if (err instanceof RouteTemplateError) fail(name, err.message);
        throw err;
      }
    } else if (type === 'timertrigger') {
      hosted = indexTimer(name, fn, bindingName, trigger, options.env);
    } else {
      fail(name, `the trigger type '${String(trigger.type)}' is not supported by the local host (only httpTrigger and timerTrigger are).`);
    }
    functions.push(hosted);
    byName.set(name.toLowerCase(), hosted);
  }
  return { functions, routes, timers: functions.filter((f): f is TimerFunction => f.kind === 'timer'), byName };
}
