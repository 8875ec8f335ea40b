/**
 * The ARM reads login makes, through `@azure/arm-compute`: VMs and scale sets with the compute
 * client's own methods, and the plain GETs it has no method for (a user-assigned identity, a
 * resource provider, any resource by id, the identities of a resource group) through a REST client
 * built on the very same pipeline (same credential, retry policy and connection pool).
 *
 * Not-found answers `undefined`; every other failure becomes a VaultError naming ARM (or Entra,
 * when the app could not get an ARM token), never a 500. Transient failures are retried here, not
 * in the SDK (retry.ts says why), and the final error lists what ARM answered to each attempt.
 */
import { z } from 'zod';
import { VaultError } from '../vault/errors';
import type { TokenCredential } from './credentials';
import { withRetries, type ArmRetrySettings, type AttemptOutcome, type RetryGate } from './retry';

export interface ArmUserAssignedIdentity {
  /** The identity's ARM id (the key ARM lists it under). */
  readonly resourceId: string;
  readonly principalId: string | undefined;
  readonly clientId: string | undefined;
}

export interface ArmIdentity {
  readonly systemPrincipalId: string | undefined;
  readonly userAssigned: readonly ArmUserAssignedIdentity[];
}

export interface ArmResourceSnapshot {
  readonly location: string | undefined;
  /** Undefined when the resource has no managed identity at all. */
  readonly identity: ArmIdentity | undefined;
}

export interface ArmProviderResourceType {
  readonly resourceType: string;
  readonly apiVersions: readonly string[];
}

/**
 * Every read retries on its own (retry.ts); `gate` is the shared read's, so that logins joining it
 * can cut its waits short.
 */
export interface ArmReader {
  virtualMachine(subscriptionId: string, resourceGroup: string, name: string, gate?: RetryGate): Promise<ArmResourceSnapshot | undefined>;
  scaleSet(subscriptionId: string, resourceGroup: string, name: string, gate?: RetryGate): Promise<ArmResourceSnapshot | undefined>;
  /** Any resource by its id path, with the API version its provider supports. */
  resource(resourcePath: string, apiVersion: string, gate?: RetryGate): Promise<ArmResourceSnapshot | undefined>;
  userAssignedIdentity(resourcePath: string, gate?: RetryGate): Promise<{ principalId: string | undefined; clientId: string | undefined } | undefined>;
  providerResourceTypes(subscriptionId: string, namespace: string, gate?: RetryGate): Promise<readonly ArmProviderResourceType[] | undefined>;
  /** Client ids of the user-assigned identities of a resource group, every page. */
  userAssignedClientIds(subscriptionId: string, resourceGroup: string, gate?: RetryGate): Promise<readonly string[]>;
}

export interface ArmReaderOptions {
  readonly credential: TokenCredential;
  /** ARM base URL, no trailing slash. */
  readonly endpoint: string;
  /** `<ARM audience>/.default` for this cloud. */
  readonly scope: string;
  /** The mount's retry settings (Vault's `max_retries`, `retry_delay`, `max_retry_delay`). */
  readonly maxRetries: number;
  readonly retryDelaySeconds: number;
  readonly maxRetryDelaySeconds: number;
  /** Upper bound on one read including its retries. */
  readonly deadlineMs: number;
}

/** GA API versions of the plain reads (any GA version returns the fields we read). */
export const API_VERSIONS = {
  userAssignedIdentities: '2023-01-31',
  providers: '2021-04-01',
} as const;

const nullableText = z.string().nullish().transform((value) => value ?? undefined);

const identitySchema = z.object({
  principalId: nullableText,
  userAssignedIdentities: z
    .record(z.string(), z.object({ principalId: nullableText, clientId: nullableText }).nullish())
    .nullish(),
});

const resourceSchema = z.object({
  location: nullableText,
  identity: identitySchema.nullish(),
});

const userAssignedIdentitySchema = z.object({
  properties: z.object({ principalId: nullableText, clientId: nullableText }).nullish(),
});

const providerSchema = z.object({
  resourceTypes: z
    .array(z.object({ resourceType: z.string(), apiVersions: z.array(z.string()).nullish() }))
    .nullish(),
});

const identityListSchema = z.object({
  value: z.array(userAssignedIdentitySchema).nullish(),
  nextLink: nullableText,
});

