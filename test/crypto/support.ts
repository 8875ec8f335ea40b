/** An embedded Azurite and a table provider for the crypto and KV store tests. */
import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../dev/host/azurite';
import { createTableProvider, type TableName, type TableProvider } from '../../shared/storage/tables';

export interface Storage {
  readonly azurite: EmbeddedAzurite;
  readonly tables: TableProvider;
}

export async function startStorage(): Promise<Storage> {
  const azurite = await startEmbeddedAzurite();
  const tables = createTableProvider({
    AzureWebJobsStorage: azurite.connectionString,
    AzureWebJobsStorage__tableServiceUri: undefined,
    AzureWebJobsStorage__accountName: undefined,
    AzureWebJobsStorage__clientId: undefined,
  });
  return { azurite, tables };
}

export const newRootKey = (): string => randomBytes(32).toString('base64');

/**
 * A provider whose clients pass every call through `intercept` first: it may throw (a storage
 * failure) or act (a concurrent writer) before the real call runs.
 */
export function interceptingProvider(
  tables: TableProvider,
  intercept: (table: TableName, method: string, args: unknown[], real: TableClient) => Promise<void> | void,
): TableProvider {
  return {
    table: async (name) => {
      const real = await tables.table(name);
      return new Proxy(real, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function' || typeof prop !== 'string') return value;
          const fn = value as (...args: unknown[]) => unknown;
          // listEntities returns a paged iterator synchronously: pass it through untouched.
          if (prop === 'listEntities') return fn.bind(target);
          return async (...args: unknown[]) => {
            await intercept(name, prop, args, target);
            return fn.apply(target, args);
          };
        },
      });
    },
  };
}

/**
 * Every entity of the tables as JSON text, binary properties as their raw bytes (latin1), so a value
 * stored unsealed in a binary property would show up in a text search.
 */
export async function dumpTables(tables: TableProvider, names: readonly TableName[]): Promise<string> {
  const parts: string[] = [];
  for (const name of names) {
    const client = await tables.table(name);
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      parts.push(
        JSON.stringify(entity, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : value)),
      );
    }
  }
  return parts.join('\n');
}
