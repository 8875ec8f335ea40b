/**
 * Core-level fixtures for the token tests: an in-process Azurite and a TokenService wired to it
 * with a controllable clock and an in-memory role table.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../dev/host/azurite';
import { createServerKeys, type ServerKeys } from '../../shared/tokens/serverKeys';
import { createTokenStore, type TokenStore } from '../../shared/tokens/store';
import { TokenService, type MountLiveness, type RoleTokenSettings } from '../../shared/tokens/service';

export interface CoreFixture {
  readonly azurite: EmbeddedAzurite;
  table(name: string): Promise<TableClient>;
}

export async function startCore(): Promise<CoreFixture> {
  const azurite = await startEmbeddedAzurite();
  const clients = new Map<string, Promise<TableClient>>();
  return {
    azurite,
    table(name) {
      let client = clients.get(name);
      if (!client) {
        const c = TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
        client = c.createTable().then(() => c);
        clients.set(name, client);
      }
      return client;
    },
  };
}

export interface ServiceFixture {
  readonly service: TokenService;
  readonly store: TokenStore;
  readonly keys: ServerKeys;
  readonly roles: Map<string, RoleTokenSettings>;
  /** Mounts that serve their tokens (`path` → accessor); delete one to "disable" it. */
  readonly mounts: Map<string, string>;
  readonly tokensTable: string;
  readonly stateTable: string;
  clock: { now: number };
}

export const TEST_AZURE_ACCESSOR = 'auth_azure_0000test';
export const TEST_TOKEN_ACCESSOR = 'auth_token_0000test';

export const TEST_ENCRYPTION_KEY = randomBytes(32).toString('base64');

/** A fresh service on fresh tables, so tests do not see each other's tokens. */
export function newService(core: CoreFixture, system = { defaultTtl: 768 * 3600, maxTtl: 768 * 3600 }): ServiceFixture {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 12);
  const tokensTable = `tok${suffix}`;
  const stateTable = `state${suffix}`;
  const store = createTokenStore(
    () => core.table(tokensTable),
    () => core.table(`${tokensTable}kids`),
  );
  const mounts = new Map<string, string>([
    ['azure', TEST_AZURE_ACCESSOR],
    ['token', TEST_TOKEN_ACCESSOR],
  ]);
  const liveness: MountLiveness = {
    liveTokenMount: async (path, accessor) => mounts.has(path) && (accessor === '' || mounts.get(path) === accessor),
  };
  const keys = createServerKeys(() => core.table(stateTable), TEST_ENCRYPTION_KEY);
  const roles = new Map<string, RoleTokenSettings>();
  const clock = { now: Date.now() };
  const service = new TokenService({
    store,
    keys,
    system,
    roles: { read: async (mount, name) => roles.get(`${mount}/${name}`) },
    mounts: liveness,
    now: () => clock.now,
  });
  return { service, store, keys, roles, mounts, tokensTable, stateTable, clock };
}