type IdentityInput = z.input<typeof identitySchema>;

function snapshotOf(location: string | undefined | null, identity: IdentityInput | undefined | null): ArmResourceSnapshot {
  if (identity === undefined || identity === null) return { location: location ?? undefined, identity: undefined };
  const parsed = identitySchema.parse(identity);
  const userAssigned = Object.entries(parsed.userAssignedIdentities ?? {}).map(([resourceId, value]) => ({
    resourceId,
    principalId: value?.principalId,
    clientId: value?.clientId,
  }));
  return { location: location ?? undefined, identity: { systemPrincipalId: parsed.principalId, userAssigned } };
}

export async function createArmReader(options: ArmReaderOptions): Promise<ArmReader> {
  // Loaded on the first login that needs ARM; logins that need none never import it.
  const [compute, computeApi] = await Promise.all([import('@azure/arm-compute'), import('@azure/arm-compute/api')]);
  type ComputeManagementClient = InstanceType<typeof compute.ComputeManagementClient>;
  const clientOptions = {
    endpoint: options.endpoint,
    credentials: { scopes: [options.scope] },
    // Retries are ours (retry.ts): the SDK's back-off could not be cut short when ARM recovered,
    // and its deadline abort hid what ARM had answered.
    retryOptions: { maxRetries: 0 },
  };
  const base = new compute.ComputeManagementClient(options.credential, clientOptions);
  // Per-subscription compute clients and the REST client share the first client's pipeline.
  const shared = { ...clientOptions, pipeline: base.pipeline };
  const rest = computeApi.createComputeManagement(options.credential, '', shared);
  const bySubscription = new Map<string, ComputeManagementClient>();
  const computeFor = (subscriptionId: string): ComputeManagementClient => {
    let client = bySubscription.get(subscriptionId);
    if (!client) {
      client = new compute.ComputeManagementClient(options.credential, subscriptionId, shared);
      bySubscription.set(subscriptionId, client);
    }
    return client;
  };
  const endpointOrigin = new URL(options.endpoint).origin;
  const settings: ArmRetrySettings = {
    maxRetries: options.maxRetries,
    retryDelayMs: options.retryDelaySeconds * 1000,
    maxRetryDelayMs: options.maxRetryDelaySeconds * 1000,
    deadlineMs: options.deadlineMs,
  };

  /** One ARM call with our retries; `attempt` answers undefined for 404 and throws anything else. */
  const read = <T>(what: string, gate: RetryGate | undefined, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    withRetries(attempt, { settings, ...(gate ? { gate } : {}), classify: (err) => classifyArmError(err, what) });

  /** GET of a path (or a nextLink on the ARM endpoint); undefined on 404. */
  const getJson = async (pathOrUrl: string, apiVersion: string | undefined, what: string, gate: RetryGate | undefined): Promise<unknown> => {
    const absolute = /^https?:\/\//i.test(pathOrUrl);
    // A nextLink must stay on the ARM endpoint: the pipeline attaches our ARM token to it.
    if (absolute && new URL(pathOrUrl).origin !== endpointOrigin) {
      throw new VaultError('arm_unavailable', `ARM: ${what}: ARM returned a link to another host`);
    }
    return read(what, gate, async (abortSignal) => {
      const response = await rest.pathUnchecked(pathOrUrl).get({
        ...(absolute || apiVersion === undefined ? {} : { queryParameters: { 'api-version': apiVersion } }),
        abortSignal,
      });
      if (response.status === '404') return undefined;
      if (!response.status.startsWith('2')) throw new ArmHttpError(Number(response.status), response.body, response.headers);
      return response.body;
    });
  };

  const parse = <T>(schema: z.ZodType<T>, body: unknown, what: string): T => {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new VaultError('arm_unavailable', `ARM: ${what}: unexpected response shape`);
    return parsed.data;
  };

  /** A compute-client GET: 404 is undefined, any other failure is thrown for the retry loop. */
  const orNotFound = async <T>(get: Promise<T>): Promise<T | undefined> => {
    try {
      return await get;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  };

  return {
    async virtualMachine(subscriptionId, resourceGroup, name, gate) {
      const what = 'unable to retrieve virtual machine metadata';
      const vm = await read(what, gate, (abortSignal) => orNotFound(computeFor(subscriptionId).virtualMachines.get(resourceGroup, name, { abortSignal })));
      return vm === undefined ? undefined : snapshotOf(vm.location, vm.identity);
    },
    async scaleSet(subscriptionId, resourceGroup, name, gate) {
      const what = 'unable to retrieve virtual machine scale set metadata';
      const vmss = await read(what, gate, (abortSignal) =>
        orNotFound(computeFor(subscriptionId).virtualMachineScaleSets.get(resourceGroup, name, { abortSignal })),
      );
      return vmss === undefined ? undefined : snapshotOf(vmss.location, vmss.identity);
    },
    async resource(resourcePath, apiVersion, gate) {
      const what = 'unable to retrieve resource metadata';
      const body = await getJson(resourcePath, apiVersion, what, gate);
      if (body === undefined) return undefined;
      const parsed = parse(resourceSchema, body, what);
      return snapshotOf(parsed.location, parsed.identity);
    },
    async userAssignedIdentity(resourcePath, gate) {
      const what = 'unable to retrieve user assigned identity metadata';
      const body = await getJson(resourcePath, API_VERSIONS.userAssignedIdentities, what, gate);
      if (body === undefined) return undefined;
      const parsed = parse(userAssignedIdentitySchema, body, what);
      return { principalId: parsed.properties?.principalId, clientId: parsed.properties?.clientId };
    },
    async providerResourceTypes(subscriptionId, namespace, gate) {
      const what = `unable to get the provider ${namespace}`;
      const path = `/subscriptions/${encodeURIComponent(subscriptionId)}/providers/${encodeURIComponent(namespace)}`;
      const body = await getJson(path, API_VERSIONS.providers, what, gate);
      if (body === undefined) return undefined;
      const parsed = parse(providerSchema, body, what);
      return (parsed.resourceTypes ?? []).map((entry) => ({ resourceType: entry.resourceType, apiVersions: entry.apiVersions ?? [] }));
    },
    async userAssignedClientIds(subscriptionId, resourceGroup, gate) {
      const what = 'unable to list user assigned identities';
      const clientIds: string[] = [];
      let next: string | undefined =
        `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}` +
        `/providers/Microsoft.ManagedIdentity/userAssignedIdentities`;
      let apiVersion: string | undefined = API_VERSIONS.userAssignedIdentities;
      // Bounded so a misbehaving nextLink chain cannot hold a login forever.
      for (let page = 0; next !== undefined && page < 100; page++) {
        const body = await getJson(next, apiVersion, what, gate);
        if (body === undefined) break;
        const parsed = parse(identityListSchema, body, what);
        for (const item of parsed.value ?? []) if (item.properties?.clientId) clientIds.push(item.properties.clientId);
        next = parsed.nextLink;
        apiVersion = undefined; // a nextLink carries its own query
      }
      return clientIds;
    },
  };
}

/** A non-2xx answer of a plain GET, thrown inside an attempt so the retry loop sees status and headers. */
export class ArmHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(`ARM answered ${statusCode}`);
    this.name = 'ArmHttpError';
  }
}

function statusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number') return err.statusCode;
  return undefined;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

/**
 * What `@azure/identity` (and msal under it) throw when no token can be had: Entra refused the
 * client (a wrong secret surfaces as AuthenticationRequiredError) or could not be reached.
 */
const CREDENTIAL_ERRORS = new Set([
  'AuthenticationError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
  'CredentialUnavailableError',
  'ClientAuthError',
  'ClientConfigurationError',
  'ServerError',
]);

/** Connection failures the SDK's exponential strategy retries. */
const SYSTEM_ERRORS = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ENOTFOUND']);

/**
 * One failed attempt, classified for the retry loop: the credential failing (the app cannot get an
 * ARM token) names Entra and is final (msal retries on its own); ARM's HTTP answers follow the
 * SDK's retry strategies; a connection failure is retried; the deadline firing ends the read.
 */
export function classifyArmError(err: unknown, what: string): AttemptOutcome {
  if (err instanceof VaultError) return { answer: err.code, next: 'final', error: err };
  const name = errorName(err);
  if (CREDENTIAL_ERRORS.has(name)) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : '';
    const error = new VaultError('entra_unavailable', `entra unavailable: the function app could not get an ARM access token: ${detail}`, { cause: err });
    return { answer: 'no ARM token', next: 'final', error };
  }
  const status = statusOf(err);
  if (status !== undefined) {
    const body = err instanceof ArmHttpError ? err.body : undefined;
    const error = armStatusFailure(status, body, what, err);
    const retryAfterMs = status === 429 || status === 503 ? retryAfterOf(headerReader(err)) : undefined;
    if (retryAfterMs !== undefined) return { answer: String(status), next: 'after', retryAfterMs, error };
    const transient = status === 408 || (status >= 500 && status !== 501 && status !== 505);
    return { answer: String(status), next: transient ? 'retry' : 'final', error };
  }
  if (name === 'AbortError' || name === 'TimeoutError') {
    return { answer: 'no answer', next: 'timeout', error: new VaultError('arm_unavailable', `ARM unavailable: ${what}: no answer in time`, { cause: err }) };
  }
  const code = errorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  const error = new VaultError('arm_unavailable', `ARM unavailable: ${what}: ${detail}`, { cause: err });
  // The SDK's HTTP client reports a failed connection as a RestError carrying the system error code.
  const network = code !== undefined && (SYSTEM_ERRORS.has(code) || code === 'REQUEST_SEND_ERROR');
  return { answer: code ?? (name || 'error'), next: network ? 'retry' : 'final', error };
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function armStatusFailure(status: number, body: unknown, what: string, cause?: unknown): VaultError {
  const code = armErrorCode(body) ?? armErrorCode(cause);
  const label = `${status}${code ? ` ${code}` : ''}`;
  if (status === 429) return new VaultError('throttled', `ARM is throttling requests: ${what}: ${label}`, { cause });
  if (status === 401 || status === 403) {
    return new VaultError('arm_unavailable', `ARM refused the function app's identity: ${what}: ${label} (it needs read access to the resource)`, { cause });
  }
  return new VaultError('arm_unavailable', `ARM unavailable: ${what}: ${label}`, { cause });
}

