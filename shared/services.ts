/**
 * The composition root: one set of long-lived objects per worker process (settings, table clients,
 * caches), built on first use from the app settings. Function files reach the core only through
 * this, so tests and the local host exercise exactly what Azure runs.
 */
import { readSettings, type Settings } from './settings';
import { adminPolicyFromSettings } from './access/admin-policy';
import { createAuthorize, type TokenAuthenticator } from './access/authorize';
import { EntraTokenVerifier } from './entra/verify';
import { ConfigStore } from './config/store';
import type { RevokeMountTokens } from './mounts/disable';
import { MountStore } from './mounts/store';
import { RoleStore } from './roles/store';
import { createTableProvider, type TableProvider } from './storage/tables';
import type { EndpointServices } from './vault/endpoint';
import { invalidToken } from './vault/errors';

export interface Services {
  readonly settings: Settings;
  readonly tables: TableProvider;
  /** What every Vault endpoint needs: body limit, caller resolution, audit. */
  readonly endpoint: EndpointServices;
  /** Auth mounts (`sys/auth`). */
  readonly mounts: MountStore;
  /** Per-mount config (`auth/<mount>/config`); also opens the sealed client secret for colleagues. */
  readonly configs: ConfigStore;
  /** Per-mount roles (`auth/<mount>/role/<name>`). */
  readonly roles: RoleStore;
  /** Revokes the tokens a mount issued when it is disabled; the token store provides it. */
  readonly revokeMountTokens: RevokeMountTokens;
  /** Verifies Entra access tokens (admin access, login); one per process so its caches are shared. */
  readonly entraVerifier: EntraTokenVerifier;
}

let current: Services | undefined;

export function appServices(): Services {
  current ??= buildServices(readSettings());
  return current;
}

export function buildServices(settings: Settings): Services {
  const tables = createTableProvider(settings);
  const entraVerifier = new EntraTokenVerifier({ clockSkewSeconds: settings.AZAUTH_CLOCK_SKEW });
  // wired by tokens: until the token store lands, no hvs./hvb. token is live.
  const tokens: TokenAuthenticator = {
    authenticate: async () => {
      throw invalidToken();
    },
  };
  const authorize = createAuthorize({
    verifier: entraVerifier,
    tokens,
    admin: adminPolicyFromSettings(settings),
    warn: (message) => console.warn(`azauth: ${message}`),
  });
  return {
    settings,
    tables,
    mounts: new MountStore(tables),
    configs: new ConfigStore(tables, settings.AZAUTH_ENCRYPTION_KEY),
    roles: new RoleStore(tables),
    // Placeholder until the token store is wired in: there are no issued tokens to revoke yet.
    revokeMountTokens: async () => undefined,
    entraVerifier,
    endpoint: {
      maxRequestBytes: settings.AZAUTH_MAX_REQUEST_BYTES,
      authorize,
      audit: () => undefined,
    },
  };
}
