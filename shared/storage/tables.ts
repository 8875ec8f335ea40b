/**
 * Table clients for the app's state, built from the standard `AzureWebJobsStorage` setting:
 * a connection string (including `UseDevelopmentStorage=true`), or identity-based
 * `AzureWebJobsStorage__tableServiceUri` / `__accountName` with the app's managed identity.
 * Tables are created on first use.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TableClient, type TableEntityResult, type TableServiceClientOptions } from '@azure/data-tables';
import { DEFAULT_STORAGE_TIMEOUT_SECONDS, type Settings } from '../settings';

/** Every table the product owns. Names: letters and digits only, 3–63 characters. */
export const TABLES = {
  mounts: 'azauthmounts',
  configs: 'azauthconfigs',
  roles: 'azauthroles',
  tokens: 'azauthtokens',
  accessors: 'azauthaccessors',
  /** ACL policies (`sys/policies/acl`). */
  policies: 'azauthpolicies',
  /** The token tree's index: partition = parent accessor, row = child accessor. */
  tokenChildren: 'azauthtokenchildren',
  state: 'azauthstate',
  // KV secrets engine: one partition per key and per folder listing (shared/kv/paths.ts).
  kv: 'azauthkv',
} as const;
export type TableName = (typeof TABLES)[keyof typeof TABLES];

export interface TableProvider {
  table(name: TableName): Promise<TableClient>;
}

type StorageSettings = Pick<
  Settings,
  'AzureWebJobsStorage' | 'AzureWebJobsStorage__tableServiceUri' | 'AzureWebJobsStorage__accountName' | 'AzureWebJobsStorage__clientId'
> &
  Partial<Pick<Settings, 'AZAUTH_STORAGE_TIMEOUT'>>;

export function createTableProvider(settings: StorageSettings): TableProvider {
  const clients = new Map<TableName, Promise<TableClient>>();
  const options: TableServiceClientOptions = {
    // perCall: outside the SDK's retry policy, so one deadline covers every attempt and back-off.
    additionalPolicies: [{ policy: deadlinePolicy((settings.AZAUTH_STORAGE_TIMEOUT ?? DEFAULT_STORAGE_TIMEOUT_SECONDS) * 1000), position: 'perCall' }],
  };
  const build = async (name: TableName): Promise<TableClient> => {
    const client = await connect(settings, name, options);
    await client.createTable();
    return client;
  };
  return {
    table(name) {
      let client = clients.get(name);
      if (!client) {
        client = build(name);
        // A failed creation must not be cached: storage may be back on the next request.
        client.catch(() => clients.delete(name));
        clients.set(name, client);
      }
      return client;
    },
  };
}

/**
 * A table whose one-time setup (rows every instance needs: Vault's built-in mounts, the `default`
 * policy) has run before it is handed out. Concurrent callers share one setup; a failed one
 * (storage down) is tried again on the next call, not remembered.
 */
export function setUpOnce(open: () => Promise<TableClient>, setup: (client: TableClient) => Promise<void>): () => Promise<TableClient> {
  let done: Promise<void> | undefined;
  return async () => {
    const client = await open();
    if (!done) {
      const attempt = setup(client);
      done = attempt;
      attempt.catch(() => {
        if (done === attempt) done = undefined;
      });
    }
    await done;
    return client;
  };
}

async function connect(settings: StorageSettings, name: TableName, options: TableServiceClientOptions): Promise<TableClient> {
  const connection = settings.AzureWebJobsStorage;
  if (connection) {
    // The SDK allows plain http for UseDevelopmentStorage=true itself; an explicit http endpoint
    // (Azurite started by the local host) needs the flag spelled out.
    const insecure = /TableEndpoint=http:\/\//i.test(connection) || /DefaultEndpointsProtocol=http;/i.test(connection);
    return TableClient.fromConnectionString(connection, name, insecure ? { ...options, allowInsecureConnection: true } : options);
  }
  const endpoint =
    settings.AzureWebJobsStorage__tableServiceUri ??
    (settings.AzureWebJobsStorage__accountName ? `https://${settings.AzureWebJobsStorage__accountName}.table.core.windows.net` : undefined);
  if (!endpoint) {
    throw new Error('no storage configured: set AzureWebJobsStorage or AzureWebJobsStorage__accountName');
  }
  // Loaded only for identity-based storage: a connection-string app never pays its import.
  const { ManagedIdentityCredential } = await import('@azure/identity');
  const clientId = settings.AzureWebJobsStorage__clientId;
  const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  return new TableClient(endpoint, name, credential, options);
}

