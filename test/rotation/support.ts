/**
 * Fixtures for the rotation engine's unit tests: an in-process Azurite and cloud emulator shared by a
 * file, a fresh mount per test (own tables, own Entra application), a controllable clock, and a step
 * injector that fails or "crashes" at any Graph call or storage write.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../dev/host/azurite';
import { startCloudEmulator, type AddedApplication, type CloudEmulator } from '../../dev/emulator/index';
import { ConfigStore } from '../../shared/config/store';
import { applyConfigWrite, type ConfigWriteInput } from '../../shared/config/write';
import { EncryptionKey } from '../../shared/crypto/secretbox';
import { cloudCatalog } from '../../shared/entra/clouds';
import { RotationEngine, type GraphConnector, type GraphSession, type RotationConfigAccess, type RotationEngineOptions } from '../../shared/rotation/engine';
import type { FetchLike, RetryOptions } from '../../shared/rotation/http';
import { graphConnector } from '../../shared/rotation/service';
import { TableRotationStateStore, type RotationState, type RotationStateStore } from '../../shared/rotation/state';
import type { TableName, TableProvider } from '../../shared/storage/tables';

export const TEST_KEY = randomBytes(32).toString('base64');
export const SWAP_DELAY_SECONDS = 60;
export const LEASE_SECONDS = 300;

export interface Shared {
  readonly azurite: EmbeddedAzurite;
  readonly cloud: CloudEmulator;
  /** `fetch` over the emulator's CA, in the shape the product's HTTP code takes. */
  readonly fetch: FetchLike;
  stop(): Promise<void>;
}

export async function startShared(): Promise<Shared> {
  const [azurite, cloud] = await Promise.all([startEmbeddedAzurite(), startCloudEmulator()]);
  const fetch: FetchLike = (url, init) =>
    cloud.fetch(url, {
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
      signal: init.signal ?? null,
    });
  return {
    azurite,
    cloud,
    fetch,
    stop: async () => {
      await cloud.stop();
      await azurite.stop();
    },
  };
}

/** Table clients for this test's own copies of the product's tables (names suffixed). */
function testTables(connectionString: string): TableProvider {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 10);
  const clients = new Map<TableName, Promise<TableClient>>();
  return {
    table(name) {
      let client = clients.get(name);
      if (!client) {
        const created = TableClient.fromConnectionString(connectionString, `${name}${suffix}`, { allowInsecureConnection: true });
        client = created.createTable().then(() => created);
        clients.set(name, client);
      }
      return client;
    },
  };
}

export class TestClock {
  constructor(public ms: number) {}
  now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  set(date: Date): void {
    this.ms = date.getTime();
  }
}

/** A fault inside the product's dependencies: thrown like a storage or network error would be. */
export class InjectedFault extends Error {
  constructor(step: string) {
    super(`injected fault at ${step}`);
    this.name = 'InjectedFault';
  }
}

/**
 * How a step fails: `error` (the operation fails, the engine's own error handling runs), `crash`
 * (the process dies before the operation: it and everything after it in this run fails), or
 * `crash-after` (the operation takes effect, then the process dies before seeing its result).
 */
export type FaultMode = 'error' | 'crash' | 'crash-after';

export class StepFaults {
  readonly steps: string[] = [];
  private crashed = false;

  constructor(
    private readonly failAt?: number,
    private readonly mode: FaultMode = 'error',
  ) {}

  async around<T>(step: string, op: () => Promise<T>): Promise<T> {
    if (this.crashed) throw new InjectedFault(`${step} (process already dead)`);
    const index = this.steps.push(step);
    if (index !== this.failAt) return op();
    if (this.mode === 'error') throw new InjectedFault(step);
    if (this.mode === 'crash') {
      this.crashed = true;
      throw new InjectedFault(step);
    }
    await op();
    this.crashed = true;
    throw new InjectedFault(step);
  }

  /** Reads are not fault points, but a dead process cannot read either. */
  async read<T>(step: string, op: () => Promise<T>): Promise<T> {
    if (this.crashed) throw new InjectedFault(`${step} (process already dead)`);
    return op();
  }
}

export interface TestMount {
  readonly mount: string;
  readonly app: AddedApplication;
  readonly configs: ConfigStore;
  readonly states: TableRotationStateStore;
  readonly clock: TestClock;
  /** A rotation engine over this mount's stores, optionally with faults at its steps. */
  engine(faults?: StepFaults, options?: Partial<RotationEngineOptions>): RotationEngine;
  /** The config's current client secret in plain text. */
  configSecret(): Promise<string>;
  state(): Promise<RotationState>;
  /** Whether Entra issues a token for this secret of the mount's application right now. */
  secretWorks(secret: string): Promise<boolean>;
}

