/**
 * A root token for dev mode, as `vault server -dev` prints one at start-up. Called from outside
 * the app (dev mode's own process) with the app's settings and its storage connection string,
 * so it writes exactly the entity a login or `auth/token/create` would.
 */
import { MountStore } from '../mounts/store';
import { TOKEN_MOUNT } from '../mounts/types';
import { readSettings } from '../settings';
import { createTableProvider, TABLES } from '../storage/tables';
import { createServerKeys } from './serverKeys';
import { TokenService } from './service';
import { createTokenStore } from './store';

/**
 * `env`: the app settings the host runs with, with `AzureWebJobsStorage` set to the real
 * connection string (the embedded Azurite's, not `UseDevelopmentStorage=true`). Returns a
 * non-expiring `hvs.` token with the `root` policy: an admin for every endpoint.
 */
export async function createRootToken(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const settings = readSettings(env);
  const tables = createTableProvider(settings);
  const mounts = new MountStore(tables);
  const service = new TokenService({
    store: createTokenStore(
      () => tables.table(TABLES.tokens),
      () => tables.table(TABLES.tokenChildren),
    ),
    mounts,
    keys: createServerKeys(() => tables.table(TABLES.state), settings),
    system: { defaultTtl: settings.AZAUTH_DEFAULT_TTL, maxTtl: settings.AZAUTH_MAX_TTL },
    // A root token has no role; renewal never asks (and root tokens are not renewable anyway).
    roles: { read: async () => undefined },
  });
  const tokenMount = await mounts.get('auth', TOKEN_MOUNT);
  if (!tokenMount) throw new Error('the token mount is missing from the mount table');
  return service.createRootToken(tokenMount.accessor);
}
