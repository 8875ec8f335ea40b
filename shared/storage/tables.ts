/**
 * Table clients for the app's state, built from the standard `AzureWebJobsStorage` setting:
 * a connection string (including `UseDevelopmentStorage=true`), or identity-based
 * `AzureWebJobsStorage__tableServiceUri` / `__accountName` with the app's managed identity.
 * Tables are created on first use.
 */
import { TableClient, type TableEntityResult } from '@azure/data-tables';
import type { Settings } from '../settings';

/** Every table the product owns. Names: letters and digits only, 3–63 characters. */
export const TABLES = {
  mounts: 'azauthmounts',
  configs: 'azauthconfigs',
  roles: 'azauthroles',
  tokens: 'azauthtokens',
  accessors: 'azauthaccessors',
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
>;

export function createTableProvider(settings: StorageSettings): TableProvider {
  const clients = new Map<TableName, Promise<TableClient>>();
  const build = async (name: TableName): Promise<TableClient> => {
    const client = await connect(settings, name);
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

async function connect(settings: StorageSettings, name: TableName): Promise<TableClient> {
  const connection = settings.AzureWebJobsStorage;
  if (connection) {
    // The SDK allows plain http for UseDevelopmentStorage=true itself; an explicit http endpoint
    // (Azurite started by the local host) needs the flag spelled out.
    const insecure = /TableEndpoint=http:\/\//i.test(connection) || /DefaultEndpointsProtocol=http;/i.test(connection);
    return TableClient.fromConnectionString(connection, name, insecure ? { allowInsecureConnection: true } : {});
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
  return new TableClient(endpoint, name, credential);
}

export function statusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** Point read that answers undefined for a missing entity instead of throwing. */
export async function getEntityOrUndefined<T extends object>(
  client: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<TableEntityResult<T> | undefined> {
  try {
    return await client.getEntity<T>(partitionKey, rowKey);
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export const isConflict = (err: unknown): boolean => statusOf(err) === 409;
export const isPreconditionFailed = (err: unknown): boolean => statusOf(err) === 412;
export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
