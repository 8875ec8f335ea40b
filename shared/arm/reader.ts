/**
 * The ARM reads login makes, through `@azure/arm-compute`: VMs and scale sets with the compute
 * client's own methods, and the plain GETs it has no method for (a user-assigned identity, a
 * resource provider, any resource by id, the identities of a resource group) through a REST client
 * built on the very same pipeline (same credential, retry policy and connection pool).
 *
 * Not-found answers `undefined`; every other failure becomes a VaultError naming ARM (or Entra,
 * when the app could not get an ARM token), never a 500.
 */
import { z } from 'zod';
import { VaultError } from '../vault/errors';
import type { TokenCredential } from './credentials';

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

export interface ArmReader {
  virtualMachine(subscriptionId: string, resourceGroup: string, name: string): Promise<ArmResourceSnapshot | undefined>;
  scaleSet(subscriptionId: string, resourceGroup: string, name: string): Promise<ArmResourceSnapshot | undefined>;
  /** Any resource by its id path, with the API version its provider supports. */
  resource(resourcePath: string, apiVersion: string): Promise<ArmResourceSnapshot | undefined>;
  userAssignedIdentity(resourcePath: string): Promise<{ principalId: string | undefined; clientId: string | undefined } | undefined>;
  providerResourceTypes(subscriptionId: string, namespace: string): Promise<readonly ArmProviderResourceType[] | undefined>;
  /** Client ids of the user-assigned identities of a resource group, every page. */
  userAssignedClientIds(subscriptionId: string, resourceGroup: string): Promise<readonly string[]>;
}

export interface ArmReaderOptions {
  readonly credential: TokenCredential;
  /** ARM base URL, no trailing slash. */
  readonly endpoint: string;
  /** `<ARM audience>/.default` for this cloud. */
  readonly scope: string;
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
    retryOptions: {
      maxRetries: options.maxRetries,
      retryDelayInMs: options.retryDelaySeconds * 1000,
      maxRetryDelayInMs: options.maxRetryDelaySeconds * 1000,
    },
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
  const signal = (): AbortSignal => AbortSignal.timeout(options.deadlineMs);

  /** GET of a path (or a nextLink on the ARM endpoint); undefined on 404. */
  const getJson = async (pathOrUrl: string, apiVersion: string | undefined, what: string): Promise<unknown> => {
    const absolute = /^https?:\/\//i.test(pathOrUrl);
    // A nextLink must stay on the ARM endpoint: the pipeline attaches our ARM token to it.
    if (absolute && new URL(pathOrUrl).origin !== endpointOrigin) {
      throw new VaultError('arm_unavailable', `ARM: ${what}: ARM returned a link to another host`);
    }
    let response: { status: string; body: unknown };
    try {
      response = await rest.pathUnchecked(pathOrUrl).get({
        ...(absolute || apiVersion === undefined ? {} : { queryParameters: { 'api-version': apiVersion } }),
        abortSignal: signal(),
      });
    } catch (err) {
      throw armFailure(err, what);
    }
    if (response.status === '404') return undefined;
    if (!response.status.startsWith('2')) throw armStatusFailure(Number(response.status), response.body, what);
    return response.body;
  };

  const parse = <T>(schema: z.ZodType<T>, body: unknown, what: string): T => {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new VaultError('arm_unavailable', `ARM: ${what}: unexpected response shape`);
    return parsed.data;
  };

  return {
    async virtualMachine(subscriptionId, resourceGroup, name) {
      const what = 'unable to retrieve virtual machine metadata';
      try {
        const vm = await computeFor(subscriptionId).virtualMachines.get(resourceGroup, name, { abortSignal: signal() });
        return snapshotOf(vm.location, vm.identity);
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw armFailure(err, what);
      }
    },
    async scaleSet(subscriptionId, resourceGroup, name) {
      const what = 'unable to retrieve virtual machine scale set metadata';
      try {
        const vmss = await computeFor(subscriptionId).virtualMachineScaleSets.get(resourceGroup, name, { abortSignal: signal() });
        return snapshotOf(vmss.location, vmss.identity);
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw armFailure(err, what);
      }
    },
    async resource(resourcePath, apiVersion) {
      const what = 'unable to retrieve resource metadata';
      const body = await getJson(resourcePath, apiVersion, what);
      if (body === undefined) return undefined;
      const parsed = parse(resourceSchema, body, what);
      return snapshotOf(parsed.location, parsed.identity);
    },
    async userAssignedIdentity(resourcePath) {
      const what = 'unable to retrieve user assigned identity metadata';
      const body = await getJson(resourcePath, API_VERSIONS.userAssignedIdentities, what);
      if (body === undefined) return undefined;
      const parsed = parse(userAssignedIdentitySchema, body, what);
      return { principalId: parsed.properties?.principalId, clientId: parsed.properties?.clientId };
    },
    async providerResourceTypes(subscriptionId, namespace) {
      const what = `unable to get the provider ${namespace}`;
      const body = await getJson(`/subscriptions/${encodeURIComponent(subscriptionId)}/providers/${encodeURIComponent(namespace)}`, API_VERSIONS.providers, what);
      if (body === undefined) return undefined;
      const parsed = parse(providerSchema, body, what);
      return (parsed.resourceTypes ?? []).map((entry) => ({ resourceType: entry.resourceType, apiVersions: entry.apiVersions ?? [] }));
    },
    async userAssignedClientIds(subscriptionId, resourceGroup) {
      const what = 'unable to list user assigned identities';
      const clientIds: string[] = [];
      let next: string | undefined =
        `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}` +
        `/providers/Microsoft.ManagedIdentity/userAssignedIdentities`;
      let apiVersion: string | undefined = API_VERSIONS.userAssignedIdentities;
      // Bounded so a misbehaving nextLink chain cannot hold a login forever.
      for (let page = 0; next !== undefined && page < 100; page++) {
        const body = await getJson(next, apiVersion, what);
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

/**
 * Classifies a thrown error: the credential failing (the app cannot get an ARM token) names Entra;
 * a timeout, network error or HTTP failure names ARM.
 */
export function armFailure(err: unknown, what: string): VaultError {
  if (err instanceof VaultError) return err;
  const name = errorName(err);
  if (CREDENTIAL_ERRORS.has(name)) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : '';
    return new VaultError('entra_unavailable', `entra unavailable: the function app could not get an ARM access token: ${detail}`, { cause: err });
  }
  const status = statusOf(err);
  if (status !== undefined) return armStatusFailure(status, undefined, what, err);
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new VaultError('arm_unavailable', `ARM unavailable: ${what}: no answer in time`, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new VaultError('arm_unavailable', `ARM unavailable: ${what}: ${detail}`, { cause: err });
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