/** ARM's error code: on a thrown RestError (`code`), or in an error body (`{"error":{"code":...}}`). */
const armErrorCodeSchema = z.union([z.object({ code: z.string() }), z.object({ error: z.object({ code: z.string() }) })]);

function armErrorCode(source: unknown): string | undefined {
  const parsed = armErrorCodeSchema.safeParse(source);
  if (!parsed.success) return undefined;
  return 'code' in parsed.data ? parsed.data.code : parsed.data.error.code;
}

type HeaderReader = (name: string) => string | undefined;

/** Response headers of a failed attempt: ours (ArmHttpError) or a RestError's `response.headers`. */
function headerReader(err: unknown): HeaderReader {
  if (err instanceof ArmHttpError) {
    const lower = new Map(Object.entries(err.headers).map(([key, value]) => [key.toLowerCase(), value]));
    return (name) => lower.get(name);
  }
  if (typeof err === 'object' && err !== null && 'response' in err) {
    const response = err.response;
    if (typeof response === 'object' && response !== null && 'headers' in response && isHeaderBag(response.headers)) {
      const headers = response.headers;
      return (name) => {
        const value = headers.get(name);
        return typeof value === 'string' ? value : undefined;
      };
    }
  }
  return () => undefined;
}

/** The shape of core-rest-pipeline's HttpHeaders that is read here. */
interface HeaderBag {
  get(name: string): unknown;
}

function isHeaderBag(value: unknown): value is HeaderBag {
  return typeof value === 'object' && value !== null && 'get' in value && typeof value.get === 'function';
}

/** The SDK's reading of a throttling answer: `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After` (seconds or a date). */
function retryAfterOf(header: HeaderReader): number | undefined {
  for (const [name, factor] of [['retry-after-ms', 1], ['x-ms-retry-after-ms', 1], ['retry-after', 1000]] as const) {
    const value = header(name)?.trim();
    if (value === undefined || value === '') continue;
    const number = Number(value);
    if (Number.isFinite(number) && number >= 0) return number * factor;
    if (name === 'retry-after') {
      const date = Date.parse(value);
      if (Number.isFinite(date)) return Math.max(0, date - Date.now());
    }
  }
  return undefined;
}
