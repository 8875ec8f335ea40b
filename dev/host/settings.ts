// Reads the three files an Azure Functions app root carries (host.json, local.settings.json,
// package.json) and the settings the local host documents in dev/host/README.md.
import { existsSync, readFileSync } from 'node:fs';
import path = require('node:path');

export class HostConfigError extends Error {
  override name = 'HostConfigError';
}

/** Setting names read by the local host (documented in dev/host/README.md). */
export const SETTING = {
  masterKey: 'AzureWebJobsSecretMasterKey',
  hostKey: 'AzureWebJobsSecretHostKey',
  functionKeyPrefix: 'AzureWebJobsSecret_',
  bodyLimit: 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT',
  storage: 'AzureWebJobsStorage',
  hostId: 'AzureFunctionsWebHost__hostid',
  port: 'PORT',
} as const;

/** Azure's front end refuses request bodies above 100 MiB (104,857,600 bytes) by default. */
export const DEFAULT_BODY_LIMIT = 100 * 1024 * 1024;
export const DEFAULT_PORT = 7071;
/** functionTimeout default of the Dedicated plan and of Core Tools (no plan): 30 minutes. */
export const DEFAULT_FUNCTION_TIMEOUT_MS = 30 * 60 * 1000;

export interface LocalSettings {
  values: Record<string, string>;
  localHttpPort?: number;
}

export interface HostJson {
  routePrefix: string;
  /** undefined = unbounded ("-1" in host.json) */
  functionTimeoutMs: number | undefined;
  logLevels: Record<string, string>;
}

export interface PackageJson {
  main?: string;
  type?: string;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HostConfigError(`Cannot read ${what} (${file}): ${(err as Error).message}`);
  }
  try {
    // Tolerate a UTF-8 BOM, which editors on Windows like to add to JSON files.
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new HostConfigError(`${what} (${file}) is not valid JSON: ${(err as Error).message}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readLocalSettings(appRoot: string): LocalSettings | undefined {
  const file = path.join(appRoot, 'local.settings.json');
  if (!existsSync(file)) return undefined;
  const json = readJson(file, 'local.settings.json');
  if (!isRecord(json)) throw new HostConfigError(`local.settings.json (${file}) must hold a JSON object.`);
  if (json.IsEncrypted === true) {
    throw new HostConfigError('local.settings.json is encrypted (IsEncrypted: true); the local host only reads plain settings.');
  }
  const values: Record<string, string> = {};
  const rawValues = json.Values ?? {};
  if (!isRecord(rawValues)) throw new HostConfigError('local.settings.json "Values" must be an object of strings.');
  for (const [key, value] of Object.entries(rawValues)) {
    if (typeof value === 'string') values[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
    else if (value !== null) {
      throw new HostConfigError(`local.settings.json Values.${key} must be a string (objects and arrays are not allowed).`);
    }
  }
  const result: LocalSettings = { values };
  const hostSection = json.Host;
  if (isRecord(hostSection) && hostSection.LocalHttpPort !== undefined) {
    const port = Number(hostSection.LocalHttpPort);
    if (Number.isInteger(port) && port >= 0 && port <= 65535) result.localHttpPort = port;
  }
  return result;
}

/**
 * Copies `Values` into the environment the way Core Tools does: a setting only applies when the
 * variable is unset or empty, so the shell (and spawnHost callers) always win.
 */
export function applyLocalSettings(
  settings: LocalSettings | undefined,
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
): void {
  if (!settings) return;
  for (const [key, value] of Object.entries(settings.values)) {
    const current = env[key];
    if (current === undefined || current === '') env[key] = value;
    else log(`Skipping '${key}' from local settings as it's already defined in current environment variables.`);
  }
}

/** Parses a .NET TimeSpan as host.json writes it: `[d.]hh:mm[:ss[.fffffff]]`. */
export function parseTimeSpan(text: string): number | undefined {
  const match = /^\s*(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$/.exec(text);
  if (!match) return undefined;
  const [, days, hours, minutes, seconds, fraction] = match;
  const h = Number(hours);
  const m = Number(minutes);
  const s = Number(seconds ?? 0);
  if (h > 23 || m > 59 || s > 59) return undefined;
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return ((Number(days ?? 0) * 24 + h) * 60 + m) * 60_000 + s * 1000 + fractionMs;
}

export function readHostJson(appRoot: string): HostJson {
  const file = path.join(appRoot, 'host.json');
  if (!existsSync(file)) {
    throw new HostConfigError(`host.json not found in ${appRoot}; an Azure Functions app root must contain one.`);
  }
  const json = readJson(file, 'host.json');
  if (!isRecord(json)) throw new HostConfigError('host.json must hold a JSON object.');
  if (json.version !== '2.0') {
    throw new HostConfigError('host.json must contain "version": "2.0" (required by Functions runtime 2.x and later).');
  }

  let routePrefix = 'api';
  const extensions = json.extensions;
  if (isRecord(extensions) && isRecord(extensions.http) && extensions.http.routePrefix !== undefined) {
    if (typeof extensions.http.routePrefix !== 'string') {
      throw new HostConfigError('host.json extensions.http.routePrefix must be a string.');
    }
    routePrefix = extensions.http.routePrefix.replace(/^\/+|\/+$/g, '');
  }

  let functionTimeoutMs: number | undefined = DEFAULT_FUNCTION_TIMEOUT_MS;
  const rawTimeout = json.functionTimeout;
  if (rawTimeout === '-1' || rawTimeout === -1) functionTimeoutMs = undefined;
  else if (rawTimeout !== undefined && rawTimeout !== null) {
    const parsed = typeof rawTimeout === 'string' ? parseTimeSpan(rawTimeout) : undefined;
    if (parsed === undefined || parsed <= 0) {
      throw new HostConfigError(`host.json functionTimeout "${String(rawTimeout)}" is not a valid TimeSpan (hh:mm:ss) or "-1".`);
    }
    functionTimeoutMs = parsed;
  }

  const logLevels: Record<string, string> = {};
  const logging = json.logging;
  if (isRecord(logging) && isRecord(logging.logLevel)) {
    for (const [category, level] of Object.entries(logging.logLevel)) {
      if (typeof level === 'string') logLevels[category] = level;
    }
  }
  return { routePrefix, functionTimeoutMs, logLevels };
}

export function readPackageJson(appRoot: string): PackageJson {
  const file = path.join(appRoot, 'package.json');
  if (!existsSync(file)) throw new HostConfigError(`package.json not found in ${appRoot}.`);
  const json = readJson(file, 'package.json');
  if (!isRecord(json)) throw new HostConfigError('package.json must hold a JSON object.');
  const result: PackageJson = {};
  if (typeof json.main === 'string') result.main = json.main;
  if (typeof json.type === 'string') result.type = json.type;
  return result;
}

export function parsePort(text: string, source: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new HostConfigError(`${source} "${text}" is not a valid port (0-65535; 0 picks a free port).`);
  }
  return port;
}

export function resolveBodyLimit(env: NodeJS.ProcessEnv): number {
  const raw = env[SETTING.bodyLimit];
  if (raw === undefined || raw === '') return DEFAULT_BODY_LIMIT;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(limit) || limit <= 0) {
    throw new HostConfigError(`${SETTING.bodyLimit} "${raw}" must be a positive number of bytes.`);
  }
  return limit;
}