export const FAST_RETRY: RetryOptions = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 50, attemptTimeoutMs: 5_000 };

export async function newMount(shared: Shared, config: ConfigWriteInput = {}, clock = new TestClock(Date.now())): Promise<TestMount> {
  const { cloud } = shared;
  const tables = testTables(shared.azurite.connectionString);
  const configs = new ConfigStore(tables, TEST_KEY);
  const states = new TableRotationStateStore(tables);
  const app = cloud.graph.addApplication();
  const mount = `azure-${randomUUID().slice(0, 8)}`;
  await writeConfig(configs, mount, clock.now(), {
    tenant_id: cloud.defaultTenantId,
    resource: 'https://management.azure.com/',
    client_id: app.appId,
    client_secret: app.password?.secretText ?? '',
    ...config,
  });
  const connector = graphConnector({
    catalog: () => cloudCatalog({ AZURE_AUTHORITY_HOST: cloud.url, AZAUTH_GRAPH_ENDPOINT: cloud.url }),
    fetch: shared.fetch,
    retry: FAST_RETRY,
    sleep: async () => undefined,
  });
  const box = EncryptionKey.fromBase64(TEST_KEY);
  return {
    mount,
    app,
    configs,
    states,
    clock,
    engine: (faults = new StepFaults(), options = {}) =>
      new RotationEngine({
        configs: faultyConfigs(configs, faults),
        states: faultyStates(states, faults),
        connect: faultyConnector(connector, faults),
        secretBox: () => box,
        fallback: {},
        swapDelaySeconds: SWAP_DELAY_SECONDS,
        leaseSeconds: LEASE_SECONDS,
        clock: clock.now,
        ...options,
      }),
    configSecret: async () => (await configs.getClientSecret(mount)) ?? '',
    state: async () => (await states.read(mount)).state,
    secretWorks: async (secret) => {
      const res = await cloud.fetch(`${cloud.url}/${cloud.defaultTenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.appId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' }).toString(),
      });
      await res.text();
      return res.status === 200;
    },
  };
}

export async function writeConfig(configs: ConfigStore, mount: string, now: Date, input: ConfigWriteInput): Promise<void> {
  await configs.upsert(mount, (current) =>
    applyConfigWrite(current, input, {
      now,
      env: { AZURE_TENANT_ID: undefined, AZURE_AD_RESOURCE: undefined, AZURE_ENVIRONMENT: undefined, AZURE_AUTHORITY_HOST: undefined, AZAUTH_ARM_ENDPOINT: undefined, AZAUTH_GRAPH_ENDPOINT: undefined },
      sealClientSecret: (plaintext) => configs.sealClientSecret(mount, plaintext),
    }),
  );
}

function faultyStates(inner: RotationStateStore, faults: StepFaults): RotationStateStore {
  return {
    read: (mount) => faults.read('state.read', () => inner.read(mount)),
    write: (mount, state, etag) => faults.around(`state.write(${state.phase})`, () => inner.write(mount, state, etag)),
    listInProgress: () => faults.read('state.list', () => inner.listInProgress()),
    remove: (mount, etag) => faults.around('state.remove', () => inner.remove(mount, etag)),
  };
}

function faultyConfigs(inner: ConfigStore, faults: StepFaults): RotationConfigAccess {
  return {
    read: (mount) => faults.read('config.read', () => inner.read(mount)),
    update: (mount, mutate) => faults.around('config.update', () => inner.update(mount, mutate)),
    sealClientSecret: (mount, plaintext) => inner.sealClientSecret(mount, plaintext),
    openClientSecret: (mount, sealed) => inner.openClientSecret(mount, sealed),
  };
}

function faultyConnector(inner: GraphConnector, faults: StepFaults): GraphConnector {
  return (credentials) => {
    const session: GraphSession = inner(credentials);
    return {
      applicationsByAppId: (appId) => faults.around('graph.list', () => session.applicationsByAppId(appId)),
      addPassword: (id, name, end) => faults.around('graph.addPassword', () => session.addPassword(id, name, end)),
      removePassword: (id, keyId) => faults.around('graph.removePassword', () => session.removePassword(id, keyId)),
      verifyCredentials: () => faults.around('entra.token', () => session.verifyCredentials()),
    };
  };
}
