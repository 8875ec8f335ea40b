/**
 * Root rotation as the function files use it, built from the app's settings and stores: Graph and
 * Entra reached over `fetch` at the endpoints of the mount's cloud (or the AZURE_AUTHORITY_HOST /
 * AZAUTH_GRAPH_ENDPOINT overrides), state in `TABLES.state`, the new secret sealed with
 * AZAUTH_ENCRYPTION_KEY.
 */
import { requireEncryptionKey } from '../crypto/secretbox';
import { UnknownCloudError, cloudCatalog, type CloudCatalog, type CloudEndpoints } from '../entra/clouds';
import type { Settings } from '../settings';
import type { TableProvider } from '../storage/tables';
import { VaultError, badRequest } from '../vault/errors';
import { clientSecretTokenSource } from './credentials';
import { RotationEngine, type GraphConnector, type RotationConfigAccess, type StartedRotation, type TickResult } from './engine';
import { graphClient } from './graph';
import { DEFAULT_RETRY, realSleep, type FetchLike, type RetryOptions, type Sleep } from './http';
import { TableRotationStateStore } from './state';

export interface RotationService {
  /** `POST auth/<mount>/rotate-root`. */
  rotateRoot(mount: string): Promise<StartedRotation>;
  /** The `rotation` timer: due swaps, recoveries and scheduled rotations of every mount. */
  runTimer(): Promise<TickResult[]>;
  /**
   * `DELETE sys/auth/<mount>`, before the config is deleted: removes the mount's rotation state and,
   * best effort, the password an unfinished rotation added; warnings name what could not be removed.
   */
  discardMount(mount: string): Promise<{ warnings: string[] }>;
}

export interface RotationServiceDeps {
  readonly settings: Pick<
    Settings,
    'AZAUTH_ENCRYPTION_KEY' | 'AZAUTH_ENCRYPTION_KEY_NEXT' | 'AZAUTH_ROTATION_SWAP_DELAY' | 'AZURE_TENANT_ID' | 'AZURE_ENVIRONMENT' | 'AZURE_AUTHORITY_HOST' | 'AZAUTH_ARM_ENDPOINT' | 'AZAUTH_GRAPH_ENDPOINT'
  >;
  readonly tables: TableProvider;
  readonly configs: RotationConfigAccess;
  /** Paths of the azure mounts (the timer's work list). */
  readonly azureMounts: () => Promise<string[]>;
  readonly fetch?: FetchLike;
  readonly retry?: RetryOptions;
  readonly sleep?: Sleep;
  readonly log?: (message: string) => void;
}

export function createRotationService(deps: RotationServiceDeps): RotationService {
  const engine = new RotationEngine({
    configs: deps.configs,
    states: new TableRotationStateStore(deps.tables),
    connect: graphConnector({
      catalog: () => cloudCatalog(deps.settings),
      fetch: deps.fetch ?? ((url, init) => fetch(url, init)),
      retry: deps.retry ?? DEFAULT_RETRY,
      sleep: deps.sleep ?? realSleep,
    }),
    secretBox: () => requireEncryptionKey(deps.settings, 'a rotated client_secret'),
    fallback: { tenantId: deps.settings.AZURE_TENANT_ID, environment: deps.settings.AZURE_ENVIRONMENT },
    swapDelaySeconds: deps.settings.AZAUTH_ROTATION_SWAP_DELAY,
    ...(deps.log ? { log: deps.log } : {}),
  });
  return {
    rotateRoot: (mount) => engine.rotateRoot(mount),
    runTimer: async () => engine.tickAll(await deps.azureMounts()),
    discardMount: (mount) => engine.discard(mount),
  };
}

export interface GraphConnectorOptions {
  /** Built lazily: a bad override setting fails the rotation that needs it, not the app's start. */
  readonly catalog: () => CloudCatalog;
  readonly fetch: FetchLike;
  readonly retry: RetryOptions;
  readonly sleep: Sleep;
}

/**
 * Graph for a mount's credentials: the cloud's Graph endpoint (or the override), tokens from its
 * authority for the cloud's Graph audience. The audience stays the real Graph's even when the
 * endpoint is overridden: it names the API, not the address (as shared/entra/clouds.ts does for ARM).
 */
export function graphConnector(options: GraphConnectorOptions): GraphConnector {
  let catalog: CloudCatalog | undefined;
  return (credentials) => {
    let cloud: CloudEndpoints;
    try {
      catalog ??= options.catalog();
      cloud = catalog.cloud(credentials.environment);
    } catch (err) {
      if (err instanceof UnknownCloudError) throw badRequest(`err: ${err.message}`);
      throw new VaultError('internal', err instanceof Error ? err.message : 'invalid cloud endpoint settings', { cause: err });
    }
    const tokens = clientSecretTokenSource(
      { authorityHost: cloud.authorityHost, tenantId: credentials.tenantId, clientId: credentials.clientId, clientSecret: credentials.clientSecret },
      { scope: `${cloud.graphAudience}/.default`, fetch: options.fetch, retry: options.retry, sleep: options.sleep },
    );
    const api = graphClient({ baseUrl: cloud.graphEndpoint, tokens, fetch: options.fetch, retry: options.retry, sleep: options.sleep });
    return {
      ...api,
      verifyCredentials: async () => {
        await tokens.accessToken();
      },
    };
  };
}