// ------------------------------------------------------------------------------------------------
// Deadlines. Without one, a storage call waits as long as the socket does: with storage hanging, a
// request ran into the host's functionTimeout (a bare 500), and its handler wrote a token later
// that no client received.

/** A storage call was given up on: its deadline passed, or the request it served is already over. */
export class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError';
}

type PipelinePolicy = NonNullable<TableServiceClientOptions['additionalPolicies']>[number]['policy'];
type PipelineRequest = Parameters<PipelinePolicy['sendRequest']>[0];

/** The signal of the request being served, when storage is called on its behalf. */
const requestScope = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `work` on behalf of a request: once `over` fires (the request answered 503 at its own
 * deadline), every storage write the work still makes, or is still waiting for, fails. A handler
 * that outlives its answer must not write anything the client was told did not happen. Reads go on:
 * a late read changes nothing, and concurrent requests share reads (single-flight caches), which
 * must not fail for them because the request that started them is over.
 */
export function withStorageCutoff<T>(over: AbortSignal, work: () => Promise<T>): Promise<T> {
  return requestScope.run(over, work);
}

/**
 * A per-call pipeline policy: the call, its retries and their back-off get `timeoutMs` in all, and
 * a write ends early when the request it serves is over. The race does not rely on every layer below
 * honouring the abort signal (a credential fetch may not).
 */
export function deadlinePolicy(timeoutMs: number): PipelinePolicy {
  const seconds = Math.round(timeoutMs / 100) / 10;
  return {
    name: 'azauthStorageDeadline',
    async sendRequest(request, next) {
      const over = request.method === 'GET' || request.method === 'HEAD' ? undefined : requestScope.getStore();
      if (over?.aborted) throw new StorageTimeoutError('the request it served has already been answered');
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const stop = combine(controller.signal, over, request);
      request.abortSignal = stop;
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new StorageTimeoutError('aborted'));
        if (stop.aborted) onAbort();
        else stop.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([next(request), aborted]);
      } catch (err) {
        if (controller.signal.aborted) throw new StorageTimeoutError(`no answer within ${seconds}s`, { cause: err });
        if (over?.aborted) throw new StorageTimeoutError('the request it served has already been answered', { cause: err });
        throw err;
      } finally {
        clearTimeout(timer);
        if (onAbort) stop.removeEventListener('abort', onAbort);
      }
    },
  };
}

/** One signal for the deadline, the request's end and a signal the caller passed to the SDK. */
function combine(deadline: AbortSignal, over: AbortSignal | undefined, request: PipelineRequest): AbortSignal {
  const signals = [deadline];
  if (over) signals.push(over);
  const given = request.abortSignal;
  if (given instanceof AbortSignal) signals.push(given);
  else if (given) {
    // An SDK AbortSignalLike that is not a DOM AbortSignal: bridge it.
    const bridge = new AbortController();
    if (given.aborted) bridge.abort();
    else given.addEventListener('abort', () => bridge.abort(), { once: true });
    signals.push(bridge.signal);
  }
  return signals.length === 1 ? deadline : AbortSignal.any(signals);
}

export function statusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** Point read that answers undefined for a missing entity instead of throwing; `select` limits the columns. */
export async function getEntityOrUndefined<T extends object>(
  client: TableClient,
  partitionKey: string,
  rowKey: string,
  select?: string[],
): Promise<TableEntityResult<T> | undefined> {
  try {
    return await client.getEntity<T>(partitionKey, rowKey, select ? { queryOptions: { select } } : {});
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export const isConflict = (err: unknown): boolean => statusOf(err) === 409;
export const isPreconditionFailed = (err: unknown): boolean => statusOf(err) === 412;
export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
